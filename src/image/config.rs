//! The image's /etc/corral/corral.toml: the default one written by the
//! builder, or the file the user gives (shipped as it is, even broken: the
//! init then boots on its defaults and shows the error). The builder reads
//! only `[modules] load` from it, to ship those modules.

/// Modules every default image loads: virtio for QEMU's disk and network.
pub const BASE_MODULES: &[&str] = &["virtio_pci", "virtio_net", "virtio_blk"];

/// The default corral.toml, loading `modules`.
pub fn default_text(modules: &[String]) -> String {
    let list = modules
        .iter()
        .map(|m| format!("\"{m}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"# /etc/corral/corral.toml, written by `corral image build` (see docs/config.md).
hostname = "corral"

[modules]
# virtio for QEMU, plus what the shipped services need (docker: overlay,
# bridge, netfilter).
load = [{list}]

[selinux]
enforcing = true

[network]
interfaces = [{{ name = "eth0", dhcp = true }}]

[ntp]
servers = ["pool.ntp.org"]
"#
    )
}

/// The modules a user's corral.toml needs shipped: `[modules] load`, and
/// the filesystem of `[storage]` (PID 1 loads it by name when the kernel
/// lacks it); `Err` (a one-line reason) when the file is not TOML or a key
/// has the wrong shape.
pub fn modules_of(text: &str) -> Result<Vec<String>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().replace('\n', " "))?;
    let mut out = match table.get("modules").and_then(|m| m.get("load")) {
        None => Vec::new(),
        Some(load) => load
            .as_array()
            .ok_or("[modules] load is not an array")?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "[modules] load holds a non-string".to_owned())
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if let Some(storage) = table.get("storage") {
        let fstype = storage
            .get("fstype")
            .and_then(|f| f.as_str())
            .unwrap_or("ext4");
        if !out.iter().any(|m| m == fstype) {
            out.push(fstype.to_owned());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_round_trips_its_modules() {
        let mods = vec!["virtio_pci".to_owned(), "overlay".to_owned()];
        let text = default_text(&mods);
        assert_eq!(modules_of(&text).unwrap(), mods);
        let t: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(t["selinux"]["enforcing"].as_bool(), Some(true));
        assert_eq!(t["network"]["interfaces"][0]["dhcp"].as_bool(), Some(true));
    }

    #[test]
    fn user_configs() {
        assert!(modules_of("hostname = \"x\"\n").unwrap().is_empty());
        assert_eq!(
            modules_of("[modules]\nload = [\"e1000e\"]\n").unwrap(),
            ["e1000e"]
        );
        assert_eq!(
            modules_of("[storage]\ndevice = \"/dev/vda\"\n").unwrap(),
            ["ext4"]
        );
        assert_eq!(
            modules_of("[modules]\nload = [\"xfs\"]\n[storage]\nfstype = \"xfs\"\n").unwrap(),
            ["xfs"]
        );
        assert!(modules_of("this is [not toml").is_err());
        assert!(modules_of("[modules]\nload = 3\n").is_err());
    }
}
