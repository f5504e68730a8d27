//! process.terminal: the child opens a pty in its own devpts, sends the
//! master over the console socket (as runc does, so containerd's
//! console-socket receivers work) and makes the slave its controlling
//! terminal and stdio. A new container also gets the slave bound on
//! /dev/console, as runc and crun do (programs such as init systems and
//! getty write to /dev/console).

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
    /// Bind the slave on /dev/console: only for a new container with its
    /// own mount namespace and /dev (never for exec, never on a host /dev).
    pub bind_console: bool,
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
    let r = take_slave(sys, slave, plan).and_then(|()| {
        if plan.bind_console {
            bind_console(sys, master)
        } else {
            Ok(())
        }
    });
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

/// Binds the pty slave (/dev/pts/N of the container's devpts) on
/// /dev/console, made as an empty file first.
fn bind_console<S: Syscalls>(sys: &S, master: RawFd) -> Result<(), Errno> {
    let mut number: libc::c_uint = 0;
    sys.ioctl(
        master,
        libc::TIOCGPTN,
        &mut number as *mut libc::c_uint as libc::c_ulong,
    )?;
    let mut buf = [0u8; 32];
    let slave_path = pts_path(number, &mut buf);
    let console = sys.openat(
        libc::AT_FDCWD,
        c"/dev/console",
        libc::O_CREAT | libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY,
        0o600,
    )?;
    sys.close(console);
    sys.mount(
        Some(slave_path),
        c"/dev/console",
        None,
        libc::MS_BIND as libc::c_ulong,
        None,
    )
}

/// "/dev/pts/N" in `buf`, without allocating (this runs in the cloned
/// child of a possibly multi-threaded parent).
fn pts_path(n: libc::c_uint, buf: &mut [u8; 32]) -> &std::ffi::CStr {
    const PREFIX: &[u8] = b"/dev/pts/";
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut digits = [0u8; 10];
    let mut len = 0;
    let mut rest = n;
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for (i, d) in digits[..len].iter().rev().enumerate() {
        buf[PREFIX.len() + i] = *d;
    }
    buf[PREFIX.len() + len] = 0;
    std::ffi::CStr::from_bytes_until_nul(&buf[..]).unwrap_or(c"/dev/pts/0")
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
            bind_console: true,
        };
        setup(&sys, &plan).unwrap();
        let ctty = sys.position("setsid").unwrap();
        let dup = sys.position("dup2").unwrap();
        let send = sys.position("send_fd 9 101").unwrap();
        assert!(ctty < dup && dup < send, "{:?}", sys.lines());
        let bind = sys.position("mount /dev/pts/0 /dev/console").unwrap();
        assert!(dup < bind && bind < send, "{:?}", sys.lines());
    }

    #[test]
    fn exec_leaves_dev_console_alone() {
        let sys = Recorder::default();
        let plan = TerminalPlan {
            socket: 9,
            size: None,
            uid: 0,
            gid: 0,
            bind_console: false,
        };
        setup(&sys, &plan).unwrap();
        assert!(sys.position("mount").is_none(), "{:?}", sys.lines());
    }

    #[test]
    fn pts_paths() {
        let mut buf = [0u8; 32];
        assert_eq!(pts_path(0, &mut buf), c"/dev/pts/0");
        assert_eq!(pts_path(4_294_967_295, &mut buf), c"/dev/pts/4294967295");
        assert_eq!(pts_path(17, &mut buf), c"/dev/pts/17");
    }
}
