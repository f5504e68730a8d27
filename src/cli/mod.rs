//! The runc-compatible command line: global flags and one file per verb.

mod boot;
mod console;
mod create;
mod ctl;
mod delete;
mod events;
mod exec;
mod features;
mod image;
mod init;
mod kill;
mod list;
mod logging;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;
mod wait;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// corral: a container-optimized init with an embedded OCI runtime.
#[derive(Debug, Parser)]
#[command(name = "corral", version, about, disable_help_subcommand = true)]
pub struct Cli {
    /// Directory holding container state.
    #[arg(long, global = true, default_value = corral_runtime::DEFAULT_ROOT)]
    root: PathBuf,
    /// Log file (default: stderr).
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Log format.
    #[arg(long = "log-format", global = true, value_enum, default_value_t)]
    log_format: logging::LogFormat,
    /// Debug logging.
    #[arg(long, global = true)]
    debug: bool,
    /// Accepted for runc compatibility; cgroups are managed through cgroupfs.
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// Accepted for runc compatibility.
    #[arg(long, value_name = "true|false|auto", num_args = 0..=1, default_missing_value = "true")]
    rootless: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a container: set it up and leave its process waiting for start.
    Create(create::CreateArgs),
    /// Start a created container.
    Start(start::Args),
    /// Create, start and wait for a container.
    Run(run::Args),
    /// Print a container's state as JSON.
    State(state::Args),
    /// Send a signal to a container's init (or all its processes).
    Kill(kill::Args),
    /// Delete a container.
    Delete(delete::Args),
    /// List containers.
    List(list::Args),
    /// Run a new process in a container.
    Exec(exec::Args),
    /// List a container's processes.
    Ps(ps::Args),
    /// Print the runtime features document.
    Features,
    /// Write a default config.json.
    Spec(spec::Args),
    /// Change resource limits of a running container.
    Update(update::Args),
    /// Freeze every process of a container.
    Pause(pause::Args),
    /// Thaw a paused container.
    Resume(pause::Args),
    /// Print resource usage and OOM events.
    Events(events::Args),
    /// Run as PID 1: mount, start the services, supervise them.
    Init(init::Args),
    /// Boot the init in a sandbox over the prepared root given by --root.
    Boot(boot::Args),
    /// Talk to a running init (status, logs, start, stop, poweroff...).
    Ctl(ctl::Args),
    /// Build or boot a bootable corral image.
    Image(image::Args),
}

/// Parses the command line and runs it; errors become one line on stderr
/// (and in the log) and exit status 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = logging::init(cli.log.as_deref(), cli.log_format, cli.debug) {
        eprintln!("corral: {e:#}");
        return ExitCode::FAILURE;
    }
    let _ = (cli.systemd_cgroup, &cli.rootless);
    match dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            logging::report_error(&e);
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: &Cli) -> anyhow::Result<ExitCode> {
    let root = &cli.root;
    match &cli.command {
        Command::Create(a) => create::run(root, a),
        Command::Start(a) => start::run(root, a),
        Command::Run(a) => run::run(root, a),
        Command::State(a) => state::run(root, a),
        Command::Kill(a) => kill::run(root, a),
        Command::Delete(a) => delete::run(root, a),
        Command::List(a) => list::run(root, a),
        Command::Exec(a) => exec::run(root, a),
        Command::Ps(a) => ps::run(root, a),
        Command::Features => features::run(),
        Command::Spec(a) => spec::run(a),
        Command::Init(a) => init::run(a),
        Command::Boot(a) => boot::run(root, a),
        Command::Ctl(a) => ctl::run(a),
        Command::Update(a) => update::run(root, a),
        Command::Pause(a) => pause::pause(root, a),
        Command::Resume(a) => pause::resume(root, a),
        Command::Events(a) => events::run(root, a),
        Command::Image(a) => image::run(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_containerd_style_invocations() {
        let cli = Cli::try_parse_from([
            "corral",
            "--root",
            "/run/x",
            "--log",
            "/tmp/l",
            "--log-format",
            "json",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
            "id1",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Create(_)));
        let cli = Cli::try_parse_from(["corral", "kill", "--all", "id1", "9"]).unwrap();
        assert!(matches!(cli.command, Command::Kill(_)));
        let cli = Cli::try_parse_from([
            "corral",
            "exec",
            "--process",
            "/p.json",
            "--detach",
            "--pid-file",
            "/p",
            "id1",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Exec(_)));
    }
}
