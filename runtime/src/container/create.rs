//! create: everything set up, the container's first process blocked on the
//! exec fifo before execve. Either the container exists completely or
//! nothing of it is left (state dir, cgroup, process, fds).

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::{LinuxNamespaceType, LinuxResources};

use super::describe;
use super::plan::{self, PlanInputs, PlanLabels};
use super::Container;
use crate::cgroups::{Cgroup, Layout};
use crate::child::{self, ChildError, ChildPlan, Step};
use crate::clone::{self, Forked};
use crate::error::{Error, Result};
use crate::hooks::{self, HookKind, Place};
use crate::namespaces::{self, PidForChildren};
use crate::nested_spawn;
use crate::pidfd;
use crate::spec::Bundle;
use crate::state::{self, State, StateDir, Status};
use crate::sync::{self, Kind, Message, ParentChannel};
use crate::user;

/// How long the runtime waits for the child between two setup messages.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

/// What `create` needs besides the bundle.
#[derive(Debug, Default)]
pub struct CreateOptions {
    pub state_root: PathBuf,
    pub id: String,
    /// A connected unix socket that receives the pty master (terminal: true).
    pub console_socket: Option<OwnedFd>,
    pub pid_file: Option<PathBuf>,
    /// Enter the root with MS_MOVE + chroot instead of pivot_root.
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// Number of fds after stdio to pass to the process.
    pub preserve_fds: u32,
    /// fds to become the process's 0, 1, 2 (None: inherit the caller's).
    pub stdio: [Option<RawFd>; 3],
}

/// A created container, with the pidfd of its first process: the caller
/// is that process's parent and may reap it through the pidfd.
#[derive(Debug)]
pub struct Created {
    pub container: Container,
    pub pidfd: OwnedFd,
}

/// Creates container `opts.id` from `bundle`.
pub fn create(bundle: &Bundle, opts: CreateOptions) -> Result<Created> {
    create_impl(bundle, opts, true)
}

/// Creates container `opts.id` from `bundle` without a cgroup of its own:
/// the process stays in the caller's cgroups, and delete has no cgroup to
/// remove. `linux.resources` and a `cgroup` mount need a cgroup and are
/// errors here. For callers that manage cgroups themselves, and for the
/// benches that measure what the cgroup costs.
pub fn create_without_cgroup(bundle: &Bundle, opts: CreateOptions) -> Result<Created> {
    let file = bundle.config_path.as_path();
    if bundle
        .spec
        .linux()
        .as_ref()
        .is_some_and(|l| l.resources().is_some())
    {
        return Err(Error::spec(
            file,
            "/linux/resources",
            "needs a cgroup (created without one)",
        ));
    }
    create_impl(bundle, opts, false)
}

fn create_impl(bundle: &Bundle, opts: CreateOptions, own_cgroup: bool) -> Result<Created> {
    let dir = StateDir::create(&opts.state_root, &opts.id)?;
    let mut undo = Undo::new(dir.clone());
    let file = bundle.config_path.as_path();
    let cgroups_path = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_deref());
    let cgroup = if own_cgroup {
        Some(Cgroup::resolve(cgroups_path, &opts.id, file)?)
    } else {
        None
    };
    let mut state = initial_state(bundle, &opts.id, cgroup.as_ref(), opts.no_pivot);
    dir.save(&state)?;
    dir.save_config(&bundle.spec)?;
    check_preserved_fds(opts.preserve_fds)?;

    let inputs = PlanInputs {
        id: &opts.id,
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        console_socket: opts.console_socket.as_ref().map(AsRawFd::as_raw_fd),
        stdio: opts.stdio,
        preserve_fds: opts.preserve_fds,
        cgroup: cgroup.as_ref(),
    };
    let (mut plan, labels) = plan::build(bundle, &inputs)?;
    let resources = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref());
    let cgroup = match cgroup {
        Some(cg) => match cg.create(resources, file) {
            Ok(()) => {
                undo.cgroup = Some(cg.clone());
                Some(cg)
            }
            Err(e) if rootless_without_limits(resources) => {
                // As runc: a rootless container that asks for no limits
                // runs in the caller's cgroups when it may not make its own.
                tracing::debug!(error = %e, "rootless: no cgroup of its own");
                state.cgroup = None;
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };

    let fifo_path = dir.make_fifo()?;
    let barrier = open_barrier(&fifo_path)?;
    plan.start_barrier = Some(barrier.as_raw_fd());
    let (parent_end, child_end) =
        sync::channel().map_err(|e| Error::io("create sync channel", e))?;
    plan.sync_fd = child_end.as_raw_fd();
    plan.parent_sync_fd = parent_end.as_raw_fd();

    let into_cgroup = match cgroup.as_ref().map(Cgroup::layout) {
        Some(Layout::Unified) => cgroup
            .as_ref()
            .and_then(Cgroup::unified_dir)
            .and_then(|d| File::open(d).ok())
            .map(OwnedFd::from),
        _ => None,
    };
    let nested_user_ns = plan.namespaces.take_user_join_for_nested_clone();
    let cgroup_fd = into_cgroup.as_ref().map(AsRawFd::as_raw_fd);
    let (pid, pidfd) = match &nested_user_ns {
        Some(user_ns) => spawn_in_user_ns(&plan, user_ns, cgroup_fd)?,
        None => spawn(&plan, cgroup_fd)?,
    };
    undo.child = Some(pidfd.try_clone().map_err(|e| Error::io("dup pidfd", e))?);
    drop(child_end);
    drop(barrier);
    let channel = ParentChannel::new(parent_end);

    if plan.namespaces.new_user {
        if let Some(linux) = bundle.spec.linux() {
            user::write_id_maps(pid, linux)?;
        }
    }
    if let (Some(cgroup), None) = (&cgroup, &into_cgroup) {
        cgroup.join(pid)?;
    }
    state.pid = pid;
    state.init_start_time = pidfd::stat(pid).map(|(t, _)| t).unwrap_or_default();
    dir.save(&state)?;
    channel
        .send(Message::new(Kind::Go))
        .map_err(|e| Error::io("signal container process", e))?;
    drive_setup(&channel, &pidfd, &plan, &labels, bundle, &state)?;

    state.status = Status::Created;
    dir.save(&state)?;
    if let Some(path) = &opts.pid_file {
        write_pid_file(path, pid)?;
    }
    undo.disarm();
    Ok(Created {
        container: Container {
            dir,
            state,
            hooks: Some(bundle.spec.hooks().clone()),
        },
        pidfd,
    })
}

/// Whether a failed cgroup may be skipped: the caller is not root and the
/// config sets no resource limit. Device rules do not count: a user
/// namespace cannot make device nodes anyway, and rootless runc ignores
/// them too.
fn rootless_without_limits(resources: Option<&LinuxResources>) -> bool {
    let no_limits = |r: &LinuxResources| {
        let mut r = r.clone();
        r.set_devices(None);
        r == LinuxResources::default()
    };
    !nix::unistd::geteuid().is_root() && resources.is_none_or(no_limits)
}

fn initial_state(bundle: &Bundle, id: &str, cgroup: Option<&Cgroup>, no_pivot: bool) -> State {
    let namespaces = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .map(|n| {
            n.iter()
                .map(|n| namespaces::proc_name(n.typ()).to_owned())
                .collect()
        })
        .unwrap_or_default();
    State {
        oci_version: state::OCI_VERSION.into(),
        id: id.into(),
        status: Status::Creating,
        pid: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: state::now_rfc3339(),
        owner: owner(),
        annotations: bundle.spec.annotations().clone().unwrap_or_default(),
        init_start_time: 0,
        namespaces,
        cgroup: cgroup.cloned(),
        no_pivot,
        exit_code: None,
    }
}

fn owner() -> String {
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    if uid == 0 {
        String::new()
    } else {
        uid.to_string()
    }
}

/// The exec fifo, open read-write: the child's read blocks until `start`
/// writes, and holding a writer keeps the read from seeing EOF early.
fn open_barrier(path: &Path) -> Result<OwnedFd> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|e| Error::io(format!("open {}", path.display()), e))
}

/// The caller's fds 3..3+n must exist: a gap would let one of the
/// runtime's own fds take that number and leak into the container.
fn check_preserved_fds(n: u32) -> Result<()> {
    for fd in 3..3 + n as RawFd {
        // SAFETY: F_GETFD only reads the fd's flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(Error::InvalidArgument(format!(
                "--preserve-fds: fd {fd} is not open"
            )));
        }
    }
    Ok(())
}

/// Clones the child (into the joined pid namespace, if any) and runs the
/// setup sequence in it.
fn spawn(plan: &ChildPlan, cgroup_fd: Option<RawFd>) -> Result<(i32, OwnedFd)> {
    let _pid_ns = plan
        .namespaces
        .pid_join
        .as_ref()
        .map(PidForChildren::enter)
        .transpose()?;
    // SAFETY: the child branch only runs child::main, which makes raw
    // system calls over the prepared plan and ends in execve or _exit.
    match unsafe {
        clone::clone3(
            plan.namespaces.clone_flags,
            cgroup_fd,
            plan.dumpable_until_go,
        )
    } {
        Ok(Forked::Child) => child::main(plan),
        Ok(Forked::Parent { pid, pidfd }) => Ok((pid, pidfd)),
        Err(e) => Err(Error::io("clone3", e)),
    }
}

/// A new pid namespace owned by a joined user namespace: cloned from an
/// intermediate inside it (nested_spawn.rs).
fn spawn_in_user_ns(
    plan: &ChildPlan,
    user_ns: &OwnedFd,
    cgroup_fd: Option<RawFd>,
) -> Result<(i32, OwnedFd)> {
    let target = nested_spawn::Target::Clone {
        flags: plan.namespaces.clone_flags,
        cgroup_fd,
        dumpable: plan.dumpable_until_go,
    };
    nested_spawn::spawn(plan, user_ns, target)
}

/// Answers the child's setup messages until it reports ready.
fn drive_setup(
    channel: &ParentChannel,
    pidfd: &OwnedFd,
    plan: &ChildPlan,
    labels: &PlanLabels,
    bundle: &Bundle,
    state: &State,
) -> Result<()> {
    loop {
        let msg = channel
            .recv(Some(SETUP_TIMEOUT))
            .map_err(|e| Error::io("wait for container process", e))?;
        match msg {
            Some(Message {
                kind: Kind::Ready, ..
            }) => return Ok(()),
            Some(Message {
                kind: Kind::RunCreateHooks,
                ..
            }) => {
                run_create_hooks(bundle, state, plan)?;
                channel
                    .send(Message::new(Kind::HooksDone))
                    .map_err(|e| Error::io("signal container process", e))?;
            }
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
            Some(m) => {
                return Err(Error::io(
                    "container setup",
                    std::io::Error::other(format!("unexpected message {:?}", m.kind)),
                ))
            }
            None => {
                let status = pidfd::wait(pidfd, false).ok().flatten();
                return Err(Error::io(
                    "container setup",
                    std::io::Error::other(format!(
                        "container process exited during setup ({status:?})"
                    )),
                ));
            }
        }
    }
}

/// prestart and createRuntime in the runtime's namespaces, then
/// createContainer in the container's, all before pivot_root.
fn run_create_hooks(bundle: &Bundle, state: &State, plan: &ChildPlan) -> Result<()> {
    let hooks = bundle.spec.hooks().as_ref();
    let json = serde_json::to_vec(&state.oci(Status::Creating)).unwrap_or_default();
    hooks::run_all(HookKind::Prestart, hooks, &json, &Place::Runtime)?;
    hooks::run_all(HookKind::CreateRuntime, hooks, &json, &Place::Runtime)?;
    let types: Vec<LinuxNamespaceType> = plan.namespaces.types.clone();
    hooks::run_all(
        HookKind::CreateContainer,
        hooks,
        &json,
        &Place::Container {
            pid: state.pid,
            types: &types,
        },
    )
}

fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let path = std::path::absolute(path)
        .map_err(|e| Error::io(format!("pid file {}", path.display()), e))?;
    state::write_atomic(&path, pid.to_string().as_bytes())
}

/// Tears down a half-made container unless disarmed.
struct Undo {
    dir: Option<StateDir>,
    cgroup: Option<Cgroup>,
    child: Option<OwnedFd>,
}

impl Undo {
    fn new(dir: StateDir) -> Self {
        Undo {
            dir: Some(dir),
            cgroup: None,
            child: None,
        }
    }

    fn disarm(&mut self) {
        self.dir = None;
        self.cgroup = None;
        self.child = None;
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some(pidfd) = self.child.take() {
            let _ = pidfd::send_signal(&pidfd, libc::SIGKILL);
            // It is our child: reap it so no zombie is left.
            let _ = pidfd::wait(&pidfd, false);
        }
        if let Some(cg) = self.cgroup.take() {
            if let Err(e) = cg.destroy() {
                tracing::warn!(error = %e, "cleanup after failed create");
            }
        }
        if let Some(dir) = self.dir.take() {
            if let Err(e) = dir.remove() {
                tracing::warn!(error = %e, "cleanup after failed create");
            }
        }
    }
}

impl std::fmt::Debug for Undo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Undo")
            .field("armed", &self.dir.is_some())
            .finish()
    }
}
