//! `service.toml`: how one service is ordered, when it counts as ready, how
//! it is restarted and stopped, and its log limits; plus the per-service
//! overrides of corral.toml's `[services.overrides.NAME]`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `kind`: a long-running service or one that runs to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Simple,
    Oneshot,
}

/// `[ready] kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadyKind {
    #[default]
    Started,
    Path,
    Exec,
}

/// `[restart] policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    No,
    #[default]
    OnFailure,
    Always,
}

/// `group`: which cgroup subtree the service lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// `corral/system`: protected (memory.min/low, a high cpu.weight, a
    /// low oom_score_adj).
    #[default]
    System,
    /// `corral/engines`: user engines, limited as a whole and each on its own.
    Engines,
}

impl Group {
    /// The subtree's directory name below `corral/`.
    pub fn dir(self) -> &'static str {
        match self {
            Group::System => "system",
            Group::Engines => "engines",
        }
    }
}

/// One service.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceFile {
    pub description: String,
    pub kind: Kind,
    pub after: Vec<String>,
    pub requires: Vec<String>,
    pub wants: Vec<String>,
    pub provides: Vec<String>,
    pub group: Group,
    pub ready: Ready,
    pub restart: Restart,
    pub stop: Stop,
    pub logs: LogLimits,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ready {
    pub kind: ReadyKind,
    /// kind = "path": the path (as PID 1 sees it) whose appearance means ready.
    pub path: Option<PathBuf>,
    /// kind = "exec": argv run in the container; exit 0 means ready.
    pub command: Vec<String>,
    pub timeout_secs: u64,
    pub interval_ms: u64,
}

impl Default for Ready {
    fn default() -> Self {
        Ready {
            kind: ReadyKind::Started,
            path: None,
            command: Vec::new(),
            timeout_secs: 30,
            interval_ms: 200,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Restart {
    pub policy: Policy,
    pub initial_delay_ms: u64,
    pub max_delay_ms: u64,
    pub max_restarts: u32,
    pub window_secs: u64,
}

impl Default for Restart {
    fn default() -> Self {
        Restart {
            policy: Policy::OnFailure,
            initial_delay_ms: 200,
            max_delay_ms: 30_000,
            max_restarts: 5,
            window_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Stop {
    pub signal: String,
    pub timeout_secs: u64,
}

impl Default for Stop {
    fn default() -> Self {
        Stop {
            signal: "SIGTERM".into(),
            timeout_secs: 10,
        }
    }
}

/// `[logs]`: per-service log file limits (unset: corral.toml's `[log]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogLimits {
    pub max_file_size: Option<u64>,
    pub max_files: Option<u32>,
}

/// `[services.overrides.NAME]` of corral.toml: any key of `[restart]`,
/// `[stop]`, `[ready]` and `[logs]`, plus `env` appended to the process's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Override {
    pub restart: RestartPatch,
    pub stop: StopPatch,
    pub ready: ReadyPatch,
    pub logs: LogLimits,
    pub env: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestartPatch {
    pub policy: Option<Policy>,
    pub initial_delay_ms: Option<u64>,
    pub max_delay_ms: Option<u64>,
    pub max_restarts: Option<u32>,
    pub window_secs: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StopPatch {
    pub signal: Option<String>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadyPatch {
    pub kind: Option<ReadyKind>,
    pub path: Option<PathBuf>,
    pub command: Option<Vec<String>>,
    pub timeout_secs: Option<u64>,
    pub interval_ms: Option<u64>,
}

fn patch<T: Clone>(target: &mut T, value: &Option<T>) {
    if let Some(v) = value {
        *target = v.clone();
    }
}

impl ServiceFile {
    /// Reads, parses and checks `path`.
    pub fn load(path: &Path) -> Result<ServiceFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: ServiceFile = super::parse(path, &text)?;
        file.check()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(file)
    }

    /// Applies corral.toml's override for this service.
    pub fn apply(&mut self, o: &Override) {
        let r = &mut self.restart;
        patch(&mut r.policy, &o.restart.policy);
        patch(&mut r.initial_delay_ms, &o.restart.initial_delay_ms);
        patch(&mut r.max_delay_ms, &o.restart.max_delay_ms);
        patch(&mut r.max_restarts, &o.restart.max_restarts);
        patch(&mut r.window_secs, &o.restart.window_secs);
        patch(&mut self.stop.signal, &o.stop.signal);
        patch(&mut self.stop.timeout_secs, &o.stop.timeout_secs);
        let d = &mut self.ready;
        patch(&mut d.kind, &o.ready.kind);
        if o.ready.path.is_some() {
            d.path = o.ready.path.clone();
        }
        patch(&mut d.command, &o.ready.command);
        patch(&mut d.timeout_secs, &o.ready.timeout_secs);
        patch(&mut d.interval_ms, &o.ready.interval_ms);
        if o.logs.max_file_size.is_some() {
            self.logs.max_file_size = o.logs.max_file_size;
        }
        if o.logs.max_files.is_some() {
            self.logs.max_files = o.logs.max_files;
        }
    }

    /// The rules serde cannot express; the message names the section and key.
    pub fn check(&self) -> Result<(), String> {
        for (key, list) in [
            ("after", &self.after),
            ("requires", &self.requires),
            ("wants", &self.wants),
            ("provides", &self.provides),
        ] {
            if let Some(n) = list.iter().find(|n| !super::valid_name(n)) {
                return Err(format!(
                    "{key}: {n:?} is not a service name ([a-z0-9][a-z0-9_-]{{0,62}})"
                ));
            }
        }
        self.check_ready()?;
        let r = &self.restart;
        if r.initial_delay_ms > r.max_delay_ms {
            return Err("[restart] initial_delay_ms is larger than max_delay_ms".into());
        }
        if r.window_secs == 0 {
            return Err("[restart] window_secs must be at least 1".into());
        }
        if self.kind == Kind::Oneshot && r.policy == Policy::Always {
            return Err(
                "[restart] policy = \"always\" cannot apply to a oneshot service (use \"on-failure\")"
                    .into(),
            );
        }
        corral_runtime::parse_signal(&self.stop.signal)
            .map_err(|_| format!("[stop] signal: unknown signal {:?}", self.stop.signal))?;
        Ok(())
    }

    fn check_ready(&self) -> Result<(), String> {
        let d = &self.ready;
        if self.kind == Kind::Oneshot && d.kind != ReadyKind::Started {
            return Err(
                "[ready] does not apply to a oneshot service (it is done when it exits 0)".into(),
            );
        }
        match d.kind {
            ReadyKind::Path if !d.path.as_deref().is_some_and(Path::is_absolute) => {
                return Err("[ready] kind = \"path\" needs an absolute path".into())
            }
            ReadyKind::Exec if d.command.is_empty() => {
                return Err("[ready] kind = \"exec\" needs a command".into())
            }
            _ => {}
        }
        if d.timeout_secs == 0 || d.interval_ms == 0 {
            return Err("[ready] timeout_secs and interval_ms must be at least 1".into());
        }
        Ok(())
    }

    /// The stop signal's number (checked by [`ServiceFile::check`]).
    pub fn stop_signal(&self) -> i32 {
        corral_runtime::parse_signal(&self.stop.signal).unwrap_or(libc::SIGTERM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServiceFile, String> {
        let f: ServiceFile = crate::config::parse(Path::new("s.toml"), text)?;
        f.check()?;
        Ok(f)
    }

    #[test]
    fn empty_file_is_the_defaults() {
        let f = parse("").unwrap();
        assert_eq!(f.kind, Kind::Simple);
        assert_eq!(f.restart.policy, Policy::OnFailure);
        assert_eq!(f.restart.initial_delay_ms, 200);
        assert_eq!(f.restart.max_restarts, 5);
        assert_eq!(f.stop.timeout_secs, 10);
        assert_eq!(f.stop_signal(), libc::SIGTERM);
        assert_eq!(f.ready.kind, ReadyKind::Started);
        assert_eq!(f.group, Group::System);
    }

    #[test]
    fn engines_group() {
        let f = parse("group = \"engines\"").unwrap();
        assert_eq!(f.group, Group::Engines);
        assert_eq!(f.group.dir(), "engines");
        assert!(parse("group = \"users\"").unwrap_err().contains("users"));
    }

    #[test]
    fn the_documented_example_parses() {
        let f = parse(
            r#"
description = "system logger"
kind = "simple"
after = ["network"]
requires = ["network"]
wants = []
provides = ["logging"]
[ready]
kind = "exec"
command = ["test", "-S", "/dev/log"]
timeout_secs = 30
interval_ms = 200
[restart]
policy = "always"
initial_delay_ms = 100
max_delay_ms = 1000
max_restarts = 3
window_secs = 10
[stop]
signal = "SIGINT"
timeout_secs = 2
[logs]
max_file_size = 4096
max_files = 2
"#,
        )
        .unwrap();
        assert_eq!(f.requires, ["network"]);
        assert_eq!(f.ready.kind, ReadyKind::Exec);
        assert_eq!(f.restart.policy, Policy::Always);
        assert_eq!(f.stop_signal(), libc::SIGINT);
        assert_eq!(f.logs.max_files, Some(2));
    }

    #[test]
    fn unknown_keys_name_the_line_and_key() {
        let e = parse("kind = \"simple\"\n[restart]\npolcy = \"no\"\n").unwrap_err();
        assert!(e.starts_with("s.toml:3: "), "{e}");
        assert!(e.contains("polcy"), "{e}");
        let e = parse("colour = \"red\"\n").unwrap_err();
        assert!(e.starts_with("s.toml:1: ") && e.contains("colour"), "{e}");
    }

    #[test]
    fn bad_values_are_reported() {
        for (text, want) in [
            ("kind = \"daemon\"", "daemon"),
            ("[ready]\nkind = \"path\"", "needs an absolute path"),
            ("[ready]\nkind = \"exec\"", "needs a command"),
            ("[stop]\nsignal = \"SIGNOPE\"", "unknown signal"),
            ("after = [\"Bad Name\"]", "not a service name"),
            (
                "[restart]\ninitial_delay_ms = 5\nmax_delay_ms = 1",
                "larger than",
            ),
            (
                "kind = \"oneshot\"\n[restart]\npolicy = \"always\"",
                "oneshot",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn overrides_patch_only_what_they_set() {
        let mut f = parse("[restart]\nmax_restarts = 9\n").unwrap();
        let o: Override = crate::config::parse(
            Path::new("c.toml"),
            "restart = { policy = \"always\" }\nstop = { timeout_secs = 1 }\nenv = [\"A=b\"]",
        )
        .unwrap();
        f.apply(&o);
        assert_eq!(f.restart.policy, Policy::Always);
        assert_eq!(f.restart.max_restarts, 9);
        assert_eq!(f.stop.timeout_secs, 1);
        assert_eq!(f.stop.signal, "SIGTERM");
    }
}
