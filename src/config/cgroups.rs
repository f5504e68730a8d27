//! `[cgroups.system]` and `[cgroups.engines]` of corral.toml: how the
//! system services (cgroup `corral/system`) are protected from the user
//! engines (cgroup `corral/engines`) on cgroup v2.

use serde::Deserialize;

use super::size::Size;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cgroups {
    pub system: SystemGroup,
    pub engines: EnginesGroup,
}

/// The parent of every system service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemGroup {
    /// memory.min: never reclaimed from the system services.
    pub memory_min: Size,
    /// memory.low: reclaimed from them only when nothing else is left.
    pub memory_low: Size,
    /// cpu.weight (1 to 10000) against the engines'.
    pub cpu_weight: u32,
    /// oom_score_adj of every system service's processes.
    pub oom_score_adj: i32,
}

impl Default for SystemGroup {
    fn default() -> Self {
        SystemGroup {
            memory_min: Size::Bytes(64 << 20),
            memory_low: Size::Bytes(256 << 20),
            cpu_weight: 1000,
            oom_score_adj: -900,
        }
    }
}

/// The parent of every engine: what all of them together may use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnginesGroup {
    /// memory.max of all engines together.
    pub memory_max: Size,
    /// cpu.weight (1 to 10000) against the system's.
    pub cpu_weight: u32,
    /// pids.max of all engines together (None: no limit beyond each engine's).
    pub pids_max: Option<u64>,
}

impl Default for EnginesGroup {
    fn default() -> Self {
        EnginesGroup {
            memory_max: Size::Percent(85),
            cpu_weight: 100,
            pids_max: None,
        }
    }
}

/// Checks a cpu.weight; `what` names the key.
pub fn check_weight(what: &str, w: u32) -> Result<(), String> {
    if (1..=10000).contains(&w) {
        Ok(())
    } else {
        Err(format!("{what}: {w} is not a cpu.weight (1 to 10000)"))
    }
}

impl Cgroups {
    /// The rules serde cannot express; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        check_weight("[cgroups.system] cpu_weight", self.system.cpu_weight)?;
        check_weight("[cgroups.engines] cpu_weight", self.engines.cpu_weight)?;
        if !(-1000..=1000).contains(&self.system.oom_score_adj) {
            return Err(format!(
                "[cgroups.system] oom_score_adj: {} is not -1000 to 1000",
                self.system.oom_score_adj
            ));
        }
        if self.engines.pids_max == Some(0) {
            return Err("[cgroups.engines] pids_max must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_favour_the_system() {
        let c = Cgroups::default();
        assert!(c.system.cpu_weight > c.engines.cpu_weight);
        assert!(c.system.oom_score_adj < 0);
        assert_eq!(c.engines.memory_max, Size::Percent(85));
        c.check().unwrap();
    }

    #[test]
    fn bad_values_name_the_key() {
        let mut c = Cgroups::default();
        c.engines.cpu_weight = 0;
        assert!(c
            .check()
            .unwrap_err()
            .contains("[cgroups.engines] cpu_weight"));
        let mut c = Cgroups::default();
        c.system.oom_score_adj = -1001;
        assert!(c.check().unwrap_err().contains("oom_score_adj"));
    }
}
