//! `corral run`: create, start, wait and delete, with the runtime as the
//! container's parent. The exit status is the container's (128 + N when
//! killed by signal N).

use std::path::Path;
use std::process::ExitCode;

use corral_runtime::Container;

use super::{console, create, wait};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub create: create::CreateArgs,
    /// Return after start instead of waiting.
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    pub keep: bool,
    /// Accepted for runc compatibility (the wait is by pidfd).
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
}

pub fn run(root: &Path, a: &Args) -> anyhow::Result<ExitCode> {
    corral_runtime::id::validate_id(&a.create.id)?;
    let bundle = corral_runtime::load_bundle(&a.create.bundle)?;
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    // A foreground terminal is ours to proxy: make the socket pair here.
    let (ours, theirs) = match (&a.create.console_socket, terminal && !a.detach) {
        (Some(path), _) => (None, Some(console::connect(path)?)),
        (None, true) => {
            let (o, t) = console::pair()?;
            (Some(o), Some(t))
        }
        (None, false) => (None, None),
    };
    let mut signals = wait::signal_fd()?;
    let created = corral_runtime::create(&bundle, a.create.options(root, theirs))?;
    let mut container = created.container;
    let pty = match &ours {
        Some(sock) => Some(console::recv_fd(sock).inspect_err(|_| cleanup(&container))?),
        None => None,
    };
    if let Err(e) = container.start() {
        cleanup(&container);
        return Err(e.into());
    }
    if a.detach {
        return Ok(ExitCode::SUCCESS);
    }
    let status = wait::foreground(&created.pidfd, &mut signals, pty)?;
    let code = status.code();
    if a.keep {
        container.record_exit(code)?;
    } else {
        container.delete(true)?;
    }
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(255)))
}

fn cleanup(c: &Container) {
    if let Err(e) = c.delete(true) {
        tracing::warn!(error = %e, "cleanup after failed run");
    }
}
