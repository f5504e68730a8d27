//! A service's log file, NAME.log, rotated to NAME.log.1 .. NAME.log.N
//! before a line would take it past its size limit.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Size and count limits of one service's log files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_file_size: u64,
    /// Rotated files kept besides the live one.
    pub max_files: u32,
}

#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    limits: Limits,
    file: Option<File>,
    size: u64,
    /// The last error, reported once until writing works again.
    failed: bool,
}

impl LogFile {
    /// The log of service `name` in `dir` (opened on first write).
    pub fn new(dir: &Path, name: &str, limits: Limits) -> Self {
        LogFile {
            path: dir.join(format!("{name}.log")),
            limits,
            file: None,
            size: 0,
            failed: false,
        }
    }

    /// Appends `line` and a newline, rotating first when needed. Returns
    /// the error only the first time writing fails in a row.
    pub fn write_line(&mut self, line: &str) -> Option<io::Error> {
        match self.try_write(line) {
            Ok(()) => {
                self.failed = false;
                None
            }
            Err(e) => {
                self.file = None;
                let first = !self.failed;
                self.failed = true;
                first.then_some(e)
            }
        }
    }

    fn try_write(&mut self, line: &str) -> io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.file.is_none() {
            self.open()?;
        }
        if self.size > 0 && self.size + len > self.limits.max_file_size {
            self.file = None;
            self.rotate()?;
            self.open()?;
        }
        let Some(f) = self.file.as_mut() else {
            return Err(io::Error::other("log file not open"));
        };
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        f.write_all(&buf)?;
        self.size += len;
        Ok(())
    }

    fn open(&mut self) -> io::Result<()> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .custom_flags(libc::O_CLOEXEC)
            .open(&self.path)?;
        self.size = f.metadata()?.len();
        self.file = Some(f);
        Ok(())
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{n}"));
        PathBuf::from(p)
    }

    /// NAME.log.(N-1) -> .N ... NAME.log -> .1; with max_files = 0 the
    /// live file is simply started again.
    fn rotate(&mut self) -> io::Result<()> {
        if self.limits.max_files == 0 {
            return fs::remove_file(&self.path).or_else(ignore_missing);
        }
        for n in (1..self.limits.max_files).rev() {
            fs::rename(self.rotated(n), self.rotated(n + 1)).or_else(ignore_missing)?;
        }
        fs::rename(&self.path, self.rotated(1)).or_else(ignore_missing)
    }
}

fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("corral-logfile-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn rotates_at_the_size_and_keeps_max_files() {
        let dir = tmp("rotate");
        let mut f = LogFile::new(
            &dir,
            "svc",
            Limits {
                max_file_size: 100,
                max_files: 2,
            },
        );
        for i in 0..40 {
            assert!(f.write_line(&format!("line {i:04} ........")).is_none());
        }
        let live = fs::read_to_string(dir.join("svc.log")).unwrap();
        assert!(live.ends_with("line 0039 ........\n"), "{live}");
        for name in ["svc.log", "svc.log.1", "svc.log.2"] {
            let len = fs::metadata(dir.join(name)).unwrap().len();
            assert!(len <= 100 && len > 0, "{name}: {len}");
        }
        assert!(!dir.join("svc.log.3").exists());
        let one = fs::read_to_string(dir.join("svc.log.1")).unwrap();
        let two = fs::read_to_string(dir.join("svc.log.2")).unwrap();
        assert!(two < one, "older lines are in the higher number");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_rotated_files_with_max_files_zero() {
        let dir = tmp("zero");
        let mut f = LogFile::new(
            &dir,
            "s",
            Limits {
                max_file_size: 20,
                max_files: 0,
            },
        );
        for i in 0..10 {
            f.write_line(&format!("{i:09}"));
        }
        assert_eq!(
            fs::read_to_string(dir.join("s.log")).unwrap(),
            "000000008\n000000009\n"
        );
        assert!(!dir.join("s.log.1").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_dir_reports_once() {
        let mut f = LogFile::new(
            Path::new("/proc/version/nope"),
            "s",
            Limits {
                max_file_size: 20,
                max_files: 1,
            },
        );
        assert!(f.write_line("a").is_some());
        assert!(f.write_line("b").is_none());
    }
}
