//! process.terminal: the child opens a pty in its own devpts, sends the
//! master over the console socket (as runc does, so containerd's
//! console-socket receivers work) and makes the slave its controlling
//! terminal and stdio.

use std::os::fd::RawFd;

use nix::errno::Errno;

use crate::syscall::Syscalls;

/// What the child needs for its console.
#[derive(Debug, Clone, Copy)]
pub struct TerminalPlan {
    /// Connected unix socket to send the pty master over.
    pub socket: RawFd,
    /// consoleSize (rows, columns).
    pub size: Option<(u16, u16)>,
    /// Owner of the slave (the process's uid/gid, mapped as seen from the
    /// child's namespace).
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
}

/// Child side, after pivot_root (so /dev/ptmx is the container's).
pub fn setup<S: Syscalls>(sys: &S, plan: &TerminalPlan) -> Result<(), Errno> {
    let master = sys.openat(
        libc::AT_FDCWD,
        c"/dev/ptmx",
        libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        0,
    )?;
    let r = with_master(sys, master, plan);
    sys.close(master);
    r
}

fn with_master<S: Syscalls>(sys: &S, master: RawFd, plan: &TerminalPlan) -> Result<(), Errno> {
    let unlock: libc::c_int = 0;
    sys.ioctl(
        master,
        libc::TIOCSPTLCK,
        &unlock as *const libc::c_int as libc::c_ulong,
    )?;
    if let Some((rows, cols)) = plan.size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        sys.ioctl(
            master,
            libc::TIOCSWINSZ,
            &ws as *const libc::winsize as libc::c_ulong,
        )?;
    }
    let slave = sys.ioctl(
        master,
        libc::TIOCGPTPEER,
        (libc::O_RDWR | libc::O_NOCTTY) as libc::c_ulong,
    )?;
    let r = take_slave(sys, slave, plan);
    if slave > 2 {
        sys.close(slave);
    }
    r?;
    sys.send_fd(plan.socket, b"/dev/ptmx", master)
}

fn take_slave<S: Syscalls>(sys: &S, slave: RawFd, plan: &TerminalPlan) -> Result<(), Errno> {
    sys.fchownat(slave, c"", plan.uid, plan.gid, libc::AT_EMPTY_PATH)?;
    // Already a session leader is fine (exec into a container may be one).
    match sys.setsid() {
        Ok(()) | Err(Errno::EPERM) => {}
        Err(e) => return Err(e),
    }
    sys.ioctl(slave, libc::TIOCSCTTY, 0)?;
    for fd in 0..3 {
        sys.dup2(slave, fd)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recorder::Recorder;

    #[test]
    fn pty_becomes_stdio_and_master_is_sent() {
        let sys = Recorder::default();
        let plan = TerminalPlan {
            socket: 9,
            size: Some((24, 80)),
            uid: 0,
            gid: 0,
        };
        setup(&sys, &plan).unwrap();
        let ctty = sys.position("setsid").unwrap();
        let dup = sys.position("dup2").unwrap();
        let send = sys.position("send_fd 9 101").unwrap();
        assert!(ctty < dup && dup < send, "{:?}", sys.lines());
    }
}
