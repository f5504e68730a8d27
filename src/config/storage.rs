//! `[storage]` of corral.toml: the persistent disk PID 1 mounts on
//! /var/lib/corral before any service starts (engines' data roots, ntp's
//! drift file, volumes live there).

use serde::Deserialize;

/// Where the disk is mounted.
pub const MOUNT_POINT: &str = "/var/lib/corral";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// Block device (e.g. /dev/vda) or any mount source.
    pub device: String,
    #[serde(default = "default_fstype")]
    pub fstype: String,
    /// Mount options, comma-separated, as for mount(8).
    #[serde(default)]
    pub options: String,
    /// How long to wait for the device to appear.
    #[serde(default = "default_wait")]
    pub wait_secs: u64,
}

fn default_fstype() -> String {
    "ext4".into()
}

fn default_wait() -> u64 {
    10
}

impl Storage {
    pub fn check(&self) -> Result<(), String> {
        if self.device.is_empty() {
            return Err("[storage] device must not be empty".into());
        }
        if self.fstype.is_empty() || self.fstype.contains(['/', ',']) {
            return Err(format!(
                "[storage] fstype {:?} is not a filesystem type",
                self.fstype
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_checks() {
        let s: Storage = toml::from_str("device = \"/dev/vda\"").unwrap();
        assert_eq!(s.fstype, "ext4");
        assert_eq!(s.wait_secs, 10);
        s.check().unwrap();
        let s: Storage = toml::from_str("device = \"\"").unwrap();
        assert!(s.check().is_err());
        assert!(toml::from_str::<Storage>("fstype = \"ext4\"").is_err());
    }
}
