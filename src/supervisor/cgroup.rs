//! Where the service cgroups go: `corral/NAME` below PID 1's own cgroup
//! (the root on a real boot, the sandbox's cgroup in sandbox mode).
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

/// The parent of the service cgroups, relative to PID 1's cgroup.
pub const PARENT: &str = "corral";

fn here() -> &'static Path {
    Path::new("corral init")
}

/// The base path of the service cgroups (a cgroupsPath).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    base: PathBuf,
}

impl Default for Placement {
    fn default() -> Self {
        Placement {
            base: PathBuf::from(PARENT),
        }
    }
}

impl Placement {
    /// The cgroupsPath of service `name`.
    pub fn service(&self, name: &str) -> PathBuf {
        self.base.join(name)
    }

    /// Decides the placement, and on pure cgroup v2 prepares it. Problems
    /// are returned with the (still usable) default placement.
    pub fn prepare() -> (Placement, Option<String>) {
        let cg = match Cgroup::resolve(Some(Path::new(PARENT)), PARENT, here()) {
            Ok(cg) => cg,
            Err(e) => return (Placement::default(), Some(e.to_string())),
        };
        let (Layout::Unified, Some(parent_dir)) = (cg.layout(), cg.unified_dir()) else {
            return (Placement::default(), None);
        };
        let own = fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|t| unified_path(&t));
        let Some(own) = own else {
            return (Placement::default(), None);
        };
        match prepare_unified(&parent_dir, &own) {
            Ok(p) => (p, None),
            Err(e) => (Placement::default(), Some(e)),
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

/// `corral_dir` is `<mount>/<own>/corral`.
fn prepare_unified(corral_dir: &Path, own: &str) -> Result<Placement, String> {
    let own_dir = corral_dir
        .parent()
        .ok_or_else(|| format!("{}: no parent", corral_dir.display()))?;
    let placement = if own == "/" {
        Placement::default()
    } else {
        let leaf = own_dir.join("init");
        mkdir(&leaf)?;
        write(&leaf.join("cgroup.procs"), "0")?;
        delegate(own_dir);
        Placement {
            base: Path::new(own).join(PARENT),
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
        assert_eq!(Placement::default().service("web"), Path::new("corral/web"));
        let p = Placement {
            base: PathBuf::from("/corral-sandbox-7/corral"),
        };
        assert_eq!(p.service("web"), Path::new("/corral-sandbox-7/corral/web"));
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
        assert_eq!(p.service("web"), Path::new("/sandbox/corral/web"));
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
        assert_eq!(root, Placement::default());
        fs::remove_dir_all(&t).unwrap();
    }
}
