//! `corral ctl`: talk to a running init over its control socket.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::ctl::protocol::{Request, DEFAULT_LOG_LINES};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The init's control socket.
    #[arg(long, default_value = crate::ctl::SOCKET)]
    pub socket: PathBuf,
    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(Debug, Subcommand)]
pub enum CtlCommand {
    /// Services with their state, pid, uptime, restarts and memory.
    Status,
    /// A service's recent output.
    Logs {
        /// Keep printing new lines.
        #[arg(short, long)]
        follow: bool,
        /// Lines of backlog.
        #[arg(short = 'n', long, default_value_t = DEFAULT_LOG_LINES)]
        lines: usize,
        service: String,
    },
    /// Start a stopped or failed service.
    Start { service: String },
    /// Stop a service (it is not restarted).
    Stop { service: String },
    /// Stop a service and start it again.
    Restart { service: String },
    /// Shut the system down and reboot.
    Reboot,
    /// Shut the system down and power off.
    Poweroff,
}

impl CtlCommand {
    fn request(&self) -> Request {
        match self {
            CtlCommand::Status => Request::Status,
            CtlCommand::Logs {
                follow,
                lines,
                service,
            } => Request::Logs {
                service: service.clone(),
                lines: *lines,
                follow: *follow,
            },
            CtlCommand::Start { service } => Request::Start {
                service: service.clone(),
            },
            CtlCommand::Stop { service } => Request::Stop {
                service: service.clone(),
            },
            CtlCommand::Restart { service } => Request::Restart {
                service: service.clone(),
            },
            CtlCommand::Reboot => Request::Reboot,
            CtlCommand::Poweroff => Request::Poweroff,
        }
    }
}

pub fn run(a: &Args) -> anyhow::Result<ExitCode> {
    crate::ctl::client::run(&a.socket, &a.command.request())?;
    Ok(ExitCode::SUCCESS)
}
