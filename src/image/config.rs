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

/// `[modules] load` of a user's corral.toml; `Err` (a one-line reason)
/// when the file is not TOML or the key has the wrong shape.
pub fn modules_of(text: &str) -> Result<Vec<String>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().replace('\n', " "))?;
    let Some(modules) = table.get("modules") else {
        return Ok(Vec::new());
    };
    let Some(load) = modules.get("load") else {
        return Ok(Vec::new());
    };
    load.as_array()
        .ok_or("[modules] load is not an array")?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| "[modules] load holds a non-string".to_owned())
        })
        .collect()
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
        assert!(modules_of("this is [not toml").is_err());
        assert!(modules_of("[modules]\nload = 3\n").is_err());
    }
}
