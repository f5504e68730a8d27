//! Waiting for a process we started: the pidfd becomes readable when it
//! exits; then we reap it through the same pidfd, so the status can never
//! belong to a recycled PID or be taken by the orphan reaper.

use std::os::fd::OwnedFd;
use std::time::Duration;

use corral_runtime::{pidfd, ExitStatus};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::{mpsc, oneshot};

use super::{Event, Tracked};

/// How long an exit waits for the service's last output to be read.
const LOG_DRAIN: Duration = Duration::from_millis(500);
/// Poll period when the pidfd cannot be registered with the event loop.
const FALLBACK_POLL: Duration = Duration::from_millis(100);

/// Watches the init of service `svc` (generation `gen`): reaps it, lets
/// the reaper look for orphans again, waits for the end of its output,
/// then reports the exit.
pub fn service_exit(
    svc: usize,
    gen: u64,
    pid: i32,
    pidfd: OwnedFd,
    log_eof: oneshot::Receiver<()>,
    tx: mpsc::UnboundedSender<Event>,
    tracked: Tracked,
) {
    tokio::task::spawn_local(async move {
        let status = exit_of(pidfd).await;
        tracked.remove(pid);
        let _ = tx.send(Event::Reap);
        let _ = tokio::time::timeout(LOG_DRAIN, log_eof).await;
        let _ = tx.send(Event::Exited { svc, gen, status });
    });
}

/// Waits for our child behind `fd` to exit and reaps it.
pub async fn exit_of(fd: OwnedFd) -> ExitStatus {
    // SAFETY: the OwnedFd is a valid open pidfd, owned by the AsyncFd until
    // it is dropped or taken back with into_inner; as_raw_fd never changes.
    let afd = match unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) } {
        Ok(a) => a,
        Err(e) => {
            let (fd, _) = e.into_parts();
            return poll_exit(fd).await;
        }
    };
    loop {
        let Ok(mut guard) = afd.readable().await else {
            return poll_exit(afd.into_inner()).await;
        };
        match reap(afd.get_ref()) {
            Some(status) => return status,
            None => guard.clear_ready(),
        }
    }
}

async fn poll_exit(fd: OwnedFd) -> ExitStatus {
    loop {
        if let Some(status) = reap(&fd) {
            return status;
        }
        tokio::time::sleep(FALLBACK_POLL).await;
    }
}

/// The status if the process has exited (reaping it), None while it runs.
fn reap(fd: &OwnedFd) -> Option<ExitStatus> {
    match pidfd::wait(fd, true) {
        Ok(s) => s,
        Err(e) => {
            // Not our child any more (ECHILD): nothing left to wait for.
            tracing::warn!(error = %e, "waiting for a process by pidfd");
            Some(ExitStatus::Exited(255))
        }
    }
}

/// "exited with status N" / "killed by SIGKILL".
pub fn describe(status: ExitStatus) -> String {
    match status {
        ExitStatus::Exited(c) => format!("exited with status {c}"),
        ExitStatus::Signaled(s) => match nix::sys::signal::Signal::try_from(s) {
            Ok(sig) => format!("killed by {}", sig.as_str()),
            Err(_) => format!("killed by signal {s}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_well() {
        assert_eq!(describe(ExitStatus::Exited(3)), "exited with status 3");
        assert_eq!(describe(ExitStatus::Signaled(9)), "killed by SIGKILL");
    }

    #[test]
    #[allow(clippy::zombie_processes)] // reaped through the pidfd
    fn exit_of_a_child_is_seen_and_reaped() {
        let child = std::process::Command::new("sh")
            .args(["-c", "sleep 0.1; exit 4"])
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let fd = pidfd::open(pid).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let status = rt.block_on(exit_of(fd));
        assert_eq!(status, ExitStatus::Exited(4));
        // Reaped: the pid is no longer our child.
        let r = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
        assert_eq!(r, Err(nix::errno::Errno::ECHILD));
    }
}
