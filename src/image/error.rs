//! What can stop an image build or boot; each is one line naming what and
//! where.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {}", .0.display(), .1)]
    Io(PathBuf, #[source] io::Error),
    /// An image path that is not absolute-and-clean.
    #[error("{}: not a usable path inside the image", .0.display())]
    BadPath(PathBuf),
    /// Two different things want the same path in the image.
    #[error("{}: two different entries want this path in the image", .0.display())]
    Conflict(PathBuf),
    /// A build input (file named first) is wrong.
    #[error("{}: {}", .0.display(), .1)]
    Invalid(PathBuf, String),
    /// The kernel is missing or unusable.
    #[error("kernel: {0}")]
    Kernel(String),
    /// A host tool failed or is missing.
    #[error("{0}: {1}")]
    Tool(String, String),
    /// The SELinux policy does not compile.
    #[error("selinux policy {}: {}", .0.display(), .1)]
    Policy(PathBuf, String),
}
