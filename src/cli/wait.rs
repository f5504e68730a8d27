//! The foreground loop of `run` and `exec`: forward signals to the
//! container's process, proxy its pty, and return its exit status. Waiting
//! is on the pidfd, so an exit can never be missed however early it comes.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use anyhow::Context;
use corral_runtime::{pidfd, ExitStatus};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::console;

/// Signals a foreground container gets from us (runc forwards these too).
const FORWARDED: [Signal; 10] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGCONT,
    Signal::SIGWINCH,
    Signal::SIGPIPE,
];

/// Blocks the forwarded signals and opens a signalfd for them. Call before
/// creating the container: the child resets its mask before execve.
pub fn signal_fd() -> anyhow::Result<SignalFd> {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.thread_block().context("block signals")?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).context("signalfd")
}

/// Waits for the process behind `pidfd` (our child), forwarding signals and
/// proxying `pty` to our stdio when given.
pub fn foreground(
    pidfd: &OwnedFd,
    signals: &mut SignalFd,
    pty: Option<OwnedFd>,
) -> anyhow::Result<ExitStatus> {
    let _raw = pty.as_ref().and_then(|_| console::RawMode::enter());
    if let Some(m) = &pty {
        set_nonblocking(m);
        console::copy_window_size(m);
    }
    let mut stdin_open = pty.is_some();
    let mut buf = [0u8; 8192];
    loop {
        let mut fds = vec![
            libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: signals.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        if let Some(m) = &pty {
            fds.push(libc::pollfd {
                fd: m.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            if stdin_open {
                fds.push(libc::pollfd {
                    fd: 0,
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
        }
        // SAFETY: fds is a valid array of pollfd of the given length.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context("poll");
        }
        if fds[1].revents != 0 {
            forward_signals(pidfd, signals, pty.as_ref());
        }
        if let Some(m) = &pty {
            if fds[2].revents != 0 {
                copy_out(m, &mut buf);
            }
            if stdin_open && fds.len() > 3 && fds[3].revents != 0 {
                stdin_open = copy_in(m, &mut buf);
            }
        }
        if fds[0].revents != 0 {
            if let Some(m) = &pty {
                while copy_out(m, &mut buf) {}
            }
            return pidfd::wait(pidfd, false)?.context("process vanished");
        }
    }
}

fn forward_signals(pidfd: &OwnedFd, signals: &mut SignalFd, pty: Option<&OwnedFd>) {
    while let Ok(Some(info)) = signals.read_signal() {
        let signo = info.ssi_signo as i32;
        if signo == libc::SIGWINCH {
            if let Some(m) = pty {
                console::copy_window_size(m);
            }
            continue;
        }
        let _ = pidfd::send_signal(pidfd, signo);
    }
}

/// Copies what the pty has to stdout; false once it is closed or drained.
fn copy_out(master: &OwnedFd, buf: &mut [u8]) -> bool {
    match read_fd(master.as_raw_fd(), buf) {
        Some(n) if n > 0 => {
            let mut out = io::stdout();
            let _ = out.write_all(&buf[..n]);
            let _ = out.flush();
            true
        }
        _ => false,
    }
}

/// Copies stdin to the pty; on end of input sends ^D so the shell sees EOF.
fn copy_in(master: &OwnedFd, buf: &mut [u8]) -> bool {
    match read_fd(0, buf) {
        Some(n) if n > 0 => write_fd(master.as_raw_fd(), &buf[..n]),
        _ => {
            write_fd(master.as_raw_fd(), &[4]);
            false
        }
    }
}

fn read_fd(fd: i32, buf: &mut [u8]) -> Option<usize> {
    // SAFETY: buf is valid for buf.len() bytes of writes.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).ok()
}

fn write_fd(fd: i32, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        // SAFETY: data is valid for data.len() bytes of reads.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        match usize::try_from(n) {
            Ok(n) if n > 0 => data = &data[n..],
            _ => return false,
        }
    }
    true
}

fn set_nonblocking(fd: &OwnedFd) {
    // SAFETY: F_GETFL/F_SETFL only change the fd's status flags.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}
