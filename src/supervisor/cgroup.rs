//! Where the service cgroups go: `corral/system/NAME` for system services
//! and `corral/engines/NAME` for user engines (service.toml `group`),
//! below PID 1's own cgroup (the root on a real boot, the sandbox's cgroup
//! in sandbox mode). On cgroup v2 the two subtrees get the settings of
//! corral.toml's `[cgroups]` (protect.rs).
//!
//! On a pure cgroup v2 layout, controllers can only be delegated to
//! children of a cgroup without processes of its own (the root excepted):
//! PID 1 below the root then moves itself into a leaf `init` and the
//! services get the absolute path `/OWN/corral/NAME`. Controllers are
//! enabled for the `corral` parent so every service has memory and pids
//! accounting. On v1 and hybrid layouts nothing of this is needed.

use std::fs;
use std::path::{Path, PathBuf};

use corral_runtime::cgroups::{Cgroup, Layout};

use super::protect;
use crate::config::cgroups::Cgroups;
use crate::config::service::Group;

/// The parent of the service cgroups, relative to PID 1's cgroup.
pub const PARENT: &str = "corral";

fn here() -> &'static Path {
    Path::new("corral init")
}

/// The base path of the service cgroups (a cgroupsPath).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    base: PathBuf,
    /// Pure cgroup v2 (bundles may use linux.resources.unified).
    unified: bool,
}

impl Default for Placement {
    fn default() -> Self {
        Placement {
            base: PathBuf::from(PARENT),
            unified: false,
        }
    }
}

impl Placement {
    /// The cgroupsPath of service `name` in `group`.
    pub fn service(&self, name: &str, group: Group) -> PathBuf {
        self.base.join(group.dir()).join(name)
    }

    /// Whether the layout is pure cgroup v2.
    pub fn unified(&self) -> bool {
        self.unified
    }

    /// Decides the placement, and on pure cgroup v2 prepares it and applies
    /// `settings`. Problems are returned (one line each) with a placement
    /// that is still usable.
    pub fn prepare(settings: &Cgroups) -> (Placement, Vec<String>) {
        let cg = match Cgroup::resolve(Some(Path::new(PARENT)), PARENT, here()) {
            Ok(cg) => cg,
            Err(e) => return (Placement::default(), vec![e.to_string()]),
        };
        let (Layout::Unified, Some(parent_dir)) = (cg.layout(), cg.unified_dir()) else {
            return (Placement::default(), Vec::new());
        };
        let own = fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|t| unified_path(&t));
        let Some(own) = own else {
            return (Placement::default(), Vec::new());
        };
        match prepare_unified(&parent_dir, &own) {
            Ok(p) => {
                let errors = protect_subtrees(&parent_dir, settings);
                (p, errors)
            }
            Err(e) => (Placement::default(), vec![e]),
        }
    }

    /// Removes the (empty) parent of the service cgroups in every hierarchy.
    pub fn remove(&self) -> Result<(), String> {
        let cg = Cgroup::resolve(Some(&self.base), PARENT, here()).map_err(|e| e.to_string())?;
        cg.destroy().map_err(|e| e.to_string())
    }
}

/// The path of "0::PATH" in /proc/self/cgroup.
fn unified_path(proc_cgroup: &str) -> Option<String> {
    proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| p.trim().to_owned())
}

/// Makes `corral/system` and `corral/engines`, delegates controllers to
/// their children and writes corral.toml's `[cgroups]` settings.
fn protect_subtrees(corral_dir: &Path, settings: &Cgroups) -> Vec<String> {
    let mut errors = Vec::new();
    for group in [Group::System, Group::Engines] {
        let dir = corral_dir.join(group.dir());
        match mkdir(&dir) {
            Ok(()) => delegate(&dir),
            Err(e) => errors.push(e),
        }
    }
    let list = protect::settings(settings, crate::config::size::ram_bytes());
    errors.extend(protect::apply(corral_dir, &list));
    errors
}

/// `corral_dir` is `<mount>/<own>/corral`.
fn prepare_unified(corral_dir: &Path, own: &str) -> Result<Placement, String> {
    let own_dir = corral_dir
        .parent()
        .ok_or_else(|| format!("{}: no parent", corral_dir.display()))?;
    let placement = if own == "/" {
        Placement {
            unified: true,
            ..Placement::default()
        }
    } else {
        let leaf = own_dir.join("init");
        mkdir(&leaf)?;
        write(&leaf.join("cgroup.procs"), "0")?;
        delegate(own_dir);
        Placement {
            base: Path::new(own).join(PARENT),
            unified: true,
        }
    };
    mkdir(corral_dir)?;
    delegate(corral_dir);
    Ok(placement)
}

/// Enables for the children of `dir` every controller it has (each on
/// its own, so one that cannot be enabled does not stop the others).
fn delegate(dir: &Path) {
    let available = fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    for c in available.split_whitespace() {
        if let Err(e) = write(&dir.join("cgroup.subtree_control"), &format!("+{c}")) {
            tracing::debug!(error = %e, "delegate a controller");
        }
    }
}

fn mkdir(dir: &Path) -> Result<(), String> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("mkdir {}: {e}", dir.display())),
    }
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    fs::write(path, value).map_err(|e| format!("write {value:?} to {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_paths() {
        assert_eq!(
            Placement::default().service("web", Group::System),
            Path::new("corral/system/web")
        );
        let p = Placement {
            base: PathBuf::from("/corral-sandbox-7/corral"),
            unified: true,
        };
        assert_eq!(
            p.service("docker-ci", Group::Engines),
            Path::new("/corral-sandbox-7/corral/engines/docker-ci")
        );
    }

    #[test]
    fn own_unified_path() {
        assert_eq!(
            unified_path("12:memory:/x\n0::/user.slice/a\n"),
            Some("/user.slice/a".into())
        );
        assert_eq!(unified_path("0::/\n"), Some("/".into()));
        assert_eq!(unified_path("4:pids:/x\n"), None);
    }

    #[test]
    fn on_a_v2_tree_pid1_moves_to_a_leaf_and_delegates() {
        // A directory tree standing in for cgroupfs: plain files accept the
        // writes, so this checks what is made and written where.
        let t = std::env::temp_dir().join(format!("corral-cgplace-{}", std::process::id()));
        let own = t.join("sandbox");
        fs::create_dir_all(&own).unwrap();
        fs::write(own.join("cgroup.controllers"), "cpu memory pids").unwrap();
        let p = prepare_unified(&own.join("corral"), "/sandbox").unwrap();
        assert_eq!(
            p.service("web", Group::System),
            Path::new("/sandbox/corral/system/web")
        );
        assert!(p.unified());
        assert_eq!(
            fs::read_to_string(own.join("init/cgroup.procs")).unwrap(),
            "0"
        );
        assert!(own.join("corral").is_dir());
        // Each controller is written on its own; the file keeps the last.
        assert_eq!(
            fs::read_to_string(own.join("cgroup.subtree_control")).unwrap(),
            "+pids"
        );
        let root = prepare_unified(&t.join("corral"), "/").unwrap();
        assert_eq!(
            root.service("a", Group::System),
            Path::new("corral/system/a")
        );
        assert!(root.unified());
        fs::remove_dir_all(&t).unwrap();
    }

    #[test]
    fn the_subtrees_are_made_and_protected() {
        let t = std::env::temp_dir().join(format!("corral-cgprotect-{}", std::process::id()));
        let corral = t.join("corral");
        fs::create_dir_all(&corral).unwrap();
        fs::write(corral.join("cgroup.controllers"), "cpu memory pids").unwrap();
        // Stand-ins for the files the kernel makes in a new cgroup.
        for g in ["system", "engines"] {
            fs::create_dir_all(corral.join(g)).unwrap();
            for f in [
                "memory.min",
                "memory.low",
                "cpu.weight",
                "memory.max",
                "pids.max",
            ] {
                fs::write(corral.join(g).join(f), "").unwrap();
            }
        }
        for f in ["memory.min", "memory.low"] {
            fs::write(corral.join(f), "").unwrap();
        }
        let errors = protect_subtrees(&corral, &Cgroups::default());
        assert!(errors.is_empty(), "{errors:?}");
        let read = |p: &str| fs::read_to_string(corral.join(p)).unwrap();
        assert_eq!(read("system/cpu.weight"), "1000");
        assert_eq!(read("engines/cpu.weight"), "100");
        assert_eq!(read("system/memory.min"), (64u64 << 20).to_string());
        assert_eq!(read("memory.min"), (64u64 << 20).to_string());
        fs::remove_dir_all(&t).unwrap();
    }
}
