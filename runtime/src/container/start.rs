//! start: releases the first process blocked on the exec fifo.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use super::Container;
use crate::error::{Error, Result};
use crate::hooks::{self, HookKind, Place};
use crate::state::Status;

impl Container {
    /// Runs startContainer hooks in the container, releases the process,
    /// then runs poststart hooks (a failing poststart hook is logged, as
    /// the runtime-spec says, and does not undo the start).
    pub fn start(&mut self) -> Result<()> {
        let _lock = self.dir.lock()?;
        let status = self.status();
        if status != Status::Created {
            return Err(self.wrong_state("start", status));
        }
        let hooks = self.config_hooks()?;
        let hooks = hooks.as_ref();
        let types = self.namespace_types();
        let json = self.oci_state_json(Status::Created);
        hooks::run_all(
            HookKind::StartContainer,
            hooks,
            &json,
            &Place::Container {
                pid: self.state.pid,
                types: &types,
            },
        )?;
        self.release()?;
        // The live status is computed (the fifo is gone); state.json keeps
        // the last lifecycle write, Created, to save a write per start.
        self.state.status = Status::Running;
        let json = self.oci_state_json(Status::Running);
        hooks::run_all_warn(
            HookKind::Poststart,
            hooks,
            &json,
            &Place::Runtime,
            &self.state.id,
        );
        Ok(())
    }

    /// Writes the byte the child waits for, then removes the fifo so the
    /// container reads as running.
    fn release(&self) -> Result<()> {
        let path = self.dir.fifo_path();
        // Non-blocking: with no reader (the process died) open fails with
        // ENXIO instead of hanging.
        let mut fifo = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENXIO) => Error::WrongState {
                    id: self.state.id.clone(),
                    op: "start",
                    status: "no longer waiting for start".into(),
                },
                _ => Error::io(format!("open {}", path.display()), e),
            })?;
        fifo.write_all(&[0])
            .map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        std::fs::remove_file(&path).map_err(|e| Error::io(format!("remove {}", path.display()), e))
    }
}
