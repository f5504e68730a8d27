//! `corral start`.

use std::path::Path;
use std::process::ExitCode;

use corral_runtime::Container;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: String,
}

pub fn run(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    Container::load(root, &a.id)?.start()?;
    Ok(ExitCode::SUCCESS)
}
