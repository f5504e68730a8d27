//! `corral create`.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use corral_runtime::CreateOptions;

use super::console;

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Bundle directory (holding config.json).
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is set.
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// File to write the container's init pid to.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot_root (for roots on ramfs/initramfs).
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring.
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass this many fds after stdio to the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Container id.
    pub id: String,
}

impl CreateArgs {
    pub fn options(&self, root: &Path, console_socket: Option<OwnedFd>) -> CreateOptions {
        CreateOptions {
            state_root: root.to_path_buf(),
            id: self.id.clone(),
            console_socket,
            pid_file: self.pid_file.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            stdio: [None; 3],
        }
    }
}

pub fn run(root: &Path, a: &CreateArgs) -> anyhow::Result<ExitCode> {
    corral_runtime::id::validate_id(&a.id)?;
    let bundle = corral_runtime::load_bundle(&a.bundle)?;
    let socket = a
        .console_socket
        .as_deref()
        .map(console::connect)
        .transpose()?;
    corral_runtime::create(&bundle, a.options(root, socket))?;
    Ok(ExitCode::SUCCESS)
}
