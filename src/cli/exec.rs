//! `corral exec`: a process from --process (process.json) or from the
//! command line on top of the container's own process settings.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use corral_runtime::{Container, ExecOptions};
use oci_spec::runtime::{Capability, Process};

use super::{console, wait};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// process.json describing the process (overrides the flags below).
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Return once the process started.
    #[arg(short, long)]
    pub detach: bool,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Allocate a pty.
    #[arg(short, long)]
    pub tty: bool,
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Extra environment (NAME=value), repeatable.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// uid[:gid].
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional gids, repeatable.
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Extra capabilities, repeatable.
    #[arg(short, long)]
    pub cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// Accepted for runc compatibility.
    #[arg(long)]
    pub apparmor: Option<String>,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Accepted for runc compatibility.
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    pub id: String,
    /// Command and arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    let container = Container::load(root, &a.id)?;
    let process = build_process(&container, a)?;
    let terminal = process.terminal().unwrap_or(false);
    let (ours, theirs) = match (&a.console_socket, terminal && !a.detach) {
        (Some(path), _) => (None, Some(console::connect(path)?)),
        (None, true) => {
            let (o, t) = console::pair()?;
            (Some(o), Some(t))
        }
        (None, false) => (None, None),
    };
    let mut signals = wait::signal_fd()?;
    let spawned = container.exec(
        &process,
        ExecOptions {
            console_socket: theirs,
            pid_file: a.pid_file.clone(),
            preserve_fds: a.preserve_fds,
            stdio: [None; 3],
        },
    )?;
    if a.detach {
        return Ok(ExitCode::SUCCESS);
    }
    let pty = ours.as_ref().map(console::recv_fd).transpose()?;
    let status = wait::foreground(&spawned.pidfd, &mut signals, pty)?;
    Ok(ExitCode::from(u8::try_from(status.code()).unwrap_or(255)))
}

fn build_process(container: &Container, a: &Args) -> anyhow::Result<Process> {
    if let Some(path) = &a.process {
        let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
        return parse_process(&bytes, path);
    }
    if a.command.is_empty() {
        anyhow::bail!("exec needs a command or --process");
    }
    let config_path = container.state_dir().join("config.json");
    let spec =
        corral_runtime::spec::load_spec_from_slice(&std::fs::read(&config_path)?, &config_path)?;
    let mut p = spec.process().clone().unwrap_or_default();
    p.set_args(Some(a.command.clone()));
    p.set_terminal(Some(a.tty));
    p.set_console_size(None);
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(a.env.iter().cloned());
    p.set_env(Some(env));
    if let Some(user) = &a.user {
        let (uid, gid) = user.split_once(':').unwrap_or((user.as_str(), "0"));
        p.user_mut()
            .set_uid(uid.parse().with_context(|| format!("--user {user}"))?);
        p.user_mut()
            .set_gid(gid.parse().with_context(|| format!("--user {user}"))?);
    }
    if !a.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(a.additional_gids.clone()));
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(label) = &a.process_label {
        p.set_selinux_label(Some(label.clone()));
    }
    if !a.cap.is_empty() {
        add_caps(&mut p, &a.cap)?;
    }
    Ok(p)
}

fn add_caps(p: &mut Process, names: &[String]) -> anyhow::Result<()> {
    let mut extra = Vec::new();
    for n in names {
        let c: Capability = serde_json::from_value(serde_json::Value::String(n.clone()))
            .map_err(|_| anyhow::anyhow!("unknown capability {n}"))?;
        extra.push(c);
    }
    let mut caps = p.capabilities().clone().unwrap_or_default();
    let add = |set: Option<&oci_spec::runtime::Capabilities>| {
        let mut s = set.cloned().unwrap_or_default();
        s.extend(extra.iter().copied());
        Some(s)
    };
    caps.set_bounding(add(caps.bounding().as_ref()));
    caps.set_effective(add(caps.effective().as_ref()));
    caps.set_permitted(add(caps.permitted().as_ref()));
    p.set_capabilities(Some(caps));
    Ok(())
}

/// Parses process.json, naming the file and JSON pointer on error.
fn parse_process(bytes: &[u8], path: &Path) -> anyhow::Result<Process> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let pointer: String = e.path().to_string().replace('.', "/");
        anyhow::anyhow!("{}: /{pointer}: {}", path.display(), e.inner())
    })
}
