//! Reading small /proc and cgroupfs files in few system calls.
//!
//! `std::fs::read_to_string` stats the file first and, since these files
//! report a size of 0, grows its buffer from 32 bytes: /proc/PID/stat
//! takes a statx and 6 reads. Reading 4 KiB at a time takes one read and
//! the one that sees the end.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// How much one read asks for.
const CHUNK: usize = 4096;

/// The whole content of `path`, as `std::fs::read_to_string` returns it.
pub(crate) fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    read_from(&mut File::open(path)?)
}

/// The rest of `f`.
pub(crate) fn read_from(f: &mut File) -> io::Result<String> {
    let mut chunk = [0u8; CHUNK];
    let mut out = Vec::new();
    loop {
        match f.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(out).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_std_for_small_and_large_files() {
        let pid = std::process::id().to_string();
        let stat = read_to_string("/proc/self/stat").unwrap();
        assert_eq!(stat.split(' ').next(), Some(pid.as_str()));
        assert!(stat.ends_with('\n'));
        // Larger than one chunk: every read is appended.
        let maps = read_to_string("/proc/self/smaps").unwrap();
        assert!(maps.len() > CHUNK, "{}", maps.len());
        assert!(maps.contains("Rss:"));
        let e = read_to_string("/nonexistent/x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
