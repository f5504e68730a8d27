//! `corral kill [--all] ID [SIGNAL]`.

use std::path::Path;
use std::process::ExitCode;

use corral_runtime::{parse_signal, Container};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Signal every process in the container.
    #[arg(short, long)]
    pub all: bool,
    pub id: String,
    /// Signal name or number.
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

pub fn run(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    let signal = parse_signal(&a.signal)?;
    Container::load(root, &a.id)?.kill(signal, a.all)?;
    Ok(ExitCode::SUCCESS)
}
