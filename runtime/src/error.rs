//! The errors a runtime operation can end with.
//!
//! Every variant renders as one line that names what was wrong and where: the
//! bundle file and JSON pointer for configuration errors, the container id
//! and state for lifecycle errors, the setup step for failures inside the
//! container's first process.

use std::io;
use std::path::PathBuf;

/// Result alias used throughout the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A runtime error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// config.json is malformed or invalid at a JSON pointer.
    #[error("{}: {pointer}: {message}", file.display())]
    Spec {
        file: PathBuf,
        pointer: String,
        message: String,
    },

    /// A container id that cannot be used as a state directory name.
    #[error("invalid container id {id:?}: {reason}")]
    InvalidId { id: String, reason: &'static str },

    /// The id is taken under this state root.
    #[error("container {0} already exists")]
    AlreadyExists(String),

    /// No container of that id under this state root.
    #[error("container {0} does not exist")]
    NotFound(String),

    /// An operation that the container's current status does not allow.
    #[error("cannot {op} container {id}: it is {status}")]
    WrongState {
        id: String,
        op: &'static str,
        status: String,
    },

    /// The container's first process failed during its setup sequence.
    #[error("container setup failed: {step}: {cause}")]
    Setup { step: String, cause: io::Error },

    /// A lifecycle hook failed or timed out.
    #[error("{kind} hook {path}: {message}")]
    Hook {
        kind: &'static str,
        path: String,
        message: String,
    },

    /// A cgroup could not be created, configured, joined or removed.
    #[error("cgroup {path}: {message}")]
    Cgroup { path: String, message: String },

    /// The seccomp section could not be turned into a filter.
    #[error("seccomp: {0}")]
    Seccomp(String),

    /// Any other system error, with what was being done.
    #[error("{context}: {cause}")]
    Io { context: String, cause: io::Error },

    /// A caller-supplied argument that is not valid (signal name, option...).
    #[error("{0}")]
    InvalidArgument(String),
}

impl Error {
    /// An `Io` error from `source` with what was being done.
    pub fn io(context: impl Into<String>, source: impl Into<io::Error>) -> Self {
        Error::Io {
            context: context.into(),
            cause: source.into(),
        }
    }

    /// A configuration error at `pointer` in `file`.
    pub fn spec(
        file: impl Into<PathBuf>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Spec {
            file: file.into(),
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// Adds the "what was being done" context to io and nix results.
pub trait Context<T> {
    /// Wraps the error into [`Error::Io`] with a lazily built context.
    fn context_with<F: FnOnce() -> String>(self, f: F) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, io::Error> {
    fn context_with<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.map_err(|e| Error::io(f(), e))
    }
}

impl<T> Context<T> for std::result::Result<T, nix::Error> {
    fn context_with<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.map_err(|e| Error::io(f(), io::Error::from(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_error_names_file_and_pointer() {
        let e = Error::spec("/b/config.json", "/process/args", "must not be empty");
        assert_eq!(
            e.to_string(),
            "/b/config.json: /process/args: must not be empty"
        );
    }

    #[test]
    fn io_context_is_kept() {
        let r: std::result::Result<(), io::Error> = Err(io::Error::from_raw_os_error(libc::ENOENT));
        let e = r.context_with(|| "open /x".into()).unwrap_err();
        assert!(e.to_string().starts_with("open /x: "));
    }
}
