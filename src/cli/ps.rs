//! `corral ps`: the container's processes, as a `ps` table filtered to
//! them or as a JSON array of pids (what containerd reads).

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::Context;
use clap::ValueEnum;
use corral_runtime::Container;

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
    pub id: String,
    /// Options passed to ps (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    let pids = Container::load(root, &a.id)?.pids()?;
    if let Format::Json = a.format {
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(ExitCode::SUCCESS);
    }
    let args = if a.ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        a.ps_args.clone()
    };
    let out = Command::new("ps").args(&args).output().context("run ps")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Ok(ExitCode::SUCCESS);
    };
    let column = header
        .split_whitespace()
        .position(|h| h == "PID")
        .context("ps output has no PID column")?;
    let wanted: HashSet<i32> = pids.into_iter().collect();
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| wanted.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
