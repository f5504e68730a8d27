//! What keeps the system up whatever the user engines do, on cgroup v2:
//! memory protection and a high cpu.weight for `corral/system`, a memory
//! and (optionally) pids ceiling and a low cpu.weight for `corral/engines`.
//! `corral` itself carries the system's memory protection too: a child's
//! memory.min/low is bounded by its parent's.

use std::path::Path;

use crate::config::cgroups::Cgroups;

/// One cgroup file to write, relative to the `corral` cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// "" for `corral` itself, "system" or "engines".
    pub dir: &'static str,
    pub file: &'static str,
    pub value: String,
}

fn set(dir: &'static str, file: &'static str, value: impl ToString) -> Setting {
    Setting {
        dir,
        file,
        value: value.to_string(),
    }
}

/// The files and values for `cfg` on a machine with `ram` bytes, parents
/// first.
pub fn settings(cfg: &Cgroups, ram: u64) -> Vec<Setting> {
    let bytes = |s: crate::config::size::Size| {
        s.bytes(ram)
            .map_or_else(|| "max".to_owned(), |b| b.to_string())
    };
    let sys = &cfg.system;
    let eng = &cfg.engines;
    let mut out = vec![
        set("", "memory.min", bytes(sys.memory_min)),
        set("", "memory.low", bytes(sys.memory_low)),
        set("system", "memory.min", bytes(sys.memory_min)),
        set("system", "memory.low", bytes(sys.memory_low)),
        set("system", "cpu.weight", sys.cpu_weight),
        set("engines", "cpu.weight", eng.cpu_weight),
        set("engines", "memory.max", bytes(eng.memory_max)),
    ];
    if let Some(p) = eng.pids_max {
        out.push(set("engines", "pids.max", p));
    }
    out
}

/// Writes `settings` below `corral_dir`; one line per file that could not
/// be written.
pub fn apply(corral_dir: &Path, settings: &[Setting]) -> Vec<String> {
    settings
        .iter()
        .filter_map(|s| {
            let path = corral_dir.join(s.dir).join(s.file);
            std::fs::write(&path, &s.value)
                .err()
                .map(|e| format!("write {:?} to {}: {e}", s.value, path.display()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::size::Size;

    #[test]
    fn defaults() {
        let s = settings(&Cgroups::default(), 1000 << 20);
        let get = |dir: &str, file: &str| {
            s.iter()
                .find(|x| x.dir == dir && x.file == file)
                .map(|x| x.value.clone())
        };
        assert_eq!(get("system", "cpu.weight").as_deref(), Some("1000"));
        assert_eq!(get("engines", "cpu.weight").as_deref(), Some("100"));
        assert_eq!(
            get("engines", "memory.max"),
            Some(((1000u64 << 20) / 100 * 85).to_string())
        );
        assert_eq!(get("", "memory.low"), get("system", "memory.low"));
        assert_eq!(get("engines", "pids.max"), None);
    }

    #[test]
    fn unlimited_and_pids() {
        let mut c = Cgroups::default();
        c.engines.memory_max = Size::Max;
        c.engines.pids_max = Some(5000);
        let s = settings(&c, 1 << 30);
        assert!(s.contains(&set("engines", "memory.max", "max")));
        assert!(s.contains(&set("engines", "pids.max", 5000)));
    }

    #[test]
    fn failures_are_one_line_each() {
        let errors = apply(
            Path::new("/nonexistent-corral-cgroup"),
            &[set("system", "cpu.weight", 1)],
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("system/cpu.weight"), "{errors:?}");
    }
}
