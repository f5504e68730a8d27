//! SELinux labels: process.selinuxLabel is written to
//! /proc/thread-self/attr/exec just before the container's execve (the
//! kernel applies it at exec), linux.mountLabel becomes `context=` on the
//! container's tmpfs, mqueue and devpts mounts, and the session keyring gets
//! the process label. With SELinux off on the host, labels are skipped.

use std::ffi::CString;
use std::path::Path;

/// Where selinuxfs is mounted when SELinux is enabled.
const SELINUXFS: &str = "/sys/fs/selinux";

/// Whether the running kernel has SELinux enabled (selinuxfs mounted with
/// an `enforce` file).
pub fn enabled() -> bool {
    Path::new(SELINUXFS).join("enforce").exists()
}

/// Filesystems that take a `context=` mount option from linux.mountLabel.
pub fn takes_mount_label(fstype: &str) -> bool {
    matches!(fstype, "tmpfs" | "mqueue" | "devpts" | "shm")
}

/// Adds `context="LABEL"` to mount data.
pub fn with_mount_label(data: &mut Vec<String>, label: &str) {
    if !data.iter().any(|d| d.starts_with("context=")) {
        data.push(format!("context=\"{label}\""));
    }
}

/// The labels the child writes, decided in the parent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelPlan {
    /// Written to /proc/thread-self/attr/exec.
    pub exec: Option<CString>,
    /// Written to /proc/thread-self/attr/keycreate before the session
    /// keyring is made.
    pub keycreate: Option<CString>,
}

impl LabelPlan {
    /// Decides what to apply: nothing when SELinux is off (with a debug
    /// log) or when no label is configured.
    pub fn prepare(process_label: Option<&str>, selinux_enabled: bool) -> Self {
        let label = process_label.filter(|l| !l.is_empty());
        match label {
            Some(l) if selinux_enabled => {
                let c = CString::new(l).ok();
                LabelPlan {
                    exec: c.clone(),
                    keycreate: c,
                }
            }
            Some(l) => {
                tracing::debug!(label = l, "SELinux is disabled: process label skipped");
                LabelPlan::default()
            }
            None => LabelPlan::default(),
        }
    }
}

/// Decides whether the mount label is applied to a mount of `fstype`.
pub fn mount_label_for<'a>(
    fstype: &str,
    label: Option<&'a str>,
    selinux_enabled: bool,
) -> Option<&'a str> {
    let label = label.filter(|l| !l.is_empty())?;
    if !takes_mount_label(fstype) {
        return None;
    }
    if !selinux_enabled {
        tracing::debug!(label, fstype, "SELinux is disabled: mount label skipped");
        return None;
    }
    Some(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_apply_only_when_enabled() {
        let on = LabelPlan::prepare(Some("system_u:system_r:container_t:s0"), true);
        assert_eq!(
            on.exec.as_deref(),
            Some(c"system_u:system_r:container_t:s0")
        );
        assert_eq!(LabelPlan::prepare(Some("x"), false), LabelPlan::default());
        assert_eq!(LabelPlan::prepare(Some(""), true), LabelPlan::default());
    }

    #[test]
    fn mount_label_only_on_label_taking_filesystems() {
        assert_eq!(mount_label_for("tmpfs", Some("l"), true), Some("l"));
        assert_eq!(mount_label_for("proc", Some("l"), true), None);
        assert_eq!(mount_label_for("tmpfs", Some("l"), false), None);
        let mut data = vec!["mode=755".to_string()];
        with_mount_label(&mut data, "system_u:object_r:container_file_t:s0");
        assert_eq!(data[1], "context=\"system_u:object_r:container_file_t:s0\"");
    }
}
