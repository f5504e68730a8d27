//! corral-runtime: an OCI runtime (runtime-spec 1.2) as a library.
//!
//! The same code serves the runc-compatible command line, PID 1's service
//! supervisor and the benches: parse and validate a bundle, prepare every
//! step in the parent, clone the container's first process into its
//! namespaces and cgroup, and drive it through the lifecycle (create,
//! start, kill, delete, exec). The library prints nothing, never panics on
//! bad input and owns no global state but caches of what it derives from
//! the host (the mount table, compiled seccomp profiles), each checked
//! or keyed so that it follows what it was derived from.

pub mod capabilities;
pub mod cgroups;
pub mod child;
pub mod clone;
pub mod container;
pub mod default_spec;
pub mod devices;
pub mod error;
pub mod features;
pub mod hooks;
pub mod id;
pub mod mounts;
mod mounttable;
pub mod namespaces;
mod nested_spawn;
pub mod pidfd;
pub mod process;
pub mod procfd;
pub mod rlimits;
pub mod rootfs;
pub mod seccomp;
pub mod selinux;
mod smallfile;
pub mod spec;
pub mod state;
pub mod sync;
pub mod syscall;
pub mod terminal;
pub mod user;

pub use container::kill::parse_signal;
pub use container::{
    create, create_without_cgroup, list, Container, CreateOptions, Created, ExecOptions, Spawned,
};
pub use error::{Error, Result};
pub use pidfd::ExitStatus;
pub use spec::{load_bundle, Bundle};
pub use state::{Status, DEFAULT_ROOT};
