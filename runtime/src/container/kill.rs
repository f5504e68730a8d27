//! kill: one signal to the init process, or to every process of the container.

use super::Container;
use crate::error::{Error, Result};
use crate::pidfd;
use crate::state::Status;

impl Container {
    /// Sends `signal` to the init (or, with `all`, to every process in the
    /// container's cgroup). Killing a stopped container is an error unless
    /// `all` is set, as in runc.
    pub fn kill(&self, signal: i32, all: bool) -> Result<()> {
        let status = self.status();
        if all {
            return self.kill_all(signal, status);
        }
        if status == Status::Stopped {
            return Err(self.wrong_state("kill", status));
        }
        let fd = pidfd::open_verified(self.state.pid, self.state.init_start_time)
            .map_err(|e| Error::io(format!("open process {}", self.state.pid), e))?;
        pidfd::send_signal(&fd, signal)
            .map_err(|e| Error::io(format!("signal process {}", self.state.pid), e))
    }

    fn kill_all(&self, signal: i32, status: Status) -> Result<()> {
        let pids = match &self.state.cgroup {
            Some(cg) => cg.procs()?,
            None if status != Status::Stopped => vec![self.state.pid],
            None => Vec::new(),
        };
        for pid in pids {
            // A process may exit between listing and signalling.
            if let Ok(fd) = pidfd::open(pid) {
                let _ = pidfd::send_signal(&fd, signal);
            }
        }
        // A frozen process only acts on SIGKILL once thawed.
        if status == Status::Paused && signal == libc::SIGKILL {
            if let Some(cg) = &self.state.cgroup {
                cg.thaw()?;
            }
        }
        Ok(())
    }
}

/// Parses a signal as runc does: a number, or a name with or without SIG.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        return Err(Error::InvalidArgument(format!("invalid signal {s:?}")));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .map(|sig| sig as i32)
        .map_err(|_| Error::InvalidArgument(format!("unknown signal {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_numbers() {
        assert_eq!(parse_signal("9").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("KILL").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("sigterm").unwrap(), libc::SIGTERM);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
    }
}
