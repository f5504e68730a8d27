//! Dependency order: a pending service starts once what it waits for has
//! settled; one whose `requires` ended badly is skipped. Shutdown is the
//! mirror image: a service stops once nothing that waits for it runs.

use super::service::State;
use super::Supervisor;
use crate::init::console;

/// What the dependencies of a pending service allow.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Wait,
    Go,
    /// A required service will not be there.
    Blocked(usize),
}

impl Supervisor {
    /// Starts every pending service whose dependencies allow it and skips
    /// those whose requirement failed, until nothing changes.
    pub(super) fn schedule(&mut self) {
        if self.shutdown.is_some() {
            return;
        }
        loop {
            let mut changed = false;
            for i in 0..self.services.len() {
                if self.services[i].state != State::Pending {
                    continue;
                }
                match self.verdict(i) {
                    Verdict::Wait => {}
                    Verdict::Go => {
                        self.start(i);
                        changed = true;
                    }
                    Verdict::Blocked(dep) => {
                        self.skip(i, dep);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn verdict(&self, i: usize) -> Verdict {
        let deps = &self.graph.deps[i];
        for &r in &deps.requires {
            let state = self.services[r].state;
            if state.satisfies() {
                continue;
            }
            return if state.is_settled() {
                Verdict::Blocked(r)
            } else {
                Verdict::Wait
            };
        }
        let unsettled = deps
            .after
            .iter()
            .chain(&deps.wants)
            .any(|&d| !self.services[d].state.is_settled());
        if unsettled {
            Verdict::Wait
        } else {
            Verdict::Go
        }
    }

    fn skip(&mut self, i: usize, dep: usize) {
        let why = format!(
            "requires {}, which is {}",
            self.services[dep].name,
            self.services[dep].state.as_str()
        );
        let s = &mut self.services[i];
        console::failed(&s.name, format_args!("not started: {why}"));
        s.event(&format!("not started: {why}"));
        s.error = Some(why);
        s.set(State::Skipped);
    }

    /// During shutdown: stops every live service that no live service
    /// waits for.
    pub(super) fn schedule_stops(&mut self) {
        if self.shutdown.is_none() {
            return;
        }
        for i in self.stoppable() {
            self.stop(i);
        }
    }

    /// Running services that no live service waits for.
    fn stoppable(&self) -> Vec<usize> {
        (0..self.services.len())
            .filter(|&i| matches!(self.services[i].state, State::Starting | State::Running))
            .filter(|&i| {
                !self.graph.dependents[i]
                    .iter()
                    .any(|&j| self.services[j].state.is_live())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServiceFile;
    use crate::supervisor::tests::supervisor;

    fn file(after: &[&str], requires: &[&str]) -> ServiceFile {
        ServiceFile {
            after: after.iter().map(|s| s.to_string()).collect(),
            requires: requires.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn requires_waits_for_ready_and_blocks_on_failure() {
        let mut sup = supervisor(vec![("db", file(&[], &[])), ("web", file(&[], &["db"]))]);
        for (state, want) in [
            (State::Pending, Verdict::Wait),
            (State::Starting, Verdict::Wait),
            (State::Backoff, Verdict::Wait),
            (State::Running, Verdict::Go),
            (State::Done, Verdict::Go),
            (State::Failed, Verdict::Blocked(0)),
            (State::Exited, Verdict::Blocked(0)),
            (State::Disabled, Verdict::Blocked(0)),
        ] {
            sup.services[0].state = state;
            assert_eq!(sup.verdict(1), want, "db {state:?}");
        }
    }

    #[test]
    fn after_waits_only_until_settled() {
        let mut sup = supervisor(vec![("db", file(&[], &[])), ("web", file(&["db"], &[]))]);
        for (state, want) in [
            (State::Pending, Verdict::Wait),
            (State::Starting, Verdict::Wait),
            (State::Running, Verdict::Go),
            (State::Failed, Verdict::Go),
            (State::Skipped, Verdict::Go),
        ] {
            sup.services[0].state = state;
            assert_eq!(sup.verdict(1), want, "db {state:?}");
        }
    }

    #[test]
    fn shutdown_stops_from_the_top_down() {
        let mut sup = supervisor(vec![
            ("base", file(&[], &[])),
            ("mid", file(&[], &["base"])),
            ("top", file(&["mid"], &[])),
            ("lone", file(&[], &[])),
        ]);
        for s in &mut sup.services {
            s.state = State::Running;
        }
        assert_eq!(sup.stoppable(), [2, 3]);
        sup.services[2].state = State::Stopping;
        assert_eq!(sup.stoppable(), [3], "mid waits while top is stopping");
        sup.services[2].state = State::Stopped;
        sup.services[3].state = State::Stopped;
        assert_eq!(sup.stoppable(), [1]);
        sup.services[1].state = State::Stopped;
        assert_eq!(sup.stoppable(), [0]);
    }
}
