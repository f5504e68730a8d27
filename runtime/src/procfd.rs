//! `/proc/self/fd/N` paths built on the stack, so the child can name an fd
//! it just opened without allocating.

use std::ffi::CStr;
use std::os::fd::RawFd;

const PREFIX: &[u8] = b"/proc/self/fd/";

/// A NUL-terminated `/proc/self/fd/N`.
#[derive(Debug, Clone, Copy)]
pub struct FdPath {
    buf: [u8; 32],
}

impl FdPath {
    pub fn new(fd: RawFd) -> Self {
        let mut buf = [0u8; 32];
        buf[..PREFIX.len()].copy_from_slice(PREFIX);
        let mut digits = [0u8; 11];
        let mut n = fd.unsigned_abs();
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for i in 0..len {
            buf[PREFIX.len() + i] = digits[len - 1 - i];
        }
        FdPath { buf }
    }

    pub fn as_cstr(&self) -> &CStr {
        // The buffer always holds a NUL after the digits (32 > 14 + 10).
        CStr::from_bytes_until_nul(&self.buf).unwrap_or(c"/proc/self/fd/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_fd_numbers() {
        assert_eq!(FdPath::new(0).as_cstr(), c"/proc/self/fd/0");
        assert_eq!(FdPath::new(42).as_cstr(), c"/proc/self/fd/42");
        assert_eq!(FdPath::new(i32::MAX).as_cstr(), c"/proc/self/fd/2147483647");
    }
}
