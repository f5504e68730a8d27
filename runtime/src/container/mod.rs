//! A container under a state root, and one file per lifecycle verb.

mod create;
mod delete;
mod describe;
mod exec;
pub mod kill;
mod pause;
mod plan;
mod start;
mod update;

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Hooks, LinuxNamespaceType};

pub use create::{create, create_without_cgroup, CreateOptions, Created};
pub use exec::{ExecOptions, Spawned};

use crate::error::{Error, Result};
use crate::namespaces;
use crate::pidfd;
use crate::state::{self, State, StateDir, Status};

/// A container known from its state directory.
#[derive(Debug, Clone)]
pub struct Container {
    pub(crate) dir: StateDir,
    pub state: State,
    /// The config's hooks, kept by `create` so that `start` and `delete`
    /// in the same process need not read and parse the saved config
    /// again; `None` when loaded from disk (read when needed).
    pub(crate) hooks: Option<Option<Hooks>>,
}

impl Container {
    /// Loads container `id` under `root`.
    pub fn load(root: &Path, id: &str) -> Result<Self> {
        let dir = StateDir::open(root, id)?;
        let state = dir.load()?;
        Ok(Container {
            dir,
            state,
            hooks: None,
        })
    }

    pub fn id(&self) -> &str {
        &self.state.id
    }

    pub fn pid(&self) -> i32 {
        self.state.pid
    }

    pub fn state_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The live status: the recorded one corrected by whether the init
    /// process still exists (checked with its start time, so a recycled
    /// PID is not mistaken for it), the freezer and the exec fifo.
    pub fn status(&self) -> Status {
        let s = &self.state;
        if s.pid <= 0 || !pidfd::is_alive(s.pid, s.init_start_time) {
            return Status::Stopped;
        }
        if s.status == Status::Creating {
            return Status::Creating;
        }
        if s.cgroup.as_ref().is_some_and(|c| c.is_frozen()) {
            return Status::Paused;
        }
        if self.dir.has_fifo() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// The OCI state as JSON, as `state` prints it and hooks read it.
    pub fn oci_state_json(&self, status: Status) -> Vec<u8> {
        serde_json::to_vec(&self.state.oci(status)).unwrap_or_default()
    }

    /// The namespace types the container was created with.
    pub fn namespace_types(&self) -> Vec<LinuxNamespaceType> {
        self.state
            .namespaces
            .iter()
            .filter_map(|n| namespaces::from_name(n))
            .collect()
    }

    /// PIDs of every process in the container (host PID namespace).
    pub fn pids(&self) -> Result<Vec<i32>> {
        if let Some(cg) = &self.state.cgroup {
            return cg.procs();
        }
        Ok(match self.status() {
            Status::Stopped => Vec::new(),
            _ => vec![self.state.pid],
        })
    }

    /// Records the init's exit code (for callers that reaped it).
    pub fn record_exit(&mut self, code: i32) -> Result<()> {
        self.state.exit_code = Some(code);
        self.dir.save(&self.state)
    }

    /// The hooks of the config the container was created with.
    pub(crate) fn config_hooks(&self) -> Result<Option<Hooks>> {
        match &self.hooks {
            Some(h) => Ok(h.clone()),
            None => Ok(self.dir.load_config()?.hooks().clone()),
        }
    }

    fn wrong_state(&self, op: &'static str, status: Status) -> Error {
        Error::WrongState {
            id: self.state.id.clone(),
            op,
            status: status.to_string(),
        }
    }
}

/// Every container under `root`, skipping directories whose state cannot
/// be read (a half-created container still shows up in `ids`).
pub fn list(root: &Path) -> Result<Vec<Container>> {
    Ok(state::list_ids(root)?
        .into_iter()
        .filter_map(|id| Container::load(root, &id).ok())
        .collect())
}

/// Default bundle-relative rootfs, for messages.
pub fn rootfs_of(bundle: &Path, root_path: &Path) -> PathBuf {
    if root_path.is_absolute() {
        root_path.to_path_buf()
    } else {
        bundle.join(root_path)
    }
}
