//! process.capabilities: names checked and turned into 64-bit masks in the
//! parent (with the `caps` crate), applied with prctl/capset in the child.

use std::path::Path;
use std::str::FromStr;

use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::error::{Error, Result};
use crate::syscall::{SysResult, Syscalls};

/// The five capability sets as masks, restricted to what the running
/// kernel knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapPlan {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
    /// Highest capability number the kernel supports.
    pub last_cap: u8,
}

impl CapPlan {
    /// Builds masks from config.json; unknown names were already refused
    /// by the parser. Capabilities the kernel does not have are dropped
    /// with a warning, as runc does.
    pub fn prepare(c: &LinuxCapabilities, file: &Path) -> Result<Self> {
        let last_cap = last_cap();
        let supported = if last_cap >= 63 {
            u64::MAX
        } else {
            (1u64 << (last_cap + 1)) - 1
        };
        let mask = |set: &Option<Capabilities>, name: &str| -> Result<u64> {
            let m = to_mask(set.as_ref(), file, name)?;
            if m & !supported != 0 {
                tracing::warn!(
                    set = name,
                    "capabilities unknown to this kernel are ignored"
                );
            }
            Ok(m & supported)
        };
        let mut plan = CapPlan {
            bounding: mask(c.bounding(), "bounding")?,
            effective: mask(c.effective(), "effective")?,
            permitted: mask(c.permitted(), "permitted")?,
            inheritable: mask(c.inheritable(), "inheritable")?,
            ambient: mask(c.ambient(), "ambient")?,
            last_cap,
        };
        plan.check(file)?;
        plan.drop_unraisable_ambient();
        Ok(plan)
    }

    /// The kernel's rules, reported before clone instead of as EPERM after.
    fn check(&self, file: &Path) -> Result<()> {
        if self.effective & !self.permitted != 0 {
            let extra = names(self.effective & !self.permitted);
            return Err(Error::spec(
                file,
                "/process/capabilities/effective",
                format!("{extra} not in the permitted set"),
            ));
        }
        Ok(())
    }

    /// The kernel raises an ambient capability only if it is both
    /// permitted and inheritable. `runc spec` writes ambient capabilities
    /// with an empty inheritable set, and runc skips the ones it cannot
    /// raise; so do we (logged at info), rather than refuse such bundles.
    fn drop_unraisable_ambient(&mut self) {
        let unraisable = self.ambient & !(self.permitted & self.inheritable);
        if unraisable != 0 {
            tracing::info!(
                capabilities = %names(unraisable),
                "ambient capabilities not in both the permitted and the inheritable set are not raised"
            );
            self.ambient &= !unraisable;
        }
    }
}

fn to_mask(set: Option<&Capabilities>, file: &Path, name: &str) -> Result<u64> {
    let mut mask = 0u64;
    for cap in set.into_iter().flatten() {
        let canonical = format!("CAP_{cap}");
        let parsed = caps::Capability::from_str(&canonical).map_err(|_| {
            Error::spec(
                file,
                format!("/process/capabilities/{name}"),
                format!("unknown capability {canonical}"),
            )
        })?;
        mask |= parsed.bitmask();
    }
    Ok(mask)
}

/// Names of the capabilities in `mask`, for messages.
pub fn names(mask: u64) -> String {
    caps::all()
        .into_iter()
        .filter(|c| mask & c.bitmask() != 0)
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// /proc/sys/kernel/cap_last_cap, or the caps crate's idea of it; read
/// once per process (it is fixed while the kernel runs).
pub fn last_cap() -> u8 {
    static LAST: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        crate::smallfile::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40)
    })
}

/// Child side, while still privileged: drops every capability outside the
/// bounding set.
pub fn drop_bounding<S: Syscalls>(sys: &S, plan: &CapPlan) -> SysResult<()> {
    for cap in 0..=plan.last_cap {
        if plan.bounding & (1u64 << cap) == 0 {
            sys.prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0)?;
        }
    }
    Ok(())
}

/// Child side, after the uid change: sets effective, permitted and
/// inheritable, then raises the ambient set.
pub fn apply_sets<S: Syscalls>(sys: &S, plan: &CapPlan) -> SysResult<()> {
    sys.capset(plan.effective, plan.permitted, plan.inheritable)?;
    for cap in 0..=plan.last_cap {
        if plan.ambient & (1u64 << cap) != 0 {
            sys.prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                libc::c_ulong::from(cap),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recorder::Recorder;
    use oci_spec::runtime::{Capability, LinuxCapabilitiesBuilder};

    fn set(caps: &[Capability]) -> Capabilities {
        caps.iter().copied().collect()
    }

    #[test]
    fn masks_follow_capability_numbers() {
        let c = LinuxCapabilitiesBuilder::default()
            .bounding(set(&[Capability::Chown, Capability::Kill]))
            .effective(set(&[Capability::Kill]))
            .permitted(set(&[Capability::Kill]))
            .inheritable(set(&[]))
            .ambient(set(&[]))
            .build()
            .unwrap();
        let p = CapPlan::prepare(&c, Path::new("c")).unwrap();
        assert_eq!(p.bounding, (1 << 0) | (1 << 5));
        assert_eq!(p.effective, 1 << 5, "CAP_KILL is capability 5");
    }

    #[test]
    fn effective_must_be_permitted() {
        let c = LinuxCapabilitiesBuilder::default()
            .effective(set(&[Capability::Kill]))
            .permitted(set(&[]))
            .build()
            .unwrap();
        let e = CapPlan::prepare(&c, Path::new("c"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/process/capabilities/effective: CAP_KILL not in the permitted set"),
            "{e}"
        );
    }

    #[test]
    fn ambient_outside_permitted_and_inheritable_is_skipped() {
        // runc spec's shape: ambient = permitted, inheritable empty.
        let c = LinuxCapabilitiesBuilder::default()
            .permitted(set(&[Capability::Kill, Capability::Chown]))
            .effective(set(&[Capability::Kill]))
            .inheritable(set(&[Capability::Chown]))
            .ambient(set(&[Capability::Kill, Capability::Chown]))
            .build()
            .unwrap();
        let p = CapPlan::prepare(&c, Path::new("c")).unwrap();
        assert_eq!(p.ambient, 1 << 0, "only CAP_CHOWN can be raised");
    }

    #[test]
    fn drops_everything_outside_bounding() {
        let sys = Recorder::default();
        let plan = CapPlan {
            bounding: 1 << 5,
            last_cap: 7,
            ..Default::default()
        };
        drop_bounding(&sys, &plan).unwrap();
        let drops: Vec<_> = sys.lines();
        assert_eq!(drops.len(), 7);
        assert!(!drops.contains(&format!("prctl {} 5 0", libc::PR_CAPBSET_DROP)));
    }
}
