//! update and stats: resources of a live container.

use oci_spec::runtime::LinuxResources;

use super::Container;
use crate::cgroups::Stats;
use crate::error::Result;
use crate::state::Status;

impl Container {
    /// Applies `resources` to the container's cgroup and records them in
    /// the saved configuration.
    pub fn update(&self, resources: &LinuxResources) -> Result<()> {
        let status = self.status();
        if status == Status::Stopped {
            return Err(self.wrong_state("update", status));
        }
        let file = self.dir.config_path();
        self.cgroup("update")?.update(resources, &file)?;
        let mut spec = self.dir.load_config()?;
        if let Some(linux) = spec.linux_mut() {
            linux.set_resources(Some(merge(
                linux.resources().clone().unwrap_or_default(),
                resources,
            )));
        }
        self.dir.save_config(&spec)
    }

    /// Current usage of the container's cgroup.
    pub fn stats(&self) -> Result<Stats> {
        self.cgroup("read stats of")?.stats()
    }

    /// OOM kills seen in the container's cgroup.
    pub fn oom_kills(&self) -> u64 {
        self.state.cgroup.as_ref().map_or(0, |c| c.oom_kill_count())
    }
}

/// `new` on top of `old`, section by section.
fn merge(mut old: LinuxResources, new: &LinuxResources) -> LinuxResources {
    if new.memory().is_some() {
        old.set_memory(*new.memory());
    }
    if new.cpu().is_some() {
        old.set_cpu(new.cpu().clone());
    }
    if new.pids().is_some() {
        old.set_pids(*new.pids());
    }
    if new.block_io().is_some() {
        old.set_block_io(new.block_io().clone());
    }
    if new.hugepage_limits().is_some() {
        old.set_hugepage_limits(new.hugepage_limits().clone());
    }
    if new.devices().is_some() {
        old.set_devices(new.devices().clone());
    }
    if new.unified().is_some() {
        old.set_unified(new.unified().clone());
    }
    old
}
