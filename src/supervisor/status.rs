//! The rows of `corral ctl status`.

use super::Supervisor;
use crate::ctl::protocol::ServiceStatus;

impl Supervisor {
    pub(super) fn status(&self) -> Vec<ServiceStatus> {
        self.services
            .iter()
            .map(|s| {
                let proc = s.proc.as_ref();
                ServiceStatus {
                    name: s.name.clone(),
                    state: s.state.as_str().to_owned(),
                    pid: proc.map(|p| p.pid),
                    uptime_secs: proc.map(|p| p.started.elapsed().as_secs()),
                    restarts: s.restarts,
                    memory_bytes: proc.and_then(|p| {
                        let cg = p.container.state.cgroup.as_ref()?;
                        cg.stats().ok().map(|st| st.memory.usage.usage)
                    }),
                    error: s.defect.clone().or_else(|| s.error.clone()),
                }
            })
            .collect()
    }
}
