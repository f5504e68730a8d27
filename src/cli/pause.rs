//! `corral pause` and `corral resume`: the freezer.

use std::path::Path;
use std::process::ExitCode;

use corral_runtime::Container;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: String,
}

pub fn pause(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    Container::load(root, &a.id)?.pause()?;
    Ok(ExitCode::SUCCESS)
}

pub fn resume(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    Container::load(root, &a.id)?.resume()?;
    Ok(ExitCode::SUCCESS)
}
