//! Which cgroup hierarchies are mounted where, from /proc/self/mountinfo,
//! and where the calling process sits in each, from /proc/self/cgroup.
//!
//! The mount's root field matters inside containers and sandboxes: when
//! only a subtree of a hierarchy is mounted (a bind mount, or a mount made
//! outside our cgroup namespace) the mount point shows that subtree, and
//! our own cgroup path must be taken relative to it.

use std::path::{Component, Path, PathBuf};

use super::{Layout, Version};
use crate::error::Result;

/// The v1 controllers corral knows by name; other mount options are ignored.
const V1_CONTROLLERS: [&str; 14] = [
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
];

/// The only named (controller-less) v1 hierarchy corral joins.
pub(crate) const SYSTEMD: &str = "name=systemd";

/// One cgroup or cgroup2 mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMountInfo {
    /// The mounted subtree's path inside the hierarchy.
    pub root: PathBuf,
    pub mount_point: PathBuf,
    pub version: Version,
    /// v1: the controllers (or `name=systemd`); empty for cgroup2.
    pub controllers: Vec<String>,
}

/// One line of /proc/self/cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    /// Controllers (or `name=...`); empty for the cgroup2 line.
    pub controllers: Vec<String>,
    pub path: PathBuf,
}

/// A hierarchy found on this system (tests of [`discover`]).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub version: Version,
    pub mount_point: PathBuf,
    pub controllers: Vec<String>,
    /// The calling process's cgroup relative to the mount point; `Err` says
    /// why it is unknown (only needed for relative cgroupsPaths).
    pub own: std::result::Result<PathBuf, String>,
}

/// Undoes mountinfo's octal escapes (`\040` for a space...).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| c == b'\\' && d.iter().all(|x| (b'0'..=b'7').contains(x)));
        match octal {
            Some(d) => {
                let v = d.iter().fold(0u32, |acc, x| acc * 8 + u32::from(x - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cgroup and cgroup2 mounts listed in mountinfo `text`.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<CgroupMountInfo> {
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(root), Some(mount_point)) = (fields.get(3), fields.get(4)) else {
            continue;
        };
        let Some(fstype) = fields.get(sep + 1) else {
            continue;
        };
        let super_opts = fields.get(sep + 3).copied().unwrap_or("");
        let version = match *fstype {
            "cgroup" => Version::V1,
            "cgroup2" => Version::V2,
            _ => continue,
        };
        let controllers = if version == Version::V1 {
            let mut c: Vec<String> = super_opts
                .split(',')
                .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                .map(str::to_string)
                .collect();
            c.sort();
            c
        } else {
            Vec::new()
        };
        out.push(CgroupMountInfo {
            root: PathBuf::from(unescape(root)),
            mount_point: PathBuf::from(unescape(mount_point)),
            version,
            controllers,
        });
    }
    out
}

/// The lines of /proc/self/cgroup `text`.
pub(crate) fn parse_proc_cgroup(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let ctrls = parts.next()?;
            let path = parts.next()?;
            let mut controllers: Vec<String> = ctrls
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            controllers.sort();
            Some(Membership {
                controllers,
                path: PathBuf::from(path),
            })
        })
        .collect()
}

/// Whether mount `m` is worth keeping: a known controller, name=systemd, or cgroup2.
fn wanted(m: &CgroupMountInfo) -> bool {
    match m.version {
        Version::V2 => true,
        Version::V1 => {
            m.controllers.iter().any(|c| !c.starts_with("name="))
                || m.controllers.iter().any(|c| c == SYSTEMD)
        }
    }
}

fn preferred(p: &Path) -> bool {
    p.starts_with("/sys/fs/cgroup")
}

/// The calling process's cgroup `own` (as /proc/self/cgroup shows it)
/// relative to a mount of subtree `root`.
fn relative_to_root(own: &Path, root: &Path) -> std::result::Result<PathBuf, String> {
    let rel = own.strip_prefix(root).map_err(|_| {
        format!(
            "own cgroup {} is outside the mounted subtree {}",
            own.display(),
            root.display()
        )
    })?;
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!(
            "own cgroup {} cannot be resolved below {}",
            own.display(),
            root.display()
        ));
    }
    Ok(rel.to_path_buf())
}

/// The hierarchies of this system and its layout, from mountinfo and
/// /proc/self/cgroup text.
#[cfg(test)]
pub(crate) fn discover(mountinfo: &str, proc_cgroup: &str) -> Result<(Layout, Vec<Found>)> {
    let (layout, mounts) = mounted(mountinfo)?;
    let members = parse_proc_cgroup(proc_cgroup);
    let found = mounts
        .into_iter()
        .map(|m| Found {
            own: own_cgroup(&m, &members),
            version: m.version,
            mount_point: m.mount_point,
            controllers: m.controllers,
        })
        .collect();
    Ok((layout, found))
}

/// The hierarchies mounted according to mountinfo `text` (each once) and
/// the layout they make.
pub(crate) fn mounted(text: &str) -> Result<(Layout, Vec<CgroupMountInfo>)> {
    let mut mounts: Vec<CgroupMountInfo> = Vec::new();
    for m in parse_mountinfo(text).into_iter().filter(wanted) {
        // The same hierarchy may be mounted more than once: keep the first
        // mount, or a later one under /sys/fs/cgroup when the first is not.
        if let Some(pos) = mounts
            .iter()
            .position(|o| o.version == m.version && o.controllers == m.controllers)
        {
            if let Some(o) = mounts.get_mut(pos) {
                if !preferred(&o.mount_point) && preferred(&m.mount_point) {
                    *o = m;
                }
            }
            continue;
        }
        mounts.push(m);
    }
    let v1_with_controllers = mounts
        .iter()
        .any(|m| m.version == Version::V1 && m.controllers.iter().any(|c| !c.starts_with("name=")));
    let has_v2 = mounts.iter().any(|m| m.version == Version::V2);
    let layout = match (v1_with_controllers, has_v2) {
        (true, true) => Layout::Hybrid,
        (true, false) => Layout::V1,
        (false, true) => Layout::Unified,
        (false, false) => {
            return Err(super::fs::err(
                Path::new("/proc/self/mountinfo"),
                "no cgroup or cgroup2 filesystem is mounted",
            ))
        }
    };
    Ok((layout, mounts))
}

/// The calling process's cgroup in hierarchy `m`, relative to its mount
/// point, from the lines of /proc/self/cgroup (`Err` says why unknown).
pub(crate) fn own_cgroup(
    m: &CgroupMountInfo,
    members: &[Membership],
) -> std::result::Result<PathBuf, String> {
    let member = members.iter().find(|l| match m.version {
        Version::V2 => l.controllers.is_empty(),
        Version::V1 => l.controllers == m.controllers,
    });
    match member {
        Some(l) => relative_to_root(&l.path, &m.root),
        None => Err(format!(
            "/proc/self/cgroup has no line for {}",
            m.mount_point.display()
        )),
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! mountinfo and /proc/self/cgroup texts of the layouts corral meets.

    /// This development machine: v1 controllers plus an empty cgroup2.
    pub(crate) const HYBRID_MOUNTINFO: &str = "\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    pub(crate) const HYBRID_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/17b9
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

    /// A classic systemd v1 host, cpu and cpuacct co-mounted.
    pub(crate) const V1_MOUNTINFO: &str = "\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
33 25 0:30 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,hugetlb
";

    pub(crate) const V1_CGROUP: &str = "\
7:hugetlb:/
6:pids:/user.slice/user-1000.slice
5:net_cls,net_prio:/
4:memory:/user.slice
3:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/user-1000.slice/session-2.scope
";

    /// A pure cgroup2 host.
    pub(crate) const UNIFIED_MOUNTINFO: &str = "\
24 18 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    pub(crate) const UNIFIED_CGROUP: &str = "0::/user.slice/user-1000.slice/session-2.scope\n";

    /// Inside a container on a v1 host without a cgroup namespace: the
    /// hierarchies are bind mounts of the container's own subtree.
    pub(crate) const NESTED_V1_MOUNTINFO: &str = "\
700 699 0:29 /docker/abc /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:14 - cgroup cgroup rw,memory
701 699 0:30 /docker/abc /sys/fs/cgroup/pids ro,nosuid,nodev,noexec,relatime master:16 - cgroup cgroup rw,pids
702 699 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    pub(crate) const NESTED_V1_CGROUP: &str = "\
5:pids:/docker/abc/init
4:memory:/docker/abc
0::/
";

    /// Inside a cgroup namespace, with a cgroup2 mount made outside it: its
    /// root shows as a path above the namespace root.
    pub(crate) const NS_OUTSIDE_MOUNTINFO: &str = "\
800 799 0:22 /../.. /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw
";

    pub(crate) const NS_OUTSIDE_CGROUP: &str = "0::/\n";
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    fn own(f: &Found) -> &Path {
        f.own.as_deref().unwrap()
    }

    #[test]
    fn hybrid_layout_of_this_machine() {
        let (layout, found) = discover(HYBRID_MOUNTINFO, HYBRID_CGROUP).unwrap();
        assert_eq!(layout, Layout::Hybrid);
        assert_eq!(found.len(), 10);
        let mem = found.iter().find(|f| f.controllers == ["memory"]).unwrap();
        assert_eq!(mem.mount_point, Path::new("/sys/fs/cgroup/memory"));
        assert_eq!(own(mem), Path::new("process_api/17b9"));
        let sd = found.iter().find(|f| f.controllers == [SYSTEMD]).unwrap();
        assert_eq!(own(sd), Path::new(""));
        let v2 = found.iter().find(|f| f.version == Version::V2).unwrap();
        assert_eq!(v2.mount_point, Path::new("/sys/fs/cgroup/unified"));
        assert!(v2.controllers.is_empty());
    }

    #[test]
    fn v1_layout_with_co_mounted_controllers() {
        let (layout, found) = discover(V1_MOUNTINFO, V1_CGROUP).unwrap();
        assert_eq!(layout, Layout::V1);
        let cpu = found
            .iter()
            .find(|f| f.controllers == ["cpu", "cpuacct"])
            .unwrap();
        assert_eq!(cpu.mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(own(cpu), Path::new("user.slice"));
        let net = found
            .iter()
            .find(|f| f.controllers == ["net_cls", "net_prio"])
            .unwrap();
        assert_eq!(own(net), Path::new(""));
        let sd = found.iter().find(|f| f.controllers == [SYSTEMD]).unwrap();
        assert_eq!(
            own(sd),
            Path::new("user.slice/user-1000.slice/session-2.scope")
        );
    }

    #[test]
    fn unified_layout() {
        let (layout, found) = discover(UNIFIED_MOUNTINFO, UNIFIED_CGROUP).unwrap();
        assert_eq!(layout, Layout::Unified);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].version, Version::V2);
        assert_eq!(
            own(&found[0]),
            Path::new("user.slice/user-1000.slice/session-2.scope")
        );
    }

    #[test]
    fn mount_root_is_stripped_from_own_cgroup() {
        let (layout, found) = discover(NESTED_V1_MOUNTINFO, NESTED_V1_CGROUP).unwrap();
        assert_eq!(layout, Layout::Hybrid);
        let mem = found.iter().find(|f| f.controllers == ["memory"]).unwrap();
        assert_eq!(own(mem), Path::new(""));
        let pids = found.iter().find(|f| f.controllers == ["pids"]).unwrap();
        assert_eq!(own(pids), Path::new("init"));
    }

    #[test]
    fn own_cgroup_outside_the_mount_is_reported() {
        let (_, found) = discover(NS_OUTSIDE_MOUNTINFO, NS_OUTSIDE_CGROUP).unwrap();
        let e = found[0].own.clone().unwrap_err();
        assert!(e.contains("outside the mounted subtree"), "{e}");
    }

    #[test]
    fn nothing_mounted_is_an_error() {
        let e = discover("22 1 0:21 / /proc rw - proc proc rw\n", "0::/\n").unwrap_err();
        assert!(e.to_string().contains("no cgroup"), "{e}");
    }

    #[test]
    fn escaped_mount_points_and_duplicates() {
        let text = "\
50 1 0:40 / /mnt/my\\040cg rw - cgroup2 cgroup2 rw
51 1 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
52 1 0:41 / /other/memory rw - cgroup cgroup rw,memory
53 1 0:41 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts[0].mount_point, Path::new("/mnt/my cg"));
        let (_, found) = discover(text, "4:memory:/\n0::/\n").unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].mount_point, Path::new("/sys/fs/cgroup"));
        assert_eq!(found[1].mount_point, Path::new("/sys/fs/cgroup/memory"));
    }

    #[test]
    fn unknown_named_hierarchies_are_ignored() {
        let text = "60 1 0:50 / /run/cg rw - cgroup cgroup rw,none,name=elogind\n61 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let (layout, found) = discover(text, "0::/\n").unwrap();
        assert_eq!(layout, Layout::Unified);
        assert_eq!(found.len(), 1);
    }
}
