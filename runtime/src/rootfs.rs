//! The container's root: propagation, the rootfs bind, pivot_root (or the
//! MS_MOVE + chroot fallback for roots that cannot pivot, such as an
//! initramfs), maskedPaths, readonlyPaths and a read-only root.

use std::ffi::{CStr, CString};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use libc::c_ulong;
use nix::errno::Errno;

use crate::devices::DevicePlan;
use crate::mounts::{self, MountEntry, MountFailure};
use crate::syscall::Syscalls;

/// Everything the child does to build its root.
#[derive(Debug)]
pub struct RootfsPlan {
    /// Absolute, canonical host path of the rootfs.
    pub rootfs: CString,
    pub display: PathBuf,
    /// Propagation applied to "/" first (default MS_SLAVE | MS_REC).
    pub root_propagation: c_ulong,
    /// The mount holding the rootfs, made private so pivot_root accepts it.
    pub parent_mount: Option<CString>,
    pub mounts: Vec<MountEntry>,
    pub devices: DevicePlan,
    pub no_pivot: bool,
    pub readonly: bool,
    pub masked: Vec<CString>,
    pub readonly_paths: Vec<CString>,
}

/// Parses rootfsPropagation; the default keeps host mounts flowing in
/// while nothing flows back out.
pub fn propagation_flags(p: Option<&str>) -> c_ulong {
    use libc::{MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE, MS_UNBINDABLE};
    match p.unwrap_or("") {
        "private" => MS_PRIVATE,
        "rprivate" => MS_PRIVATE | MS_REC,
        "shared" => MS_SHARED,
        "rshared" => MS_SHARED | MS_REC,
        "slave" => MS_SLAVE,
        "unbindable" => MS_UNBINDABLE,
        "runbindable" => MS_UNBINDABLE | MS_REC,
        _ => MS_SLAVE | MS_REC,
    }
}

/// The mount point in /proc/self/mountinfo that contains `path` (the
/// longest prefix).
pub fn containing_mount(path: &Path) -> Option<PathBuf> {
    let table = crate::mounttable::current().ok()?;
    table
        .text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|m| path.starts_with(m))
        .max_by_key(|m| m.as_os_str().len())
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape_mountinfo(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = |j: usize| {
            b.get(j)
                .filter(|c| (b'0'..=b'7').contains(c))
                .map(|c| c - b'0')
        };
        match (b[i], octal(i + 1), octal(i + 2), octal(i + 3)) {
            (b'\\', Some(x), Some(y), Some(z)) => {
                out.push(x * 64 + y * 8 + z);
                i += 4;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from(
        String::from_utf8_lossy(&out).into_owned(),
    ))
}

/// What failed while building the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootfsFailure {
    Propagation(Errno),
    BindRootfs(Errno),
    Mount(u32, MountFailure),
    Device(u32, Errno),
    Pivot(Errno),
    Mask(u32, Errno),
    ReadonlyPath(u32, Errno),
    ReadonlyRoot(Errno),
}

/// Child side, before the create hooks: propagation, the rootfs bind,
/// mounts and devices. Returns the rootfs fd for [`enter`].
pub fn prepare<S: Syscalls>(sys: &S, plan: &RootfsPlan) -> Result<RawFd, RootfsFailure> {
    sys.mount(None, c"/", None, plan.root_propagation, None)
        .map_err(RootfsFailure::Propagation)?;
    if let Some(parent) = &plan.parent_mount {
        sys.mount(None, parent, None, libc::MS_PRIVATE, None)
            .map_err(RootfsFailure::Propagation)?;
    }
    sys.mount(
        Some(&plan.rootfs),
        &plan.rootfs,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .map_err(RootfsFailure::BindRootfs)?;
    let rootfd = sys
        .openat(
            libc::AT_FDCWD,
            &plan.rootfs,
            libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC,
            0,
        )
        .map_err(RootfsFailure::BindRootfs)?;
    let built = build(sys, rootfd, plan);
    if built.is_err() {
        sys.close(rootfd);
    }
    built.map(|()| rootfd)
}

fn build<S: Syscalls>(sys: &S, rootfd: RawFd, plan: &RootfsPlan) -> Result<(), RootfsFailure> {
    for (i, m) in plan.mounts.iter().enumerate() {
        mounts::apply(sys, rootfd, m).map_err(|f| RootfsFailure::Mount(i as u32, f))?;
    }
    crate::devices::apply(sys, rootfd, &plan.devices).map_err(|(i, e)| RootfsFailure::Device(i, e))
}

/// Child side, after the create hooks: makes `rootfd` the root and applies
/// the path restrictions. Closes `rootfd`.
pub fn enter<S: Syscalls>(sys: &S, rootfd: RawFd, plan: &RootfsPlan) -> Result<(), RootfsFailure> {
    let r = if plan.no_pivot {
        move_root(sys, rootfd, &plan.rootfs)
    } else {
        pivot(sys, rootfd)
    };
    sys.close(rootfd);
    r.map_err(RootfsFailure::Pivot)?;
    for (i, p) in plan.masked.iter().enumerate() {
        mask(sys, p).map_err(|e| RootfsFailure::Mask(i as u32, e))?;
    }
    for (i, p) in plan.readonly_paths.iter().enumerate() {
        make_readonly(sys, p).map_err(|e| RootfsFailure::ReadonlyPath(i as u32, e))?;
    }
    if plan.readonly {
        mounts::bind_remount(sys, c"/", libc::MS_RDONLY).map_err(RootfsFailure::ReadonlyRoot)?;
    }
    Ok(())
}

/// pivot_root(".", ".") then a lazy unmount of the old root stacked under
/// the new one: no put_old directory is needed in the image.
fn pivot<S: Syscalls>(sys: &S, rootfd: RawFd) -> Result<(), Errno> {
    let oldroot = sys.openat(
        libc::AT_FDCWD,
        c"/",
        libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC,
        0,
    )?;
    let r = (|| {
        sys.fchdir(rootfd)?;
        sys.pivot_root(c".", c".")?;
        sys.fchdir(oldroot)?;
        // Keep the unmount from propagating to the host.
        sys.mount(None, c".", None, libc::MS_SLAVE | libc::MS_REC, None)?;
        sys.umount2(c".", libc::MNT_DETACH)?;
        sys.chdir(c"/")
    })();
    sys.close(oldroot);
    r
}

/// For roots that cannot pivot (initramfs): move the rootfs over "/" and
/// chroot into it.
fn move_root<S: Syscalls>(sys: &S, rootfd: RawFd, rootfs: &CStr) -> Result<(), Errno> {
    sys.fchdir(rootfd)?;
    sys.mount(Some(rootfs), c"/", None, libc::MS_MOVE, None)?;
    sys.chroot(c".")?;
    sys.chdir(c"/")
}

/// Hides a path: /dev/null over a file, an empty read-only tmpfs over a
/// directory; a path that does not exist needs no hiding.
fn mask<S: Syscalls>(sys: &S, path: &CStr) -> Result<(), Errno> {
    match sys.mount(Some(c"/dev/null"), path, None, libc::MS_BIND, None) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(Errno::ENOTDIR) => sys.mount(
            Some(c"tmpfs"),
            path,
            Some(c"tmpfs"),
            libc::MS_RDONLY,
            Some(c"size=0k"),
        ),
        Err(e) => Err(e),
    }
}

fn make_readonly<S: Syscalls>(sys: &S, path: &CStr) -> Result<(), Errno> {
    match sys.mount(Some(path), path, None, libc::MS_BIND | libc::MS_REC, None) {
        Ok(()) => mounts::bind_remount(
            sys,
            path,
            libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        ),
        Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recorder::Recorder;

    fn plan(no_pivot: bool) -> RootfsPlan {
        RootfsPlan {
            rootfs: c"/b/rootfs".to_owned(),
            display: "/b/rootfs".into(),
            root_propagation: propagation_flags(None),
            parent_mount: Some(c"/".to_owned()),
            mounts: Vec::new(),
            devices: DevicePlan::default(),
            no_pivot,
            readonly: true,
            masked: vec![c"/proc/kcore".to_owned()],
            readonly_paths: vec![c"/proc/sys".to_owned()],
        }
    }

    #[test]
    fn default_propagation_is_rslave() {
        assert_eq!(propagation_flags(None), libc::MS_SLAVE | libc::MS_REC);
        assert_eq!(
            propagation_flags(Some("rshared")),
            libc::MS_SHARED | libc::MS_REC
        );
    }

    #[test]
    fn unescapes_mountinfo_paths() {
        assert_eq!(unescape_mountinfo(r"/a\040b"), PathBuf::from("/a b"));
    }

    #[test]
    fn finds_the_containing_mount() {
        assert_eq!(
            containing_mount(Path::new("/proc/self")),
            Some(PathBuf::from("/proc"))
        );
    }

    #[test]
    fn prepare_slaves_root_then_binds_rootfs() {
        let sys = Recorder::default();
        let fd = prepare(&sys, &plan(false)).unwrap();
        let l = sys.lines();
        assert_eq!(
            l[0],
            format!("mount - / - {:#x} -", libc::MS_SLAVE | libc::MS_REC)
        );
        assert_eq!(l[1], format!("mount - / - {:#x} -", libc::MS_PRIVATE));
        assert_eq!(
            l[2],
            format!(
                "mount /b/rootfs /b/rootfs - {:#x} -",
                libc::MS_BIND | libc::MS_REC
            )
        );
        assert!(fd > 0);
    }

    #[test]
    fn pivot_then_mask_then_readonly_root() {
        let sys = Recorder::default();
        enter(&sys, 5, &plan(false)).unwrap();
        let pivot = sys.position("pivot_root . .").unwrap();
        let detach = sys
            .position(&format!("umount2 . {}", libc::MNT_DETACH))
            .unwrap();
        let mask = sys.position("mount /dev/null /proc/kcore").unwrap();
        let ro_root = sys
            .position(&format!(
                "mount - / - {:#x}",
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY
            ))
            .unwrap();
        assert!(
            pivot < detach && detach < mask && mask < ro_root,
            "{:?}",
            sys.lines()
        );
    }

    #[test]
    fn masking_a_directory_uses_tmpfs() {
        let sys = Recorder::failing("mount /dev/null", Errno::ENOTDIR);
        mask(&sys, c"/proc/acpi").unwrap();
        assert!(sys.position("mount tmpfs /proc/acpi tmpfs").is_some());
    }

    #[test]
    fn no_pivot_moves_and_chroots() {
        let sys = Recorder::default();
        enter(&sys, 5, &plan(true)).unwrap();
        assert!(sys.position("pivot_root").is_none());
        let mv = sys
            .position(&format!("mount /b/rootfs / - {:#x}", libc::MS_MOVE))
            .unwrap();
        assert!(mv < sys.position("chroot .").unwrap());
    }
}
