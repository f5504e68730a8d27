//! `corral delete [--force] ID...`.

use std::path::Path;
use std::process::ExitCode;

use corral_runtime::{Container, Error};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kill a running container first.
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true)]
    pub ids: Vec<String>,
}

pub fn run(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    let mut failed = None;
    for id in &a.ids {
        if let Err(e) = delete_one(root, id, a.force) {
            super::logging::report_error(&e);
            failed = Some(e);
        }
    }
    match failed {
        Some(_) => Ok(ExitCode::FAILURE),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn delete_one(root: &Path, id: &str, force: bool) -> anyhow::Result<()> {
    corral_runtime::id::validate_id(id)?;
    match Container::load(root, id) {
        Ok(c) => Ok(c.delete(force)?),
        // --force also clears a directory left by a create that died
        // before writing its state.
        Err(Error::NotFound(_)) if force => {
            let dir = root.join(id);
            if dir.is_dir() {
                std::fs::remove_dir_all(&dir)?;
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
