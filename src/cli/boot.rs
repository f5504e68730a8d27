//! `corral boot --root DIR`: the init in a sandbox on this machine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// corral.toml to use instead of DIR/etc/corral/corral.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `root` is the global `--root`, here the prepared sandbox root.
pub fn run(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    if root == Path::new(corral_runtime::DEFAULT_ROOT) {
        bail!("corral boot needs --root DIR: the prepared root to boot (see docs/config.md)");
    }
    crate::init::boot::run(root, a.config.as_deref())
}
