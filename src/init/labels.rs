//! SELinux file labels PID 1 sets itself (the storage disk's root, the
//! engines' data roots and volumes), and MCS levels in context strings.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const XATTR: &std::ffi::CStr = c"security.selinux";

/// Whether a policy is loaded: before that (or without SELinux) our own
/// context is not a `user:role:type:level` one.
pub fn active() -> bool {
    std::fs::read_to_string("/proc/self/attr/current")
        .is_ok_and(|c| is_context(c.trim_end_matches(['\0', '\n'])))
}

fn is_context(text: &str) -> bool {
    text.split(':').count() >= 4
}

fn c_path(path: &Path) -> Result<CString, String> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("{}: NUL in path", path.display()))
}

/// lsetxattr(path, "security.selinux", context).
pub fn set(path: &Path, context: &str) -> Result<(), String> {
    let p = c_path(path)?;
    let value = context.as_bytes();
    // SAFETY: both strings are NUL-terminated and live across the call;
    // `value` is valid for `value.len()` bytes.
    let r = unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            XATTR.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r != 0 {
        return Err(format!(
            "label {} {context}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The label of `path` (without a trailing NUL), None when it has none.
pub fn get(path: &Path) -> Option<String> {
    let p = c_path(path).ok()?;
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes; both strings
    // are NUL-terminated and live across the call.
    let n = unsafe {
        libc::lgetxattr(
            p.as_ptr(),
            XATTR.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let n = usize::try_from(n).ok()?;
    let text = std::str::from_utf8(buf.get(..n)?).ok()?;
    Some(text.trim_end_matches('\0').to_owned())
}

/// `context` (user:role:type[:level]) with its MLS level replaced by `level`.
pub fn with_level(context: &str, level: &str) -> String {
    let mut parts = context.splitn(4, ':');
    let head: Vec<&str> = parts.by_ref().take(3).collect();
    format!("{}:{level}", head.join(":"))
}

/// The MLS level of `context`, if it has one.
pub fn level_of(context: &str) -> Option<&str> {
    context.splitn(4, ':').nth(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(
            with_level("system_u:system_r:docker_t:s0:c0", "s0:c7"),
            "system_u:system_r:docker_t:s0:c7"
        );
        assert_eq!(
            with_level("system_u:object_r:docker_file_t", "s0:c1"),
            "system_u:object_r:docker_file_t:s0:c1"
        );
        assert_eq!(
            level_of("system_u:object_r:x_t:s0-s0:c0.c1023"),
            Some("s0-s0:c0.c1023")
        );
        assert_eq!(level_of("a:b:c"), None);
    }

    #[test]
    fn contexts() {
        assert!(is_context("system_u:system_r:init_t:s0-s0:c0.c1023"));
        assert!(!is_context("kernel"));
        assert!(!is_context("unconfined"));
        assert!(!is_context(""));
    }

    #[test]
    fn files_without_selinux_have_no_label() {
        // The test host has no SELinux: reading finds nothing, and a file
        // that does not exist has no label either.
        assert_eq!(get(Path::new("/nonexistent-corral-label")), None);
        assert!(set(Path::new("/nonexistent-corral-label"), "a:b:c:s0").is_err());
    }
}
