//! linux.namespaces: which are created by clone3, which are unshared by the
//! child after the parent's go, and which are joined by path.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use libc::c_int;
use oci_spec::runtime::{Linux, LinuxNamespaceType};

use crate::error::{Error, Result};

/// `ioctl(NS_GET_NSTYPE)`: the CLONE_NEW* type of a namespace fd.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// A namespace the child joins with setns.
#[derive(Debug)]
pub struct Joined {
    pub fd: OwnedFd,
    pub nstype: c_int,
    /// Index in linux.namespaces, for errors.
    pub config_index: u32,
}

/// The namespace work split between parent and child.
#[derive(Debug, Default)]
pub struct NamespacePlan {
    /// CLONE_NEW* flags passed to clone3.
    pub clone_flags: u64,
    /// Flags the child unshares once the parent said go (cgroup after the
    /// cgroup join, time so offsets can be written before exec enters it).
    pub unshare_flags: c_int,
    /// Namespaces joined by path, user first.
    pub joins: Vec<Joined>,
    /// A pid namespace joined by path: set as the parent's
    /// pid_for_children around clone, since setns(CLONE_NEWPID) only
    /// affects children.
    pub pid_join: Option<OwnedFd>,
    /// Whether clone3 creates a user namespace (the parent writes id maps).
    pub new_user: bool,
    /// A new pid namespace with a joined user namespace: the clone must
    /// happen inside that user namespace, through an intermediate.
    pub new_pid_in_joined_user: bool,
    /// Contents for /proc/self/timens_offsets.
    pub time_offsets: Option<CString>,
    /// Every namespace type the container has, for state and exec.
    pub types: Vec<LinuxNamespaceType>,
}

/// The /proc/PID/ns entry name of a namespace type.
pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// Parses a namespace type as written in config.json and state.
pub fn from_name(name: &str) -> Option<LinuxNamespaceType> {
    Some(match name {
        "mnt" | "mount" => LinuxNamespaceType::Mount,
        "cgroup" => LinuxNamespaceType::Cgroup,
        "uts" => LinuxNamespaceType::Uts,
        "ipc" => LinuxNamespaceType::Ipc,
        "user" => LinuxNamespaceType::User,
        "pid" => LinuxNamespaceType::Pid,
        "net" | "network" => LinuxNamespaceType::Network,
        "time" => LinuxNamespaceType::Time,
        _ => return None,
    })
}

/// The CLONE_NEW* flag of a namespace type.
pub fn clone_flag(t: LinuxNamespaceType) -> c_int {
    match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
    }
}

impl NamespacePlan {
    /// Plans the namespaces of a new container from config.json (`file`
    /// for error messages).
    pub fn prepare(linux: &Linux, file: &Path) -> Result<Self> {
        let mut plan = NamespacePlan::default();
        let namespaces = linux.namespaces().as_deref().unwrap_or_default();
        let user_joined = namespaces
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_some());
        for (i, ns) in namespaces.iter().enumerate() {
            let t = ns.typ();
            plan.types.push(t);
            let flag = clone_flag(t);
            match ns.path() {
                Some(path) => {
                    let pointer = format!("/linux/namespaces/{i}/path");
                    let fd =
                        open_namespace(path, flag).map_err(|m| Error::spec(file, &pointer, m))?;
                    if t == LinuxNamespaceType::Pid {
                        plan.pid_join = Some(fd);
                    } else {
                        plan.joins.push(Joined {
                            fd,
                            nstype: flag,
                            config_index: i as u32,
                        });
                    }
                }
                None => {
                    match t {
                        LinuxNamespaceType::Cgroup | LinuxNamespaceType::Time => {
                            plan.unshare_flags |= flag
                        }
                        // Must be owned by the joined user namespace: cloned
                        // from inside it (nested_spawn.rs).
                        LinuxNamespaceType::Pid if user_joined => {
                            plan.clone_flags |= flag as u64;
                            plan.new_pid_in_joined_user = true;
                        }
                        // Owned by the joined user namespace: unshare after setns.
                        _ if user_joined => plan.unshare_flags |= flag,
                        LinuxNamespaceType::User => {
                            plan.new_user = true;
                            plan.clone_flags |= flag as u64;
                        }
                        _ => plan.clone_flags |= flag as u64,
                    }
                }
            }
        }
        // The user namespace owns the others: join it first.
        plan.joins.sort_by_key(|j| j.nstype != libc::CLONE_NEWUSER);
        plan.time_offsets = time_offsets(linux);
        Ok(plan)
    }

    /// Plans joining every namespace of the running container `pid` (for
    /// exec): `types` are the container's namespace types.
    pub fn join_container(pid: i32, types: &[LinuxNamespaceType]) -> Result<Self> {
        let mut plan = NamespacePlan::default();
        for &t in types {
            let path = format!("/proc/{pid}/ns/{}", proc_name(t));
            let fd = File::open(&path).map_err(|e| Error::io(format!("open {path}"), e))?;
            let fd = OwnedFd::from(fd);
            plan.types.push(t);
            if t == LinuxNamespaceType::Pid {
                plan.pid_join = Some(fd);
            } else {
                plan.joins.push(Joined {
                    fd,
                    nstype: clone_flag(t),
                    config_index: u32::MAX,
                });
            }
        }
        plan.joins.sort_by_key(|j| j.nstype != libc::CLONE_NEWUSER);
        Ok(plan)
    }

    /// Takes the user namespace join out of the plan when an intermediate
    /// must enter it before the clone (the process then inherits it).
    pub fn take_user_join_for_nested_clone(&mut self) -> Option<OwnedFd> {
        if !self.new_pid_in_joined_user {
            return None;
        }
        let i = self
            .joins
            .iter()
            .position(|j| j.nstype == libc::CLONE_NEWUSER)?;
        Some(self.joins.remove(i).fd)
    }

    pub fn has(&self, t: LinuxNamespaceType) -> bool {
        self.types.contains(&t)
    }

    /// Whether the process ends up in a user namespace other than ours.
    pub fn in_user_namespace(&self) -> bool {
        self.new_user
            || self.new_pid_in_joined_user
            || self.joins.iter().any(|j| j.nstype == libc::CLONE_NEWUSER)
    }
}

/// Opens a namespace path and checks that it is a namespace of `expected` type.
fn open_namespace(path: &Path, expected: c_int) -> std::result::Result<OwnedFd, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd.
    let t = unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_NSTYPE) };
    if t < 0 {
        return Err(format!("{} is not a namespace file", path.display()));
    }
    if t != expected {
        return Err(format!("{} is a namespace of another type", path.display()));
    }
    Ok(file.into())
}

fn time_offsets(linux: &Linux) -> Option<CString> {
    let offsets = linux.time_offsets().as_ref()?;
    let mut text = String::new();
    for (clock, off) in offsets {
        let secs = off.secs().unwrap_or(0);
        let nanos = off.nanosecs().unwrap_or(0);
        text.push_str(&format!("{clock} {secs} {nanos}\n"));
    }
    CString::new(text).ok()
}

/// Child side: joins `joins` in order. Returns the failing join's index.
pub fn join_all<S: crate::syscall::Syscalls>(
    sys: &S,
    joins: &[Joined],
) -> std::result::Result<(), (u32, nix::errno::Errno)> {
    for j in joins {
        sys.setns(j.fd.as_raw_fd(), j.nstype)
            .map_err(|e| (j.config_index, e))?;
    }
    Ok(())
}

/// Parent side: sets this thread's pid_for_children to `target` for the
/// lifetime of the guard, then restores the thread's own pid namespace.
#[derive(Debug)]
pub struct PidForChildren {
    own: OwnedFd,
}

impl PidForChildren {
    pub fn enter(target: &OwnedFd) -> Result<Self> {
        let own: OwnedFd = File::open("/proc/thread-self/ns/pid")
            .map_err(|e| Error::io("open /proc/thread-self/ns/pid", e))?
            .into();
        setns(target.as_raw_fd(), libc::CLONE_NEWPID)
            .map_err(|e| Error::io("join pid namespace", e))?;
        Ok(PidForChildren { own })
    }
}

impl Drop for PidForChildren {
    fn drop(&mut self) {
        if let Err(e) = setns(self.own.as_raw_fd(), libc::CLONE_NEWPID) {
            tracing::error!(error = %e, "cannot restore pid_for_children");
        }
    }
}

fn setns(fd: RawFd, t: c_int) -> std::io::Result<()> {
    // SAFETY: plain syscall on an fd we own.
    if unsafe { libc::setns(fd, t) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxBuilder, LinuxNamespaceBuilder};

    fn linux(types: &[(LinuxNamespaceType, Option<&str>)]) -> Linux {
        let ns = types
            .iter()
            .map(|(t, p)| {
                let b = LinuxNamespaceBuilder::default().typ(*t);
                match p {
                    Some(p) => b.path(*p).build().unwrap(),
                    None => b.build().unwrap(),
                }
            })
            .collect::<Vec<_>>();
        LinuxBuilder::default().namespaces(ns).build().unwrap()
    }

    #[test]
    fn new_namespaces_go_to_clone_cgroup_and_time_to_unshare() {
        use LinuxNamespaceType::*;
        let l = linux(&[
            (Pid, None),
            (Mount, None),
            (Network, None),
            (Cgroup, None),
            (Time, None),
        ]);
        let p = NamespacePlan::prepare(&l, Path::new("c")).unwrap();
        let want = (libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWNET) as u64;
        assert_eq!(p.clone_flags, want);
        assert_eq!(p.unshare_flags, libc::CLONE_NEWCGROUP | libc::CLONE_NEWTIME);
    }

    #[test]
    fn joins_by_path_and_checks_the_type() {
        use LinuxNamespaceType::*;
        let l = linux(&[(Network, Some("/proc/self/ns/net")), (Mount, None)]);
        let p = NamespacePlan::prepare(&l, Path::new("c")).unwrap();
        assert_eq!(p.joins.len(), 1);
        assert_eq!(p.joins[0].nstype, libc::CLONE_NEWNET);

        let l = linux(&[(Network, Some("/proc/self/ns/uts"))]);
        let e = NamespacePlan::prepare(&l, Path::new("c"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/linux/namespaces/0/path") && e.contains("another type"),
            "{e}"
        );

        let l = linux(&[(Network, Some("/etc/hostname"))]);
        let e = NamespacePlan::prepare(&l, Path::new("c"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a namespace file"), "{e}");
    }

    #[test]
    fn joined_user_namespace_comes_first() {
        use LinuxNamespaceType::*;
        let l = linux(&[
            (Network, Some("/proc/self/ns/net")),
            (User, Some("/proc/self/ns/user")),
        ]);
        let p = NamespacePlan::prepare(&l, Path::new("c")).unwrap();
        assert_eq!(p.joins[0].nstype, libc::CLONE_NEWUSER);
    }
}
