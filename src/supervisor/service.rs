//! One supervised service: its definition, its state and, while it runs,
//! its container and process.

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use corral_runtime::Container;

use super::backoff::Backoff;
use super::logs::LogSink;
use crate::config::ServiceFile;

/// Where a service is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for its dependencies.
    Pending,
    /// Process started, not ready yet (a oneshot: still running).
    Starting,
    /// Ready and running.
    Running,
    /// A oneshot that exited 0.
    Done,
    /// Exited and not restarted (policy).
    Exited,
    /// Waiting to be restarted.
    Backoff,
    /// Stop signal sent, waiting for the exit.
    Stopping,
    /// Stopped by the administrator or the shutdown.
    Stopped,
    /// Cannot run: bad definition, start error, crash loop.
    Failed,
    /// Not started because a required service failed.
    Skipped,
    /// Not selected by corral.toml.
    Disabled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Starting => "starting",
            State::Running => "running",
            State::Done => "done",
            State::Exited => "exited",
            State::Backoff => "restarting",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
            State::Failed => "failed",
            State::Skipped => "skipped",
            State::Disabled => "disabled",
        }
    }

    /// A process of the service may be alive.
    pub fn is_live(self) -> bool {
        matches!(self, State::Starting | State::Running | State::Stopping)
    }

    /// Dependents may start (their `requires` is met).
    pub fn satisfies(self) -> bool {
        matches!(self, State::Running | State::Done)
    }

    /// Will not become satisfying by itself.
    pub fn is_settled(self) -> bool {
        !matches!(self, State::Pending | State::Starting | State::Backoff)
    }
}

/// The live process of a service.
#[derive(Debug)]
pub struct Proc {
    pub container: Container,
    pub pid: i32,
    /// For signals (the watcher task owns another handle and reaps);
    /// None if it could not be duplicated.
    pub pidfd: Option<OwnedFd>,
    pub started: Instant,
}

impl Proc {
    /// Sends `signal` to the service's init.
    pub fn signal(&self, signal: i32) {
        let r = match &self.pidfd {
            Some(fd) => corral_runtime::pidfd::send_signal(fd, signal).map_err(|e| e.to_string()),
            None => self
                .container
                .kill(signal, false)
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = r {
            tracing::debug!(pid = self.pid, signal, error = %e, "signal");
        }
    }
}

#[derive(Debug)]
pub struct Service {
    pub name: String,
    pub dir: PathBuf,
    /// None when service.toml could not be used (`error` says why).
    pub file: Option<ServiceFile>,
    /// Appended to the process environment (corral.toml override).
    pub env: Vec<String>,
    pub state: State,
    /// Why the definition cannot run (service.toml, dependencies): starts
    /// are refused until the next boot.
    pub defect: Option<String>,
    /// Why the last run ended badly, or why the service is not selected.
    pub error: Option<String>,
    pub proc: Option<Proc>,
    /// Bumped at every start; events of an older generation are stale.
    pub gen: u64,
    pub restarts: u32,
    pub backoff: Backoff,
    pub log: Rc<RefCell<LogSink>>,
    /// When the current state began (for the console's timings).
    pub since: Instant,
    /// `restart`: start again once stopped.
    pub start_after_stop: bool,
    /// The readiness check failed: the exit counts as a failure.
    pub not_ready: bool,
    /// Ends the running readiness check.
    pub ready_cancel: Option<super::ready::Cancel>,
}

impl Service {
    pub fn new(name: String, dir: PathBuf, log: LogSink) -> Self {
        Service {
            name,
            dir,
            file: None,
            env: Vec::new(),
            state: State::Pending,
            defect: None,
            error: None,
            proc: None,
            gen: 0,
            restarts: 0,
            backoff: Backoff::default(),
            log: Rc::new(RefCell::new(log)),
            since: Instant::now(),
            start_after_stop: false,
            not_ready: false,
            ready_cancel: None,
        }
    }

    /// Moves to `state`, restarting the phase clock. Leaving `Starting`
    /// ends a readiness check still running.
    pub fn set(&mut self, state: State) {
        if state != State::Starting {
            if let Some(c) = self.ready_cancel.take() {
                c.set(true);
            }
        }
        self.state = state;
        self.since = Instant::now();
    }

    /// Milliseconds in the current state.
    pub fn elapsed_ms(&self) -> u128 {
        self.since.elapsed().as_millis()
    }

    /// Appends a supervisor event to the service's log.
    pub fn event(&self, text: &str) {
        if let Ok(mut l) = self.log.try_borrow_mut() {
            l.event(text);
        }
    }
}
