//! Control requests: status, logs, start/stop/restart, reboot/poweroff.

use super::service::State;
use super::{Action, Reply, Supervisor};
use crate::ctl::protocol::{Request, Response};

impl Supervisor {
    pub(super) fn control(&mut self, request: Request) -> Reply {
        let done = Reply::Done;
        match request {
            Request::Status => done(Response {
                ok: true,
                services: Some(self.status()),
                ..Default::default()
            }),
            Request::Logs {
                service,
                lines,
                follow,
            } => match self.find(&service) {
                Ok(i) => {
                    let mut sink = self.services[i].log.borrow_mut();
                    Reply::Logs {
                        lines: sink.tail(lines),
                        follow: follow.then(|| sink.follow()),
                    }
                }
                Err(e) => done(e),
            },
            Request::Start { service } => done(self.with(&service, Self::admin_start)),
            Request::Stop { service } => done(self.with(&service, Self::admin_stop)),
            Request::Restart { service } => done(self.with(&service, Self::admin_restart)),
            Request::Reboot => {
                self.shutdown(Action::Reboot);
                done(Response::ok("rebooting"))
            }
            Request::Poweroff => {
                self.shutdown(Action::Poweroff);
                done(Response::ok("powering off"))
            }
        }
    }

    fn find(&self, name: &str) -> Result<usize, Response> {
        self.services
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| Response::error(format!("no service named {name:?}")))
    }

    fn with(&mut self, name: &str, f: fn(&mut Self, usize) -> Response) -> Response {
        if self.shutdown.is_some() {
            return Response::error("the system is shutting down");
        }
        match self.find(name) {
            Ok(i) => f(self, i),
            Err(e) => e,
        }
    }

    fn admin_start(&mut self, i: usize) -> Response {
        let s = &mut self.services[i];
        if let Some(d) = &s.defect {
            return Response::error(format!("{} cannot start: {d}", s.name));
        }
        match s.state {
            State::Starting | State::Running => {
                Response::ok(format!("{} is already running", s.name))
            }
            State::Pending => Response::ok(format!("{} is waiting for its dependencies", s.name)),
            State::Stopping => {
                s.start_after_stop = true;
                Response::ok(format!("{} will start once stopped", s.name))
            }
            State::Backoff => {
                self.start(i);
                self.schedule();
                self.started_reply(i)
            }
            _ => {
                s.backoff.reset();
                s.error = None;
                s.set(State::Pending);
                self.schedule();
                self.started_reply(i)
            }
        }
    }

    fn started_reply(&self, i: usize) -> Response {
        let s = &self.services[i];
        match s.state {
            State::Failed | State::Skipped => Response::error(format!(
                "{} did not start: {}",
                s.name,
                s.error.as_deref().unwrap_or("failed")
            )),
            state => Response::ok(format!("{} is {}", s.name, state.as_str())),
        }
    }

    fn admin_stop(&mut self, i: usize) -> Response {
        let s = &mut self.services[i];
        s.start_after_stop = false;
        match s.state {
            State::Starting | State::Running => {
                self.stop(i);
                Response::ok(format!("stopping {}", self.services[i].name))
            }
            State::Stopping => Response::ok(format!("{} is already stopping", s.name)),
            State::Pending | State::Backoff => {
                s.set(State::Stopped);
                Response::ok(format!("{} stopped", s.name))
            }
            state => Response::ok(format!("{} is not running ({})", s.name, state.as_str())),
        }
    }

    fn admin_restart(&mut self, i: usize) -> Response {
        let s = &mut self.services[i];
        if s.defect.is_some() {
            return self.admin_start(i);
        }
        match s.state {
            State::Starting | State::Running => {
                s.start_after_stop = true;
                self.stop(i);
                Response::ok(format!("restarting {}", self.services[i].name))
            }
            State::Stopping => {
                s.start_after_stop = true;
                Response::ok(format!("{} will start once stopped", s.name))
            }
            _ => self.admin_start(i),
        }
    }
}
