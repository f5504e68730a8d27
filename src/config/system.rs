//! `corral.toml`: the system's configuration. A missing file means the
//! defaults; a broken one also means the defaults, plus the error to show
//! on the console.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cgroups::Cgroups;
use super::service::Override;
use super::storage::Storage;

/// Where PID 1 reads it.
pub const DEFAULT_PATH: &str = "/etc/corral/corral.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    pub hostname: String,
    pub log: LogConfig,
    pub modules: Modules,
    pub selinux: Selinux,
    pub network: Option<Network>,
    pub ntp: Option<Ntp>,
    pub services: Services,
    pub root: Option<RootConfig>,
    pub storage: Option<Storage>,
    pub cgroups: Cgroups,
    /// `[engines.NAME]`, each checked on its own when the engines are
    /// instantiated (a bad one is refused, the others start).
    pub engines: BTreeMap<String, toml::Value>,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            hostname: "corral".into(),
            log: LogConfig::default(),
            modules: Modules::default(),
            selinux: Selinux::default(),
            network: None,
            ntp: None,
            services: Services::default(),
            root: None,
            storage: None,
            cgroups: Cgroups::default(),
            engines: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub dir: PathBuf,
    pub max_file_size: u64,
    pub max_files: u32,
    pub ring_lines: usize,
    pub ring_bytes: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            dir: PathBuf::from("/var/log/corral"),
            max_file_size: 1024 * 1024,
            max_files: 3,
            ring_lines: 1000,
            ring_bytes: 64 * 1024,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Modules {
    pub load: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Selinux {
    pub policy: PathBuf,
    pub enforcing: bool,
}

impl Default for Selinux {
    fn default() -> Self {
        Selinux {
            policy: PathBuf::from("/usr/lib/corral/selinux/policy"),
            enforcing: false,
        }
    }
}

/// `[network]`, handed to the network service as /run/corral/network.toml.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    pub interfaces: Vec<Interface>,
    pub dns: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Interface {
    pub name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dhcp: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// `[ntp]`, handed to the ntp service as /run/corral/ntp.toml.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ntp {
    pub servers: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Services {
    pub enabled: Vec<String>,
    pub disabled: Vec<String>,
    pub overrides: BTreeMap<String, Override>,
}

/// `[root]`: the real root to switch to when PID 1 starts from an initramfs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootConfig {
    /// Block device (e.g. /dev/vda1) or any mount source.
    pub device: String,
    pub fstype: String,
    /// Mount options, comma-separated, as for mount(8).
    #[serde(default)]
    pub options: String,
    /// The init to run on the new root.
    #[serde(default = "default_root_init")]
    pub init: PathBuf,
    /// How long to wait for the device to appear.
    #[serde(default = "default_root_wait")]
    pub wait_secs: u64,
}

fn default_root_init() -> PathBuf {
    PathBuf::from("/usr/bin/corral")
}

fn default_root_wait() -> u64 {
    10
}

/// The configuration read from `path`, and the error when it could not be
/// used (then the configuration is the defaults).
pub fn load(path: &Path) -> (SystemConfig, Option<String>) {
    match std::fs::read_to_string(path) {
        Ok(text) => from_text(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (SystemConfig::default(), None),
        Err(e) => (
            SystemConfig::default(),
            Some(format!("{}: {e}", path.display())),
        ),
    }
}

/// [`load`] for text already read (sandbox mode reads it before entering
/// the root).
pub fn from_text(path: &Path, text: &str) -> (SystemConfig, Option<String>) {
    match super::parse::<SystemConfig>(path, text).and_then(|c| c.check(path).map(|()| c)) {
        Ok(c) => (c, None),
        Err(e) => (SystemConfig::default(), Some(e)),
    }
}

impl SystemConfig {
    fn check(&self, path: &Path) -> Result<(), String> {
        let err = |m: String| Err(format!("{}: {m}", path.display()));
        if self.hostname.is_empty() || self.hostname.len() > 64 {
            return err(format!(
                "hostname {:?} must be 1 to 64 bytes",
                self.hostname
            ));
        }
        let l = &self.log;
        if !l.dir.is_absolute() {
            return err("[log] dir must be an absolute path".into());
        }
        if l.ring_lines == 0 || l.ring_bytes < 1024 {
            return err("[log] ring_lines must be at least 1 and ring_bytes at least 1024".into());
        }
        self.cgroups.check().or_else(err)?;
        if let Some(s) = &self.storage {
            s.check().or_else(err)?;
        }
        for (name, o) in &self.services.overrides {
            let mut probe = super::ServiceFile::default();
            probe.apply(o);
            if let Err(e) = probe.check() {
                return err(format!("[services.overrides.{name}] {e}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_the_defaults_without_error() {
        let (c, e) = load(Path::new("/nonexistent/corral.toml"));
        assert!(e.is_none());
        assert_eq!(c.hostname, "corral");
        assert_eq!(c.log.max_file_size, 1024 * 1024);
        assert_eq!(c.log.ring_lines, 1000);
    }

    #[test]
    fn the_documented_example_parses() {
        let text = r#"
hostname = "edge1"
[log]
dir = "/var/log/corral"
max_file_size = 4096
max_files = 2
ring_lines = 10
[modules]
load = ["virtio_pci", "virtio_net"]
[selinux]
enforcing = true
[network]
interfaces = [
  { name = "eth0", dhcp = true },
  { name = "eth1", address = "192.168.1.10/24", gateway = "192.168.1.1" },
]
dns = ["10.0.2.3"]
[ntp]
servers = ["pool.ntp.org"]
[services]
disabled = ["ntp"]
[services.overrides.syslog]
restart = { policy = "always" }
env = ["KEY=value"]
[root]
device = "/dev/vda"
fstype = "ext4"
[storage]
device = "/dev/vdb"
options = "noatime"
[cgroups.system]
memory_min = "64M"
memory_low = "256M"
cpu_weight = 1000
oom_score_adj = -900
[cgroups.engines]
memory_max = "85%"
cpu_weight = 100
pids_max = 16384
[engines.docker]
memory_max = "2G"
[engines.ci]
memory_max = "1G"
cpu_weight = 50
pids_max = 2048
volumes = ["shared"]
"#;
        let (c, e) = from_text(Path::new("c.toml"), text);
        assert!(e.is_none(), "{e:?}");
        assert_eq!(c.storage.as_ref().map(|s| s.fstype.as_str()), Some("ext4"));
        assert_eq!(c.cgroups.engines.pids_max, Some(16384));
        assert_eq!(
            c.engines.keys().collect::<Vec<_>>(),
            ["ci", "docker"],
            "engines are checked one by one later"
        );
        assert_eq!(c.hostname, "edge1");
        assert_eq!(c.modules.load.len(), 2);
        assert!(c.selinux.enforcing);
        assert_eq!(c.network.as_ref().map(|n| n.interfaces.len()), Some(2));
        assert_eq!(c.services.overrides["syslog"].env, ["KEY=value"]);
        assert_eq!(
            c.root.as_ref().map(|r| r.init.clone()),
            Some(PathBuf::from("/usr/bin/corral"))
        );
    }

    #[test]
    fn broken_files_fall_back_to_defaults_with_one_line() {
        for (text, want) in [
            ("this is [not toml", "c.toml:1: "),
            ("hostname = \"x\"\n[log]\nmax_size = 3\n", "c.toml:3: "),
            ("hostname = \"\"", "hostname"),
            (
                "[services.overrides.web]\nstop = { signal = \"NOPE\" }",
                "overrides.web",
            ),
            (
                "[cgroups.system]\ncpu_weight = 0",
                "[cgroups.system] cpu_weight",
            ),
            ("[cgroups.engines]\nmemory_max = \"lots\"", "lots"),
            ("[storage]\nfstype = \"ext4\"", "device"),
        ] {
            let (c, e) = from_text(Path::new("c.toml"), text);
            let e = e.unwrap();
            assert!(e.contains(want), "{text}: {e}");
            assert!(!e.contains('\n'));
            assert_eq!(c.hostname, "corral");
        }
    }
}
