//! Container state on disk: one directory per container under the state
//! root, holding state.json (the OCI state plus what later commands need),
//! the exec fifo while the container waits for start, and a copy of the
//! configuration it was created with.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::cgroups::Cgroup;
use crate::error::{Error, Result};
use crate::id::validate_id;

/// Default state root, as runc's /run/runc.
pub const DEFAULT_ROOT: &str = "/run/corral";
/// OCI runtime-spec version written in state.
pub const OCI_VERSION: &str = "1.2.0";

const STATE_FILE: &str = "state.json";
const FIFO: &str = "exec.fifo";
const CONFIG_COPY: &str = "config.json";
const LOCK_FILE: &str = ".lock";

/// A container's lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        };
        f.write_str(s)
    }
}

/// state.json: the OCI state fields (with runc's rootfs/created/owner,
/// which containerd reads) and the runtime's own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct State {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    /// Status at the last write; the live status is computed by
    /// [`crate::Container::status`].
    pub status: Status,
    pub pid: i32,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
    /// Start time of the init process (clock ticks), to tell it from a
    /// process that reused its PID.
    pub init_start_time: u64,
    /// Namespace types the container has ("pid", "net"...), for exec.
    pub namespaces: Vec<String>,
    pub cgroup: Option<Cgroup>,
    /// Whether the root was entered without pivot_root (exec must chroot).
    #[serde(default)]
    pub no_pivot: bool,
    /// Exit status recorded by a runtime that waited for the init (run, PID 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// The OCI state document, as `state` prints it and hooks read it.
#[derive(Debug, Clone, Serialize)]
pub struct OciState<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: Status,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    pub owner: &'a str,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
}

impl State {
    pub fn oci(&self, status: Status) -> OciState<'_> {
        OciState {
            oci_version: &self.oci_version,
            id: &self.id,
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: &self.owner,
            annotations: &self.annotations,
        }
    }
}

/// Now as RFC 3339 with nanoseconds (what Go's time.Time parses).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(SystemTime::now()).to_string()
}

/// A container's directory under the state root.
#[derive(Debug, Clone)]
pub struct StateDir {
    path: PathBuf,
}

impl StateDir {
    /// Creates the directory for a new container; fails if the id exists.
    pub fn create(root: &Path, id: &str) -> Result<Self> {
        validate_id(id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| Error::io(format!("create state root {}", root.display()), e))?;
        let path = root.join(id);
        match fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => Ok(StateDir { path }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Error::AlreadyExists(id.to_owned()))
            }
            Err(e) => Err(Error::io(format!("create {}", path.display()), e)),
        }
    }

    /// Opens the directory of an existing container.
    pub fn open(root: &Path, id: &str) -> Result<Self> {
        validate_id(id)?;
        let path = root.join(id);
        if !path.join(STATE_FILE).exists() && !path.is_dir() {
            return Err(Error::NotFound(id.to_owned()));
        }
        Ok(StateDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.path.join(FIFO)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path.join(CONFIG_COPY)
    }

    /// Makes the exec fifo the container's first process will block on.
    pub fn make_fifo(&self) -> Result<PathBuf> {
        let path = self.fifo_path();
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .map_err(|e| Error::io(format!("mkfifo {}", path.display()), e))?;
        Ok(path)
    }

    pub fn has_fifo(&self) -> bool {
        self.fifo_path().exists()
    }

    /// Writes state.json atomically (write a temporary file, then rename).
    pub fn save(&self, state: &State) -> Result<()> {
        let json = serde_json::to_vec(state)
            .map_err(|e| Error::io("serialize state", std::io::Error::other(e)))?;
        write_atomic(&self.path.join(STATE_FILE), &json)
    }

    pub fn load(&self) -> Result<State> {
        let path = self.path.join(STATE_FILE);
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(self.id()),
            _ => Error::io(format!("read {}", path.display()), e),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::io(
                format!("parse {}", path.display()),
                std::io::Error::other(e),
            )
        })
    }

    /// Saves the configuration the container was created with.
    pub fn save_config(&self, spec: &oci_spec::runtime::Spec) -> Result<()> {
        let json = serde_json::to_vec(spec)
            .map_err(|e| Error::io("serialize config", std::io::Error::other(e)))?;
        write_atomic(&self.config_path(), &json)
    }

    pub fn load_config(&self) -> Result<oci_spec::runtime::Spec> {
        crate::spec::load_spec_from_slice(
            &fs::read(self.config_path())
                .map_err(|e| Error::io(format!("read {}", self.config_path().display()), e))?,
            &self.config_path(),
        )
    }

    /// Takes an exclusive lock on the container for a lifecycle change.
    pub fn lock(&self) -> Result<StateLock> {
        let path = self.path.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| Error::io(format!("open {}", path.display()), e))?;
        // SAFETY: plain syscall on an fd we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } < 0 {
            return Err(Error::io(
                format!("lock {}", path.display()),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(StateLock { _file: file })
    }

    /// Removes the directory and everything in it.
    pub fn remove(&self) -> Result<()> {
        match fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("remove {}", self.path.display()), e)),
        }
    }

    fn id(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Holds the container's lock until dropped.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(bytes)?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(format!("write {}", path.display()), e)
    })
}

/// Ids of every container under `root` (sorted).
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("read {}", root.display()), e)),
    };
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(STATE_FILE).is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp_root(name: &str) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("corral-state-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        p
    }

    fn sample(id: &str) -> State {
        State {
            oci_version: OCI_VERSION.into(),
            id: id.into(),
            status: Status::Created,
            pid: 42,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: now_rfc3339(),
            owner: String::new(),
            annotations: HashMap::new(),
            init_start_time: 1,
            namespaces: vec!["pid".into()],
            cgroup: None,
            no_pivot: false,
            exit_code: None,
        }
    }

    #[test]
    fn create_refuses_an_existing_id() {
        let root = tmp_root("exists");
        StateDir::create(&root, "a").unwrap();
        assert!(matches!(
            StateDir::create(&root, "a"),
            Err(Error::AlreadyExists(_))
        ));
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn hostile_ids_never_reach_the_filesystem() {
        let root = tmp_root("hostile");
        for id in ["../x", "a/b", "..", ""] {
            assert!(StateDir::create(&root, id).is_err());
        }
        assert!(!root.join("..").join("x").exists() || root.parent().is_none());
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn state_round_trips_and_lists() {
        let root = tmp_root("roundtrip");
        let dir = StateDir::create(&root, "c1").unwrap();
        dir.save(&sample("c1")).unwrap();
        assert_eq!(
            dir.load().unwrap(),
            sample("c1").clone_with_created(&dir.load().unwrap().created)
        );
        assert_eq!(list_ids(&root).unwrap(), vec!["c1"]);
        dir.remove().unwrap();
        assert!(list_ids(&root).unwrap().is_empty());
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn oci_state_hides_pid_when_stopped() {
        let s = sample("x");
        let json = serde_json::to_value(s.oci(Status::Stopped)).unwrap();
        assert_eq!(json["pid"], 0);
        assert_eq!(json["status"], "stopped");
        assert_eq!(json["ociVersion"], OCI_VERSION);
    }

    impl State {
        fn clone_with_created(mut self, created: &str) -> Self {
            created.clone_into(&mut self.created);
            self
        }
    }
}
