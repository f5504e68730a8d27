//! Starting a service and what follows: readiness, exits, restarts with
//! backoff, the crash-loop limit.

use std::time::Instant;

use corral_runtime::ExitStatus;
use tokio::sync::oneshot;

use super::backoff::Decision;
use super::launch::{self, LaunchError, Launched};
use super::service::{Proc, State};
use super::{logs, ready, watch, Event, Supervisor};
use crate::config::service::{Group, Kind, Policy, ReadyKind};
use crate::init::console;

impl Supervisor {
    /// Creates and starts service `i`'s container.
    pub(super) fn start(&mut self, i: usize) {
        let s = &mut self.services[i];
        let Some(file) = s.file.as_ref() else {
            return;
        };
        s.gen += 1;
        s.not_ready = false;
        s.since = Instant::now();
        s.state = State::Starting;
        let oom_score_adj = match file.group {
            Group::System => self.ctx.system_oom_score_adj,
            Group::Engines => None,
        };
        let result = launch::launch(&launch::Launch {
            name: &s.name,
            dir: &s.dir,
            env: &s.env,
            state_root: &self.ctx.state_root,
            cgroup: self.ctx.cgroups.service(&s.name, file.group),
            oom_score_adj,
        });
        match result {
            Ok(l) => self.started(i, l),
            Err(LaunchError::Bundle(e)) => self.fail(i, e),
            Err(LaunchError::Start(e)) => {
                let why = format!("could not start: {e}");
                if file.restart.policy == Policy::No {
                    self.fail(i, why);
                } else {
                    self.restart_or_fail(i, why);
                }
            }
        }
    }

    fn started(&mut self, i: usize, l: Launched) {
        let tx = self.ctx.tx.clone();
        let tracked = self.ctx.tracked.clone();
        let s = &mut self.services[i];
        let gen = s.gen;
        tracked.insert(l.pid);
        let (eof_tx, eof_rx) = oneshot::channel();
        let sink = s.log.clone();
        tokio::task::spawn_local(async move {
            logs::pump(l.output, sink).await;
            let _ = eof_tx.send(());
        });
        let signal_fd = l.pidfd.try_clone().ok();
        watch::service_exit(i, gen, l.pid, l.pidfd, eof_rx, tx.clone(), tracked.clone());
        s.event(&format!("started (pid {})", l.pid));
        let mut ready_now = false;
        if let Some(file) = s.file.as_ref().filter(|f| f.kind == Kind::Simple) {
            if file.ready.kind == ReadyKind::Started {
                ready_now = true;
            } else {
                let cancel =
                    ready::spawn(i, gen, &file.ready, &l.container, l.process, tx, tracked);
                s.ready_cancel = Some(cancel);
            }
        }
        s.proc = Some(Proc {
            container: l.container,
            pid: l.pid,
            pidfd: signal_fd,
            started: Instant::now(),
        });
        if ready_now {
            self.on_ready(i, gen, Ok(()));
        }
    }

    pub(super) fn on_ready(&mut self, i: usize, gen: u64, result: Result<(), String>) {
        let s = &mut self.services[i];
        if s.gen != gen || s.state != State::Starting {
            return;
        }
        let pid = s.proc.as_ref().map(|p| p.pid).unwrap_or_default();
        match result {
            Ok(()) => {
                console::ok(
                    &s.name,
                    format_args!("ready after {} ms (pid {pid})", s.elapsed_ms()),
                );
                s.event("ready");
                s.set(State::Running);
                self.schedule();
            }
            Err(why) => {
                console::failed(&s.name, format_args!("{why}; killing it"));
                s.event(&format!("{why}; killing it"));
                s.not_ready = true;
                s.error = Some(why);
                self.kill_all(i);
            }
        }
    }

    pub(super) fn on_exit(&mut self, i: usize, gen: u64, status: ExitStatus) {
        let s = &mut self.services[i];
        if s.gen != gen {
            return;
        }
        let Some(proc) = s.proc.take() else {
            return;
        };
        let what = watch::describe(status);
        s.event(&what);
        if let Err(e) = proc.container.delete(true) {
            console::warn(format_args!("{}: removing its container: {e}", s.name));
        }
        let ok = status == ExitStatus::Exited(0) && !s.not_ready;
        match s.state {
            State::Stopping => self.stopped(i),
            State::Starting | State::Running if self.shutdown.is_some() => {
                self.services[i].set(State::Stopped);
                self.schedule_stops();
            }
            State::Starting | State::Running => self.exited(i, ok, what),
            _ => {}
        }
    }

    /// An exit nobody asked for: done, exited, or restarted per policy.
    fn exited(&mut self, i: usize, ok: bool, what: String) {
        let s = &mut self.services[i];
        let Some(file) = s.file.as_ref() else {
            return;
        };
        if file.kind == Kind::Oneshot && ok {
            console::ok(&s.name, format_args!("done after {} ms", s.elapsed_ms()));
            s.set(State::Done);
            self.schedule();
            return;
        }
        let restart = match file.restart.policy {
            Policy::No => false,
            Policy::OnFailure => !ok,
            Policy::Always => true,
        };
        let what = match (s.not_ready, s.error.take()) {
            (true, Some(why)) => why,
            _ => what,
        };
        if restart {
            self.restart_or_fail(i, what);
        } else if !ok {
            self.fail(i, what);
        } else {
            console::ok(&s.name, format_args!("{what}"));
            s.set(State::Exited);
            self.schedule();
        }
    }

    /// Schedules a restart after the backoff delay, or fails the service
    /// when it crashed too often.
    pub(super) fn restart_or_fail(&mut self, i: usize, why: String) {
        let s = &mut self.services[i];
        let Some(file) = s.file.as_ref() else {
            return;
        };
        match s.backoff.on_exit(Instant::now(), &file.restart) {
            Decision::Restart(delay) => {
                let ms = delay.as_millis();
                console::warn(format_args!("{}: {why}; restarting in {ms} ms", s.name));
                s.event(&format!("restarting in {ms} ms"));
                s.restarts += 1;
                s.error = Some(why);
                s.set(State::Backoff);
                let gen = s.gen;
                self.after(delay, Event::RestartDue { svc: i, gen });
            }
            Decision::GiveUp { exits } => {
                let window = file.restart.window_secs;
                self.fail(
                    i,
                    format!("{why}; crash loop: {exits} exits within {window} s, giving up"),
                );
            }
        }
    }

    /// Marks service `i` failed and lets dependents react.
    pub(super) fn fail(&mut self, i: usize, why: String) {
        let s = &mut self.services[i];
        console::failed(&s.name, format_args!("{why}"));
        s.event(&format!("failed: {why}"));
        s.error = Some(why);
        s.set(State::Failed);
        self.schedule();
    }

    pub(super) fn on_restart_due(&mut self, i: usize, gen: u64) {
        let s = &self.services[i];
        if s.gen == gen && s.state == State::Backoff && self.shutdown.is_none() {
            self.start(i);
            self.schedule();
        }
    }

    /// SIGKILL to every process of service `i` (its init's exit follows).
    pub(super) fn kill_all(&self, i: usize) {
        if let Some(p) = &self.services[i].proc {
            if let Err(e) = p.container.kill(libc::SIGKILL, true) {
                tracing::debug!(service = %self.services[i].name, error = %e, "kill");
            }
            p.signal(libc::SIGKILL);
        }
    }
}
