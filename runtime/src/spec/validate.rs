//! The runtime-spec rules that serde cannot check, each reported at the JSON
//! pointer of the offending value.

use std::collections::HashSet;
use std::path::Path;

use oci_spec::runtime::{Hook, Linux, LinuxNamespaceType, Mount, Process, Spec};

use crate::error::{Error, Result};
use crate::mounts::MountOptions;

/// Major version of the runtime-spec this runtime implements.
const SUPPORTED_MAJOR: u64 = 1;

/// Validates `spec` (parsed from `file`): everything that can be checked
/// without touching the filesystem beyond the bundle.
pub fn validate(spec: &Spec, file: &Path) -> Result<()> {
    let err = |pointer: &str, message: String| Error::spec(file, pointer, message);
    validate_version(spec.version()).map_err(|m| err("/ociVersion", m))?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| err("/root", "is required".into()))?;
    if root.path().as_os_str().is_empty() {
        return Err(err("/root/path", "must not be empty".into()));
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| err("/process", "is required".into()))?;
    validate_process(process).map_err(|(p, m)| err(&format!("/process{p}"), m))?;
    if let Some(mounts) = spec.mounts() {
        for (i, m) in mounts.iter().enumerate() {
            validate_mount(m).map_err(|(p, msg)| err(&format!("/mounts/{i}{p}"), msg))?;
        }
    }
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| err("/linux", "is required on Linux".into()))?;
    validate_linux(spec, linux).map_err(|(p, m)| err(&p, m))?;
    if let Some(hooks) = spec.hooks() {
        let lists: [(&str, &Option<Vec<Hook>>); 6] = [
            ("prestart", hooks.prestart()),
            ("createRuntime", hooks.create_runtime()),
            ("createContainer", hooks.create_container()),
            ("startContainer", hooks.start_container()),
            ("poststart", hooks.poststart()),
            ("poststop", hooks.poststop()),
        ];
        for (name, list) in lists {
            for (i, hook) in list.iter().flatten().enumerate() {
                validate_hook(hook).map_err(|(p, m)| err(&format!("/hooks/{name}/{i}{p}"), m))?;
            }
        }
    }
    if let Some(annotations) = spec.annotations() {
        if annotations.keys().any(String::is_empty) {
            return Err(err("/annotations", "keys must not be empty".into()));
        }
    }
    Ok(())
}

type Invalid = (String, String);

fn invalid(pointer: &str, message: impl Into<String>) -> Invalid {
    (pointer.to_owned(), message.into())
}

fn validate_version(version: &str) -> std::result::Result<(), String> {
    if version.is_empty() {
        return Err("is required".into());
    }
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let numbers: Option<Vec<u64>> = parts.iter().map(|p| p.parse().ok()).collect();
    match numbers.as_deref() {
        Some([major, _, _]) if *major == SUPPORTED_MAJOR => Ok(()),
        Some([_, _, _]) => Err(format!(
            "unsupported ociVersion {version} (this runtime implements {SUPPORTED_MAJOR}.x)"
        )),
        _ => Err(format!("{version:?} is not a semantic version")),
    }
}

fn validate_process(p: &Process) -> std::result::Result<(), Invalid> {
    let args = p.args().as_deref().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        return Err(invalid("/args", "must name a program to run"));
    }
    if let Some(i) = args.iter().position(|a| a.contains('\0')) {
        return Err(invalid(&format!("/args/{i}"), "contains a NUL byte"));
    }
    if !p.cwd().is_absolute() {
        return Err(invalid(
            "/cwd",
            format!("{:?} is not an absolute path", p.cwd()),
        ));
    }
    for (i, e) in p.env().iter().flatten().enumerate() {
        if !e.contains('=') || e.starts_with('=') || e.contains('\0') {
            return Err(invalid(
                &format!("/env/{i}"),
                format!("{e:?} is not NAME=value"),
            ));
        }
    }
    let mut seen = Vec::new();
    for (i, r) in p.rlimits().iter().flatten().enumerate() {
        if r.soft() > r.hard() {
            return Err(invalid(
                &format!("/rlimits/{i}"),
                "soft limit is above the hard limit",
            ));
        }
        if seen.contains(&r.typ()) {
            return Err(invalid(
                &format!("/rlimits/{i}/type"),
                format!("duplicate rlimit {:?}", r.typ()),
            ));
        }
        seen.push(r.typ());
    }
    if p.console_size().is_some() && !p.terminal().unwrap_or(false) {
        return Err(invalid("/consoleSize", "is only valid with terminal: true"));
    }
    if let Some(adj) = p.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            return Err(invalid(
                "/oomScoreAdj",
                format!("{adj} is outside -1000..1000"),
            ));
        }
    }
    Ok(())
}

fn validate_mount(m: &Mount) -> std::result::Result<(), Invalid> {
    let dest = m.destination();
    if !dest.is_absolute() {
        return Err(invalid(
            "/destination",
            format!("{dest:?} is not an absolute path"),
        ));
    }
    let options = m.options().as_deref().unwrap_or_default();
    let parsed = MountOptions::parse(options);
    let typ = m.typ().as_deref().unwrap_or_default();
    if typ.is_empty() && !parsed.is_bind() {
        return Err(invalid(
            "/type",
            "is required unless the mount is a bind mount",
        ));
    }
    if (parsed.is_bind() || typ == "bind") && m.source().is_none() {
        return Err(invalid("/source", "is required for a bind mount"));
    }
    if let Some(i) = options
        .iter()
        .position(|o| o.is_empty() || o.contains('\0'))
    {
        return Err(invalid(
            &format!("/options/{i}"),
            "is empty or contains a NUL byte",
        ));
    }
    Ok(())
}

fn validate_linux(spec: &Spec, linux: &Linux) -> std::result::Result<(), Invalid> {
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    let mut seen = HashSet::new();
    for (i, ns) in namespaces.iter().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(invalid(
                &format!("/linux/namespaces/{i}/type"),
                format!("duplicate namespace {}", ns.typ()),
            ));
        }
        if let Some(path) = ns.path() {
            if !path.is_absolute() {
                return Err(invalid(
                    &format!("/linux/namespaces/{i}/path"),
                    format!("{path:?} is not an absolute path"),
                ));
            }
        }
    }
    let has_new = |t: LinuxNamespaceType| {
        namespaces
            .iter()
            .any(|n| n.typ() == t && n.path().is_none())
    };
    let has_ns = |t: LinuxNamespaceType| namespaces.iter().any(|n| n.typ() == t);
    let has_uid_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    let has_gid_maps = linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if (has_uid_maps || has_gid_maps) && !has_new(LinuxNamespaceType::User) {
        return Err(invalid(
            "/linux/uidMappings",
            "id mappings need a new user namespace",
        ));
    }
    if has_new(LinuxNamespaceType::User) && !(has_uid_maps && has_gid_maps) {
        return Err(invalid(
            "/linux/namespaces",
            "a new user namespace needs uidMappings and gidMappings",
        ));
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has_ns(LinuxNamespaceType::Uts) {
        return Err(invalid(
            "/hostname",
            "setting the hostname needs a uts namespace",
        ));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) && !has_ns(LinuxNamespaceType::Uts)
    {
        return Err(invalid(
            "/domainname",
            "setting the domainname needs a uts namespace",
        ));
    }
    if linux.time_offsets().is_some() && !has_new(LinuxNamespaceType::Time) {
        return Err(invalid(
            "/linux/timeOffsets",
            "time offsets need a new time namespace",
        ));
    }
    if linux.rootfs_propagation().as_deref().is_some_and(|p| {
        !matches!(
            p,
            "" | "private"
                | "rprivate"
                | "slave"
                | "rslave"
                | "shared"
                | "rshared"
                | "unbindable"
                | "runbindable"
        )
    }) {
        return Err(invalid(
            "/linux/rootfsPropagation",
            "must be one of [r]private, [r]slave, [r]shared, [r]unbindable",
        ));
    }
    for (key, _) in linux.sysctl().iter().flatten() {
        validate_sysctl(key, &has_ns).map_err(|m| invalid(&format!("/linux/sysctl/{key}"), m))?;
    }
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        if !d.path().is_absolute() || !d.path().starts_with("/dev") {
            return Err(invalid(
                &format!("/linux/devices/{i}/path"),
                format!("{:?} is not a path under /dev", d.path()),
            ));
        }
    }
    for (name, list) in [
        ("maskedPaths", linux.masked_paths()),
        ("readonlyPaths", linux.readonly_paths()),
    ] {
        for (i, p) in list.iter().flatten().enumerate() {
            if !p.starts_with('/') {
                return Err(invalid(
                    &format!("/linux/{name}/{i}"),
                    format!("{p:?} is not an absolute path"),
                ));
            }
        }
    }
    Ok(())
}

/// Only namespaced sysctls may be set, and only when the container has its
/// own namespace of that kind (the same rule as runc).
fn validate_sysctl(
    key: &str,
    has_ns: &dyn Fn(LinuxNamespaceType) -> bool,
) -> std::result::Result<(), String> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if key.contains("..") || key.contains('\0') || key.starts_with(['.', '/']) {
        return Err(format!("{key:?} is not a sysctl name"));
    }
    let needed = if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        LinuxNamespaceType::Ipc
    } else if key.starts_with("net.") {
        LinuxNamespaceType::Network
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        LinuxNamespaceType::Uts
    } else {
        return Err(format!("{key} is not a namespaced sysctl"));
    };
    if has_ns(needed) {
        Ok(())
    } else {
        Err(format!("{key} needs its own {needed} namespace"))
    }
}

fn validate_hook(h: &Hook) -> std::result::Result<(), Invalid> {
    if !h.path().is_absolute() {
        return Err(invalid(
            "/path",
            format!("{:?} is not an absolute path", h.path()),
        ));
    }
    if let Some(t) = h.timeout() {
        if t <= 0 {
            return Err(invalid("/timeout", "must be greater than zero"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load_spec_from_slice;

    fn check(json: &str) -> std::result::Result<(), String> {
        let file = Path::new("/b/config.json");
        let spec = load_spec_from_slice(json.as_bytes(), file).map_err(|e| e.to_string())?;
        validate(&spec, file).map_err(|e| e.to_string())
    }

    fn base(extra: &str) -> String {
        with_linux(extra, "")
    }

    fn with_linux(extra: &str, linux_extra: &str) -> String {
        format!(
            r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},
                "process":{{"args":["sh"],"cwd":"/","user":{{"uid":0,"gid":0}}}},
                "linux":{{"namespaces":[{{"type":"pid"}},{{"type":"mount"}},{{"type":"uts"}}]{linux_extra}}}{extra}}}"#
        )
    }

    #[test]
    fn minimal_config_is_valid() {
        check(&base("")).unwrap();
    }

    #[test]
    fn rejects_unknown_major_version() {
        let json = base("").replace("1.0.2", "2.0.0");
        assert!(check(&json)
            .unwrap_err()
            .contains("/ociVersion: unsupported ociVersion 2.0.0"));
    }

    #[test]
    fn rejects_relative_cwd_and_mount_destination() {
        let e = check(&base("").replace(r#""cwd":"/""#, r#""cwd":"tmp""#)).unwrap_err();
        assert!(e.contains("/process/cwd"), "{e}");
        let e = check(&base(
            r#","mounts":[{"destination":"proc","type":"proc","source":"proc"}]"#,
        ))
        .unwrap_err();
        assert!(e.contains("/mounts/0/destination"), "{e}");
    }

    #[test]
    fn rejects_duplicate_namespaces() {
        let json = base("").replace(r#"{"type":"uts"}"#, r#"{"type":"uts"},{"type":"pid"}"#);
        assert!(check(&json)
            .unwrap_err()
            .contains("/linux/namespaces/3/type: duplicate namespace pid"));
    }

    #[test]
    fn hostname_needs_uts() {
        let json = base(r#","hostname":"x""#).replace(r#",{"type":"uts"}"#, "");
        assert!(check(&json).unwrap_err().contains("/hostname"));
    }

    #[test]
    fn sysctl_needs_its_namespace() {
        let e = check(&with_linux("", r#","sysctl":{"net.ipv4.ip_forward":"1"}"#)).unwrap_err();
        assert!(e.contains("needs its own net namespace"), "{e}");
        let e = check(&with_linux("", r#","sysctl":{"vm.swappiness":"1"}"#)).unwrap_err();
        assert!(e.contains("not a namespaced sysctl"), "{e}");
    }

    #[test]
    fn user_namespace_needs_mappings() {
        let json = base("").replace(r#"{"type":"uts"}"#, r#"{"type":"uts"},{"type":"user"}"#);
        assert!(check(&json)
            .unwrap_err()
            .contains("uidMappings and gidMappings"));
    }

    #[test]
    fn bind_mount_needs_source() {
        let e = check(&base(
            r#","mounts":[{"destination":"/x","options":["rbind"]}]"#,
        ))
        .unwrap_err();
        assert!(e.contains("/mounts/0/source"), "{e}");
    }

    #[test]
    fn hook_path_must_be_absolute() {
        let e = check(&base(r#","hooks":{"poststop":[{"path":"true"}]}"#)).unwrap_err();
        assert!(e.contains("/hooks/poststop/0/path"), "{e}");
    }
}
