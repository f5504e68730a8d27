//! pause / resume: the freezer.

use super::Container;
use crate::error::{Error, Result};
use crate::state::Status;

impl Container {
    /// Freezes every process of a running container.
    pub fn pause(&self) -> Result<()> {
        let status = self.status();
        if status != Status::Running {
            return Err(self.wrong_state("pause", status));
        }
        self.cgroup("pause")?.freeze()
    }

    /// Thaws a paused container.
    pub fn resume(&self) -> Result<()> {
        let status = self.status();
        if status != Status::Paused {
            return Err(self.wrong_state("resume", status));
        }
        self.cgroup("resume")?.thaw()
    }

    pub(crate) fn cgroup(&self, op: &'static str) -> Result<&crate::cgroups::Cgroup> {
        self.state.cgroup.as_ref().ok_or_else(|| Error::WrongState {
            id: self.state.id.clone(),
            op,
            status: "without a cgroup".into(),
        })
    }
}
