//! Where one service's lines go: the ring, the log file (with a timestamp)
//! and any followers.

use std::path::PathBuf;
use std::rc::Rc;
use std::time::SystemTime;

use tokio::sync::mpsc;

use super::file::{Limits, LogFile};
use super::ring::Ring;

/// Lines a follower may lag behind before lines are dropped for it.
const FOLLOW_BACKLOG: usize = 256;

/// Log settings for one service.
#[derive(Debug, Clone)]
pub struct Settings {
    pub dir: PathBuf,
    pub limits: Limits,
    pub ring_lines: usize,
    pub ring_bytes: usize,
}

#[derive(Debug)]
pub struct LogSink {
    name: String,
    ring: Ring,
    file: LogFile,
    followers: Vec<mpsc::Sender<Rc<str>>>,
}

impl LogSink {
    pub fn new(name: &str, s: &Settings) -> Self {
        LogSink {
            name: name.to_owned(),
            ring: Ring::new(s.ring_lines, s.ring_bytes),
            file: LogFile::new(&s.dir, name, s.limits),
            followers: Vec::new(),
        }
    }

    /// Records one line the service printed.
    pub fn line(&mut self, text: &str) {
        self.ring.push(text);
        let stamped = format!(
            "{} {text}",
            humantime::format_rfc3339_micros(SystemTime::now())
        );
        if let Some(e) = self.file.write_line(&stamped) {
            crate::init::console::warn(format_args!(
                "{}: cannot write its log file: {e}",
                self.name
            ));
        }
        if !self.followers.is_empty() {
            let shared: Rc<str> = Rc::from(text);
            self.followers.retain(|f| {
                !matches!(
                    f.try_send(shared.clone()),
                    Err(mpsc::error::TrySendError::Closed(_))
                )
            });
        }
    }

    /// Records what the supervisor did to the service, among its lines.
    pub fn event(&mut self, text: &str) {
        self.line(&format!("[corral] {text}"));
    }

    /// The last `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<String> {
        self.ring.tail(n)
    }

    /// A stream of the lines from now on.
    pub fn follow(&mut self) -> mpsc::Receiver<Rc<str>> {
        let (tx, rx) = mpsc::channel(FOLLOW_BACKLOG);
        self.followers.push(tx);
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_reach_ring_file_and_followers() {
        let dir = std::env::temp_dir().join(format!("corral-sink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = LogSink::new(
            "web",
            &Settings {
                dir: dir.clone(),
                limits: Limits {
                    max_file_size: 1 << 20,
                    max_files: 1,
                },
                ring_lines: 10,
                ring_bytes: 4096,
            },
        );
        let mut rx = s.follow();
        s.line("hello");
        s.event("stopped");
        assert_eq!(s.tail(5), ["hello", "[corral] stopped"]);
        assert_eq!(&*rx.try_recv().unwrap(), "hello");
        let text = std::fs::read_to_string(dir.join("web.log")).unwrap();
        let first = text.lines().next().unwrap();
        assert!(first.ends_with("Z hello"), "{first}");
        drop(rx);
        s.line("after close");
        assert!(s.followers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
