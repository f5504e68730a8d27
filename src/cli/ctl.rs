//! `corral ctl`: talk to a running init over its control socket.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use crate::ctl::protocol::{Request, DEFAULT_LOG_LINES};
use crate::ctl::wait::{self, Goal};

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
    /// Start a stopped or failed service; wait until it is up.
    Start {
        service: String,
        #[command(flatten)]
        wait: Wait,
    },
    /// Stop a service (it is not restarted); wait until it is down.
    Stop {
        service: String,
        #[command(flatten)]
        wait: Wait,
    },
    /// Stop a service and start it again; wait until it is up.
    Restart {
        service: String,
        #[command(flatten)]
        wait: Wait,
    },
    /// Shut the system down and reboot.
    Reboot,
    /// Shut the system down and power off.
    Poweroff,
}

/// How `start`, `stop` and `restart` wait, as `systemctl` does.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Wait {
    /// Return once the init has the request, without waiting.
    #[arg(long)]
    no_block: bool,
    /// Give up waiting after this many seconds (the service keeps going).
    #[arg(long, default_value_t = 120)]
    timeout: u64,
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
            CtlCommand::Start { service, .. } => Request::Start {
                service: service.clone(),
            },
            CtlCommand::Stop { service, .. } => Request::Stop {
                service: service.clone(),
            },
            CtlCommand::Restart { service, .. } => Request::Restart {
                service: service.clone(),
            },
            CtlCommand::Reboot => Request::Reboot,
            CtlCommand::Poweroff => Request::Poweroff,
        }
    }

    /// The service, goal and wait settings of a command that waits.
    fn waits(&self) -> Option<(&str, Wait)> {
        match self {
            CtlCommand::Start { service, wait }
            | CtlCommand::Stop { service, wait }
            | CtlCommand::Restart { service, wait } => Some((service, *wait)),
            _ => None,
        }
    }
}

pub fn run(a: &Args) -> anyhow::Result<ExitCode> {
    let waiting = a.command.waits().filter(|(_, w)| !w.no_block);
    // A restart is done when a new process runs: note the old one first.
    let goal = match (&a.command, waiting) {
        (_, None) => None,
        (CtlCommand::Stop { .. }, Some(_)) => Some(Goal::Down),
        (CtlCommand::Restart { service, .. }, Some(_)) => Some(Goal::UpAgain {
            old_pid: wait::row(&a.socket, service)?.pid,
        }),
        (_, Some(_)) => Some(Goal::Up),
    };
    crate::ctl::client::run(&a.socket, &a.command.request())?;
    if let (Some(goal), Some((service, w))) = (goal, waiting) {
        let state = wait::settle(&a.socket, service, goal, Duration::from_secs(w.timeout))?;
        println!("{service} {state}");
    }
    Ok(ExitCode::SUCCESS)
}
