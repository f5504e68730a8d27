//! linux.resources.cpu → the cpu and cpuset controllers.
//!
//! v1: cpu.shares, cpu.cfs_{quota,period,burst}_us, cpu.rt_{runtime,period}_us,
//! cpu.idle. v2: cpu.weight (converted from shares as runc does), cpu.max,
//! cpu.max.burst, cpu.idle. Realtime limits exist on v1 only.

use std::path::Path;

use cgroups_rs::cpu::CpuController;
use cgroups_rs::cpuset::CpuSetController;
use oci_spec::runtime::LinuxCpu;

use super::fs;
use crate::error::{Error, Result};

const P: &str = "/linux/resources/cpu";

/// The kernel's cpu.shares range.
const MIN_SHARES: u64 = 2;
const MAX_SHARES: u64 = 262_144;

/// cpu.shares → cpu.weight, runc's conversion: [2, 262144] → [1, 10000].
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(MIN_SHARES, MAX_SHARES);
    1 + ((s - 2) * 9999) / 262_142
}

/// Whether `cpu` sets anything of the cpu controller (not cpuset).
pub(crate) fn uses_cpu(c: &LinuxCpu) -> bool {
    c.shares().is_some()
        || c.quota().is_some()
        || c.period().is_some()
        || c.burst().is_some()
        || c.idle().is_some()
        || c.realtime_runtime().is_some()
        || c.realtime_period().is_some()
}

/// Whether `cpu` sets cpus or mems.
pub(crate) fn uses_cpuset(c: &LinuxCpu) -> bool {
    c.cpus().as_deref().is_some_and(|s| !s.is_empty())
        || c.mems().as_deref().is_some_and(|s| !s.is_empty())
}

/// Checks values that no kernel would take, before anything is written.
pub(crate) fn validate(c: &LinuxCpu, file: &Path) -> Result<()> {
    let bad = |field: &str, msg: String| Error::spec(file, format!("{P}/{field}"), msg);
    if let Some(s) = c.shares() {
        if !(MIN_SHARES..=MAX_SHARES).contains(&s) {
            return Err(bad(
                "shares",
                format!("must be between {MIN_SHARES} and {MAX_SHARES}, got {s}"),
            ));
        }
    }
    if let Some(q) = c.quota() {
        if q < -1 || q == 0 {
            return Err(bad(
                "quota",
                format!("must be -1 (unlimited) or a positive number of microseconds, got {q}"),
            ));
        }
    }
    if c.period() == Some(0) {
        return Err(bad(
            "period",
            "must be a positive number of microseconds, got 0".into(),
        ));
    }
    if let Some(r) = c.realtime_runtime() {
        if r < -1 {
            return Err(bad(
                "realtimeRuntime",
                format!("must be -1 or a number of microseconds, got {r}"),
            ));
        }
    }
    if c.realtime_period() == Some(0) {
        return Err(bad(
            "realtimePeriod",
            "must be a positive number of microseconds, got 0".into(),
        ));
    }
    if let Some(i) = c.idle() {
        if i != 0 && i != 1 {
            return Err(bad("idle", format!("must be 0 or 1, got {i}")));
        }
    }
    for (field, v) in [("cpus", c.cpus()), ("mems", c.mems())] {
        if let Some(v) = v {
            if !v
                .chars()
                .all(|ch| ch.is_ascii_digit() || ch == ',' || ch == '-' || ch.is_ascii_whitespace())
            {
                return Err(bad(field, format!("{v:?} is not a list like \"0-3,5\"")));
            }
        }
    }
    Ok(())
}

/// Whether a cgroups-rs error is EINVAL.
fn is_einval(e: &cgroups_rs::error::Error) -> bool {
    fs::rs_errno(e) == Some(libc::EINVAL)
}

/// Writes the cpu controller part of `c` to `dir`.
pub(crate) fn apply(dir: &Path, v2: bool, c: &LinuxCpu) -> Result<()> {
    let ctl = CpuController::new(dir.to_path_buf(), v2);
    if let Some(s) = c.shares() {
        let (name, value) = if v2 {
            ("cpu.weight", shares_to_weight(s))
        } else {
            ("cpu.shares", s)
        };
        fs::require(dir, name, "cpu controller not enabled")?;
        // cgroups-rs writes the number as given: the shares → weight
        // conversion is done above.
        ctl.set_shares(value)
            .map_err(fs::rs_err(dir, name, value))?;
    }
    if v2 {
        if c.quota().is_some() || c.period().is_some() {
            fs::require(dir, "cpu.max", "cpu controller not enabled")?;
            let shown = format!("{:?} {:?}", c.quota(), c.period());
            ctl.set_cfs_quota_and_period(c.quota(), c.period())
                .map_err(fs::rs_err(dir, "cpu.max", shown))?;
        }
    } else {
        apply_v1_bandwidth(&ctl, dir, c)?;
    }
    if let Some(b) = c.burst() {
        // cgroups-rs has no burst setter.
        fs::write(
            dir,
            if v2 {
                "cpu.max.burst"
            } else {
                "cpu.cfs_burst_us"
            },
            &b.to_string(),
        )?;
    }
    if let Some(i) = c.idle() {
        // cgroups-rs has no idle setter.
        fs::write(dir, "cpu.idle", &i.to_string())?;
    }
    if !v2 {
        if let Some(p) = c.realtime_period() {
            fs::require(
                dir,
                "cpu.rt_period_us",
                "kernel built without CONFIG_RT_GROUP_SCHED",
            )?;
            ctl.set_rt_period_us(p)
                .map_err(fs::rs_err(dir, "cpu.rt_period_us", p))?;
        }
        if let Some(r) = c.realtime_runtime() {
            fs::require(
                dir,
                "cpu.rt_runtime_us",
                "kernel built without CONFIG_RT_GROUP_SCHED",
            )?;
            ctl.set_rt_runtime(r)
                .map_err(fs::rs_err(dir, "cpu.rt_runtime_us", r))?;
        }
    }
    Ok(())
}

/// v1 quota and period, in runc's order: the period first, unless the
/// kernel refuses it against the old quota, then it is retried after the
/// quota.
fn apply_v1_bandwidth(ctl: &CpuController, dir: &Path, c: &LinuxCpu) -> Result<()> {
    let mut period_pending = None;
    if let Some(p) = c.period() {
        fs::require(
            dir,
            "cpu.cfs_period_us",
            "kernel built without CONFIG_CFS_BANDWIDTH",
        )?;
        if let Err(e) = ctl.set_cfs_period(p) {
            if !is_einval(&e) || c.quota().is_none() {
                return Err(fs::rs_err(dir, "cpu.cfs_period_us", p)(e));
            }
            period_pending = Some(p);
        }
    }
    if let Some(q) = c.quota() {
        fs::require(
            dir,
            "cpu.cfs_quota_us",
            "kernel built without CONFIG_CFS_BANDWIDTH",
        )?;
        ctl.set_cfs_quota(q)
            .map_err(fs::rs_err(dir, "cpu.cfs_quota_us", q))?;
        if let Some(p) = period_pending {
            ctl.set_cfs_period(p)
                .map_err(fs::rs_err(dir, "cpu.cfs_period_us", p))?;
        }
    }
    Ok(())
}

/// Writes cpus and mems of `c` to the cpuset cgroup `dir`.
pub(crate) fn apply_cpuset(dir: &Path, v2: bool, c: &LinuxCpu) -> Result<()> {
    let ctl = CpuSetController::new(dir.to_path_buf(), v2);
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        fs::require(dir, "cpuset.cpus", "cpuset controller not enabled")?;
        ctl.set_cpus(cpus)
            .map_err(fs::rs_err(dir, "cpuset.cpus", cpus))?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        fs::require(dir, "cpuset.mems", "cpuset controller not enabled")?;
        ctl.set_mems(mems)
            .map_err(fs::rs_err(dir, "cpuset.mems", mems))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fs::testdir::{content, TestDir};
    use super::*;
    use oci_spec::runtime::LinuxCpuBuilder;

    const F: &str = "/b/config.json";

    #[test]
    fn shares_to_weight_matches_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(512), 20);
        assert_eq!(shares_to_weight(262_144), 10_000);
        // Out-of-range values are clamped like the kernel clamps cpu.shares.
        assert_eq!(shares_to_weight(0), 1);
        assert_eq!(shares_to_weight(u64::MAX), 10_000);
    }

    #[test]
    fn nonsense_values_are_spec_errors() {
        let cases = [
            (
                LinuxCpuBuilder::default().shares(1u64).build().unwrap(),
                "shares",
            ),
            (
                LinuxCpuBuilder::default().quota(-2).build().unwrap(),
                "quota",
            ),
            (
                LinuxCpuBuilder::default().quota(0).build().unwrap(),
                "quota",
            ),
            (
                LinuxCpuBuilder::default().period(0u64).build().unwrap(),
                "period",
            ),
            (
                LinuxCpuBuilder::default()
                    .realtime_runtime(-3)
                    .build()
                    .unwrap(),
                "realtimeRuntime",
            ),
            (
                LinuxCpuBuilder::default()
                    .realtime_period(0u64)
                    .build()
                    .unwrap(),
                "realtimePeriod",
            ),
            (LinuxCpuBuilder::default().idle(2).build().unwrap(), "idle"),
            (
                LinuxCpuBuilder::default().cpus("all").build().unwrap(),
                "cpus",
            ),
        ];
        for (c, field) in cases {
            let e = validate(&c, Path::new(F)).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("{F}: /linux/resources/cpu/{field}: ")),
                "{e}"
            );
        }
        let ok = LinuxCpuBuilder::default()
            .quota(-1)
            .period(100_000u64)
            .shares(1024u64)
            .cpus("0-1,3")
            .build()
            .unwrap();
        validate(&ok, Path::new(F)).unwrap();
    }

    #[test]
    fn v1_writes() {
        let t = TestDir::new("cpu");
        let d = t.cgroup(
            "c",
            &[
                "cpu.shares",
                "cpu.cfs_quota_us",
                "cpu.cfs_period_us",
                "cpu.cfs_burst_us",
                "cpu.idle",
                "cpu.rt_period_us",
                "cpu.rt_runtime_us",
            ],
        );
        let c = LinuxCpuBuilder::default()
            .shares(512u64)
            .quota(50_000)
            .period(100_000u64)
            .burst(1000u64)
            .realtime_period(1_000_000u64)
            .realtime_runtime(950_000)
            .build()
            .unwrap();
        apply(&d, false, &c).unwrap();
        assert_eq!(content(&d, "cpu.shares"), "512");
        assert_eq!(content(&d, "cpu.cfs_quota_us"), "50000");
        assert_eq!(content(&d, "cpu.cfs_period_us"), "100000");
        assert_eq!(content(&d, "cpu.cfs_burst_us"), "1000");
        assert_eq!(content(&d, "cpu.rt_period_us"), "1000000");
        assert_eq!(content(&d, "cpu.rt_runtime_us"), "950000");
    }

    #[test]
    fn v1_realtime_without_kernel_support_is_an_error() {
        let t = TestDir::new("cpu");
        let d = t.cgroup("c", &["cpu.shares"]);
        let c = LinuxCpuBuilder::default()
            .realtime_runtime(1000)
            .build()
            .unwrap();
        let e = apply(&d, false, &c).unwrap_err().to_string();
        assert!(
            e.contains("cpu.rt_runtime_us") && e.contains("CONFIG_RT_GROUP_SCHED"),
            "{e}"
        );
    }

    #[test]
    fn v2_writes() {
        let t = TestDir::new("cpu");
        let d = t.cgroup("c", &["cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle"]);
        std::fs::write(d.join("cpu.max"), "max 100000\n").unwrap();
        let c = LinuxCpuBuilder::default()
            .shares(1024u64)
            .quota(20_000)
            .period(50_000u64)
            .idle(1)
            .build()
            .unwrap();
        apply(&d, true, &c).unwrap();
        assert_eq!(content(&d, "cpu.weight"), "39");
        assert_eq!(content(&d, "cpu.max"), "20000 50000");
        assert_eq!(content(&d, "cpu.idle"), "1");
        let c = LinuxCpuBuilder::default().quota(-1).build().unwrap();
        apply(&d, true, &c).unwrap();
        assert_eq!(content(&d, "cpu.max"), "max 50000");
    }

    #[test]
    fn cpuset_writes() {
        let t = TestDir::new("cpu");
        let d = t.cgroup("c", &["cpuset.cpus", "cpuset.mems"]);
        let c = LinuxCpuBuilder::default()
            .cpus("0-1")
            .mems("0")
            .build()
            .unwrap();
        assert!(uses_cpuset(&c) && !uses_cpu(&c));
        apply_cpuset(&d, false, &c).unwrap();
        assert_eq!(content(&d, "cpuset.cpus"), "0-1");
        assert_eq!(content(&d, "cpuset.mems"), "0");
    }
}
