//! linux.resources.memory → the memory controller.
//!
//! v1: memory.limit_in_bytes, memory.memsw.limit_in_bytes (OCI's swap is
//! memory+swap, as memsw is), memory.soft_limit_in_bytes, swappiness,
//! oom_control. v2: memory.max, memory.swap.max (swap only, hence
//! `swap - limit`), memory.low. Kernel memory limits are ignored by every
//! kernel corral supports, so asking for one only earns a warning.

use std::path::Path;

use cgroups_rs::memory::MemController;
use oci_spec::runtime::LinuxMemory;

use super::fs;
use crate::error::{Error, Result};

const P: &str = "/linux/resources/memory";

/// Whether `m` sets anything.
#[allow(deprecated)]
pub(crate) fn is_set(m: &LinuxMemory) -> bool {
    m.limit().is_some()
        || m.reservation().is_some()
        || m.swap().is_some()
        || m.kernel().is_some()
        || m.kernel_tcp().is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer().is_some()
        || m.use_hierarchy().is_some()
}

/// Checks values that no kernel would take, before anything is written.
pub(crate) fn validate(m: &LinuxMemory, file: &Path) -> Result<()> {
    let bad = |field: &str, msg: String| Error::spec(file, format!("{P}/{field}"), msg);
    if let Some(v) = m.limit() {
        if v != -1 && v <= 0 {
            return Err(bad(
                "limit",
                format!("must be a positive number of bytes or -1 (unlimited), got {v}"),
            ));
        }
    }
    if let Some(v) = m.swap() {
        if v != -1 && v <= 0 {
            return Err(bad(
                "swap",
                format!("must be a positive number of bytes or -1 (unlimited), got {v}"),
            ));
        }
        if let Some(l) = m.limit().filter(|l| *l > 0) {
            if v != -1 && v < l {
                return Err(bad(
                    "swap",
                    format!("memory+swap limit {v} is below the memory limit {l}"),
                ));
            }
        }
        if v > 0 && m.limit() == Some(-1) {
            return Err(bad(
                "swap",
                "a memory+swap limit needs a memory limit".into(),
            ));
        }
    }
    if let Some(v) = m.reservation() {
        if v < -1 {
            return Err(bad(
                "reservation",
                format!("must be a number of bytes or -1, got {v}"),
            ));
        }
    }
    if let Some(v) = m.swappiness() {
        if v > 100 {
            return Err(bad(
                "swappiness",
                format!("must be between 0 and 100, got {v}"),
            ));
        }
    }
    #[allow(deprecated)]
    let kernel = m.kernel();
    for (field, v) in [("kernel", kernel), ("kernelTCP", m.kernel_tcp())] {
        if let Some(v) = v.filter(|v| *v < -1) {
            return Err(bad(
                field,
                format!("must be a number of bytes or -1, got {v}"),
            ));
        }
    }
    Ok(())
}

/// The value for v2's memory.swap.max from OCI's memory+swap `swap` and
/// `limit`, as runc converts it; `None` leaves the file alone. -1 is "max".
pub(crate) fn swap_v2(
    swap: Option<i64>,
    limit: Option<i64>,
) -> std::result::Result<Option<i64>, String> {
    match (swap, limit) {
        // Unlimited memory without a swap setting: unlimited swap too.
        (None, Some(-1)) => Ok(Some(-1)),
        (None, _) => Ok(None),
        (Some(-1), _) => Ok(Some(-1)),
        (Some(s), Some(l)) if l > 0 => {
            if s < l {
                Err(format!(
                    "memory+swap limit {s} is below the memory limit {l}"
                ))
            } else {
                Ok(Some(s - l))
            }
        }
        (Some(_), _) => Err("a memory+swap limit needs a memory limit".into()),
    }
}

fn max_str(v: i64) -> String {
    if v == -1 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// Writes `m` to the memory cgroup `dir`.
pub(crate) fn apply(
    dir: &Path,
    v2: bool,
    m: &LinuxMemory,
    file: &Path,
    update: bool,
) -> Result<()> {
    let ctl = MemController::new(dir.to_path_buf(), v2);
    if update && m.check_before_update() == Some(true) {
        check_usage(dir, v2, m, file)?;
    }
    if v2 {
        apply_v2(&ctl, dir, m, file)?;
    } else {
        apply_v1(&ctl, dir, m)?;
    }
    #[allow(deprecated)]
    if m.kernel().is_some() {
        tracing::warn!(cgroup = %dir.display(), "memory.kernel is ignored: kernel memory limits are not supported by this kernel");
    }
    if let Some(v) = m.kernel_tcp() {
        if v2 || !fs::has(dir, "memory.kmem.tcp.limit_in_bytes") {
            tracing::warn!(cgroup = %dir.display(), "memory.kernelTCP is ignored: no tcp memory limit in this cgroup version/kernel");
        } else {
            ctl.set_tcp_limit(v)
                .map_err(fs::rs_err(dir, "memory.kmem.tcp.limit_in_bytes", v))?;
        }
    }
    if m.use_hierarchy() == Some(false) {
        tracing::warn!(cgroup = %dir.display(), "memory.useHierarchy false is ignored: the kernel always accounts hierarchically");
    }
    Ok(())
}

/// `checkBeforeUpdate`: refuses a limit below the current usage.
fn check_usage(dir: &Path, v2: bool, m: &LinuxMemory, file: &Path) -> Result<()> {
    let Some(limit) = m.limit().filter(|l| *l > 0) else {
        return Ok(());
    };
    let usage = fs::read_u64(
        dir,
        if v2 {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        },
    )
    .unwrap_or(0);
    if u64::try_from(limit).map(|l| l < usage).unwrap_or(false) {
        return Err(Error::spec(
            file,
            format!("{P}/limit"),
            format!("new limit {limit} is below the current usage {usage} (checkBeforeUpdate)"),
        ));
    }
    Ok(())
}

fn apply_v1(ctl: &MemController, dir: &Path, m: &LinuxMemory) -> Result<()> {
    let limit = m.limit();
    // Unlimited memory without a swap setting: unlimited memory+swap too.
    let swap = m.swap().or(limit.filter(|l| *l == -1));
    let has_memsw = fs::has(dir, "memory.memsw.limit_in_bytes");
    let set_limit = |v: i64| {
        fs::require(dir, "memory.limit_in_bytes", "memory controller")?;
        ctl.set_limit(v)
            .map_err(fs::rs_err(dir, "memory.limit_in_bytes", v))
    };
    let set_swap = |v: i64| -> Result<()> {
        if !has_memsw {
            if v == -1 {
                return Ok(());
            }
            return Err(fs::err(
                &dir.join("memory.memsw.limit_in_bytes"),
                "a memory+swap limit was requested but swap accounting is disabled in this kernel",
            ));
        }
        ctl.set_memswap_limit(v)
            .map_err(fs::rs_err(dir, "memory.memsw.limit_in_bytes", v))
    };
    match (limit, swap) {
        (Some(l), Some(s)) => {
            // memsw must stay >= limit at every step: raise memsw first when
            // the new memsw is above the current limit (runc's order).
            let cur = fs::read_u64(dir, "memory.limit_in_bytes").unwrap_or(u64::MAX);
            let swap_first = s == -1 || u64::try_from(s).map(|s| cur < s).unwrap_or(false);
            if swap_first {
                set_swap(s)?;
                set_limit(l)?;
            } else {
                set_limit(l)?;
                set_swap(s)?;
            }
        }
        (Some(l), None) => set_limit(l)?,
        (None, Some(s)) => set_swap(s)?,
        (None, None) => {}
    }
    if let Some(v) = m.reservation() {
        ctl.set_soft_limit(v)
            .map_err(fs::rs_err(dir, "memory.soft_limit_in_bytes", v))?;
    }
    if let Some(v) = m.swappiness() {
        fs::require(dir, "memory.swappiness", "memory controller")?;
        ctl.set_swappiness(v)
            .map_err(fs::rs_err(dir, "memory.swappiness", v))?;
    }
    match m.disable_oom_killer() {
        Some(true) => ctl
            .disable_oom_killer()
            .map_err(fs::rs_err(dir, "memory.oom_control", 1))?,
        // cgroups-rs can only disable the OOM killer; re-enabling is a direct write.
        Some(false) if fs::has(dir, "memory.oom_control") => {
            fs::write(dir, "memory.oom_control", "0")?
        }
        _ => {}
    }
    Ok(())
}

fn apply_v2(ctl: &MemController, dir: &Path, m: &LinuxMemory, file: &Path) -> Result<()> {
    // A swap-only update is taken against the limit already in place.
    let limit = m.limit().or_else(|| {
        m.swap()?;
        fs::read_u64(dir, "memory.max").map(|v| i64::try_from(v).unwrap_or(-1))
    });
    let swap = swap_v2(m.swap(), limit).map_err(|e| Error::spec(file, format!("{P}/swap"), e))?;
    if let Some(s) = swap {
        if fs::has(dir, "memory.swap.max") {
            // cgroups-rs writes the value as given: the memory+swap →
            // swap-only conversion is done above.
            ctl.set_memswap_limit(s)
                .map_err(fs::rs_err(dir, "memory.swap.max", max_str(s)))?;
        } else if s != -1 && s != 0 {
            return Err(fs::err(
                &dir.join("memory.swap.max"),
                "a swap limit was requested but swap accounting is not available in this kernel",
            ));
        }
    }
    if let Some(l) = m.limit() {
        fs::require(dir, "memory.max", "memory controller not enabled")?;
        ctl.set_limit(l)
            .map_err(fs::rs_err(dir, "memory.max", max_str(l)))?;
    }
    if let Some(r) = m.reservation() {
        // cgroups-rs would write -1 verbatim; v2 spells unlimited "max".
        fs::write(dir, "memory.low", &max_str(r))?;
    }
    if m.swappiness().is_some() {
        tracing::warn!(cgroup = %dir.display(), "memory.swappiness is ignored: cgroup v2 has no per-cgroup swappiness");
    }
    if m.disable_oom_killer() == Some(true) {
        tracing::warn!(cgroup = %dir.display(), "memory.disableOOMKiller is ignored: cgroup v2 cannot disable the OOM killer");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fs::testdir::{content, TestDir};
    use super::*;
    use oci_spec::runtime::LinuxMemoryBuilder;

    const F: &str = "/b/config.json";

    #[test]
    fn swap_math_matches_runc() {
        assert_eq!(swap_v2(Some(300), Some(100)), Ok(Some(200)));
        assert_eq!(swap_v2(Some(100), Some(100)), Ok(Some(0)));
        assert_eq!(swap_v2(Some(-1), Some(100)), Ok(Some(-1)));
        assert_eq!(swap_v2(None, Some(-1)), Ok(Some(-1)));
        assert_eq!(swap_v2(None, Some(100)), Ok(None));
        assert_eq!(swap_v2(None, None), Ok(None));
        assert!(swap_v2(Some(50), Some(100)).is_err());
        assert!(swap_v2(Some(50), None).is_err());
        assert!(swap_v2(Some(50), Some(-1)).is_err());
    }

    #[test]
    fn nonsense_values_are_spec_errors() {
        let cases = [
            (
                LinuxMemoryBuilder::default().limit(-5).build().unwrap(),
                "/linux/resources/memory/limit",
            ),
            (
                LinuxMemoryBuilder::default().limit(0).build().unwrap(),
                "/linux/resources/memory/limit",
            ),
            (
                LinuxMemoryBuilder::default()
                    .limit(100)
                    .swap(50)
                    .build()
                    .unwrap(),
                "/linux/resources/memory/swap",
            ),
            (
                LinuxMemoryBuilder::default()
                    .limit(-1)
                    .swap(500)
                    .build()
                    .unwrap(),
                "/linux/resources/memory/swap",
            ),
            (
                LinuxMemoryBuilder::default()
                    .reservation(-2)
                    .build()
                    .unwrap(),
                "/linux/resources/memory/reservation",
            ),
            (
                LinuxMemoryBuilder::default()
                    .swappiness(101u64)
                    .build()
                    .unwrap(),
                "/linux/resources/memory/swappiness",
            ),
        ];
        for (m, ptr) in cases {
            let e = validate(&m, Path::new(F)).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{F}: {ptr}: ")), "{e}");
        }
        let ok = LinuxMemoryBuilder::default()
            .limit(-1)
            .swap(-1)
            .reservation(0)
            .build()
            .unwrap();
        validate(&ok, Path::new(F)).unwrap();
    }

    const V1_FILES: [&str; 6] = [
        "memory.limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "memory.soft_limit_in_bytes",
        "memory.swappiness",
        "memory.oom_control",
        "memory.kmem.tcp.limit_in_bytes",
    ];

    #[test]
    fn v1_writes() {
        let t = TestDir::new("mem");
        let d = t.cgroup("c", &V1_FILES);
        let m = LinuxMemoryBuilder::default()
            .limit(1 << 20)
            .swap(2 << 20)
            .reservation(512 << 10)
            .swappiness(10u64)
            .disable_oom_killer(true)
            .build()
            .unwrap();
        apply(&d, false, &m, Path::new(F), false).unwrap();
        assert_eq!(content(&d, "memory.limit_in_bytes"), "1048576");
        assert_eq!(content(&d, "memory.memsw.limit_in_bytes"), "2097152");
        assert_eq!(content(&d, "memory.soft_limit_in_bytes"), "524288");
        assert_eq!(content(&d, "memory.swappiness"), "10");
        assert_eq!(content(&d, "memory.oom_control"), "1");
    }

    #[test]
    fn v1_unlimited_memory_also_unlimits_swap() {
        let t = TestDir::new("mem");
        let d = t.cgroup("c", &V1_FILES);
        let m = LinuxMemoryBuilder::default().limit(-1).build().unwrap();
        apply(&d, false, &m, Path::new(F), false).unwrap();
        assert_eq!(content(&d, "memory.limit_in_bytes"), "-1");
        assert_eq!(content(&d, "memory.memsw.limit_in_bytes"), "-1");
    }

    #[test]
    fn v1_swap_without_accounting_is_an_error() {
        let t = TestDir::new("mem");
        let d = t.cgroup("c", &["memory.limit_in_bytes"]);
        let m = LinuxMemoryBuilder::default()
            .limit(100)
            .swap(200)
            .build()
            .unwrap();
        let e = apply(&d, false, &m, Path::new(F), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("memory.memsw.limit_in_bytes") && e.contains("swap accounting"),
            "{e}"
        );
    }

    #[test]
    fn v2_writes() {
        let t = TestDir::new("mem");
        let d = t.cgroup("c", &["memory.max", "memory.swap.max", "memory.low"]);
        let m = LinuxMemoryBuilder::default()
            .limit(100)
            .swap(300)
            .reservation(-1)
            .build()
            .unwrap();
        apply(&d, true, &m, Path::new(F), false).unwrap();
        assert_eq!(content(&d, "memory.max"), "100");
        assert_eq!(content(&d, "memory.swap.max"), "200");
        assert_eq!(content(&d, "memory.low"), "max");
        let m = LinuxMemoryBuilder::default().limit(-1).build().unwrap();
        apply(&d, true, &m, Path::new(F), false).unwrap();
        assert_eq!(content(&d, "memory.max"), "max");
        assert_eq!(content(&d, "memory.swap.max"), "max");
    }

    #[test]
    fn check_before_update_refuses_a_limit_below_usage() {
        let t = TestDir::new("mem");
        let d = t.cgroup("c", &["memory.max", "memory.current"]);
        std::fs::write(d.join("memory.current"), "5000\n").unwrap();
        let m = LinuxMemoryBuilder::default()
            .limit(4096)
            .check_before_update(true)
            .build()
            .unwrap();
        let e = apply(&d, true, &m, Path::new(F), true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/linux/resources/memory/limit") && e.contains("5000"),
            "{e}"
        );
        apply(&d, true, &m, Path::new(F), false).unwrap();
    }
}
