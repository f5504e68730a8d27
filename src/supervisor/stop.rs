//! Stopping: the service's stop signal, SIGKILL to all its processes after
//! the timeout; the shutdown stops everything in reverse dependency order.

use std::time::Duration;

use super::service::State;
use super::{Action, Event, Supervisor};
use crate::init::console;

impl Supervisor {
    /// Begins the shutdown: nothing new starts, pending restarts are
    /// dropped, services stop from the top of the dependency graph down.
    pub fn shutdown(&mut self, action: Action) {
        if self.shutdown.is_some() {
            return;
        }
        self.shutdown = Some(action);
        let what = match action {
            Action::Poweroff => "power off",
            Action::Reboot => "reboot",
        };
        console::info(format_args!("shutting down to {what}"));
        for s in &mut self.services {
            if matches!(s.state, State::Pending | State::Backoff) {
                s.set(State::Stopped);
            }
        }
        let budget = self.shutdown_budget();
        self.after(budget, Event::ShutdownDeadline);
        self.schedule_stops();
    }

    /// Every live service's stop timeout plus time to die, one after the
    /// other: the longest a shutdown in dependency order may take.
    fn shutdown_budget(&self) -> Duration {
        let secs = self
            .services
            .iter()
            .filter(|s| s.state.is_live())
            .map(|s| s.file.as_ref().map_or(10, |f| f.stop.timeout_secs) + 5)
            .fold(5u64, u64::saturating_add);
        Duration::from_secs(secs)
    }

    pub(super) fn on_shutdown_deadline(&mut self) {
        let left: Vec<&str> = self
            .services
            .iter()
            .filter(|s| s.state.is_live())
            .map(|s| s.name.as_str())
            .collect();
        if !left.is_empty() {
            console::error(format_args!(
                "shutdown: {} still running; going on without them",
                left.join(", ")
            ));
            self.forced = true;
        }
    }

    /// Sends service `i` its stop signal and arms the stop timeout.
    pub(super) fn stop(&mut self, i: usize) {
        let s = &mut self.services[i];
        let Some(proc) = &s.proc else {
            return;
        };
        let (signal, timeout) = s
            .file
            .as_ref()
            .map(|f| (f.stop_signal(), f.stop.timeout_secs))
            .unwrap_or((libc::SIGTERM, 10));
        proc.signal(signal);
        s.event("stopping");
        s.set(State::Stopping);
        let gen = s.gen;
        self.after(
            Duration::from_secs(timeout),
            Event::StopTimeout { svc: i, gen },
        );
    }

    pub(super) fn on_stop_timeout(&mut self, i: usize, gen: u64) {
        let s = &self.services[i];
        if s.gen != gen || s.state != State::Stopping {
            return;
        }
        console::warn(format_args!(
            "{}: did not stop within {} s; killing it",
            s.name,
            s.elapsed_ms() / 1000
        ));
        s.event("did not stop in time; killing it");
        self.kill_all(i);
    }

    /// The exit of a service we stopped.
    pub(super) fn stopped(&mut self, i: usize) {
        let s = &mut self.services[i];
        console::ok(&s.name, format_args!("stopped after {} ms", s.elapsed_ms()));
        s.set(State::Stopped);
        if self.shutdown.is_some() {
            self.schedule_stops();
        } else if s.start_after_stop {
            s.start_after_stop = false;
            s.backoff.reset();
            s.error = None;
            s.set(State::Pending);
            self.schedule();
        }
    }
}
