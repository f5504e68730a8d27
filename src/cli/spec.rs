//! `corral spec`: writes a default, secure-by-default config.json.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write config.json into.
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for a rootless container (user namespace mapping the caller).
    #[arg(long)]
    pub rootless: bool,
}

pub fn run(a: &Args) -> anyhow::Result<ExitCode> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        anyhow::bail!("{} exists; remove it first", path.display());
    }
    let spec = corral_runtime::default_spec::default_spec(a.rootless)?;
    let json = serde_json::to_string_pretty(&spec)?;
    std::fs::write(&path, json + "\n").with_context(|| format!("write {}", path.display()))?;
    Ok(ExitCode::SUCCESS)
}
