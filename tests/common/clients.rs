//! What the tests of real clients (dockerd, podman) share: the busybox
//! image tarball, finding corral's state among theirs, and unmounting what
//! they leave under their temp roots.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::busybox_rootfs;

/// The busybox rootfs as a tarball in `dir`, for `docker|podman import`.
pub fn busybox_tarball(dir: &Path) -> PathBuf {
    let tar = dir.join("rootfs.tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(busybox_rootfs())
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    tar
}

/// Whether corral's own state.json for `id` (runc's has no
/// init_start_time) is anywhere below `dir`.
pub fn corral_state_exists(dir: &Path, id: &str) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "state.json")
                && p.parent().is_some_and(|d| d.ends_with(id))
                && std::fs::read_to_string(&p)
                    .unwrap_or_default()
                    .contains("init_start_time")
            {
                return true;
            }
        }
    }
    false
}

/// Lazily unmounts every mount below `root`, deepest first (the clients
/// leave overlay, shm and netns mounts under their roots).
pub fn unmount_below(root: &Path) {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let root = root.display().to_string();
    let mut targets: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&root))
        .collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for t in targets {
        let _ = Command::new("umount").args(["-l", t]).status();
    }
}
