//! The container's first process between clone and execve: a fixed
//! sequence of system calls over data the parent prepared. Nothing here
//! allocates, locks or formats; a failure is reported to the parent as
//! (step, index, errno) and the parent turns it into a message.

use std::convert::Infallible;
use std::ffi::CString;
use std::fmt::Write as _;
use std::os::fd::RawFd;

use nix::errno::Errno;

use crate::capabilities::{self, CapPlan};
use crate::namespaces::{self, NamespacePlan};
use crate::process::{self, ProcessPlan};
use crate::rlimits::{self, Rlimit};
use crate::rootfs::{self, RootfsFailure, RootfsPlan};
use crate::seccomp::SeccompPlan;
use crate::selinux::LabelPlan;
use crate::sync::{self, Kind, Message};
use crate::syscall::Syscalls;
use crate::terminal::{self, TerminalPlan};
use crate::user::{self, IdStep, UserPlan};

/// The setup steps, as reported to the parent.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Stdio = 1,
    WaitParent,
    JoinNamespace,
    Unshare,
    TimeOffsets,
    BecomeRoot,
    Hostname,
    Domainname,
    OomScoreAdj,
    Sysctl,
    SelinuxLabel,
    Keyring,
    RootPropagation,
    BindRootfs,
    Mountpoint,
    Mount,
    MountRemount,
    MountPropagation,
    MountAttributes,
    Device,
    CreateHooks,
    PivotRoot,
    MaskPath,
    ReadonlyPath,
    ReadonlyRoot,
    Console,
    Rlimit,
    DropBounding,
    Seccomp,
    Setgroups,
    Setgid,
    Setuid,
    Capabilities,
    Umask,
    Chdir,
    NoNewPrivs,
    FindExecutable,
    Ready,
    WaitStart,
    Exec,
}

impl Step {
    pub fn from_u32(v: u32) -> Option<Step> {
        const ALL: [Step; 40] = [
            Step::Stdio,
            Step::WaitParent,
            Step::JoinNamespace,
            Step::Unshare,
            Step::TimeOffsets,
            Step::BecomeRoot,
            Step::Hostname,
            Step::Domainname,
            Step::OomScoreAdj,
            Step::Sysctl,
            Step::SelinuxLabel,
            Step::Keyring,
            Step::RootPropagation,
            Step::BindRootfs,
            Step::Mountpoint,
            Step::Mount,
            Step::MountRemount,
            Step::MountPropagation,
            Step::MountAttributes,
            Step::Device,
            Step::CreateHooks,
            Step::PivotRoot,
            Step::MaskPath,
            Step::ReadonlyPath,
            Step::ReadonlyRoot,
            Step::Console,
            Step::Rlimit,
            Step::DropBounding,
            Step::Seccomp,
            Step::Setgroups,
            Step::Setgid,
            Step::Setuid,
            Step::Capabilities,
            Step::Umask,
            Step::Chdir,
            Step::NoNewPrivs,
            Step::FindExecutable,
            Step::Ready,
            Step::WaitStart,
            Step::Exec,
        ];
        ALL.iter().copied().find(|s| *s as u32 == v)
    }
}

/// A failed step: which, for which item (mount index, sysctl index...), and errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildError {
    pub step: Step,
    pub index: u32,
    pub errno: Errno,
}

impl ChildError {
    fn new(step: Step, errno: Errno) -> Self {
        ChildError {
            step,
            index: 0,
            errno,
        }
    }

    fn at(step: Step, index: u32, errno: Errno) -> Self {
        ChildError { step, index, errno }
    }

    pub fn message(&self) -> Message {
        Message::failed(self.step as u32, self.index, self.errno as i32)
    }
}

trait StepResult<T> {
    fn step(self, step: Step) -> Result<T, ChildError>;
}

impl<T> StepResult<T> for Result<T, Errno> {
    fn step(self, step: Step) -> Result<T, ChildError> {
        self.map_err(|e| ChildError::new(step, e))
    }
}

/// A /proc file write prepared by the parent (sysctl, oom_score_adj...).
#[derive(Debug, Clone)]
pub struct ProcWrite {
    pub path: CString,
    pub value: CString,
}

/// Everything the child needs, owned by the parent for the duration of
/// the create or exec call.
#[derive(Debug)]
pub struct ChildPlan {
    /// The child's end of the sync channel.
    pub sync_fd: RawFd,
    /// The parent's end, closed first so the child sees EOF if the parent dies.
    pub parent_sync_fd: RawFd,
    /// For exec into a container entered without pivot_root: an fd of its
    /// root to chroot into after joining its mount namespace.
    pub exec_root: Option<RawFd>,
    /// Descriptors to install as fd 0, 1, 2 (None keeps the inherited one).
    pub stdio: [Option<RawFd>; 3],
    pub namespaces: NamespacePlan,
    pub hostname: Option<CString>,
    pub domainname: Option<CString>,
    pub oom_score_adj: Option<ProcWrite>,
    pub sysctl: Vec<ProcWrite>,
    pub labels: LabelPlan,
    /// Name of a new session keyring (None: keep the inherited one).
    pub keyring: Option<CString>,
    /// None for exec, which joins an existing root.
    pub rootfs: Option<RootfsPlan>,
    /// Stop after the rootfs is prepared so the parent can run
    /// prestart/createRuntime/createContainer hooks.
    pub create_hooks: bool,
    pub terminal: Option<TerminalPlan>,
    pub rlimits: Vec<Rlimit>,
    pub caps: Option<CapPlan>,
    pub user: UserPlan,
    /// setgroups is refused in a user namespace whose gid map was written
    /// after "deny" (as a rootless runtime must); as root it is allowed.
    pub can_setgroups: bool,
    pub seccomp: Option<SeccompPlan>,
    pub process: ProcessPlan,
    /// The exec fifo, open read-write: the child blocks reading it until
    /// `start` writes a byte. None for exec.
    pub start_barrier: Option<RawFd>,
    /// Number of fds after stdio passed through to the process.
    pub preserve_fds: u32,
    /// Rootless with a new user namespace: the parent, not root, writes
    /// our id maps, which it can only open while we are dumpable, so clone
    /// left us dumpable; we clear it at the parent's go, before anything
    /// of the container runs.
    pub dumpable_until_go: bool,
}

/// Runs the sequence; returns only on failure (execve does not return).
pub fn run<S: Syscalls>(sys: &S, plan: &ChildPlan) -> ChildError {
    match setup(sys, plan) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

/// Entry point after clone: runs the sequence, reports the failure and
/// exits without running any destructor or atexit handler.
pub fn main(plan: &ChildPlan) -> ! {
    let sys = crate::syscall::Linux;
    let err = run(&sys, plan);
    // Block signals again: after start nobody reads the sync socket, and
    // the write must fail with EPIPE rather than die of SIGPIPE.
    let _ = sys.reset_signals(&full_sigset());
    if sync::child_send(&sys, plan.sync_fd, err.message()).is_err() {
        // Nobody listens after start: tell the container's stderr.
        report_to_stderr(&sys, &err);
    }
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(127) }
}

/// One line on fd 2, formatted on the stack (no allocation in the child).
fn report_to_stderr<S: Syscalls>(sys: &S, err: &ChildError) {
    let mut line = StackLine::default();
    let _ = writeln!(
        line,
        "corral: container process: {:?} failed: {}",
        err.step,
        err.errno.desc()
    );
    let _ = sys.write(2, line.as_bytes());
}

/// A fixed buffer that `write!` fills and silently truncates.
struct StackLine {
    buf: [u8; 160],
    len: usize,
}

impl Default for StackLine {
    fn default() -> Self {
        StackLine {
            buf: [0; 160],
            len: 0,
        }
    }
}

impl StackLine {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for StackLine {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

fn setup<S: Syscalls>(sys: &S, p: &ChildPlan) -> Result<Infallible, ChildError> {
    block_signals_with_defaults(sys)?;
    sys.close(p.parent_sync_fd);
    for (target, source) in p.stdio.iter().enumerate() {
        if let Some(fd) = source {
            sys.dup2(*fd, target as RawFd).step(Step::Stdio)?;
        }
    }
    sync::child_expect(sys, p.sync_fd, Kind::Go).step(Step::WaitParent)?;
    if p.dumpable_until_go {
        sys.prctl(libc::PR_SET_DUMPABLE, 0, 0)
            .step(Step::WaitParent)?;
    }
    enter_namespaces(sys, p)?;
    if let Some(fd) = p.exec_root {
        sys.fchdir(fd).step(Step::JoinNamespace)?;
        sys.chroot(c".").step(Step::JoinNamespace)?;
    }
    configure_kernel_view(sys, p)?;
    let rootfd = match &p.rootfs {
        Some(r) => Some(rootfs::prepare(sys, r).map_err(rootfs_error)?),
        None => None,
    };
    if p.create_hooks {
        sync::child_send(sys, p.sync_fd, Message::new(Kind::RunCreateHooks))
            .step(Step::CreateHooks)?;
        sync::child_expect(sys, p.sync_fd, Kind::HooksDone).step(Step::CreateHooks)?;
    }
    if let (Some(fd), Some(r)) = (rootfd, &p.rootfs) {
        rootfs::enter(sys, fd, r).map_err(rootfs_error)?;
    }
    if let Some(t) = &p.terminal {
        terminal::setup(sys, t).step(Step::Console)?;
    }
    // Before any seccomp filter: a profile need not allow close_range or
    // fcntl (the OCI validation suite's does not). Our own fds stay usable
    // until execve.
    release_fds(sys, p)?;
    let exe = become_process(sys, p)?;
    sync::child_send(sys, p.sync_fd, Message::new(Kind::Ready)).step(Step::Ready)?;
    if let Some(fd) = p.start_barrier {
        wait_for_start(sys, fd)?;
    }
    if p.process.no_new_privileges {
        install_seccomp(sys, p)?;
    }
    sys.reset_signals(&empty_sigset()).step(Step::Exec)?;
    Err(ChildError::new(
        Step::Exec,
        sys.execve(exe, p.process.argv(), p.process.envp()),
    ))
}

/// Signals stay blocked until execve, but the parent's handlers (tokio's,
/// the CLI's) must never run in the child.
fn block_signals_with_defaults<S: Syscalls>(sys: &S) -> Result<(), ChildError> {
    sys.reset_signals(&full_sigset()).step(Step::Stdio)
}

fn enter_namespaces<S: Syscalls>(sys: &S, p: &ChildPlan) -> Result<(), ChildError> {
    namespaces::join_all(sys, &p.namespaces.joins)
        .map_err(|(i, e)| ChildError::at(Step::JoinNamespace, i, e))?;
    if p.namespaces.unshare_flags != 0 {
        sys.unshare(p.namespaces.unshare_flags)
            .step(Step::Unshare)?;
    }
    if let Some(offsets) = &p.namespaces.time_offsets {
        write_proc(sys, c"/proc/self/timens_offsets", offsets).step(Step::TimeOffsets)?;
    }
    if p.namespaces.in_user_namespace() {
        sys.setresgid(0).step(Step::BecomeRoot)?;
        sys.setresuid(0).step(Step::BecomeRoot)?;
    }
    Ok(())
}

/// Settings written through the host's /proc before pivot_root: they
/// apply to the child's namespaces, not to the host's.
fn configure_kernel_view<S: Syscalls>(sys: &S, p: &ChildPlan) -> Result<(), ChildError> {
    if let Some(h) = &p.hostname {
        sys.sethostname(h.as_bytes()).step(Step::Hostname)?;
    }
    if let Some(d) = &p.domainname {
        sys.setdomainname(d.as_bytes()).step(Step::Domainname)?;
    }
    if let Some(w) = &p.oom_score_adj {
        write_proc(sys, &w.path, &w.value).step(Step::OomScoreAdj)?;
    }
    for (i, w) in p.sysctl.iter().enumerate() {
        write_proc(sys, &w.path, &w.value)
            .map_err(|e| ChildError::at(Step::Sysctl, i as u32, e))?;
    }
    if let Some(label) = &p.labels.exec {
        write_proc(sys, c"/proc/thread-self/attr/exec", label).step(Step::SelinuxLabel)?;
    }
    if let Some(name) = &p.keyring {
        if let Some(label) = &p.labels.keycreate {
            write_proc(sys, c"/proc/thread-self/attr/keycreate", label).step(Step::Keyring)?;
        }
        match sys.join_session_keyring(name) {
            // Keyrings are optional: a nested container may not have them.
            Ok(()) | Err(Errno::ENOSYS) | Err(Errno::EPERM) | Err(Errno::EACCES) => {}
            Err(e) => return Err(ChildError::new(Step::Keyring, e)),
        }
    }
    Ok(())
}

/// Limits, capabilities and identity, in the order the kernel needs:
/// bounding set while still privileged, seccomp (without no_new_privs it
/// needs CAP_SYS_ADMIN), ids with keep-caps, then the capability sets.
fn become_process<'p, S: Syscalls>(sys: &S, p: &'p ChildPlan) -> Result<&'p CString, ChildError> {
    rlimits::apply(sys, &p.rlimits).map_err(|(i, e)| ChildError::at(Step::Rlimit, i, e))?;
    if let Some(c) = &p.caps {
        capabilities::drop_bounding(sys, c).step(Step::DropBounding)?;
    }
    if !p.process.no_new_privileges {
        install_seccomp(sys, p)?;
    }
    user::switch(sys, &p.user, p.can_setgroups).map_err(|(s, e)| {
        let step = match s {
            IdStep::Groups => Step::Setgroups,
            IdStep::Gid => Step::Setgid,
            IdStep::Uid => Step::Setuid,
        };
        ChildError::new(step, e)
    })?;
    if let Some(c) = &p.caps {
        capabilities::apply_sets(sys, c).step(Step::Capabilities)?;
    }
    user::apply_umask(sys, &p.user).step(Step::Umask)?;
    sys.chdir(&p.process.cwd).step(Step::Chdir)?;
    if p.process.no_new_privileges {
        sys.prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)
            .step(Step::NoNewPrivs)?;
    }
    process::find_executable(sys, &p.process).step(Step::FindExecutable)
}

fn install_seccomp<S: Syscalls>(sys: &S, p: &ChildPlan) -> Result<(), ChildError> {
    if let Some(s) = &p.seccomp {
        for (i, prog) in s.programs.iter().enumerate() {
            sys.seccomp_filter(prog, s.flags)
                .map_err(|e| ChildError::at(Step::Seccomp, i as u32, e))?;
        }
    }
    Ok(())
}

fn wait_for_start<S: Syscalls>(sys: &S, fd: RawFd) -> Result<(), ChildError> {
    let mut byte = [0u8; 1];
    match sys.read(fd, &mut byte) {
        Ok(1) => {
            sys.close(fd);
            Ok(())
        }
        Ok(_) => Err(ChildError::new(Step::WaitStart, Errno::EPIPE)),
        Err(e) => Err(ChildError::new(Step::WaitStart, e)),
    }
}

/// Preserved fds lose close-on-exec; every other fd above stdio gets it,
/// so no runtime descriptor reaches the container (the CVE-2024-21626
/// class).
fn release_fds<S: Syscalls>(sys: &S, p: &ChildPlan) -> Result<(), ChildError> {
    let first_closed = 3 + p.preserve_fds as RawFd;
    for fd in 3..first_closed {
        sys.clear_cloexec(fd).step(Step::Exec)?;
    }
    sys.cloexec_from(first_closed).step(Step::Exec)
}

fn write_proc<S: Syscalls>(
    sys: &S,
    path: &std::ffi::CStr,
    value: &std::ffi::CStr,
) -> Result<(), Errno> {
    let fd = sys.openat(libc::AT_FDCWD, path, libc::O_WRONLY | libc::O_CLOEXEC, 0)?;
    let r = sys.write(fd, value.to_bytes());
    sys.close(fd);
    r.map(drop)
}

fn rootfs_error(f: RootfsFailure) -> ChildError {
    use crate::mounts::MountFailure as M;
    match f {
        RootfsFailure::Propagation(e) => ChildError::new(Step::RootPropagation, e),
        RootfsFailure::BindRootfs(e) => ChildError::new(Step::BindRootfs, e),
        RootfsFailure::Mount(i, M::Mountpoint(e)) => ChildError::at(Step::Mountpoint, i, e),
        RootfsFailure::Mount(i, M::Mount(e)) => ChildError::at(Step::Mount, i, e),
        RootfsFailure::Mount(i, M::Remount(e)) => ChildError::at(Step::MountRemount, i, e),
        RootfsFailure::Mount(i, M::Propagation(e)) => ChildError::at(Step::MountPropagation, i, e),
        RootfsFailure::Mount(i, M::Attributes(e)) => ChildError::at(Step::MountAttributes, i, e),
        RootfsFailure::Device(i, e) => ChildError::at(Step::Device, i, e),
        RootfsFailure::Pivot(e) => ChildError::new(Step::PivotRoot, e),
        RootfsFailure::Mask(i, e) => ChildError::at(Step::MaskPath, i, e),
        RootfsFailure::ReadonlyPath(i, e) => ChildError::at(Step::ReadonlyPath, i, e),
        RootfsFailure::ReadonlyRoot(e) => ChildError::new(Step::ReadonlyRoot, e),
    }
}

fn full_sigset() -> libc::sigset_t {
    // SAFETY: sigfillset initialises the zeroed set completely.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut s);
        s
    }
}

fn empty_sigset() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the zeroed set completely.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recorder::Recorder;
    use oci_spec::runtime::ProcessBuilder;

    fn plan() -> ChildPlan {
        let process = ProcessBuilder::default()
            .args(vec!["/bin/sh".into()])
            .cwd("/")
            .no_new_privileges(true)
            .build()
            .unwrap();
        ChildPlan {
            sync_fd: 7,
            parent_sync_fd: 6,
            exec_root: None,
            stdio: [None; 3],
            namespaces: NamespacePlan::default(),
            hostname: Some(c"box".to_owned()),
            domainname: None,
            oom_score_adj: None,
            sysctl: Vec::new(),
            labels: LabelPlan::default(),
            keyring: None,
            rootfs: None,
            create_hooks: false,
            terminal: None,
            rlimits: Vec::new(),
            caps: Some(CapPlan {
                bounding: 1,
                permitted: 1,
                effective: 1,
                last_cap: 3,
                ..Default::default()
            }),
            user: UserPlan {
                uid: 1000,
                gid: 1000,
                ..Default::default()
            },
            can_setgroups: true,
            dumpable_until_go: false,
            seccomp: Some(SeccompPlan {
                programs: vec![vec![libc::sock_filter {
                    code: 6,
                    jt: 0,
                    jf: 0,
                    k: 0x7fff_0000,
                }]],
                flags: 0,
            }),
            process: ProcessPlan::prepare(&process, None).unwrap(),
            start_barrier: Some(8),
            preserve_fds: 0,
        }
    }

    /// A recorder whose first read is the parent's go.
    fn recorder() -> Recorder {
        let sys = Recorder::default();
        sys.queue_read(&Message::new(Kind::Go).encode());
        sys
    }

    #[test]
    fn sequence_order_is_the_designed_one() {
        let sys = recorder();
        let err = run(&sys, &plan());
        // The recorder's execve "fails" with ENOSYS: the sequence got to the end.
        assert_eq!(err.step, Step::Exec);
        let at = |p: &str| {
            sys.position(p)
                .unwrap_or_else(|| panic!("no {p} in {:?}", sys.lines()))
        };
        let order = [
            at("read 7"),          // wait for the parent's go
            at("sethostname box"), // namespaces configured
            at("cloexec_from 3"),  // no runtime fd leaks; before any filter
            at(&format!("prctl {}", libc::PR_CAPBSET_DROP)),
            at("setresuid 1000"), // identity after the bounding set
            at("capset"),         // capabilities after the uid change
            at(&format!("prctl {} 1", libc::PR_SET_NO_NEW_PRIVS)),
            at("access_exec /bin/sh"), // lookup before create returns
            at("write 7"),             // Ready
            at("read 8"),              // the start barrier
            at("seccomp"),             // filter as late as possible
            at("execve /bin/sh"),
        ];
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "{order:?}\n{:#?}",
            sys.lines()
        );
    }

    #[test]
    fn without_no_new_privs_seccomp_precedes_the_uid_change() {
        let sys = recorder();
        let mut p = plan();
        p.process.no_new_privileges = false;
        run(&sys, &p);
        assert!(sys.position("seccomp").unwrap() < sys.position("setresuid 1000").unwrap());
        assert!(sys
            .position(&format!("prctl {} 1", libc::PR_SET_NO_NEW_PRIVS))
            .is_none());
    }

    #[test]
    fn a_failing_step_is_reported_with_its_errno() {
        let sys = Recorder::failing("sethostname", Errno::EPERM);
        sys.queue_read(&Message::new(Kind::Go).encode());
        let err = run(&sys, &plan());
        assert_eq!((err.step, err.errno), (Step::Hostname, Errno::EPERM));
        assert!(sys.position("execve").is_none());
    }

    #[test]
    fn preserved_fds_stay_open() {
        let sys = recorder();
        let mut p = plan();
        p.preserve_fds = 2;
        run(&sys, &p);
        assert!(sys.position("clear_cloexec 3").is_some());
        assert!(sys.position("clear_cloexec 4").is_some());
        assert!(sys.position("cloexec_from 5").is_some());
    }

    #[test]
    fn a_late_failure_is_one_line_and_long_text_is_cut() {
        let mut line = StackLine::default();
        let err = ChildError::at(Step::Seccomp, 0, Errno::EINVAL);
        writeln!(line, "corral: {:?} failed: {}", err.step, err.errno.desc()).unwrap();
        assert_eq!(
            line.as_bytes(),
            b"corral: Seccomp failed: Invalid argument\n"
        );
        let mut long = StackLine::default();
        write!(long, "{}", "x".repeat(500)).unwrap();
        assert_eq!(long.as_bytes().len(), 160);
    }

    #[test]
    fn steps_round_trip_through_u32() {
        for v in 1..=40 {
            assert_eq!(Step::from_u32(v).map(|s| s as u32), Some(v));
        }
        assert_eq!(Step::from_u32(0), None);
    }
}
