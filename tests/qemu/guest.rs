//! A QEMU guest driven through its serial console: `corral image boot`
//! under `timeout`, stdout read by a thread into a buffer (and a log file),
//! commands written to stdin and their output cut out between markers.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Guest {
    child: Child,
    stdin: ChildStdin,
    out: Arc<Mutex<String>>,
    /// Where the next `wait_for` starts looking.
    cursor: usize,
    seq: u32,
    pub log: PathBuf,
    pub started: Instant,
}

impl Guest {
    /// Boots `image` with QEMU (TCG) for at most `limit`; the serial
    /// output also goes to `log`.
    pub fn boot(corral: &Path, image: &Path, limit: Duration, log: &Path) -> Guest {
        Self::boot_with(corral, image, limit, log, &[])
    }

    /// [`Guest::boot`] with more `corral image boot` arguments (`--disk`).
    pub fn boot_with(
        corral: &Path,
        image: &Path,
        limit: Duration,
        log: &Path,
        extra: &[&std::ffi::OsStr],
    ) -> Guest {
        let mut child = Command::new("timeout")
            .args(["-k", "10"])
            .arg(limit.as_secs().to_string())
            .arg(corral)
            .args([
                "image", "boot", "--accel", "tcg", "--memory", "2048", "--cpus", "2",
            ])
            .arg("--image")
            .arg(image)
            .args(["--append", "panic=-1"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("spawn corral image boot");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&out);
        let mut file = std::fs::File::create(log).unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let _ = file.write_all(&buf[..n]);
                let text = String::from_utf8_lossy(&buf[..n]).replace('\r', "");
                sink.lock().unwrap().push_str(&text);
            }
        });
        Guest {
            child,
            stdin,
            out,
            cursor: 0,
            seq: 0,
            log: log.to_path_buf(),
            started: Instant::now(),
        }
    }

    /// Everything the guest printed so far.
    pub fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Waits until `needle` appears after the cursor; moves the cursor past
    /// it and returns the text up to and including it.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            {
                let out = self.out.lock().unwrap();
                if let Some(i) = out[self.cursor..].find(needle) {
                    let end = self.cursor + i + needle.len();
                    let text = out[self.cursor..end].to_owned();
                    self.cursor = end;
                    return text;
                }
            }
            if Instant::now() > deadline {
                self.fail(&format!("{needle:?} did not appear within {limit:?}"));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(300));
                if !self.output()[self.cursor..].contains(needle) {
                    self.fail(&format!("QEMU exited ({status}) before {needle:?}"));
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `needle` appears anywhere in the output (the cursor
    /// stays): for lines whose order is not fixed.
    pub fn wait_seen(&mut self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.output().contains(needle) {
            if Instant::now() > deadline {
                self.fail(&format!("{needle:?} did not appear within {limit:?}"));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(300));
                if !self.output().contains(needle) {
                    self.fail(&format!("QEMU exited ({status}) before {needle:?}"));
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types `line` on the console without waiting for anything.
    pub fn send(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Runs `cmd` in the console's shell; returns its output and status.
    pub fn sh(&mut self, cmd: &str, limit: Duration) -> (String, i32) {
        self.seq += 1;
        let n = self.seq;
        // The quotes keep the echoed command line from matching.
        let line = format!("echo \"@@\"\"B{n}\"; {cmd}; echo \"@@\"\"E{n} $?\"\n");
        self.stdin.write_all(line.as_bytes()).unwrap();
        self.stdin.flush().unwrap();
        self.wait_for(&format!("@@B{n}\n"), limit);
        let text = self.wait_for(&format!("@@E{n} "), limit);
        let status_line = self.wait_for("\n", Duration::from_secs(10));
        let status = status_line.trim().parse().unwrap_or(-1);
        let body = text.trim_end_matches(&format!("@@E{n} ")).to_owned();
        (body, status)
    }

    /// [`sh`], requiring exit status 0.
    pub fn ok(&mut self, cmd: &str, limit: Duration) -> String {
        let (out, status) = self.sh(cmd, limit);
        if status != 0 {
            self.fail(&format!("`{cmd}` exited {status}: {out}"));
        }
        out
    }

    /// Waits for QEMU to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                self.fail(&format!("QEMU still running after {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Panics with the reason and the tail of the serial log.
    pub fn fail(&mut self, why: &str) -> ! {
        self.kill();
        let out = self.output();
        let tail: String = out
            .chars()
            .rev()
            .take(6000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        panic!(
            "{why}\n--- serial console (last 6000 chars; all of it in {}) ---\n{tail}",
            self.log.display()
        );
    }
}

impl Guest {
    /// Kills timeout, corral and QEMU (one process group).
    fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let pgid = self.child.id() as i32;
            // SAFETY: kill(2) on the process group we created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        self.kill();
    }
}
