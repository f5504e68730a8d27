//! Freezing and thawing: v1 freezer.state (FROZEN only once every task
//! stopped; FREEZING until then), or cgroup v2's cgroup.freeze with the
//! outcome in cgroup.events. The v1 freezer is used whenever it is
//! mounted; otherwise the cgroup2 directory (also in a hybrid layout,
//! where it holds the same processes).

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use cgroups_rs::freezer::{FreezerController, FreezerState};

use super::{fs, Cgroup};
use crate::error::Result;

/// How long a freeze may take before it is given up.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// The freezer to use: (directory, is cgroup v2).
fn freezer(cg: &Cgroup) -> Option<(&Path, bool)> {
    if let Some(h) = cg.controller("freezer") {
        return Some((h.dir, false));
    }
    cg.v2_hierarchy().map(|h| (h.dir.as_path(), true))
}

fn no_freezer(cg: &Cgroup) -> crate::error::Error {
    fs::err(
        cg.hierarchies
            .first()
            .map_or(Path::new("/sys/fs/cgroup"), |h| h.dir.as_path()),
        "no freezer: neither the v1 freezer controller nor cgroup2 is mounted",
    )
}

/// Whether v2 `dir` reports "frozen 1" in cgroup.events.
fn v2_frozen(dir: &Path) -> bool {
    fs::read_opt(dir, "cgroup.events").is_some_and(|t| {
        t.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["frozen", "1"])
    })
}

/// Whether v1 `dir` reports FROZEN.
fn v1_frozen(dir: &Path) -> bool {
    fs::read_opt(dir, "freezer.state").is_some_and(|s| s.trim() == "FROZEN")
}

/// Freezes every process of `cg` and waits until the kernel says so.
pub(crate) fn freeze(cg: &Cgroup) -> Result<()> {
    let (dir, v2) = freezer(cg).ok_or_else(|| no_freezer(cg))?;
    let name = if v2 { "cgroup.freeze" } else { "freezer.state" };
    fs::require(dir, name, "freezer")?;
    let ctl = FreezerController::new(dir.to_path_buf(), v2);
    let deadline = Instant::now() + FREEZE_TIMEOUT;
    let mut delay = Duration::from_micros(100);
    loop {
        // v1 needs the FROZEN write repeated while tasks are still FREEZING
        // (a task that forked in between is caught by the next write).
        ctl.freeze()
            .map_err(fs::rs_err(dir, name, if v2 { "1" } else { "FROZEN" }))?;
        if if v2 { v2_frozen(dir) } else { v1_frozen(dir) } {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let state = if v2 {
                fs::read_opt(dir, "cgroup.events").unwrap_or_default()
            } else {
                fs::read_opt(dir, "freezer.state").unwrap_or_default()
            };
            let _ = ctl.thaw();
            return Err(fs::err(
                &dir.join(name),
                format!(
                    "not frozen after {FREEZE_TIMEOUT:?} (state: {}); thawed again",
                    state.trim().replace('\n', ", ")
                ),
            ));
        }
        sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(10));
    }
}

/// Thaws every process of `cg`.
pub(crate) fn thaw(cg: &Cgroup) -> Result<()> {
    let (dir, v2) = freezer(cg).ok_or_else(|| no_freezer(cg))?;
    let name = if v2 { "cgroup.freeze" } else { "freezer.state" };
    fs::require(dir, name, "freezer")?;
    FreezerController::new(dir.to_path_buf(), v2)
        .thaw()
        .map_err(fs::rs_err(dir, name, if v2 { "0" } else { "THAWED" }))
}

/// Whether `cg` is completely frozen.
pub(crate) fn is_frozen(cg: &Cgroup) -> bool {
    match freezer(cg) {
        Some((dir, true)) => v2_frozen(dir),
        Some((dir, false)) => {
            // cgroups-rs parses the state; FREEZING is not frozen yet.
            matches!(
                FreezerController::new(dir.to_path_buf(), false).state(),
                Ok(FreezerState::Frozen)
            )
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fs::testdir::{content, TestDir};
    use super::super::{Hierarchy, Layout, Version};
    use super::*;

    fn one(
        t: &TestDir,
        version: Version,
        controllers: &[&str],
        files: &[&str],
    ) -> (Cgroup, std::path::PathBuf) {
        let dir = t.cgroup("c", files);
        let cg = Cgroup {
            layout: if version == Version::V2 {
                Layout::Unified
            } else {
                Layout::V1
            },
            hierarchies: vec![Hierarchy {
                version,
                mount_point: t.path().to_path_buf(),
                controllers: controllers.iter().map(|c| c.to_string()).collect(),
                dir: dir.clone(),
            }],
        };
        (cg, dir)
    }

    #[test]
    fn v1_freeze_writes_frozen_and_reads_the_state() {
        let t = TestDir::new("freezer");
        let (cg, dir) = one(&t, Version::V1, &["freezer"], &["freezer.state"]);
        // The fake kernel keeps what was written: FROZEN at once.
        freeze(&cg).unwrap();
        assert_eq!(content(&dir, "freezer.state"), "FROZEN");
        assert!(is_frozen(&cg));
        thaw(&cg).unwrap();
        assert_eq!(content(&dir, "freezer.state"), "THAWED");
        assert!(!is_frozen(&cg));
    }

    #[test]
    fn v2_state_comes_from_cgroup_events() {
        let t = TestDir::new("freezer");
        let (cg, dir) = one(&t, Version::V2, &[], &["cgroup.freeze"]);
        std::fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        freeze(&cg).unwrap();
        assert_eq!(content(&dir, "cgroup.freeze"), "1");
        assert!(is_frozen(&cg));
        thaw(&cg).unwrap();
        assert_eq!(content(&dir, "cgroup.freeze"), "0");
        std::fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        assert!(!is_frozen(&cg));
    }

    #[test]
    fn no_freezer_is_an_error() {
        let t = TestDir::new("freezer");
        let (cg, _) = one(&t, Version::V1, &["memory"], &[]);
        assert!(freeze(&cg).unwrap_err().to_string().contains("no freezer"));
        assert!(!is_frozen(&cg));
    }
}
