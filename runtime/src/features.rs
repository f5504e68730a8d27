//! The runtime-spec "features" document (`corral features`).

use serde_json::{json, Value};

use crate::mounts::KNOWN_OPTIONS;
use crate::seccomp;

/// Lists what this runtime implements, in the runtime-spec features format.
pub fn features() -> Value {
    let caps: Vec<String> = {
        let mut all: Vec<String> = caps::all().into_iter().map(|c| c.to_string()).collect();
        all.sort();
        all
    };
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::state::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": KNOWN_OPTIONS,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": {
                "v1": true,
                "v2": true,
                "systemd": false,
                "systemdUser": false,
                "rdma": false
            },
            "seccomp": {
                "enabled": true,
                "actions": seccomp::SUPPORTED_ACTIONS,
                "operators": seccomp::SUPPORTED_OPERATORS,
                "archs": seccomp::SUPPORTED_ARCHES,
                "knownFlags": seccomp::SUPPORTED_FLAGS,
                "supportedFlags": seccomp::SUPPORTED_FLAGS
            },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": true },
            "intelRdt": { "enabled": false },
            "mountExtensions": { "idmap": { "enabled": false } }
        },
        "annotations": {
            "org.opencontainers.runc.checkpoint.enabled": "false",
            "io.github.corral.version": env!("CARGO_PKG_VERSION")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_parses_as_oci_features() {
        let doc = features();
        let parsed: oci_spec::runtime::Features = serde_json::from_value(doc).unwrap();
        assert_eq!(parsed.oci_version_max(), crate::state::OCI_VERSION);
    }
}
