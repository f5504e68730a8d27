//! Spawning where only a process inside a user namespace can: into a
//! rootless container's pid namespace (setns to it needs CAP_SYS_ADMIN in
//! the user namespace that owns it, which a non-root caller only has once
//! inside), or into a new pid namespace that a joined user namespace must
//! own (clone makes it owned by the cloning process's user namespace).
//! Entering the user namespace would change the caller for good, so an
//! intermediate process does it (runc's double fork):
//!
//! 1. the caller becomes a child subreaper and clones the intermediate;
//! 2. the intermediate joins the user namespace, then either joins the pid
//!    namespace for its children or clones with CLONE_NEWPID, sends the
//!    final process's pid over a pipe and exits;
//! 3. the final process, orphaned, is reparented to the caller, which
//!    opens a pidfd on it: from here on it is the caller's child like any
//!    other (waitid works on it).
//!
//! The intermediate only makes system calls, like every cloned child here.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::child::{self, ChildPlan};
use crate::clone::{self, Forked};
use crate::error::{Error, Result};
use crate::pidfd;

/// Where the final process goes once the intermediate is in the user
/// namespace.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// Into this existing pid namespace (exec).
    JoinPid(RawFd),
    /// clone3 with these CLONE_NEW* flags (CLONE_NEWPID among them), into
    /// this cgroup v2 directory, dumpable or not (create).
    Clone {
        flags: u64,
        cgroup_fd: Option<RawFd>,
        dumpable: bool,
    },
}

/// Clones `plan`'s process through the user namespace `user_ns` to
/// `target`; returns its pid and a pidfd, as a child of the caller.
/// `plan` must not join `user_ns` again.
pub fn spawn(plan: &ChildPlan, user_ns: &OwnedFd, target: Target) -> Result<(i32, OwnedFd)> {
    become_subreaper()?;
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::io("create pid pipe", e))?;
    // SAFETY: the child branch only runs `intermediate`, which makes raw
    // system calls and ends in _exit (or, in its own child, child::main).
    let forked = unsafe { clone::clone3(0, None, false) };
    match forked {
        Ok(Forked::Child) => intermediate(plan, user_ns.as_raw_fd(), target, write.as_raw_fd()),
        Ok(Forked::Parent { pidfd, .. }) => {
            drop(write);
            let pid = read_pid(&read);
            // The intermediate exits at once; reaping it reparents the
            // final process to us.
            pidfd::wait(&pidfd, false)
                .map_err(|e| Error::io("wait for the intermediate process", e))?;
            let pid = pid?;
            let fd = pidfd::open(pid).map_err(|e| Error::io("open the new process", e))?;
            Ok((pid, fd))
        }
        Err(e) => Err(Error::io("clone3", e)),
    }
}

/// Orphans of our children come back to us instead of to init.
fn become_subreaper() -> Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) } < 0 {
        return Err(Error::io(
            "become child subreaper",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// The pid the intermediate sent, or why there is none.
fn read_pid(read: &OwnedFd) -> Result<i32> {
    let mut buf = [0u8; 4];
    match nix::unistd::read(read, &mut buf) {
        Ok(4) => Ok(i32::from_ne_bytes(buf)),
        Ok(_) => Err(Error::io(
            "enter the user namespace and clone into the pid namespace",
            std::io::Error::from_raw_os_error(libc::EPERM),
        )),
        Err(e) => Err(Error::io("read the new process pid", e)),
    }
}

/// In the intermediate: join, clone, report, exit. On any failure it exits
/// without writing, which the caller reports.
fn intermediate(plan: &ChildPlan, user_ns: RawFd, target: Target, write: RawFd) -> ! {
    // SAFETY: setns on an fd the caller keeps open; the intermediate is
    // single-threaded (a fresh clone).
    let mut ready = unsafe { libc::setns(user_ns, libc::CLONE_NEWUSER) } == 0;
    let (flags, cgroup_fd, dumpable) = match target {
        Target::JoinPid(pid_ns) => {
            // SAFETY: as above.
            ready = ready && unsafe { libc::setns(pid_ns, libc::CLONE_NEWPID) } == 0;
            (0, None, false)
        }
        Target::Clone {
            flags,
            cgroup_fd,
            dumpable,
        } => (flags, cgroup_fd, dumpable),
    };
    if ready {
        // SAFETY: as in `spawn`: the child runs child::main over the plan.
        match unsafe { clone::clone3(flags, cgroup_fd, dumpable) } {
            Ok(Forked::Child) => child::main(plan),
            Ok(Forked::Parent { pid, .. }) => {
                let bytes = pid.to_ne_bytes();
                // SAFETY: bytes is valid for 4 bytes of reads.
                unsafe { libc::write(write, bytes.as_ptr().cast(), bytes.len()) };
            }
            Err(_) => {}
        }
    }
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(0) }
}
