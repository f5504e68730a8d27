//! bpf(2) for the cgroup v2 device filter: load a
//! BPF_PROG_TYPE_CGROUP_DEVICE program and attach it to a cgroup with
//! BPF_F_ALLOW_MULTI, replacing the program attached before (an update).
//!
//! `union bpf_attr` is handled as a zeroed, 8-aligned byte buffer larger
//! than any kernel's version of it, with fields put at their ABI offsets:
//! the kernel writes some results back into the union (query counts,
//! revisions) at offsets that grow with kernel versions, and a buffer of
//! only the fields we set could be overrun.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::fs;
use crate::error::Result;

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;

const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
const BPF_F_REPLACE: u32 = 4;

/// Device programs call no GPL-only helper, so any license loads.
const LICENSE: &CStr = c"Apache";
const NAME: &[u8] = b"corral_devices";

/// `union bpf_attr`, as bytes.
#[repr(C, align(8))]
struct Attr([u8; 512]);

impl Attr {
    fn new() -> Self {
        Attr([0; 512])
    }

    fn put(&mut self, off: usize, bytes: &[u8]) {
        if let Some(dst) = self.0.get_mut(off..off + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }

    fn u32(&mut self, off: usize, v: u32) -> &mut Self {
        self.put(off, &v.to_ne_bytes());
        self
    }

    fn u64(&mut self, off: usize, v: u64) -> &mut Self {
        self.put(off, &v.to_ne_bytes());
        self
    }

    fn get_u32(&self, off: usize) -> u32 {
        let mut b = [0u8; 4];
        if let Some(src) = self.0.get(off..off + 4) {
            b.copy_from_slice(src);
        }
        u32::from_ne_bytes(b)
    }
}

fn fd_u32(fd: RawFd) -> u32 {
    u32::try_from(fd).unwrap_or(u32::MAX)
}

fn ptr_u64<T>(p: *const T) -> u64 {
    p as usize as u64
}

/// bpf(cmd, attr); the non-negative result.
fn sys_bpf(cmd: libc::c_int, attr: &mut Attr) -> io::Result<libc::c_long> {
    let size = std::mem::size_of::<Attr>();
    // SAFETY: `attr` is a live, writable, zero-filled buffer of `size` bytes,
    // larger than the kernel's union bpf_attr, so every field the kernel reads
    // or writes back lies inside it; the tail beyond the kernel's union is
    // zero as bpf(2) requires. Pointers stored in it (instructions, license,
    // log and id buffers) point to buffers the callers keep alive across the
    // call, with the lengths stored next to them.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut Attr, size) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A new file descriptor returned by bpf(2).
fn owned(r: libc::c_long) -> io::Result<OwnedFd> {
    let fd = RawFd::try_from(r).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: bpf(2) returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Loads the device program `insns` (encoded `struct bpf_insn`s). On a
/// verifier refusal the error carries the end of the verifier log.
pub(crate) fn load_device_program(insns: &[u8]) -> std::result::Result<OwnedFd, String> {
    let load = |log: Option<&mut Vec<u8>>| {
        let mut a = Attr::new();
        a.u32(0, BPF_PROG_TYPE_CGROUP_DEVICE)
            .u32(4, u32::try_from(insns.len() / 8).unwrap_or(u32::MAX))
            .u64(8, ptr_u64(insns.as_ptr()))
            .u64(16, ptr_u64(LICENSE.as_ptr()))
            .u32(68, BPF_CGROUP_DEVICE);
        a.put(48, NAME);
        if let Some(buf) = log {
            a.u32(24, 1)
                .u32(28, u32::try_from(buf.len()).unwrap_or(0))
                .u64(32, ptr_u64(buf.as_mut_ptr()));
            return sys_bpf(BPF_PROG_LOAD, &mut a);
        }
        sys_bpf(BPF_PROG_LOAD, &mut a)
    };
    match load(None) {
        Ok(r) => owned(r).map_err(|e| format!("BPF_PROG_LOAD: {e}")),
        Err(e) => {
            let mut log = vec![0u8; 64 * 1024];
            let _ = load(Some(&mut log));
            let end = log.iter().position(|b| *b == 0).unwrap_or(0);
            let text = String::from_utf8_lossy(&log[..end]);
            let tail: Vec<&str> = text.lines().rev().take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            if tail.is_empty() {
                Err(format!("BPF_PROG_LOAD: {e}"))
            } else {
                Err(format!(
                    "BPF_PROG_LOAD: {e}: verifier: {}",
                    tail.join(" | ")
                ))
            }
        }
    }
}

/// Ids of the device programs attached to the cgroup `cg`.
fn query(cg: RawFd) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 256];
    let mut a = Attr::new();
    a.u32(0, fd_u32(cg))
        .u32(4, BPF_CGROUP_DEVICE)
        .u64(16, ptr_u64(ids.as_mut_ptr()))
        .u32(24, u32::try_from(ids.len()).unwrap_or(0));
    sys_bpf(BPF_PROG_QUERY, &mut a)?;
    let n = usize::try_from(a.get_u32(24)).unwrap_or(0).min(ids.len());
    ids.truncate(n);
    Ok(ids)
}

fn prog_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, id);
    owned(sys_bpf(BPF_PROG_GET_FD_BY_ID, &mut a)?)
}

fn attach(cg: RawFd, prog: RawFd, replace: Option<RawFd>) -> io::Result<()> {
    let mut a = Attr::new();
    a.u32(0, fd_u32(cg))
        .u32(4, fd_u32(prog))
        .u32(8, BPF_CGROUP_DEVICE);
    match replace {
        Some(old) => a
            .u32(12, BPF_F_ALLOW_MULTI | BPF_F_REPLACE)
            .u32(16, fd_u32(old)),
        None => a.u32(12, BPF_F_ALLOW_MULTI),
    };
    sys_bpf(BPF_PROG_ATTACH, &mut a).map(|_| ())
}

fn detach(cg: RawFd, prog: RawFd) -> io::Result<()> {
    let mut a = Attr::new();
    a.u32(0, fd_u32(cg))
        .u32(4, fd_u32(prog))
        .u32(8, BPF_CGROUP_DEVICE);
    sys_bpf(BPF_PROG_DETACH, &mut a).map(|_| ())
}

/// Loads `insns` and makes it the only device program of the cgroup v2
/// directory `dir`: an older one is replaced atomically when there is
/// exactly one, otherwise the new one is attached before the old ones are
/// detached (both filters apply in between, so access never widens).
pub(crate) fn install(dir: &Path, insns: &[u8]) -> Result<()> {
    let e = |what: &str, err: io::Error| fs::err(dir, format!("{what}: {err}"));
    let cg = File::open(dir).map_err(|err| e("open", err))?;
    let prog = load_device_program(insns).map_err(|m| fs::err(dir, m))?;
    let old = query(cg.as_raw_fd()).map_err(|err| e("BPF_PROG_QUERY", err))?;
    if let [id] = old[..] {
        let old_fd = prog_fd_by_id(id).map_err(|err| e("BPF_PROG_GET_FD_BY_ID", err))?;
        match attach(cg.as_raw_fd(), prog.as_raw_fd(), Some(old_fd.as_raw_fd())) {
            Ok(()) => return Ok(()),
            // Kernels before 5.6 have no BPF_F_REPLACE: attach, then detach.
            Err(err) if err.raw_os_error() == Some(libc::EINVAL) => {}
            Err(err) => return Err(e("BPF_PROG_ATTACH (replace)", err)),
        }
    }
    attach(cg.as_raw_fd(), prog.as_raw_fd(), None).map_err(|err| e("BPF_PROG_ATTACH", err))?;
    for id in old {
        let old_fd = prog_fd_by_id(id).map_err(|err| e("BPF_PROG_GET_FD_BY_ID", err))?;
        detach(cg.as_raw_fd(), old_fd.as_raw_fd()).map_err(|err| e("BPF_PROG_DETACH", err))?;
    }
    Ok(())
}

/// How many device programs are attached to `dir`.
#[cfg(test)]
pub(crate) fn attached_count(dir: &Path) -> Result<usize> {
    let cg = File::open(dir).map_err(|err| fs::err(dir, format!("open: {err}")))?;
    query(cg.as_raw_fd())
        .map(|v| v.len())
        .map_err(|err| fs::err(dir, format!("BPF_PROG_QUERY: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_fields_land_at_their_offsets() {
        let mut a = Attr::new();
        a.u32(4, 0x0102_0304).u64(8, 0x1122_3344_5566_7788);
        assert_eq!(a.get_u32(4), 0x0102_0304);
        assert_eq!(a.get_u32(0), 0);
        assert_eq!(std::mem::align_of::<Attr>(), 8);
        // Writes past the end are dropped, not a panic.
        a.u32(510, 1);
        assert_eq!(a.get_u32(510), 0);
    }
}
