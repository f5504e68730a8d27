//! One engine as it will run: its name and service, its MCS category,
//! socket, bridge and subnets, limits and volumes, with every default of
//! docs/engines.md filled in and every key checked.

use std::path::PathBuf;

use super::net::{self, Cidr};
use crate::config::cgroups::check_weight;
use crate::config::engines::EngineConfig;
use crate::config::size::Size;

/// The default engine: service `docker`, /var/run/docker.sock.
pub const DEFAULT: &str = "docker";
/// Where the console (and every engine) sees the sockets: the host's /run/docker.
pub const SOCKET_DIR: &str = "/var/run";
/// The host directory behind SOCKET_DIR.
pub const HOST_SOCKET_DIR: &str = "/run/docker";
/// Engines' data roots and volumes live below this (the storage disk).
pub const DATA_DIR: &str = "/var/lib/corral";
/// The highest MCS category of corral's policy.
pub const MAX_CATEGORY: u16 = 1023;
const DEFAULT_PIDS: u64 = 4096;
/// Fewer pids than this and dockerd cannot start its threads.
const MIN_PIDS: u64 = 64;

/// An engine's resource limits (its cgroup `corral/engines/SERVICE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub memory_max: Option<Size>,
    pub cpu_weight: u32,
    pub pids_max: u64,
}

/// One engine, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The key of `[engines.NAME]`.
    pub name: String,
    /// `docker` for the default engine, `docker-NAME` for the others.
    pub service: String,
    pub category: u16,
    /// The socket's file name in /var/run (the host's /run/docker).
    pub socket: String,
    pub bridge: String,
    pub bip: Cidr,
    pub pool: Option<Cidr>,
    pub iptables: bool,
    pub limits: Limits,
    pub volumes: Vec<String>,
}

/// Whether `name` can name an engine: `[a-z0-9][a-z0-9_-]{0,23}`.
pub fn valid_name(name: &str) -> bool {
    name.len() <= 24 && crate::config::valid_name(name)
}

/// The service an engine runs as.
pub fn service_name(engine: &str) -> String {
    if engine == DEFAULT {
        DEFAULT.to_owned()
    } else {
        format!("docker-{engine}")
    }
}

/// The row `ctl status` shows for an engine whose name is not valid: the
/// service name with anything unsafe for a file name replaced.
pub fn display_name(engine: &str) -> String {
    service_name(engine)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect()
}

/// The socket's file name from `socket = "/var/run/FILE.sock"`.
fn socket_file(path: &str) -> Result<String, String> {
    let file = path
        .strip_prefix(SOCKET_DIR)
        .and_then(|f| f.strip_prefix('/'))
        .ok_or_else(|| format!("socket {path:?} must be {SOCKET_DIR}/NAME.sock"))?;
    let ok = file.len() <= 64
        && file.ends_with(".sock")
        && file.len() > ".sock".len()
        && file.as_bytes()[0].is_ascii_alphanumeric()
        && file
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.-".contains(&c));
    if ok {
        Ok(file.to_owned())
    } else {
        Err(format!(
            "socket {path:?}: the file name must be [a-z0-9][a-z0-9_.-]*.sock"
        ))
    }
}

impl Instance {
    /// Engine `name` from its table, in MCS category `category`.
    pub fn new(name: &str, cfg: &EngineConfig, category: u16) -> Result<Instance, String> {
        if !valid_name(name) {
            return Err(format!(
                "{name:?} is not an engine name ([a-z0-9][a-z0-9_-]{{0,23}})"
            ));
        }
        if category > MAX_CATEGORY {
            return Err(format!("category {category} is not 0 to {MAX_CATEGORY}"));
        }
        let service = service_name(name);
        let socket = match &cfg.socket {
            Some(s) => socket_file(s)?,
            None => format!("{service}.sock"),
        };
        let bridge = cfg
            .bridge
            .clone()
            .unwrap_or_else(|| net::default_bridge(category));
        if !net::valid_bridge(&bridge) {
            return Err(format!(
                "bridge {bridge:?} is not an interface name ([a-z][a-z0-9_.-], at most 15)"
            ));
        }
        let bip = match &cfg.bip {
            Some(b) => Cidr::parse(b).map_err(|e| format!("bip: {e}"))?,
            None => net::default_bip(category).ok_or_else(|| {
                format!("category {category} has no default bip: set bip (and address_pool)")
            })?,
        };
        let pool = match &cfg.address_pool {
            Some(p) => Some(Cidr::parse(p).map_err(|e| format!("address_pool: {e}"))?),
            None => net::default_pool(category),
        };
        Ok(Instance {
            name: name.to_owned(),
            socket,
            bridge,
            bip,
            pool,
            iptables: cfg.iptables.unwrap_or(name == DEFAULT),
            limits: limits(cfg)?,
            volumes: volumes(&cfg.volumes)?,
            service,
            category,
        })
    }

    /// The MLS level of the engine, its containers and its files.
    pub fn level(&self) -> String {
        format!("s0:c{}", self.category)
    }

    /// Its data root on the host (bound at /var/lib/docker).
    pub fn data_root(&self) -> PathBuf {
        PathBuf::from(DATA_DIR).join(&self.service)
    }

    /// The socket as the console sees it.
    pub fn socket_path(&self) -> String {
        format!("{SOCKET_DIR}/{}", self.socket)
    }

    /// The readiness mark next to the socket, as PID 1 sees it.
    pub fn ready_path(&self) -> String {
        let stem = self.socket.trim_end_matches(".sock");
        format!("{HOST_SOCKET_DIR}/{stem}.ready")
    }
}

fn limits(cfg: &EngineConfig) -> Result<Limits, String> {
    let cpu_weight = cfg.cpu_weight.unwrap_or(100);
    check_weight("cpu_weight", cpu_weight)?;
    let pids_max = cfg.pids_max.unwrap_or(DEFAULT_PIDS);
    if pids_max < MIN_PIDS {
        return Err(format!(
            "pids_max {pids_max} is too low for dockerd and containerd (at least {MIN_PIDS})"
        ));
    }
    Ok(Limits {
        memory_max: cfg.memory_max,
        cpu_weight,
        pids_max,
    })
}

fn volumes(names: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for v in names {
        if !crate::config::valid_name(v) {
            return Err(format!(
                "volume {v:?} is not a volume name ([a-z0-9][a-z0-9_-]{{0,62}})"
            ));
        }
        if out.contains(v) {
            return Err(format!("volume {v:?} is listed twice"));
        }
        out.push(v.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> EngineConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn names() {
        for ok in ["docker", "ci", "team-a", "x_1", &"a".repeat(24)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "CI", "-x", "a.b", "a/b", "a b", &"a".repeat(25)] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(service_name("docker"), "docker");
        assert_eq!(service_name("ci"), "docker-ci");
        assert_eq!(display_name("CI"), "docker-CI");
        assert_eq!(display_name("../x y"), "docker-.._x_y");
    }

    #[test]
    fn the_default_engine() {
        let i = Instance::new("docker", &EngineConfig::default(), 0).unwrap();
        assert_eq!(i.service, "docker");
        assert_eq!(i.socket_path(), "/var/run/docker.sock");
        assert_eq!(i.ready_path(), "/run/docker/docker.ready");
        assert_eq!(i.bridge, "docker0");
        assert_eq!(i.bip.to_string(), "172.17.0.1/16");
        assert!(i.iptables);
        assert_eq!(i.level(), "s0:c0");
        assert_eq!(i.data_root(), PathBuf::from("/var/lib/corral/docker"));
        assert_eq!(i.limits.pids_max, 4096);
        assert_eq!(i.limits.memory_max, None);
    }

    #[test]
    fn another_engine() {
        let i = Instance::new(
            "ci",
            &cfg("memory_max = \"1G\"\npids_max = 300\nvolumes = [\"shared\"]"),
            1,
        )
        .unwrap();
        assert_eq!(i.service, "docker-ci");
        assert_eq!(i.socket_path(), "/var/run/docker-ci.sock");
        assert_eq!(i.ready_path(), "/run/docker/docker-ci.ready");
        assert_eq!(i.bridge, "docker1");
        assert_eq!(i.bip.to_string(), "172.18.0.1/16");
        assert_eq!(i.pool.unwrap().to_string(), "10.101.0.0/16");
        assert!(!i.iptables);
        assert_eq!(i.level(), "s0:c1");
        assert_eq!(i.data_root(), PathBuf::from("/var/lib/corral/docker-ci"));
        assert_eq!(i.limits.memory_max, Some(Size::Bytes(1 << 30)));
        assert_eq!(i.volumes, ["shared"]);
    }

    #[test]
    fn bad_keys_are_one_line_each() {
        for (name, text, cat, want) in [
            ("CI", "", 1, "not an engine name"),
            (
                "ci",
                "socket = \"/run/ci.sock\"",
                1,
                "must be /var/run/NAME.sock",
            ),
            ("ci", "socket = \"/var/run/a/b.sock\"", 1, "file name"),
            ("ci", "socket = \"/var/run/ci\"", 1, "file name"),
            ("ci", "bridge = \"a-very-long-bridge\"", 1, "interface name"),
            ("ci", "bip = \"172.18.0.1\"", 1, "bip"),
            ("ci", "", 20, "no default bip"),
            ("ci", "", 2000, "0 to 1023"),
            ("ci", "cpu_weight = 0", 1, "cpu.weight"),
            ("ci", "pids_max = 10", 1, "too low"),
            ("ci", "volumes = [\"a\", \"a\"]", 1, "twice"),
            ("ci", "volumes = [\"../etc\"]", 1, "volume name"),
        ] {
            let e = Instance::new(name, &cfg(text), cat).unwrap_err();
            assert!(e.contains(want) && !e.contains('\n'), "{text}: {e}");
        }
    }

    #[test]
    fn explicit_network_for_high_categories() {
        let i = Instance::new(
            "big",
            &cfg("bip = \"192.168.50.1/24\"\naddress_pool = \"10.50.0.0/16\""),
            500,
        )
        .unwrap();
        assert_eq!(i.bridge, "docker500");
        assert_eq!(i.level(), "s0:c500");
    }
}
