//! /dev inside the container: the default devices (null, zero, full,
//! random, urandom, tty), linux.devices, and the /dev/fd, std* and ptmx
//! links. Nodes are made with mknod, or bind-mounted from the host inside a
//! user namespace where mknod is not allowed.

use std::ffi::{CStr, CString};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use crate::mounts::{self, Kind, MountEntry, MountOptions};
use crate::syscall::Syscalls;

/// One device node to create.
#[derive(Debug)]
pub struct DeviceNode {
    /// The directory holding the node, as a mount entry so it can be
    /// resolved (and created) inside the rootfs.
    pub dir: MountEntry,
    pub name: CString,
    /// S_IFCHR/S_IFBLK/S_IFIFO | permission bits.
    pub mode: libc::mode_t,
    pub rdev: u64,
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    /// Bind mount from the host used instead of mknod in a user namespace.
    pub bind: Option<MountEntry>,
    pub display: String,
}

/// The device work for one container.
#[derive(Debug, Default)]
pub struct DevicePlan {
    pub nodes: Vec<DeviceNode>,
    /// (target, name) links created in /dev.
    pub links: Vec<(CString, CString)>,
    pub dev_dir: Option<MountEntry>,
}

struct Default_ {
    path: &'static str,
    major: u64,
    minor: u64,
}

const DEFAULT_DEVICES: [Default_; 6] = [
    Default_ {
        path: "/dev/null",
        major: 1,
        minor: 3,
    },
    Default_ {
        path: "/dev/zero",
        major: 1,
        minor: 5,
    },
    Default_ {
        path: "/dev/full",
        major: 1,
        minor: 7,
    },
    Default_ {
        path: "/dev/random",
        major: 1,
        minor: 8,
    },
    Default_ {
        path: "/dev/urandom",
        major: 1,
        minor: 9,
    },
    Default_ {
        path: "/dev/tty",
        major: 5,
        minor: 0,
    },
];

const LINKS: [(&CStr, &CStr); 5] = [
    (c"/proc/self/fd", c"fd"),
    (c"/proc/self/fd/0", c"stdin"),
    (c"/proc/self/fd/1", c"stdout"),
    (c"/proc/self/fd/2", c"stderr"),
    (c"pts/ptmx", c"ptmx"),
];

/// The default devices as (path, major, minor), for the cgroup device rules.
pub fn default_devices() -> impl Iterator<Item = (&'static str, u64, u64)> {
    DEFAULT_DEVICES.iter().map(|d| (d.path, d.major, d.minor))
}

impl DevicePlan {
    /// `dev_is_host_bind`: the config bind-mounts /dev from the host, in
    /// which case the defaults and links are the host's. `in_userns`: nodes
    /// are bind-mounted from the host.
    pub fn prepare(
        devices: &[LinuxDevice],
        dev_is_host_bind: bool,
        in_userns: bool,
    ) -> Result<Self, String> {
        let mut plan = DevicePlan::default();
        if !dev_is_host_bind {
            for d in DEFAULT_DEVICES.iter() {
                if devices.iter().any(|c| c.path() == Path::new(d.path)) {
                    continue;
                }
                plan.nodes.push(node(
                    Path::new(d.path),
                    libc::S_IFCHR | 0o666,
                    d.major,
                    d.minor,
                    0,
                    0,
                    in_userns,
                )?);
            }
            plan.links = LINKS
                .iter()
                .map(|(t, n)| ((*t).to_owned(), (*n).to_owned()))
                .collect();
            plan.dev_dir =
                Some(MountEntry::new(Path::new("/dev"), Kind::Filesystem).map_err(|e| e.0)?);
        }
        for d in devices {
            let kind = match d.typ() {
                LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
                LinuxDeviceType::B => libc::S_IFBLK,
                LinuxDeviceType::P => libc::S_IFIFO,
                LinuxDeviceType::A => {
                    return Err(format!(
                        "{}: type a is only valid in cgroup rules",
                        d.path().display()
                    ))
                }
            };
            let (major, minor) = (u64::try_from(d.major()), u64::try_from(d.minor()));
            let (Ok(major), Ok(minor)) = (major, minor) else {
                return Err(format!("{}: negative major or minor", d.path().display()));
            };
            let perm = d.file_mode().unwrap_or(0o666) & 0o7777;
            plan.nodes.push(node(
                d.path(),
                kind | perm,
                major,
                minor,
                d.uid().unwrap_or(0),
                d.gid().unwrap_or(0),
                in_userns,
            )?);
        }
        Ok(plan)
    }
}

fn node(
    path: &Path,
    mode: libc::mode_t,
    major: u64,
    minor: u64,
    uid: u32,
    gid: u32,
    in_userns: bool,
) -> Result<DeviceNode, String> {
    let parent = path.parent().unwrap_or(Path::new("/dev"));
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} has no file name", path.display()))?;
    let dir = MountEntry::new(parent, Kind::Filesystem).map_err(|e| e.0)?;
    let bind = if in_userns {
        Some(
            MountEntry::bind(
                path,
                &PathBuf::from(path),
                false,
                &MountOptions::parse(&["bind"]),
            )
            .map_err(|e| e.0)?,
        )
    } else {
        None
    };
    Ok(DeviceNode {
        dir,
        name: CString::new(name.as_encoded_bytes())
            .map_err(|_| "NUL in device path".to_string())?,
        mode,
        rdev: libc::makedev(major as u32, minor as u32),
        uid,
        gid,
        bind,
        display: path.display().to_string(),
    })
}

/// Child side: creates the nodes and links. Returns the failing node's index
/// (the links count after the nodes).
pub fn apply<S: Syscalls>(sys: &S, rootfd: RawFd, plan: &DevicePlan) -> Result<(), (u32, Errno)> {
    let old_umask = sys.umask(0);
    let r = create_nodes(sys, rootfd, plan);
    sys.umask(old_umask);
    r?;
    if let Some(dev) = &plan.dev_dir {
        let base = plan.nodes.len() as u32;
        let fd = mounts::ensure_mountpoint(sys, rootfd, dev).map_err(|e| (base, e))?;
        for (i, (target, name)) in plan.links.iter().enumerate() {
            match sys.symlinkat(target, fd, name) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => {
                    sys.close(fd);
                    return Err((base + i as u32, e));
                }
            }
        }
        sys.close(fd);
    }
    Ok(())
}

fn create_nodes<S: Syscalls>(
    sys: &S,
    rootfd: RawFd,
    plan: &DevicePlan,
) -> Result<(), (u32, Errno)> {
    for (i, n) in plan.nodes.iter().enumerate() {
        let idx = i as u32;
        if let Some(bind) = &n.bind {
            mounts::apply(sys, rootfd, bind).map_err(|f| (idx, failure_errno(f)))?;
            continue;
        }
        let dir = mounts::ensure_mountpoint(sys, rootfd, &n.dir).map_err(|e| (idx, e))?;
        let r = match sys.mknodat(dir, &n.name, n.mode, n.rdev) {
            Ok(()) => sys.fchownat(dir, &n.name, n.uid, n.gid, libc::AT_SYMLINK_NOFOLLOW),
            Err(Errno::EEXIST) => Ok(()),
            Err(e) => Err(e),
        };
        sys.close(dir);
        r.map_err(|e| (idx, e))?;
    }
    Ok(())
}

fn failure_errno(f: mounts::MountFailure) -> Errno {
    use mounts::MountFailure::*;
    match f {
        Mountpoint(e) | Mount(e) | Remount(e) | Propagation(e) | Attributes(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recorder::Recorder;

    #[test]
    fn defaults_are_char_devices_with_0666() {
        let plan = DevicePlan::prepare(&[], false, false).unwrap();
        assert_eq!(plan.nodes.len(), 6);
        let null = &plan.nodes[0];
        assert_eq!(null.name.as_c_str(), c"null");
        assert_eq!(null.mode, libc::S_IFCHR | 0o666);
        assert_eq!(null.rdev, libc::makedev(1, 3));
    }

    #[test]
    fn host_bound_dev_gets_no_defaults() {
        let plan = DevicePlan::prepare(&[], true, false).unwrap();
        assert!(plan.nodes.is_empty() && plan.links.is_empty());
    }

    #[test]
    fn mknod_under_umask_zero_then_links() {
        let sys = Recorder::default();
        let plan = DevicePlan::prepare(&[], false, false).unwrap();
        apply(&sys, 3, &plan).unwrap();
        let l = sys.lines();
        assert_eq!(l[0], "umask 0");
        let mknod = sys.position("mknodat").unwrap();
        let link = sys.position("symlinkat /proc/self/fd ").unwrap();
        assert!(mknod < link);
        assert!(l
            .iter()
            .any(|c| c == "symlinkat pts/ptmx 107 ptmx" || c.starts_with("symlinkat pts/ptmx")));
    }

    #[test]
    fn user_namespace_binds_from_host() {
        let sys = Recorder::default();
        let plan = DevicePlan::prepare(&[], false, true).unwrap();
        apply(&sys, 3, &plan).unwrap();
        assert!(sys.position("mknodat").is_none());
        assert!(sys.position("mount /dev/null /proc/self/fd/").is_some());
    }
}
