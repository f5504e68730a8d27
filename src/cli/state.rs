//! `corral state`: the OCI state as indented JSON, as runc prints it.

use std::path::Path;
use std::process::ExitCode;

use corral_runtime::Container;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: String,
}

pub fn run(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    let c = Container::load(root, &a.id)?;
    let status = c.status();
    println!("{}", serde_json::to_string_pretty(&c.state.oci(status))?);
    Ok(ExitCode::SUCCESS)
}
