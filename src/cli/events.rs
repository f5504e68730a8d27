//! `corral events [--stats] [--interval D] ID`: runc's event stream, one
//! JSON object per line: {"type":"stats","id":..,"data":{...}} and
//! {"type":"oom","id":..} when the container's cgroup records an OOM kill.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use corral_runtime::{Container, Status};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one stats event and exit.
    #[arg(long)]
    pub stats: bool,
    /// Time between stats events.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    pub id: String,
}

pub fn run(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    let container = Container::load(root, &a.id)?;
    if a.stats {
        print_stats(&container)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut ooms = container.oom_kills();
    loop {
        if container.status() == Status::Stopped {
            return Ok(ExitCode::SUCCESS);
        }
        print_stats(&container)?;
        let now = container.oom_kills();
        if now > ooms {
            println!("{}", json!({"type": "oom", "id": container.id()}));
            ooms = now;
        }
        std::thread::sleep(a.interval);
    }
}

fn print_stats(c: &Container) -> anyhow::Result<()> {
    let stats = c.stats()?;
    println!("{}", json!({"type": "stats", "id": c.id(), "data": stats}));
    Ok(())
}
