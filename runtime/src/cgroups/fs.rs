//! Reading and writing cgroup control files, and making and removing
//! cgroup directories.
//!
//! Control files are opened without `O_CREAT`: on cgroupfs a missing file
//! means a missing controller or kernel feature, and saying so beats the
//! `EACCES` an `O_CREAT` open would give. Directories are removed with
//! rmdir only, never by unlinking files, so a wrong path can never delete
//! anything but empty directories and cgroups.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use crate::error::Error;
use crate::error::Result;

/// An [`Error::Cgroup`] about `path`.
pub(crate) fn err(path: &Path, message: impl Into<String>) -> Error {
    Error::Cgroup {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Whether control file `name` exists in `dir`.
pub(crate) fn has(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

/// Reads control file `name` in `dir`.
pub(crate) fn read(dir: &Path, name: &str) -> Result<String> {
    let path = dir.join(name);
    crate::smallfile::read_to_string(&path).map_err(|e| err(&path, format!("read: {e}")))
}

/// Reads control file `name` in `dir`, `None` when it is missing or unreadable.
pub(crate) fn read_opt(dir: &Path, name: &str) -> Option<String> {
    crate::smallfile::read_to_string(dir.join(name)).ok()
}

/// Reads a single unsigned number; `max` reads as `u64::MAX`.
pub(crate) fn read_u64(dir: &Path, name: &str) -> Option<u64> {
    let text = read_opt(dir, name)?;
    parse_u64(text.trim())
}

/// Parses a number or `max` (as `u64::MAX`).
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s == "max" {
        return Some(u64::MAX);
    }
    s.parse().ok()
}

/// Writes `value` to control file `name` in `dir` with one write(2).
pub(crate) fn write(dir: &Path, name: &str, value: &str) -> Result<()> {
    let path = dir.join(name);
    write_path(&path, value)
}

fn write_path(path: &Path, value: &str) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                err(
                    path,
                    "no such control file (controller not enabled or not supported by this kernel)",
                )
            } else {
                err(path, format!("open: {e}"))
            }
        })?;
    f.write_all(value.as_bytes())
        .map_err(|e| err(path, format!("write {value:?}: {e}")))
}

/// Fails with a clear message when control file `name` is missing in `dir`.
pub(crate) fn require(dir: &Path, name: &str, why: &str) -> Result<()> {
    if has(dir, name) {
        Ok(())
    } else {
        Err(err(&dir.join(name), format!("no such control file: {why}")))
    }
}

/// Maps an error of a cgroups-rs setter that wrote `value` to `dir/name`.
pub(crate) fn rs_err(
    dir: &Path,
    name: &str,
    value: impl std::fmt::Display,
) -> impl FnOnce(cgroups_rs::error::Error) -> Error {
    let path = dir.join(name);
    let value = value.to_string();
    move |e| {
        let cause = std::error::Error::source(&e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| e.to_string());
        err(&path, format!("write {value:?}: {cause}"))
    }
}

/// The OS error number inside a cgroups-rs error, if any.
pub(crate) fn rs_errno(e: &cgroups_rs::error::Error) -> Option<i32> {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<io::Error>())
        .and_then(io::Error::raw_os_error)
}

/// Creates `path`; `Ok(true)` when it was created, `Ok(false)` when it
/// already existed.
pub(crate) fn mkdir(path: &Path) -> Result<bool> {
    match fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(false),
        Err(e) => Err(err(path, format!("mkdir: {e}"))),
    }
}

/// `dir` and every directory below it, children before parents.
pub(crate) fn tree_post_order(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect(dir, &mut out);
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            // file_type does not follow symlinks: a symlink is never descended.
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                collect(&entry.path(), out);
            }
        }
    }
    if dir.is_dir() {
        out.push(dir.to_path_buf());
    }
}

/// Removes the cgroup directory `path`, retrying while the kernel still
/// reports it busy (dying tasks); a missing directory is fine.
pub(crate) fn rmdir(path: &Path) -> Result<()> {
    let mut delay = Duration::from_millis(5);
    let mut last = None;
    for _ in 0..8 {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                last = Some(e);
                sleep(delay);
                delay = delay.saturating_mul(2);
            }
            Err(e) => return Err(err(path, format!("rmdir: {e}"))),
        }
    }
    let e = last.map(|e| e.to_string()).unwrap_or_default();
    Err(err(path, format!("rmdir: {e}")))
}

/// Reads every pid in `cgroup.procs` of `dir` and its sub-cgroups.
pub(crate) fn procs_recursive(dir: &Path) -> Vec<i32> {
    let mut pids = Vec::new();
    for d in tree_post_order(dir) {
        if let Some(text) = read_opt(&d, "cgroup.procs") {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

#[cfg(test)]
pub(crate) mod testdir {
    //! A scratch directory standing in for a cgroup mount in unit tests.

    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    /// A unique directory under the system temp dir, removed on drop.
    #[derive(Debug)]
    pub(crate) struct TestDir(pub(crate) PathBuf);

    impl TestDir {
        pub(crate) fn new(tag: &str) -> Self {
            let n = NEXT.fetch_add(1, Ordering::SeqCst);
            let p =
                std::env::temp_dir().join(format!("corral-cg-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TestDir(p)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }

        /// Creates directory `rel` holding empty control files `files`.
        pub(crate) fn cgroup(&self, rel: &str, files: &[&str]) -> PathBuf {
            let d = self.0.join(rel);
            std::fs::create_dir_all(&d).unwrap();
            for f in files {
                std::fs::write(d.join(f), "").unwrap();
            }
            d
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The content of `dir/name`, trimmed.
    pub(crate) fn content(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::testdir::TestDir;
    use super::*;

    #[test]
    fn write_needs_an_existing_file() {
        let t = TestDir::new("fs");
        let d = t.cgroup("a", &["memory.max"]);
        write(&d, "memory.max", "100").unwrap();
        assert_eq!(fs::read_to_string(d.join("memory.max")).unwrap(), "100");
        let e = write(&d, "memory.high", "1").unwrap_err().to_string();
        assert!(e.contains("memory.high: no such control file"), "{e}");
    }

    #[test]
    fn tree_lists_children_first() {
        let t = TestDir::new("fs");
        t.cgroup("a/b/c", &[]);
        t.cgroup("a/d", &["cgroup.procs"]);
        let tree = tree_post_order(&t.path().join("a"));
        let pos = |p: &str| tree.iter().position(|x| x == &t.path().join(p)).unwrap();
        assert!(pos("a/b/c") < pos("a/b"));
        assert!(pos("a/b") < pos("a"));
        assert!(pos("a/d") < pos("a"));
        assert_eq!(tree.len(), 4);
    }

    #[test]
    fn procs_are_collected_from_sub_cgroups() {
        let t = TestDir::new("fs");
        let a = t.cgroup("a", &[]);
        let b = t.cgroup("a/b", &[]);
        fs::write(a.join("cgroup.procs"), "10\n12\n").unwrap();
        fs::write(b.join("cgroup.procs"), "11\n10\n").unwrap();
        assert_eq!(procs_recursive(&a), vec![10, 11, 12]);
    }

    #[test]
    fn rmdir_of_missing_dir_is_fine() {
        let t = TestDir::new("fs");
        rmdir(&t.path().join("nope")).unwrap();
        let d = t.cgroup("x", &[]);
        rmdir(&d).unwrap();
        assert!(!d.exists());
    }
}
