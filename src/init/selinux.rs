//! Loading the SELinux policy: the whole file in ONE write() to
//! /sys/fs/selinux/load (split writes are refused), then enforcing.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::Path;

const SELINUXFS: &str = "/sys/fs/selinux";

/// Loads `policy` when the file exists; Ok(false) when there is none.
pub fn load(policy: &Path, enforcing: bool) -> Result<bool, String> {
    let bytes = match std::fs::read(policy) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("read {}: {e}", policy.display())),
    };
    if !Path::new(SELINUXFS).join("load").exists() {
        return Err(format!(
            "{} is present but the kernel has no SELinux (boot with security=selinux)",
            policy.display()
        ));
    }
    write_once(&format!("{SELINUXFS}/load"), &bytes)
        .map_err(|e| format!("load {}: {e}", policy.display()))?;
    if enforcing {
        write_once(&format!("{SELINUXFS}/enforce"), b"1")
            .map_err(|e| format!("set enforcing: {e}"))?;
    }
    Ok(true)
}

/// One write(2) of all of `bytes`; a short write is an error.
fn write_once(path: &str, bytes: &[u8]) -> std::io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    // SAFETY: bytes is valid for bytes.len() bytes of reads.
    let n = unsafe { libc::write(f.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
    match usize::try_from(n) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(n) => Err(std::io::Error::other(format!(
            "short write: {n} of {} bytes",
            bytes.len()
        ))),
        Err(_) => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_policy_file_is_not_an_error() {
        assert_eq!(load(Path::new("/nonexistent/policy"), true), Ok(false));
    }

    #[test]
    fn one_write_of_everything() {
        let p = std::env::temp_dir().join(format!("corral-selinux-{}", std::process::id()));
        std::fs::write(&p, "").unwrap();
        write_once(p.to_str().unwrap(), &[7u8; 100_000]).unwrap();
        assert_eq!(std::fs::read(&p).unwrap().len(), 100_000);
        std::fs::remove_file(&p).unwrap();
    }
}
