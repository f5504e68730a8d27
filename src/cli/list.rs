//! `corral list [--format table|json] [--quiet]`.

use std::path::Path;
use std::process::ExitCode;

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(short, long, value_enum, default_value_t)]
    pub format: Format,
    /// Print only ids.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    let containers = corral_runtime::list(root)?;
    if a.quiet {
        for c in &containers {
            println!("{}", c.id());
        }
        return Ok(ExitCode::SUCCESS);
    }
    match a.format {
        Format::Json => {
            let states: Vec<_> = containers.iter().map(|c| c.state.oci(c.status())).collect();
            println!("{}", serde_json::to_string(&states)?);
        }
        Format::Table => {
            println!(
                "{:<20} {:<8} {:<10} {:<40} {:<32} OWNER",
                "ID", "PID", "STATUS", "BUNDLE", "CREATED"
            );
            for c in &containers {
                let status = c.status();
                let s = c.state.oci(status);
                let owner = if s.owner.is_empty() { "root" } else { s.owner };
                println!(
                    "{:<20} {:<8} {:<10} {:<40} {:<32} {owner}",
                    s.id,
                    s.pid,
                    status,
                    s.bundle.display(),
                    s.created
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
