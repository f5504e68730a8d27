//! `rootfs.toml`: how a bundle's root filesystem is assembled from the
//! Debian packages installed on the build host. Unknown keys are errors.
//!
//! ```toml
//! packages = ["busybox-static"]            # must be installed on the build host
//! files = ["/bin/busybox", { from = "/usr/sbin/xtables-nft-multi", to = "/usr/sbin/iptables" }]
//! dirs = ["/usr/lib/x86_64-linux-gnu/xtables"]   # copied recursively
//! busybox = ["sh", "syslogd"]              # applet links to /bin/busybox
//! mkdir = ["/var/lib/chrony"]              # empty directories
//! modules = ["overlay"]                    # kernel modules the service needs
//! [symlinks]
//! "/etc/resolv.conf" = "/run/network/resolv.conf"
//! ```
//! ELF files bring their shared-library closure (ldd); the bundle's
//! `files/` folder, when present, is copied over the result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Error;

/// One parsed rootfs.toml.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Recipe {
    pub packages: Vec<String>,
    pub files: Vec<Copy>,
    pub dirs: Vec<Copy>,
    pub busybox: Vec<String>,
    pub mkdir: Vec<PathBuf>,
    pub modules: Vec<String>,
    pub symlinks: BTreeMap<PathBuf, String>,
}

/// A host path copied to the same path, or to another.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Copy {
    Same(PathBuf),
    Moved { from: PathBuf, to: PathBuf },
}

impl Copy {
    pub fn from(&self) -> &Path {
        match self {
            Copy::Same(p) | Copy::Moved { from: p, .. } => p,
        }
    }

    pub fn to(&self) -> &Path {
        match self {
            Copy::Same(p) | Copy::Moved { to: p, .. } => p,
        }
    }
}

impl Recipe {
    /// Parses `text` read from `file`; errors are `FILE:LINE: message`.
    pub fn parse(file: &Path, text: &str) -> Result<Self, Error> {
        let recipe: Recipe = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| {
                text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1
            });
            let msg = e.message().replace('\n', " ");
            Error::Invalid(
                file.to_path_buf(),
                match line {
                    Some(l) => format!("line {l}: {msg}"),
                    None => msg,
                },
            )
        })?;
        recipe
            .check()
            .map_err(|m| Error::Invalid(file.to_path_buf(), m))?;
        Ok(recipe)
    }

    fn check(&self) -> Result<(), String> {
        let paths = self
            .files
            .iter()
            .chain(&self.dirs)
            .flat_map(|c| [c.from(), c.to()])
            .chain(self.mkdir.iter().map(PathBuf::as_path))
            .chain(self.symlinks.keys().map(PathBuf::as_path));
        for p in paths {
            if !p.is_absolute() {
                return Err(format!("{}: paths must be absolute", p.display()));
            }
        }
        if !self.busybox.is_empty()
            && !self
                .files
                .iter()
                .any(|c| c.to() == Path::new("/bin/busybox"))
        {
            return Err("busybox applets need \"/bin/busybox\" in files".into());
        }
        Ok(())
    }
}

/// Packages of `names` that dpkg does not list as installed.
pub fn missing_packages(names: &[String]) -> Vec<String> {
    names.iter().filter(|n| !installed(n)).cloned().collect()
}

fn installed(name: &str) -> bool {
    std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", name])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout == b"installed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let text = r#"
packages = ["busybox-static"]
files = ["/bin/busybox", { from = "/usr/sbin/xtables-nft-multi", to = "/usr/sbin/iptables" }]
dirs = ["/usr/lib/x86_64-linux-gnu/xtables"]
busybox = ["sh", "syslogd"]
mkdir = ["/var/lib/chrony"]
modules = ["overlay"]
[symlinks]
"/etc/resolv.conf" = "/run/network/resolv.conf"
"#;
        let r = Recipe::parse(Path::new("r.toml"), text).unwrap();
        assert_eq!(r.files.len(), 2);
        assert_eq!(r.files[1].from(), Path::new("/usr/sbin/xtables-nft-multi"));
        assert_eq!(r.files[1].to(), Path::new("/usr/sbin/iptables"));
        assert_eq!(r.busybox, ["sh", "syslogd"]);
        assert_eq!(
            r.symlinks[Path::new("/etc/resolv.conf")],
            "/run/network/resolv.conf"
        );
    }

    #[test]
    fn bad_recipes_name_the_file_and_line() {
        for (text, want) in [
            (
                "packages = [\"a\"]\nfilez = []\n",
                "r.toml: line 2: unknown field `filez`",
            ),
            ("files = [\"bin/sh\"]\n", "bin/sh: paths must be absolute"),
            ("busybox = [\"sh\"]\n", "need \"/bin/busybox\""),
            ("files = [3]\n", "r.toml: line 1"),
        ] {
            let e = Recipe::parse(Path::new("r.toml"), text)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn package_check_uses_dpkg() {
        let missing = missing_packages(&["surely-not-a-package-corral".into()]);
        assert_eq!(missing, ["surely-not-a-package-corral"]);
    }
}
