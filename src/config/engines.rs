//! `[engines.NAME]` of corral.toml: one user engine (dockerd + containerd)
//! per table, instantiated from the shipped docker bundle at boot (see
//! src/engines/ and docs/engines.md). Each table is parsed on its own, so
//! a mistake in one engine refuses that engine only.

use serde::Deserialize;

use super::size::Size;

/// One `[engines.NAME]` table. Unset keys get defaults derived from the
/// engine's name and MCS category (src/engines/instance.rs).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// memory.max of the engine (dockerd, containerd and every container).
    pub memory_max: Option<Size>,
    /// cpu.weight of the engine (1 to 10000), default 100.
    pub cpu_weight: Option<u32>,
    /// pids.max of the engine, default 4096.
    pub pids_max: Option<u64>,
    /// The MCS category c0..c1023 of the engine, its containers and its
    /// files; default: 0 for `docker`, else the lowest one free.
    pub category: Option<u16>,
    /// The API socket as the console sees it: /var/run/FILE.sock.
    pub socket: Option<String>,
    /// The bridge its containers attach to.
    pub bridge: Option<String>,
    /// The bridge's address and subnet, e.g. "172.18.0.1/16".
    pub bip: Option<String>,
    /// Where `docker network create` takes /24 subnets from, e.g. "10.101.0.0/16".
    pub address_pool: Option<String>,
    /// Whether dockerd manages iptables (only one engine may).
    pub iptables: Option<bool>,
    /// Shared host directories /var/lib/corral/volumes/V, seen by the
    /// engine as /volumes/V.
    pub volumes: Vec<String>,
}

impl EngineConfig {
    /// The table under `[engines.NAME]`, parsed; the error is one line.
    pub fn from_value(value: &toml::Value) -> Result<EngineConfig, String> {
        value
            .clone()
            .try_into::<EngineConfig>()
            .map_err(|e| e.message().split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<EngineConfig, String> {
        let v: toml::Value = toml::from_str(text).unwrap();
        EngineConfig::from_value(&v)
    }

    #[test]
    fn every_key() {
        let e = parse(
            r#"memory_max = "512M"
cpu_weight = 50
pids_max = 300
category = 3
socket = "/var/run/docker-ci.sock"
bridge = "docker3"
bip = "172.20.0.1/16"
address_pool = "10.103.0.0/16"
iptables = false
volumes = ["shared"]"#,
        )
        .unwrap();
        assert_eq!(e.memory_max, Some(Size::Bytes(512 << 20)));
        assert_eq!(e.category, Some(3));
        assert_eq!(e.volumes, ["shared"]);
        assert_eq!(parse("").unwrap(), EngineConfig::default());
    }

    #[test]
    fn unknown_keys_and_bad_types_are_one_line() {
        let e = parse("memroy_max = \"1G\"").unwrap_err();
        assert!(e.contains("memroy_max") && !e.contains('\n'), "{e}");
        assert!(parse("category = \"one\"").is_err());
        assert!(parse("memory_max = \"lots\"").unwrap_err().contains("lots"));
    }
}
