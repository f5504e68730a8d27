//! This process's mount table (/proc/self/mountinfo), read once and
//! reused while it stays the same.
//!
//! A long-lived runtime process (PID 1's supervisor, an embedding
//! program) needs the mount table for every container (the cgroup
//! hierarchies, the mount holding the rootfs) while it hardly ever
//! changes. A snapshot is reused only while:
//!
//! - the table is unchanged: an open /proc/self/mountinfo polls POLLPRI
//!   after any mount or unmount in its namespace (proc(5)), so PID 1
//!   mounting its cgroup hierarchies or switching root is seen;
//! - the process is the one that took it: a forked child reads its own
//!   (and must not poll the fd it shares with its parent, which would
//!   consume the parent's event);
//! - the process is still in the same mount namespace.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// The text of /proc/self/mountinfo at some point.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub text: String,
    /// Tells snapshots apart, for caches of what is derived from them.
    pub generation: u64,
}

/// The snapshot and what tells whether it still holds.
#[derive(Debug)]
struct Cached {
    pid: u32,
    mount_ns: (u64, u64),
    /// The mountinfo the snapshot was read from, kept open to poll.
    watch: File,
    snapshot: Arc<Snapshot>,
}

static CACHE: Mutex<Option<Cached>> = Mutex::new(None);
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current mount table, from the cache when it holds.
pub(crate) fn current() -> io::Result<Arc<Snapshot>> {
    let pid = std::process::id();
    let ns = mount_ns()?;
    // A panic elsewhere cannot leave the Option half-written.
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = cache.as_ref() {
        if c.pid == pid && c.mount_ns == ns && !changed(&c.watch) {
            return Ok(Arc::clone(&c.snapshot));
        }
    }
    let (watch, text) = read(MOUNTINFO)?;
    let snapshot = Arc::new(Snapshot {
        text,
        generation: GENERATION.fetch_add(1, Ordering::Relaxed) + 1,
    });
    *cache = Some(Cached {
        pid,
        mount_ns: ns,
        watch,
        snapshot: Arc::clone(&snapshot),
    });
    Ok(snapshot)
}

/// Drops the snapshot, so the next [`current`] reads the table again.
pub(crate) fn forget() {
    *CACHE.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

/// Opens and reads a mountinfo file; the fd's poll reports any later
/// change (its event counter is taken at open, before the read).
fn read(path: &str) -> io::Result<(File, String)> {
    let mut f = File::open(path)?;
    let text = crate::smallfile::read_from(&mut f)?;
    Ok((f, text))
}

/// The (device, inode) of this process's mount namespace.
fn mount_ns() -> io::Result<(u64, u64)> {
    let m = std::fs::metadata("/proc/self/ns/mnt")?;
    Ok((m.dev(), m.ino()))
}

/// Whether the mount table changed since `watch` was opened (or last
/// polled). An error counts as a change.
fn changed(watch: &File) -> bool {
    let mut pfd = libc::pollfd {
        fd: watch.as_raw_fd(),
        events: libc::POLLPRI,
        revents: 0,
    };
    // SAFETY: one valid pollfd for an fd we own; timeout 0 never blocks.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n != 0 && (n < 0 || pfd.revents & (libc::POLLPRI | libc::POLLERR | libc::POLLNVAL) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_is_reused_until_forgotten() {
        let first = current().unwrap();
        assert!(first.text.lines().count() > 0);
        let again = current().unwrap();
        // Another test mounting on the host would make a new one.
        if first.text == again.text {
            assert_eq!(first.generation, again.generation);
        }
        forget();
        let fresh = current().unwrap();
        assert!(fresh.generation > first.generation, "forget drops it");
    }

    #[test]
    fn a_mount_is_noticed() {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        // In a thread with a private mount namespace, so that the other
        // tests' snapshot sees no change.
        let seen = std::thread::spawn(|| {
            use nix::mount::{mount, MsFlags};
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
            let none = None::<&str>;
            mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).unwrap();
            let (f, _) = read("/proc/thread-self/mountinfo").unwrap();
            let before = changed(&f);
            mount(Some("tmpfs"), "/mnt", Some("tmpfs"), MsFlags::empty(), none).unwrap();
            (before, changed(&f), changed(&f))
        })
        .join()
        .unwrap();
        assert_eq!(seen, (false, true, false), "reported once per change");
    }
}
