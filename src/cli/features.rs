//! `corral features`.

use std::process::ExitCode;

pub fn run() -> anyhow::Result<ExitCode> {
    println!(
        "{}",
        serde_json::to_string_pretty(&corral_runtime::features::features())?
    );
    Ok(ExitCode::SUCCESS)
}
