//! delete: removes what is left of a container (processes with --force,
//! its cgroup in every hierarchy, its state) and runs poststop hooks.

use std::time::Duration;

use super::Container;
use crate::error::{Error, Result};
use crate::hooks::{self, HookKind, Place};
use crate::pidfd;
use crate::state::Status;

/// How long delete waits for a killed init to exit.
const KILL_WAIT: Duration = Duration::from_secs(10);

impl Container {
    /// Deletes the container. A created container is killed first (as
    /// runc does); a running or paused one only with `force`.
    pub fn delete(&self, force: bool) -> Result<()> {
        let _lock = self.dir.lock()?;
        let status = self.status();
        match status {
            Status::Stopped => {}
            Status::Created | Status::Creating => self.kill_init_and_wait()?,
            Status::Running | Status::Paused if force => {
                self.kill(libc::SIGKILL, true)?;
                self.kill_init_and_wait()?;
            }
            Status::Running | Status::Paused => return Err(self.wrong_state("delete", status)),
        }
        if let Some(cg) = &self.state.cgroup {
            cg.destroy()?;
        }
        // Best effort, as the hooks themselves: an unreadable config runs none.
        let config_hooks = self.config_hooks().ok().flatten();
        let json = self.oci_state_json(Status::Stopped);
        hooks::run_all_warn(
            HookKind::Poststop,
            config_hooks.as_ref(),
            &json,
            &Place::Runtime,
            &self.state.id,
        );
        self.dir.remove()
    }

    fn kill_init_and_wait(&self) -> Result<()> {
        let Ok(fd) = pidfd::open_verified(self.state.pid, self.state.init_start_time) else {
            return Ok(());
        };
        if let Some(cg) = &self.state.cgroup {
            if cg.is_frozen() {
                let _ = pidfd::send_signal(&fd, libc::SIGKILL);
                cg.thaw()?;
            }
        }
        match pidfd::send_signal(&fd, libc::SIGKILL) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(()),
            Err(e) => return Err(Error::io(format!("kill process {}", self.state.pid), e)),
        }
        if !pidfd::wait_exit(&fd, KILL_WAIT).map_err(|e| Error::io("wait for container exit", e))? {
            return Err(Error::io(
                format!("wait for process {}", self.state.pid),
                std::io::Error::from(std::io::ErrorKind::TimedOut),
            ));
        }
        Ok(())
    }
}
