//! `corral init`: PID 1 (also chosen when argv[0] is `init`).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// corral.toml to read instead of /etc/corral/corral.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Sandbox mode, set by `corral boot`: make this root `/` first.
    #[arg(long, hide = true)]
    pub sandbox_root: Option<PathBuf>,
}

pub fn run(a: &Args) -> anyhow::Result<ExitCode> {
    Ok(crate::init::main(crate::init::Options {
        sandbox_root: a.sandbox_root.clone(),
        config: a.config.clone(),
    }))
}
