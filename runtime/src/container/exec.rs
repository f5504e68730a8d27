//! exec: a new process in a running container's namespaces and cgroup,
//! with its own process settings and the container's seccomp filter.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::Duration;

use oci_spec::runtime::Process;

use super::plan::PlanLabels;
use super::{describe, Container};
use crate::capabilities::CapPlan;
use crate::child::{self, ChildError, ChildPlan, Step};
use crate::clone::{self, Forked};
use crate::error::{Error, Result};
use crate::namespaces::{NamespacePlan, PidForChildren};
use crate::nested_spawn;
use crate::pidfd;
use crate::process::ProcessPlan;
use crate::rlimits;
use crate::seccomp::SeccompPlan;
use crate::selinux::{self, LabelPlan};
use crate::state::Status;
use crate::sync::{self, Kind, Message, ParentChannel};
use crate::terminal::TerminalPlan;
use crate::user::UserPlan;

const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// What exec needs besides the process.
#[derive(Debug, Default)]
pub struct ExecOptions {
    pub console_socket: Option<OwnedFd>,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    pub stdio: [Option<RawFd>; 3],
}

/// A process started in a container; the caller is its parent.
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
}

impl Container {
    /// Starts `process` inside the container and returns once it has
    /// exec'd (or failed to).
    pub fn exec(&self, process: &Process, opts: ExecOptions) -> Result<Spawned> {
        let status = self.status();
        if !matches!(status, Status::Running | Status::Created) {
            return Err(self.wrong_state("exec in", status));
        }
        let types = self.namespace_types();
        let spec = self.dir.load_config()?;
        let file = self.dir.config_path();
        let seccomp = spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref())
            .map(|s| SeccompPlan::prepare(s, &file))
            .transpose()?;
        let namespaces = NamespacePlan::join_container(self.state.pid, &types)?;
        let exec_root = if self.state.no_pivot {
            Some(OwnedFd::from(
                File::open(format!("/proc/{}/root", self.state.pid))
                    .map_err(|e| Error::io("open container root", e))?,
            ))
        } else {
            None
        };
        let process_plan = ProcessPlan::prepare(process, None)?;
        let labels = PlanLabels {
            arg0: process_plan.arg0.clone(),
            cwd: process.cwd().display().to_string(),
            config_file: "process.json".into(),
            selinux_label: process.selinux_label().clone().unwrap_or_default(),
            ..Default::default()
        };
        let terminal = match (process.terminal().unwrap_or(false), &opts.console_socket) {
            (false, _) => None,
            (true, Some(s)) => Some(TerminalPlan {
                socket: s.as_raw_fd(),
                size: process
                    .console_size()
                    .map(|b| (b.height() as u16, b.width() as u16)),
                uid: process.user().uid(),
                gid: process.user().gid(),
                bind_console: false,
            }),
            (true, None) => {
                return Err(Error::InvalidArgument(
                    "exec with a terminal needs --console-socket".into(),
                ))
            }
        };
        let (parent_end, child_end) =
            sync::channel().map_err(|e| Error::io("create sync channel", e))?;
        let plan = ChildPlan {
            sync_fd: child_end.as_raw_fd(),
            parent_sync_fd: parent_end.as_raw_fd(),
            exec_root: exec_root.as_ref().map(AsRawFd::as_raw_fd),
            stdio: opts.stdio,
            namespaces,
            hostname: None,
            domainname: None,
            oom_score_adj: None,
            sysctl: Vec::new(),
            labels: LabelPlan::prepare(process.selinux_label().as_deref(), selinux::enabled()),
            keyring: None,
            rootfs: None,
            create_hooks: false,
            terminal,
            rlimits: rlimits::prepare(process.rlimits().as_deref().unwrap_or_default()),
            caps: process
                .capabilities()
                .as_ref()
                .map(|c| CapPlan::prepare(c, &file))
                .transpose()?,
            user: UserPlan::prepare(process.user()),
            // A rootless container's user namespace denies setgroups.
            can_setgroups: nix::unistd::geteuid().is_root(),
            dumpable_until_go: false,
            seccomp,
            process: process_plan,
            start_barrier: None,
            preserve_fds: opts.preserve_fds,
        };
        let (plan, pid, pidfd) = spawn(plan_for_caller(plan))?;
        drop(child_end);
        let channel = ParentChannel::new(parent_end);
        let result = self.finish(&channel, pid, &plan, &labels);
        if let Err(e) = result {
            let _ = pidfd::send_signal(&pidfd, libc::SIGKILL);
            let _ = pidfd::wait(&pidfd, false);
            return Err(e);
        }
        if let Some(path) = &opts.pid_file {
            crate::state::write_atomic(
                &std::path::absolute(path).map_err(|e| Error::io("pid file", e))?,
                pid.to_string().as_bytes(),
            )?;
        }
        Ok(Spawned { pid, pidfd })
    }

    fn finish(
        &self,
        channel: &ParentChannel,
        pid: i32,
        _plan: &ChildPlan,
        labels: &PlanLabels,
    ) -> Result<()> {
        if let Some(cg) = &self.state.cgroup {
            cg.join(pid)?;
        }
        channel
            .send(Message::new(Kind::Go))
            .map_err(|e| Error::io("signal exec process", e))?;
        // Ready, then either EOF (execve closed the channel) or a failure.
        loop {
            let msg = channel
                .recv(Some(SETUP_TIMEOUT))
                .map_err(|e| Error::io("wait for exec process", e))?;
            match msg {
                Some(Message {
                    kind: Kind::Ready, ..
                }) => continue,
                Some(
                    m @ Message {
                        kind: Kind::Failed, ..
                    },
                ) => {
                    let err = ChildError {
                        step: Step::from_u32(m.step).unwrap_or(Step::Exec),
                        index: m.index,
                        errno: nix::errno::Errno::from_raw(m.errno),
                    };
                    return Err(describe::child_error(&err, labels));
                }
                Some(_) => continue,
                None => return Ok(()),
            }
        }
    }
}

/// How the exec child gets into the container's pid namespace.
enum Route {
    /// The caller may join it (root): around one clone.
    Direct(ChildPlan),
    /// Not root, and a user namespace owns it: through an intermediate
    /// that enters the user namespace first (nested_spawn.rs). The user
    /// join is taken out of the plan: the process inherits it.
    ThroughUserNs(ChildPlan, OwnedFd),
}

fn plan_for_caller(mut plan: ChildPlan) -> Route {
    let user = plan
        .namespaces
        .joins
        .iter()
        .position(|j| j.nstype == libc::CLONE_NEWUSER);
    match user {
        Some(i) if plan.namespaces.pid_join.is_some() && !nix::unistd::geteuid().is_root() => {
            let user_ns = plan.namespaces.joins.remove(i).fd;
            Route::ThroughUserNs(plan, user_ns)
        }
        _ => Route::Direct(plan),
    }
}

/// Clones the exec child into the container's pid namespace (clone3 keeps
/// it non-dumpable until execve).
fn spawn(route: Route) -> Result<(ChildPlan, i32, OwnedFd)> {
    match route {
        Route::Direct(plan) => {
            let (pid, fd) = spawn_direct(&plan)?;
            Ok((plan, pid, fd))
        }
        Route::ThroughUserNs(plan, user_ns) => {
            let pid_ns = plan
                .namespaces
                .pid_join
                .as_ref()
                .ok_or_else(|| Error::InvalidArgument("no pid namespace to join".into()))?;
            let target = nested_spawn::Target::JoinPid(pid_ns.as_raw_fd());
            let (pid, fd) = nested_spawn::spawn(&plan, &user_ns, target)?;
            Ok((plan, pid, fd))
        }
    }
}

fn spawn_direct(plan: &ChildPlan) -> Result<(i32, OwnedFd)> {
    let _pid_ns = plan
        .namespaces
        .pid_join
        .as_ref()
        .map(PidForChildren::enter)
        .transpose()?;
    // SAFETY: the child branch only runs child::main, which makes raw
    // system calls over the prepared plan and ends in execve or _exit.
    match unsafe { clone::clone3(0, None, false) } {
        Ok(Forked::Child) => child::main(plan),
        Ok(Forked::Parent { pid, pidfd }) => Ok((pid, pidfd)),
        Err(e) => Err(Error::io("clone3", e)),
    }
}
