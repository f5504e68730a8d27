//! Emptying and removing the container's cgroups.
//!
//! Processes left behind are killed while frozen, so that none can fork or
//! exit (and have its pid reused) between reading cgroup.procs and the
//! kill; cgroup v2's cgroup.kill is used first where the kernel has it.
//! Then the directories go, sub-cgroups before their parents, in every
//! hierarchy.

use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{freezer, fs, Cgroup};
use crate::error::Result;

/// How long the processes get to die after SIGKILL.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// Every pid in any hierarchy of `cg`, sub-cgroups included.
fn all_procs(cg: &Cgroup) -> Vec<i32> {
    let mut pids: Vec<i32> = cg
        .hierarchies
        .iter()
        .filter(|h| h.is_contained())
        .flat_map(|h| fs::procs_recursive(&h.dir))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// SIGKILLs everything in `cg` and waits until no process is left.
pub(crate) fn kill_all(cg: &Cgroup) -> Result<()> {
    // The common case (the init exited and took its pid namespace with
    // it): one scan of every hierarchy finds nothing to kill.
    if all_procs(cg).is_empty() {
        return Ok(());
    }
    if let Some(h) = cg.v2_hierarchy() {
        if h.is_contained() && fs::has(&h.dir, "cgroup.kill") {
            if let Err(e) = fs::write(&h.dir, "cgroup.kill", "1") {
                tracing::debug!(error = %e, "cgroup.kill failed; killing pid by pid");
            }
        }
    }
    let deadline = Instant::now() + KILL_TIMEOUT;
    let mut delay = Duration::from_millis(1);
    loop {
        if all_procs(cg).is_empty() {
            return Ok(());
        }
        let frozen = freezer::freeze(cg).is_ok();
        for pid in all_procs(cg) {
            match kill(Pid::from_raw(pid), Signal::SIGKILL) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(e) => tracing::warn!(pid, error = %e, "could not kill a process of the cgroup"),
            }
        }
        if frozen {
            let _ = freezer::thaw(cg);
        }
        if Instant::now() >= deadline {
            let left = all_procs(cg);
            if left.is_empty() {
                return Ok(());
            }
            let dir = cg
                .hierarchies
                .first()
                .map(|h| h.dir.clone())
                .unwrap_or_default();
            return Err(fs::err(
                &dir,
                format!("processes {left:?} still there {KILL_TIMEOUT:?} after SIGKILL"),
            ));
        }
        sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

/// Kills what is left, then removes the directories in every hierarchy,
/// children before parents. Missing directories are fine. Every hierarchy
/// is tried; the first error is returned.
pub(crate) fn destroy(cg: &Cgroup) -> Result<()> {
    if remove_empty(cg) {
        return Ok(());
    }
    kill_all(cg)?;
    let mut first = None;
    for h in &cg.hierarchies {
        // Never touch a hierarchy root, even from a hand-edited state file.
        if !h.is_contained() {
            tracing::warn!(dir = %h.dir.display(), "not removing a cgroup outside its hierarchy");
            continue;
        }
        for d in fs::tree_post_order(&h.dir) {
            if let Err(e) = fs::rmdir(&d) {
                first.get_or_insert(e);
            }
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The common case at delete: the init was reaped and took its pid
/// namespace with it, so every directory is an empty leaf and rmdir alone
/// removes it, without reading any cgroup.procs. False when anything is
/// still there (processes, sub-cgroups), for the slow path.
fn remove_empty(cg: &Cgroup) -> bool {
    let mut all_gone = true;
    for h in cg.hierarchies.iter().filter(|h| h.is_contained()) {
        match std::fs::remove_dir(&h.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => all_gone = false,
        }
    }
    all_gone && cg.hierarchies.iter().all(|h| h.is_contained())
}

#[cfg(test)]
mod tests {
    use super::super::fs::testdir::TestDir;
    use super::super::{Hierarchy, Layout, Version};
    use super::*;

    #[test]
    fn empty_dirs_are_removed_children_first_and_twice_is_fine() {
        let t = TestDir::new("destroy");
        let mk = |mp: &str| Hierarchy {
            version: Version::V1,
            mount_point: t.path().join(mp),
            controllers: vec![mp.to_string()],
            dir: t.path().join(mp).join("ctr"),
        };
        let cg = Cgroup {
            layout: Layout::V1,
            hierarchies: vec![mk("memory"), mk("pids")],
        };
        t.cgroup("memory/ctr/sub/subsub", &[]);
        t.cgroup("pids/ctr", &[]);
        destroy(&cg).unwrap();
        assert!(!t.path().join("memory/ctr").exists());
        assert!(!t.path().join("pids/ctr").exists());
        assert!(t.path().join("memory").exists());
        destroy(&cg).unwrap();
    }

    #[test]
    fn a_hierarchy_root_is_never_removed() {
        let t = TestDir::new("destroy");
        let root = t.cgroup("memory", &[]);
        let cg = Cgroup {
            layout: Layout::V1,
            hierarchies: vec![Hierarchy {
                version: Version::V1,
                mount_point: root.clone(),
                controllers: vec!["memory".into()],
                dir: root.clone(),
            }],
        };
        destroy(&cg).unwrap();
        assert!(root.exists());
    }
}
