//! Kernel modules from corral.toml, loaded with finit_module after their
//! dependencies as modules.dep lists them.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Errors loading one module.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error("read {path}: {source}")]
    Index {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("module {0:?} is not in modules.dep")]
    Unknown(String),
    #[error("load {path}: {source}")]
    Load {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// finit_module's flag for a compressed file (the kernel decompresses).
const MODULE_INIT_COMPRESSED_FILE: libc::c_uint = 4;

/// modules.dep of one kernel: module name -> (file, dependencies).
#[derive(Debug, Default)]
pub struct Index {
    dir: PathBuf,
    modules: BTreeMap<String, (String, Vec<String>)>,
    builtin: HashSet<String>,
}

/// Module names compare with `-` and `_` alike.
fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// "kernel/net/llc/llc.ko.xz" -> "llc".
fn name_of(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    normalize(file.split(".ko").next().unwrap_or(file))
}

impl Index {
    /// Reads modules.dep (and modules.builtin) under `dir`.
    pub fn load(dir: &Path) -> Result<Self, ModuleError> {
        let dep = dir.join("modules.dep");
        let text = std::fs::read_to_string(&dep).map_err(|source| ModuleError::Index {
            path: dep.clone(),
            source,
        })?;
        let builtin = std::fs::read_to_string(dir.join("modules.builtin")).unwrap_or_default();
        Ok(Self::parse(dir, &text, &builtin))
    }

    fn parse(dir: &Path, dep: &str, builtin: &str) -> Self {
        let mut modules = BTreeMap::new();
        for line in dep.lines() {
            let Some((file, deps)) = line.split_once(':') else {
                continue;
            };
            let deps = deps.split_whitespace().map(str::to_owned).collect();
            modules.insert(name_of(file), (file.trim().to_owned(), deps));
        }
        Index {
            dir: dir.to_path_buf(),
            modules,
            builtin: builtin.lines().map(name_of).collect(),
        }
    }

    /// The files to load for `name`, dependencies first (modules.dep lists
    /// them so that the last one must be loaded first). Empty when built in.
    pub fn plan(&self, name: &str) -> Result<Vec<PathBuf>, ModuleError> {
        let key = normalize(name);
        if self.builtin.contains(&key) {
            return Ok(Vec::new());
        }
        let (file, deps) = self
            .modules
            .get(&key)
            .ok_or_else(|| ModuleError::Unknown(name.to_owned()))?;
        let mut out: Vec<PathBuf> = deps.iter().rev().map(|d| self.dir.join(d)).collect();
        out.push(self.dir.join(file));
        Ok(out)
    }
}

/// Loads `names` from /lib/modules/`release`; returns one line per failure.
pub fn load_all(names: &[String], release: &str) -> Vec<String> {
    if names.is_empty() {
        return Vec::new();
    }
    let index = match Index::load(&Path::new("/lib/modules").join(release)) {
        Ok(i) => i,
        Err(e) => return vec![e.to_string()],
    };
    let mut loaded = HashSet::new();
    let mut errors = Vec::new();
    for name in names {
        let result = index.plan(name).and_then(|files| {
            for f in files {
                if loaded.insert(f.clone()) {
                    insert(&f)?;
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e.to_string());
        }
    }
    errors
}

/// finit_module of one file; already loaded is fine.
fn insert(path: &Path) -> Result<(), ModuleError> {
    let err = |source| ModuleError::Load {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(err)?;
    let compressed = [".xz", ".zst", ".gz"]
        .iter()
        .any(|ext| path.to_string_lossy().ends_with(ext));
    let flags = if compressed {
        MODULE_INIT_COMPRESSED_FILE
    } else {
        0
    };
    // SAFETY: finit_module reads the open file and the empty, NUL-terminated
    // parameter string; it writes no memory of ours.
    let r = unsafe {
        libc::syscall(
            libc::SYS_finit_module,
            file.as_raw_fd(),
            c"".as_ptr(),
            flags,
        )
    };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(err(e));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "kernel/net/llc/llc.ko.xz:\n\
        kernel/net/802/stp.ko.xz: kernel/net/llc/llc.ko.xz\n\
        kernel/net/bridge/bridge.ko.xz: kernel/net/802/stp.ko.xz kernel/net/llc/llc.ko.xz\n\
        kernel/net/bridge/br_netfilter.ko.xz: kernel/net/bridge/bridge.ko.xz kernel/net/802/stp.ko.xz kernel/net/llc/llc.ko.xz\n\
        kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko\n\
        kernel/drivers/net/net_failover.ko:\n";

    #[test]
    fn dependencies_load_first() {
        let i = Index::parse(Path::new("/m"), DEP, "kernel/drivers/unix.ko\n");
        let plan = i.plan("br-netfilter").unwrap();
        let names: Vec<String> = plan.iter().map(|p| name_of(&p.to_string_lossy())).collect();
        assert_eq!(names, ["llc", "stp", "bridge", "br_netfilter"]);
        assert_eq!(plan[0], Path::new("/m/kernel/net/llc/llc.ko.xz"));
        assert_eq!(i.plan("virtio_net").unwrap().len(), 2);
        assert!(i.plan("unix").unwrap().is_empty());
        assert!(matches!(i.plan("nope"), Err(ModuleError::Unknown(_))));
    }
}
