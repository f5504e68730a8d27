//! The channel between the runtime and the container's first process while it
//! is being set up: a SOCK_SEQPACKET socketpair carrying fixed-size messages,
//! so the child never allocates to speak.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::errno::Errno;

use crate::syscall::Syscalls;

/// What a message says.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Parent to child: ids are mapped and the cgroup joined; go on.
    Go = 1,
    /// Child to parent: the runtime environment exists, run the create hooks.
    RunCreateHooks = 2,
    /// Parent to child: the create hooks ran; go on.
    HooksDone = 3,
    /// Child to parent: setup is complete; the process now waits for start
    /// (create) or is about to execve (exec).
    Ready = 4,
    /// Child to parent: a step failed.
    Failed = 5,
}

impl Kind {
    fn from_u32(v: u32) -> Option<Kind> {
        Some(match v {
            1 => Kind::Go,
            2 => Kind::RunCreateHooks,
            3 => Kind::HooksDone,
            4 => Kind::Ready,
            5 => Kind::Failed,
            _ => return None,
        })
    }
}

/// One message: a kind and, for failures, where and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    pub kind: Kind,
    pub step: u32,
    pub index: u32,
    pub errno: i32,
}

const WIRE_LEN: usize = 16;

impl Message {
    pub const fn new(kind: Kind) -> Self {
        Message {
            kind,
            step: 0,
            index: 0,
            errno: 0,
        }
    }

    pub const fn failed(step: u32, index: u32, errno: i32) -> Self {
        Message {
            kind: Kind::Failed,
            step,
            index,
            errno,
        }
    }

    pub fn encode(&self) -> [u8; WIRE_LEN] {
        let mut b = [0u8; WIRE_LEN];
        b[0..4].copy_from_slice(&(self.kind as u32).to_ne_bytes());
        b[4..8].copy_from_slice(&self.step.to_ne_bytes());
        b[8..12].copy_from_slice(&self.index.to_ne_bytes());
        b[12..16].copy_from_slice(&self.errno.to_ne_bytes());
        b
    }

    fn decode(b: &[u8; WIRE_LEN]) -> Option<Self> {
        let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        Some(Message {
            kind: Kind::from_u32(u32::from_ne_bytes(word(0)))?,
            step: u32::from_ne_bytes(word(4)),
            index: u32::from_ne_bytes(word(8)),
            errno: i32::from_ne_bytes(word(12)),
        })
    }
}

/// Creates the connected pair: (parent end, child end), both close-on-exec.
pub fn channel() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid out-array of two ints.
    let ret = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socketpair returned two fresh fds that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Child side: send without allocating.
pub fn child_send<S: Syscalls>(sys: &S, fd: RawFd, msg: Message) -> Result<(), Errno> {
    sys.write(fd, &msg.encode()).map(drop)
}

/// Child side: wait for `kind` from the parent. EOF (the parent died) and
/// anything unexpected are errors.
pub fn child_expect<S: Syscalls>(sys: &S, fd: RawFd, kind: Kind) -> Result<(), Errno> {
    let mut buf = [0u8; WIRE_LEN];
    let n = sys.read(fd, &mut buf)?;
    if n != WIRE_LEN {
        return Err(Errno::EPIPE);
    }
    match Message::decode(&buf) {
        Some(m) if m.kind == kind => Ok(()),
        _ => Err(Errno::EPROTO),
    }
}

/// Parent side of the channel.
#[derive(Debug)]
pub struct ParentChannel {
    fd: OwnedFd,
}

impl ParentChannel {
    pub fn new(fd: OwnedFd) -> Self {
        ParentChannel { fd }
    }

    pub fn send(&self, msg: Message) -> io::Result<()> {
        let b = msg.encode();
        // SAFETY: b is valid for WIRE_LEN bytes.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                b.as_ptr().cast(),
                b.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Receives one message; `Ok(None)` when the child closed its end
    /// (it exited, or execve succeeded and closed the close-on-exec fd).
    pub fn recv(&self, timeout: Option<Duration>) -> io::Result<Option<Message>> {
        if let Some(t) = timeout {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = i32::try_from(t.as_millis()).unwrap_or(i32::MAX);
            loop {
                // SAFETY: pfd is one valid pollfd.
                let r = unsafe { libc::poll(&mut pfd, 1, ms) };
                if r < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                if r < 0 {
                    return Err(io::Error::last_os_error());
                }
                if r == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "container process did not answer",
                    ));
                }
                break;
            }
        }
        let mut b = [0u8; WIRE_LEN];
        loop {
            // SAFETY: b is valid for WIRE_LEN bytes of writes.
            let n = unsafe { libc::recv(self.fd.as_raw_fd(), b.as_mut_ptr().cast(), b.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Ok(None);
            }
            return Message::decode(&b).map(Some).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "garbled message from container process",
                )
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::Linux;

    #[test]
    fn messages_round_trip() {
        let m = Message::failed(7, 3, libc::EPERM);
        assert_eq!(Message::decode(&m.encode()), Some(m));
    }

    #[test]
    fn channel_carries_messages_and_eof() {
        let (p, c) = channel().unwrap();
        let parent = ParentChannel::new(p);
        child_send(&Linux, c.as_raw_fd(), Message::new(Kind::Ready)).unwrap();
        assert_eq!(parent.recv(None).unwrap().unwrap().kind, Kind::Ready);
        parent.send(Message::new(Kind::Go)).unwrap();
        child_expect(&Linux, c.as_raw_fd(), Kind::Go).unwrap();
        drop(c);
        assert_eq!(parent.recv(Some(Duration::from_secs(1))).unwrap(), None);
    }
}
