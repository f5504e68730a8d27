//! The configuration `corral spec` writes: runc's defaults made secure by
//! default (the default seccomp profile, no_new_privs, a read-only root).

use std::collections::HashMap;

use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxIdMappingBuilder, LinuxNamespace,
    LinuxNamespaceBuilder, LinuxNamespaceType, Mount, MountBuilder, PosixRlimitBuilder,
    PosixRlimitType, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

use crate::error::{Error, Result};
use crate::seccomp;

/// Paths hidden from the container (as runc and Docker).
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths the container may read but not write.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount> {
    MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()
        .map_err(|e| Error::InvalidArgument(e.to_string()))
}

fn default_mounts(rootless: bool) -> Result<Vec<Mount>> {
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
            ],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
    ];
    if rootless {
        mounts.push(mount(
            "/sys",
            "none",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        )?);
    } else {
        mounts.push(mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )?);
        mounts.push(mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        )?);
    }
    Ok(mounts)
}

fn namespaces(rootless: bool) -> Result<Vec<LinuxNamespace>> {
    let mut types = vec![
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Cgroup,
    ];
    if rootless {
        types.push(LinuxNamespaceType::User);
    }
    types
        .into_iter()
        .map(|t| {
            LinuxNamespaceBuilder::default()
                .typ(t)
                .build()
                .map_err(|e| Error::InvalidArgument(e.to_string()))
        })
        .collect()
}

/// The default config.json. `rootless` adds a user namespace mapping the
/// caller's uid and gid to root.
pub fn default_spec(rootless: bool) -> Result<Spec> {
    let err = |e: oci_spec::OciSpecError| Error::InvalidArgument(e.to_string());
    let caps: oci_spec::runtime::Capabilities = [
        Capability::AuditWrite,
        Capability::Kill,
        Capability::NetBindService,
    ]
    .into_iter()
    .collect();
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        .inheritable(oci_spec::runtime::Capabilities::new())
        .ambient(oci_spec::runtime::Capabilities::new())
        .build()
        .map_err(err)?;
    let process = ProcessBuilder::default()
        .terminal(true)
        .user(
            UserBuilder::default()
                .uid(0u32)
                .gid(0u32)
                .build()
                .map_err(err)?,
        )
        .args(vec!["sh".to_string()])
        .env(vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            "TERM=xterm".to_string(),
        ])
        .cwd("/")
        .capabilities(capabilities)
        .rlimits(vec![PosixRlimitBuilder::default()
            .typ(PosixRlimitType::RlimitNofile)
            .hard(1024u64)
            .soft(1024u64)
            .build()
            .map_err(err)?])
        .no_new_privileges(true)
        .build()
        .map_err(err)?;
    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces(rootless)?)
        .masked_paths(
            MASKED_PATHS
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .readonly_paths(
            READONLY_PATHS
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .seccomp(seccomp::default_profile())
        .resources(
            oci_spec::runtime::LinuxResourcesBuilder::default()
                .devices(vec![oci_spec::runtime::LinuxDeviceCgroupBuilder::default()
                    .allow(false)
                    .access("rwm")
                    .build()
                    .map_err(err)?])
                .build()
                .map_err(err)?,
        );
    if rootless {
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let map = |host: u32| {
            LinuxIdMappingBuilder::default()
                .container_id(0u32)
                .host_id(host)
                .size(1u32)
                .build()
        };
        linux = linux
            .uid_mappings(vec![map(uid).map_err(err)?])
            .gid_mappings(vec![map(gid).map_err(err)?]);
    }
    SpecBuilder::default()
        .version(crate::state::OCI_VERSION)
        .root(
            RootBuilder::default()
                .path("rootfs")
                .readonly(true)
                .build()
                .map_err(err)?,
        )
        .process(process)
        .hostname("corral")
        .mounts(default_mounts(rootless)?)
        .linux(linux.build().map_err(err)?)
        .annotations(HashMap::new())
        .build()
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn default_spec_is_valid_and_strict() {
        let spec = default_spec(false).unwrap();
        crate::spec::validate(&spec, Path::new("config.json")).unwrap();
        let p = spec.process().as_ref().unwrap();
        assert_eq!(p.no_new_privileges(), Some(true));
        assert!(spec.linux().as_ref().unwrap().seccomp().is_some());
        assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    }

    #[test]
    fn rootless_spec_maps_the_caller() {
        let spec = default_spec(true).unwrap();
        crate::spec::validate(&spec, Path::new("config.json")).unwrap();
        assert_eq!(
            spec.linux()
                .as_ref()
                .unwrap()
                .uid_mappings()
                .as_ref()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn round_trips_through_json() {
        let spec = default_spec(false).unwrap();
        let json = serde_json::to_vec_pretty(&spec).unwrap();
        crate::spec::load_spec_from_slice(&json, Path::new("config.json")).unwrap();
    }
}
