//! Readiness of a simple service: a path appears, or a command exec'd in
//! the container exits 0, within the timeout.

use std::cell::Cell;
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use corral_runtime::{pidfd, Container, ExecOptions, ExitStatus};
use oci_spec::runtime::Process;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{watch, Event, Tracked};
use crate::config::service::{Ready, ReadyKind};

/// Set once the check's service has exited or is being stopped: the check
/// ends at its next step (a check process already running is waited for).
pub type Cancel = Rc<Cell<bool>>;

/// Starts the check of `ready` for service `svc` (generation `gen`); the
/// result arrives as [`Event::Ready`].
pub fn spawn(
    svc: usize,
    gen: u64,
    ready: &Ready,
    container: &Container,
    process: Option<Process>,
    tx: mpsc::UnboundedSender<Event>,
    tracked: Tracked,
) -> Cancel {
    let cancel = Cancel::default();
    let cancelled = cancel.clone();
    let timeout = Duration::from_secs(ready.timeout_secs);
    let interval = Duration::from_millis(ready.interval_ms);
    let deadline = Instant::now() + timeout;
    let kind = ready.kind;
    let path = ready.path.clone().unwrap_or_default();
    let command = ready.command.clone();
    let container = container.clone();
    tokio::task::spawn_local(async move {
        let result = match kind {
            ReadyKind::Started => Ok(()),
            ReadyKind::Path => path_appears(&path, deadline, interval, &cancelled).await,
            ReadyKind::Exec => {
                let check = Check {
                    container,
                    process: exec_process(process, command),
                    tracked,
                    tx: tx.clone(),
                    cancelled,
                };
                check.until_ok(deadline, interval).await
            }
        }
        .map_err(|why| format!("not ready within {}s: {why}", timeout.as_secs()));
        let _ = tx.send(Event::Ready { svc, gen, result });
    });
    cancel
}

async fn path_appears(
    path: &Path,
    deadline: Instant,
    interval: Duration,
    cancelled: &Cancel,
) -> Result<(), String> {
    loop {
        if path.exists() {
            return Ok(());
        }
        if cancelled.get() || Instant::now() + interval > deadline {
            return Err(format!("{} did not appear", path.display()));
        }
        tokio::time::sleep(interval).await;
    }
}

/// The bundle's process with the check's argv, without a terminal.
fn exec_process(process: Option<Process>, command: Vec<String>) -> Process {
    let mut p = process.unwrap_or_default();
    p.set_args(Some(command));
    p.set_terminal(Some(false));
    p
}

struct Check {
    container: Container,
    process: Process,
    tracked: Tracked,
    tx: mpsc::UnboundedSender<Event>,
    cancelled: Cancel,
}

impl Check {
    async fn until_ok(&self, deadline: Instant, interval: Duration) -> Result<(), String> {
        loop {
            let why = match self.once(deadline).await {
                Ok(ExitStatus::Exited(0)) => return Ok(()),
                Ok(status) => format!("the check {}", watch::describe(status)),
                Err(e) => format!("the check could not run: {e}"),
            };
            if self.cancelled.get() || Instant::now() + interval > deadline {
                return Err(why);
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// One run of the command in the container, killed at the deadline.
    async fn once(&self, deadline: Instant) -> Result<ExitStatus, String> {
        let null = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| format!("open /dev/null: {e}"))?;
        let fd = Some(null.as_raw_fd());
        let opts = ExecOptions {
            stdio: [fd, fd, fd],
            ..Default::default()
        };
        let spawned = self
            .container
            .exec(&self.process, opts)
            .map_err(|e| e.to_string())?;
        drop(null);
        self.tracked.insert(spawned.pid);
        let killer = spawned.pidfd.try_clone().ok();
        let status = tokio::time::timeout_at(deadline, watch::exit_of(spawned.pidfd)).await;
        let status = match (status, killer) {
            (Ok(s), _) => s,
            (Err(_), Some(k)) => {
                let _ = pidfd::send_signal(&k, libc::SIGKILL);
                watch::exit_of(k).await
            }
            // Without a second handle the dropped wait already closed the
            // pidfd; the orphan reaper collects the check.
            (Err(_), None) => ExitStatus::Signaled(libc::SIGKILL),
        };
        self.tracked.remove(spawned.pid);
        let _ = self.tx.send(Event::Reap);
        Ok(status)
    }
}
