//! Reads a service's stdout/stderr pipe, line by line, into its sink.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::time::Instant;

use super::LogSink;

/// Longest line kept whole; longer output is split.
const MAX_LINE: usize = 4096;
/// Bytes read per wakeup.
const CHUNK: usize = 2048;
/// Log bytes per second read from one service, sustained. A service that
/// writes faster fills its pipe and blocks in write(2) (backpressure, as
/// on a slow console): a flood costs PID 1 a bounded share of a CPU and
/// cannot starve the other services' logs or the control socket.
const RATE: u64 = 1 << 20;
/// What a service may write at once above RATE (start-up bursts).
const BURST: u64 = 4 << 20;

/// A token bucket of log bytes.
#[derive(Debug)]
struct Budget {
    /// Bytes that may still be read now; negative when in debt.
    available: i64,
    last: Instant,
}

impl Budget {
    fn new(now: Instant) -> Budget {
        Budget {
            available: BURST as i64,
            last: now,
        }
    }

    /// Spends `n` bytes read at `now`; returns how long to wait before
    /// reading again.
    fn spend(&mut self, n: usize, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        let earned = elapsed.as_micros().saturating_mul(u128::from(RATE)) / 1_000_000;
        let earned = i64::try_from(earned).unwrap_or(i64::MAX);
        self.available = self
            .available
            .saturating_add(earned)
            .min(BURST as i64)
            .saturating_sub(n as i64);
        if self.available >= 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(
            self.available
                .unsigned_abs()
                .saturating_mul(1_000_000)
                .div_ceil(RATE),
        )
    }
}

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
    let mut budget = Budget::new(Instant::now());
    loop {
        let Ok(mut guard) = fd.readable().await else {
            break;
        };
        match guard.try_io(|inner| read(inner.get_ref(), &mut buf)) {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                split(&mut partial, &buf[..n], &sink);
                let wait = budget.spend(n, Instant::now());
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
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
    fn the_budget_allows_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Budget::new(t0);
        assert_eq!(b.spend(BURST as usize, t0), Duration::ZERO);
        // In debt by RATE bytes: a second's wait.
        assert_eq!(b.spend(RATE as usize, t0), Duration::from_secs(1));
        // A second later the debt is paid; half a second earns half RATE.
        assert_eq!(b.spend(0, t0 + Duration::from_secs(1)), Duration::ZERO);
        let half = (RATE / 2) as usize;
        assert_eq!(
            b.spend(half, t0 + Duration::from_millis(1500)),
            Duration::ZERO
        );
        assert_eq!(
            b.spend(half, t0 + Duration::from_millis(1500)),
            Duration::from_millis(500)
        );
        // Idle time refills up to BURST, no further.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(b.spend(BURST as usize, later), Duration::ZERO);
        assert!(b.spend(1, later) > Duration::ZERO);
    }

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
            .enable_time()
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
