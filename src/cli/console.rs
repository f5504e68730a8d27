//! Console sockets: connecting to the caller's (`--console-socket`),
//! receiving the pty master the container sends, and putting our own
//! terminal in raw mode while a foreground container owns it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::Context;
use nix::sys::termios::{self, SetArg, Termios};

/// Connects to the unix socket at `path`.
pub fn connect(path: &Path) -> anyhow::Result<OwnedFd> {
    let s = UnixStream::connect(path)
        .with_context(|| format!("connect to console socket {}", path.display()))?;
    Ok(OwnedFd::from(s))
}

/// A connected pair: (ours, the container's).
pub fn pair() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    let (a, b) = UnixStream::pair().context("create console socket pair")?;
    Ok((OwnedFd::from(a), OwnedFd::from(b)))
}

/// Receives one fd sent with SCM_RIGHTS on `socket`.
pub fn recv_fd(socket: &OwnedFd) -> anyhow::Result<OwnedFd> {
    let mut name = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: name.as_mut_ptr().cast(),
        iov_len: name.len(),
    };
    #[repr(C, align(8))]
    struct Control([u8; 64]);
    let mut control = Control([0; 64]);
    // SAFETY: msghdr is plain data; zeroed is a valid empty value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len();
    // SAFETY: msg points at live buffers of the sizes given.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error()).context("receive pty master");
    }
    // SAFETY: recvmsg filled msg; CMSG_FIRSTHDR checks msg_controllen.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    if cmsg.is_null() {
        anyhow::bail!("container sent no pty master");
    }
    // SAFETY: cmsg points inside `control`; the kernel wrote an SCM_RIGHTS
    // header followed by at least one int.
    let fd = unsafe {
        if (*cmsg).cmsg_level != libc::SOL_SOCKET || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            anyhow::bail!("unexpected control message on console socket");
        }
        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>())
    };
    // SAFETY: the fd was just received and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Our terminal in raw mode until dropped.
#[derive(Debug)]
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Puts stdin in raw mode if it is a terminal.
    pub fn enter() -> Option<RawMode> {
        let stdin = io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// Copies our window size to the pty.
pub fn copy_window_size(master: &OwnedFd) {
    // SAFETY: a zeroed winsize is a valid out-buffer for TIOCGWINSZ.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: ws is a valid out-pointer; master is an open pty.
    unsafe {
        if libc::ioctl(io::stdin().as_raw_fd(), libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}
