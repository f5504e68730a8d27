//! clone3(2) with namespace flags, a pidfd for the child and, on cgroup v2,
//! CLONE_INTO_CGROUP so the child starts in its cgroup.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// What clone3 returned on each side.
#[derive(Debug)]
pub enum Forked {
    /// In the new process.
    Child,
    /// In the caller: the child's pid (in the caller's pid namespace) and a
    /// pidfd that can never name a recycled process.
    Parent { pid: i32, pidfd: OwnedFd },
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_PIDFD: u64 = 0x1000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Forks with `ns_flags` (CLONE_NEW*) and, when given, straight into the
/// cgroup v2 directory `cgroup_fd`. All signals are blocked around the call
/// so no handler of the caller runs in the child before it resets them.
/// The child starts non-dumpable unless `dumpable` (a rootless parent must
/// open its /proc files to write the id maps; the child then clears the
/// flag itself).
///
/// # Safety
/// The child shares nothing with the caller's threads: it must only make
/// async-signal-safe calls (no allocation, no locks) and must end with
/// execve or `_exit`, never returning into the caller's code paths.
pub unsafe fn clone3(
    ns_flags: u64,
    cgroup_fd: Option<RawFd>,
    dumpable: bool,
) -> io::Result<Forked> {
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: ns_flags | CLONE_PIDFD,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    if let Some(fd) = cgroup_fd {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    let old = block_all_signals();
    // Until the child execs, its /proc/PID/exe is this binary: keep it
    // non-dumpable so no process in the container's pid namespace can open
    // it (the CVE-2019-5736 class). execve makes the new image dumpable.
    let undumpable = (!dumpable).then(Undumpable::enter);
    // SAFETY: args is a valid clone_args of the size passed; no stack is
    // given, so the child continues on a copy of this stack like fork().
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if ret == 0 {
        // The child stays non-dumpable until execve.
        std::mem::forget(undumpable);
        return Ok(Forked::Child);
    }
    drop(undumpable);
    let err = io::Error::last_os_error();
    restore_signals(&old);
    if ret < 0 {
        return Err(err);
    }
    // SAFETY: CLONE_PIDFD stored a fresh pidfd that only we own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(Forked::Parent {
        pid: ret as i32,
        pidfd,
    })
}

/// Clears the dumpable flag for its lifetime; the child inherits the
/// cleared flag with its copy of the address space.
#[derive(Debug)]
struct Undumpable {
    was: libc::c_int,
}

impl Undumpable {
    fn enter() -> Self {
        // SAFETY: PR_GET_DUMPABLE takes no further arguments.
        let was = unsafe { libc::prctl(libc::PR_GET_DUMPABLE) };
        // SAFETY: PR_SET_DUMPABLE takes one integer argument.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong) };
        Undumpable { was }
    }
}

impl Drop for Undumpable {
    fn drop(&mut self) {
        if self.was > 0 {
            // SAFETY: as above.
            unsafe { libc::prctl(libc::PR_SET_DUMPABLE, self.was as libc::c_ulong) };
        }
    }
}

fn block_all_signals() -> libc::sigset_t {
    // SAFETY: the sets are initialised by sigfillset/pthread_sigmask
    // before use.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        old
    }
}

fn restore_signals(old: &libc::sigset_t) {
    // SAFETY: old was filled by pthread_sigmask.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
}
