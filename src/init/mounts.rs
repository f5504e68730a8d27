//! The early mounts of PID 1, and unmounting everything at the end.
//!
//! On a real boot every API filesystem is mounted unless something (the
//! kernel, an initramfs) already did. In a sandbox /dev and /sys are the
//! host's (bound before the pivot) and /run stays the root's own
//! directory, so that the control socket is reachable from the host; only
//! what must belong to the new namespaces is mounted fresh.

use std::fs;
use std::path::Path;

use corral_runtime::mounts::MountOptions;
use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::console;

/// One early mount.
#[derive(Debug, Clone, Copy)]
struct Early {
    source: &'static str,
    target: &'static str,
    fstype: &'static str,
    flags: MsFlags,
    data: &'static str,
    /// Mount even when something is mounted there already.
    fresh: bool,
}

const fn early(
    source: &'static str,
    target: &'static str,
    fstype: &'static str,
    flags: MsFlags,
    data: &'static str,
    fresh: bool,
) -> Early {
    Early {
        source,
        target,
        fstype,
        flags,
        data,
        fresh,
    }
}

const NSE: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);
const NS: MsFlags = MsFlags::MS_NOSUID.union(MsFlags::MS_NODEV);

const REAL: [Early; 6] = [
    early("proc", "/proc", "proc", NSE, "", false),
    early("sysfs", "/sys", "sysfs", NSE, "", false),
    early(
        "devtmpfs",
        "/dev",
        "devtmpfs",
        MsFlags::MS_NOSUID,
        "mode=0755",
        false,
    ),
    early(
        "devpts",
        "/dev/pts",
        "devpts",
        MsFlags::MS_NOSUID.union(MsFlags::MS_NOEXEC),
        "gid=5,mode=0620,ptmxmode=0666",
        false,
    ),
    early("shm", "/dev/shm", "tmpfs", NS, "mode=1777", false),
    early("tmpfs", "/run", "tmpfs", NS, "mode=0755", false),
];

const SANDBOX: [Early; 3] = [
    early("proc", "/proc", "proc", NSE, "", true),
    early("shm", "/dev/shm", "tmpfs", NS, "mode=1777", true),
    early("mqueue", "/dev/mqueue", "mqueue", NSE, "", true),
];

/// Mounts the API filesystems. Failures are reported and skipped.
pub fn mount_early(sandbox: bool) {
    let table: &[Early] = if sandbox { &SANDBOX } else { &REAL };
    for m in table {
        if m.target == "/dev/mqueue" && !Path::new(m.target).is_dir() {
            continue;
        }
        mount_one(m);
    }
    if sandbox {
        return;
    }
    device_links();
    mount_cgroups();
    for (fs, target) in [
        ("securityfs", "/sys/kernel/security"),
        ("selinuxfs", "/sys/fs/selinux"),
    ] {
        if has_filesystem(fs) {
            mount_one(&early(fs, target, fs, NSE, "", false));
        }
    }
}

fn mount_one(m: &Early) {
    if !m.fresh && is_mount_point(m.target) {
        return;
    }
    if let Err(e) = fs::create_dir_all(m.target) {
        console::error(format_args!("mkdir {}: {e}", m.target));
        return;
    }
    let data = (!m.data.is_empty()).then_some(m.data);
    if let Err(e) = mount(Some(m.source), m.target, Some(m.fstype), m.flags, data) {
        console::error(format_args!("mount {} on {}: {e}", m.fstype, m.target));
    }
}

/// The /dev links a devtmpfs does not have.
fn device_links() {
    for (link, to) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
        ("/dev/ptmx", "pts/ptmx"),
    ] {
        if fs::symlink_metadata(link).is_err() {
            let _ = std::os::unix::fs::symlink(to, link);
        }
    }
}

/// cgroup2 at /sys/fs/cgroup with every controller delegated below the
/// root, or the v1 controllers under a tmpfs there.
fn mount_cgroups() {
    const ROOT: &str = "/sys/fs/cgroup";
    if is_mount_point(ROOT) {
        return;
    }
    if has_filesystem("cgroup2") {
        mount_cgroup2(ROOT);
        let controllers =
            fs::read_to_string(format!("{ROOT}/cgroup.controllers")).unwrap_or_default();
        for c in controllers.split_whitespace() {
            let _ = fs::write(format!("{ROOT}/cgroup.subtree_control"), format!("+{c}"));
        }
        return;
    }
    mount_one(&early("cgroup", ROOT, "tmpfs", NSE, "mode=0755", false));
    let table = fs::read_to_string("/proc/cgroups").unwrap_or_default();
    for c in v1_controllers(&table) {
        let target = format!("{ROOT}/{c}");
        if let Err(e) = fs::create_dir_all(&target) {
            console::error(format_args!("mkdir {target}: {e}"));
            continue;
        }
        if let Err(e) = mount(
            Some("cgroup"),
            target.as_str(),
            Some("cgroup"),
            NSE,
            Some(c.as_str()),
        ) {
            console::error(format_args!("mount cgroup {c}: {e}"));
        }
    }
}

/// cgroup2 with `nsdelegate` and `favordynmods` when the kernel has them
/// (6.0+): without favordynmods, the first move of a process into a
/// cgroup after a quiet spell waits for an RCU grace period (10–16 ms
/// measured, docs/performance.md), which every service start pays.
fn mount_cgroup2(root: &str) {
    if let Err(e) = fs::create_dir_all(root) {
        console::error(format_args!("mkdir {root}: {e}"));
        return;
    }
    for data in ["nsdelegate,favordynmods", "nsdelegate", ""] {
        let data = (!data.is_empty()).then_some(data);
        if mount(Some("cgroup2"), root, Some("cgroup2"), NSE, data).is_ok() {
            return;
        }
    }
    console::error(format_args!("mount cgroup2 on {root} failed"));
}

/// Enabled controllers in /proc/cgroups (`name hierarchy num enabled`).
fn v1_controllers(table: &str) -> Vec<String> {
    table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && f[3] == "1").then(|| f[0].to_owned())
        })
        .collect()
}

/// Whether the kernel knows filesystem `name` (/proc/filesystems).
fn has_filesystem(name: &str) -> bool {
    fs::read_to_string("/proc/filesystems")
        .map(|t| t.lines().any(|l| l.split_whitespace().last() == Some(name)))
        .unwrap_or(false)
}

/// Mount points from /proc/self/mountinfo, in mount order.
pub fn mount_points() -> Vec<String> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    parse_mount_points(&text)
}

fn parse_mount_points(mountinfo: &str) -> Vec<String> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape)
        .collect()
}

/// mountinfo's octal escapes (\040 for a space...).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mounts block device `device` of type `fstype` on `target` with
/// mount(8)-style `options` ("noatime,data=ordered"); the error names all
/// three.
pub fn mount_disk(device: &str, target: &str, fstype: &str, options: &str) -> Result<(), String> {
    let options: Vec<&str> = options.split(',').filter(|o| !o.is_empty()).collect();
    let o = MountOptions::parse(&options);
    let data = o.data.join(",");
    mount(
        Some(device),
        target,
        Some(fstype),
        MsFlags::from_bits_truncate(o.flags),
        (!data.is_empty()).then_some(data.as_str()),
    )
    .map_err(|e| format!("mount {device} ({fstype}) on {target}: {e}"))
}

/// Whether `path` is a mount point.
pub fn is_mount_point(path: &str) -> bool {
    Path::new("/proc/self/mountinfo").exists() && mount_points().iter().any(|m| m == path)
}

/// Unmounts everything but the root (innermost first, lazily when busy)
/// and remounts the root read-only.
pub fn unmount_all() {
    let mut points = mount_points();
    points.retain(|p| p != "/");
    for p in points.iter().rev() {
        if umount2(p.as_str(), MntFlags::empty()).is_err() {
            let _ = umount2(p.as_str(), MntFlags::MNT_DETACH);
        }
    }
    let ro = MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    if let Err(e) = mount(None::<&str>, "/", None::<&str>, ro, None::<&str>) {
        console::warn(format_args!("remount / read-only: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_points_with_escapes() {
        let text = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                    30 22 0:5 / /dev rw - devtmpfs udev rw\n\
                    40 22 0:9 / /mnt/my\\040disk rw - ext4 /dev/sdb rw\n";
        assert_eq!(parse_mount_points(text), ["/", "/dev", "/mnt/my disk"]);
    }

    #[test]
    fn enabled_v1_controllers() {
        let t = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n\
                 cpuset\t3\t1\t1\nmemory\t5\t10\t1\nrdma\t0\t1\t0\n";
        assert_eq!(v1_controllers(t), ["cpuset", "memory"]);
    }

    #[test]
    fn our_proc_is_a_mount_point() {
        assert!(is_mount_point("/proc"));
        assert!(!is_mount_point("/proc/self"));
    }
}
