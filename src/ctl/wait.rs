//! `corral ctl start|stop|restart` wait, as `systemctl` does, until the
//! service has settled: up (running, or done for a oneshot) or down; a
//! service that fails to come up is an error. `--no-block` skips this.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::client;
use super::protocol::ServiceStatus;

/// How often the status is polled.
const POLL: Duration = Duration::from_millis(100);

/// Where the service should end up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    Up,
    /// Up again, as a process other than `old_pid`.
    UpAgain {
        old_pid: Option<i32>,
    },
    Down,
}

/// What one status row says about reaching `goal`.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Reached,
    Missed(String),
    Pending,
}

fn verdict(goal: Goal, row: &ServiceStatus) -> Verdict {
    let state = row.state.as_str();
    let missed = || {
        let why = row
            .error
            .as_deref()
            .map_or(String::new(), |e| format!(": {e}"));
        Verdict::Missed(format!("{} is {state}{why}", row.name))
    };
    match goal {
        Goal::Down => match state {
            "stopped" | "failed" | "done" | "exited" | "skipped" | "disabled" => Verdict::Reached,
            _ => Verdict::Pending,
        },
        Goal::Up | Goal::UpAgain { .. } => match state {
            "running" if matches!(goal, Goal::UpAgain { old_pid } if old_pid.is_some() && old_pid == row.pid) => {
                Verdict::Pending
            }
            "running" | "done" => Verdict::Reached,
            "failed" | "stopped" | "skipped" | "disabled" => missed(),
            _ => Verdict::Pending,
        },
    }
}

/// The status row of `service`.
pub fn row(socket: &Path, service: &str) -> anyhow::Result<ServiceStatus> {
    let rows = client::services(socket)?;
    match rows.into_iter().find(|r| r.name == service) {
        Some(r) => Ok(r),
        None => bail!("no service {service:?}"),
    }
}

/// Polls until `service` reaches `goal`; returns its final state.
pub fn settle(
    socket: &Path,
    service: &str,
    goal: Goal,
    timeout: Duration,
) -> anyhow::Result<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let r = row(socket, service)?;
        match verdict(goal, &r) {
            Verdict::Reached => return Ok(r.state),
            Verdict::Missed(why) => bail!(why),
            Verdict::Pending if Instant::now() >= deadline => {
                bail!("{service} is still {} after {timeout:?}", r.state)
            }
            Verdict::Pending => std::thread::sleep(POLL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, pid: Option<i32>) -> ServiceStatus {
        ServiceStatus {
            name: "web".into(),
            state: state.into(),
            pid,
            error: (state == "failed").then(|| "exited 3 times".into()),
            ..Default::default()
        }
    }

    #[test]
    fn down_is_any_state_without_a_process() {
        for s in ["stopped", "failed", "done", "exited", "skipped", "disabled"] {
            assert_eq!(verdict(Goal::Down, &row(s, None)), Verdict::Reached, "{s}");
        }
        for s in ["stopping", "running", "starting", "restarting", "pending"] {
            assert_eq!(
                verdict(Goal::Down, &row(s, Some(3))),
                Verdict::Pending,
                "{s}"
            );
        }
    }

    #[test]
    fn up_is_running_or_done_and_failing_says_why() {
        assert_eq!(
            verdict(Goal::Up, &row("running", Some(3))),
            Verdict::Reached
        );
        assert_eq!(verdict(Goal::Up, &row("done", None)), Verdict::Reached);
        assert_eq!(
            verdict(Goal::Up, &row("starting", Some(3))),
            Verdict::Pending
        );
        assert_eq!(
            verdict(Goal::Up, &row("failed", None)),
            Verdict::Missed("web is failed: exited 3 times".into())
        );
    }

    #[test]
    fn up_again_needs_a_new_process() {
        let again = Goal::UpAgain { old_pid: Some(3) };
        assert_eq!(verdict(again, &row("running", Some(3))), Verdict::Pending);
        assert_eq!(verdict(again, &row("running", Some(4))), Verdict::Reached);
        let was_down = Goal::UpAgain { old_pid: None };
        assert_eq!(
            verdict(was_down, &row("running", Some(4))),
            Verdict::Reached
        );
    }
}
