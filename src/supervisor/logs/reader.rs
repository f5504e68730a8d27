//! Reads a service's stdout/stderr pipe, line by line, into its sink.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::LogSink;

/// Longest line kept whole; longer output is split.
const MAX_LINE: usize = 4096;
/// Bytes read per wakeup.
const CHUNK: usize = 2048;

/// Copies lines from `pipe` (the read end) into `sink` until every writer
/// has closed it.
pub async fn pump(pipe: OwnedFd, sink: Rc<RefCell<LogSink>>) {
    if let Err(e) = set_nonblocking(&pipe) {
        tracing::warn!(error = %e, "log pipe");
        return;
    }
    // SAFETY: the OwnedFd is a valid open fd, owned by the AsyncFd until
    // it is dropped, and its as_raw_fd never changes.
    let Ok(fd) = (unsafe { AsyncFd::register_with_interest(pipe, Interest::READABLE) }) else {
        return;
    };
    let mut partial: Vec<u8> = Vec::new();
    let mut buf = [0u8; CHUNK];
    loop {
        let Ok(mut guard) = fd.readable().await else {
            break;
        };
        match guard.try_io(|inner| read(inner.get_ref(), &mut buf)) {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => split(&mut partial, &buf[..n], &sink),
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Ok(Err(_)) => break,
            Err(_would_block) => {}
        }
    }
    if !partial.is_empty() {
        emit(&partial, &sink);
    }
}

/// Appends `data` to `partial` and emits every complete line.
fn split(partial: &mut Vec<u8>, data: &[u8], sink: &Rc<RefCell<LogSink>>) {
    for &b in data {
        if b == b'\n' {
            emit(partial, sink);
            partial.clear();
        } else {
            partial.push(b);
            if partial.len() >= MAX_LINE {
                emit(partial, sink);
                partial.clear();
            }
        }
    }
}

fn emit(line: &[u8], sink: &Rc<RefCell<LogSink>>) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line);
    sink.borrow_mut().line(&text);
}

fn read(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes of writes.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL only change the fd's status flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::logs::{Limits, Settings};

    #[test]
    fn splits_lines_and_flushes_the_last_partial_one() {
        let dir = std::env::temp_dir().join(format!("corral-reader-{}", std::process::id()));
        let sink = Rc::new(RefCell::new(LogSink::new(
            "t",
            &Settings {
                dir: dir.clone(),
                limits: Limits {
                    max_file_size: 1 << 20,
                    max_files: 0,
                },
                ring_lines: 100,
                ring_bytes: 1 << 16,
            },
        )));
        let (r, w) = nix::unistd::pipe().unwrap();
        let long = "x".repeat(MAX_LINE + 10);
        nix::unistd::write(&w, format!("one\r\ntwo\n{long}\nlast").as_bytes()).unwrap();
        drop(w);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(pump(r, sink.clone()));
        let lines = sink.borrow().tail(10);
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(lines[0], "one");
        assert_eq!(lines[1], "two");
        assert_eq!(lines[2].len(), MAX_LINE);
        assert_eq!(lines[3], "x".repeat(10));
        assert_eq!(lines[4], "last");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
