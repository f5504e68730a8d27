//! The service supervisor: finds the services, orders them by their
//! dependencies, starts each as a container, watches readiness and exits,
//! restarts with backoff, stops in reverse order, and answers the control
//! socket. Every change happens in [`Supervisor::handle`], called from
//! PID 1's single-threaded event loop; tasks only send [`Event`]s.

mod backoff;
pub mod cgroup;
mod control;
pub mod discover;
pub mod graph;
mod launch;
mod lifecycle;
mod load;
pub mod logs;
mod protect;
mod ready;
mod schedule;
mod service;
mod status;
mod stop;
mod tracked;
mod watch;

use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use corral_runtime::ExitStatus;
use tokio::sync::{mpsc, oneshot};

use crate::ctl::protocol::{Request, Response};
use graph::Graph;
use service::Service;
pub use tracked::Tracked;

/// How the system ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Poweroff,
    Reboot,
}

/// Something that happened, for [`Supervisor::handle`].
#[derive(Debug)]
pub enum Event {
    /// A service's init exited (already reaped).
    Exited {
        svc: usize,
        gen: u64,
        status: ExitStatus,
    },
    /// A readiness check finished.
    Ready {
        svc: usize,
        gen: u64,
        result: Result<(), String>,
    },
    /// A backoff delay ended.
    RestartDue { svc: usize, gen: u64 },
    /// A stop timeout ended.
    StopTimeout { svc: usize, gen: u64 },
    /// A request from the control socket.
    Control {
        request: Request,
        reply: oneshot::Sender<Reply>,
    },
    /// A tracked process was reaped: the orphan reaper may go on.
    Reap,
    /// The shutdown took longer than every stop timeout allows.
    ShutdownDeadline,
}

/// A service that cannot exist, and why (one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub name: String,
    pub reason: String,
}

/// The answer to a control request.
#[derive(Debug)]
pub enum Reply {
    Done(Response),
    /// `logs`: the backlog and, with `follow`, the lines to come.
    Logs {
        lines: Vec<String>,
        follow: Option<mpsc::Receiver<Rc<str>>>,
    },
}

/// What the supervisor works with.
#[derive(Debug)]
pub struct Ctx {
    /// State root of the service containers.
    pub state_root: PathBuf,
    /// Service folders, shipped first, admin last (later ones override).
    pub service_dirs: Vec<PathBuf>,
    /// Where the service cgroups go.
    pub cgroups: cgroup::Placement,
    /// oom_score_adj of the system services' processes (None: left as is,
    /// e.g. when PID 1 may not lower it).
    pub system_oom_score_adj: Option<i32>,
    /// Services that were refused before discovery (engines of corral.toml
    /// with a bad name or a clash): listed as failed with the reason.
    pub refused: Vec<Refused>,
    pub tx: mpsc::UnboundedSender<Event>,
    pub tracked: Tracked,
}

#[derive(Debug)]
pub struct Supervisor {
    services: Vec<Service>,
    graph: Graph,
    ctx: Ctx,
    shutdown: Option<Action>,
    /// The shutdown deadline passed: finish even with services left.
    forced: bool,
}

impl Supervisor {
    /// Reacts to one event.
    pub fn handle(&mut self, event: Event) {
        match event {
            Event::Exited { svc, gen, status } => self.on_exit(svc, gen, status),
            Event::Ready { svc, gen, result } => self.on_ready(svc, gen, result),
            Event::RestartDue { svc, gen } => self.on_restart_due(svc, gen),
            Event::StopTimeout { svc, gen } => self.on_stop_timeout(svc, gen),
            Event::Control { request, reply } => {
                let _ = reply.send(self.control(request));
            }
            Event::Reap => {}
            Event::ShutdownDeadline => self.on_shutdown_deadline(),
        }
    }

    /// Once a shutdown was asked for and no service process is left: how
    /// the system ends.
    pub fn finished(&self) -> Option<Action> {
        self.shutdown
            .filter(|_| self.forced || !self.services.iter().any(|s| s.state.is_live()))
    }

    /// Where the service cgroups are.
    pub fn cgroups(&self) -> &cgroup::Placement {
        &self.ctx.cgroups
    }

    /// Sends `event` after `delay`.
    fn after(&self, delay: Duration, event: Event) {
        let tx = self.ctx.tx.clone();
        tokio::task::spawn_local(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(event);
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::ServiceFile;

    /// A supervisor over services that exist only in memory (nothing is
    /// started: callers set states by hand).
    pub fn supervisor(defs: Vec<(&str, ServiceFile)>) -> Supervisor {
        let (tx, _rx) = mpsc::unbounded_channel();
        let settings = logs::Settings {
            dir: std::env::temp_dir().join("corral-unit-never-written"),
            limits: logs::Limits {
                max_file_size: 1024,
                max_files: 1,
            },
            ring_lines: 10,
            ring_bytes: 1024,
        };
        let names: Vec<String> = defs.iter().map(|(n, _)| n.to_string()).collect();
        let files: Vec<Option<&ServiceFile>> = defs.iter().map(|(_, f)| Some(f)).collect();
        let graph = graph::build(&names, &files);
        let services = defs
            .iter()
            .map(|(n, f)| {
                let mut s = Service::new(
                    n.to_string(),
                    PathBuf::from("/nonexistent"),
                    logs::LogSink::new(n, &settings),
                );
                s.file = Some(f.clone());
                s
            })
            .collect();
        Supervisor {
            services,
            graph,
            ctx: Ctx {
                state_root: PathBuf::from("/nonexistent"),
                service_dirs: Vec::new(),
                cgroups: cgroup::Placement::default(),
                system_oom_score_adj: None,
                refused: Vec::new(),
                tx,
                tracked: Tracked::default(),
            },
            shutdown: None,
            forced: false,
        }
    }
}
