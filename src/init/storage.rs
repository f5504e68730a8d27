//! corral.toml `[storage]`: the persistent disk, mounted on /var/lib/corral
//! before any service starts, so that engines' data roots, volumes and
//! services' state survive a reboot. Its root gets the label of
//! /var/lib/corral (`var_lib_t`); what PID 1 and tmpfiles make on it is
//! labeled as on a tmpfs, and the labels stay on the disk (xattrs).

use std::path::Path;
use std::time::Duration;

use super::{labels, modules, mounts, switch_root, system};
use crate::config::storage::{Storage, MOUNT_POINT};

/// The label of the disk's root directory.
const ROOT_LABEL: &str = "system_u:object_r:var_lib_t:s0";

/// Mounts the disk; the message says what was mounted.
pub fn mount_storage(cfg: &Storage) -> Result<String, String> {
    if mounts::is_mount_point(MOUNT_POINT) {
        return Ok(format!("{MOUNT_POINT} is already mounted"));
    }
    switch_root::wait_for(&cfg.device, Duration::from_secs(cfg.wait_secs));
    if !has_filesystem(&cfg.fstype) {
        // Its module was not in [modules] load: try it by name.
        let _ = modules::load_all(std::slice::from_ref(&cfg.fstype), &system::kernel_release());
    }
    std::fs::create_dir_all(MOUNT_POINT).map_err(|e| format!("mkdir {MOUNT_POINT}: {e}"))?;
    mounts::mount_disk(&cfg.device, MOUNT_POINT, &cfg.fstype, &cfg.options)
        .map_err(|e| format!("{e}; state stays in RAM"))?;
    if labels::active() {
        labels::set(Path::new(MOUNT_POINT), ROOT_LABEL)?;
    }
    Ok(format!(
        "storage: {} ({}) mounted on {MOUNT_POINT}",
        cfg.device, cfg.fstype
    ))
}

/// Whether the kernel knows `fstype` (/proc/filesystems).
fn has_filesystem(fstype: &str) -> bool {
    std::fs::read_to_string("/proc/filesystems")
        .map(|t| listed(&t, fstype))
        .unwrap_or(false)
}

fn listed(proc_filesystems: &str, fstype: &str) -> bool {
    proc_filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some(fstype))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filesystems_list() {
        let t = "nodev\tsysfs\nnodev\ttmpfs\n\text4\n";
        assert!(listed(t, "ext4"));
        assert!(listed(t, "tmpfs"));
        assert!(!listed(t, "xfs"));
    }
}
