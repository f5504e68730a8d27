//! Kernel modules for the image: the dependency closure of a list of
//! module names, read from the kernel's modules.dep, and the filtered
//! modules.dep that goes into the image beside the chosen .ko files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::Error;

/// modules.dep parsed: module name → (relative .ko path, dependencies as
/// relative .ko paths); the built-in module names; the soft dependencies
/// loaded before a module (modules.softdep `pre:`) and the aliases that
/// name them (modules.alias).
#[derive(Debug, Default)]
pub struct ModuleDb {
    by_name: BTreeMap<String, (String, Vec<String>)>,
    builtin: BTreeSet<String>,
    soft_pre: BTreeMap<String, Vec<String>>,
    aliases: BTreeMap<String, Vec<String>>,
}

/// `kernel/net/ipv4/netfilter/ipt_REJECT.ko.xz` → `ipt_REJECT`; `-` and `_`
/// are the same in module names, as for modprobe.
pub fn module_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = base.split(".ko").next().unwrap_or(base);
    stem.replace('-', "_")
}

impl ModuleDb {
    /// Reads `DIR/modules.dep` and, when present, `DIR/modules.builtin`.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let dep_path = dir.join("modules.dep");
        let dep = std::fs::read_to_string(&dep_path).map_err(|e| Error::Io(dep_path.clone(), e))?;
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        let mut db = ModuleDb::parse(&dep, &read("modules.builtin"))
            .map_err(|m| Error::Invalid(dep_path, m))?;
        db.add_soft(&read("modules.softdep"), &read("modules.alias"));
        Ok(db)
    }

    /// Adds `softdep MOD pre: A B post: C` lines and `alias NAME MOD` lines.
    pub fn add_soft(&mut self, softdep: &str, alias: &str) {
        for line in softdep.lines() {
            let mut words = line.split_whitespace();
            let (Some("softdep"), Some(module)) = (words.next(), words.next()) else {
                continue;
            };
            let mut pre = Vec::new();
            let mut in_pre = false;
            for w in words {
                match w {
                    "pre:" => in_pre = true,
                    "post:" => in_pre = false,
                    name if in_pre => pre.push(name.replace('-', "_")),
                    _ => {}
                }
            }
            if !pre.is_empty() {
                self.soft_pre.insert(module.replace('-', "_"), pre);
            }
        }
        for line in alias.lines() {
            let mut words = line.split_whitespace();
            if let (Some("alias"), Some(name), Some(module)) =
                (words.next(), words.next(), words.next())
            {
                self.aliases
                    .entry(name.to_owned())
                    .or_default()
                    .push(module.replace('-', "_"));
            }
        }
    }

    /// A module name for `name`: itself when it is a module or built in,
    /// else what its alias names (preferring a `_generic` implementation,
    /// which every CPU can run).
    fn resolve(&self, name: &str) -> Option<String> {
        let key = name.replace('-', "_");
        if self.by_name.contains_key(&key) || self.builtin.contains(&key) {
            return Some(key);
        }
        let candidates = self.aliases.get(name)?;
        candidates
            .iter()
            .find(|m| m.ends_with("_generic"))
            .or_else(|| candidates.first())
            .cloned()
    }

    /// `names` with, just before each, the soft dependencies (`pre:`) of
    /// it and of its hard dependencies: what a loader that only follows
    /// modules.dep must be told to load.
    pub fn load_order(&self, names: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in names {
            let key = name.replace('-', "_");
            let mut chain: Vec<String> = self
                .by_name
                .get(&key)
                .map(|(_, d)| d.iter().map(|p| module_name(p)).collect())
                .unwrap_or_default();
            chain.push(key.clone());
            for m in &chain {
                for pre in self.soft_pre.get(m).into_iter().flatten() {
                    if let Some(r) = self.resolve(pre) {
                        if !out.contains(&r) {
                            out.push(r);
                        }
                    }
                }
            }
            if !out.contains(&key) {
                out.push(key);
            }
        }
        out
    }

    /// Parses modules.dep lines `path: dep dep...` and modules.builtin lines.
    pub fn parse(dep: &str, builtin: &str) -> Result<Self, String> {
        let mut by_name = BTreeMap::new();
        for (n, line) in dep.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (ko, deps) = line
                .split_once(':')
                .ok_or_else(|| format!("line {}: no ':' in {line:?}", n + 1))?;
            let deps = deps.split_whitespace().map(str::to_owned).collect();
            by_name.insert(module_name(ko), (ko.to_owned(), deps));
        }
        let builtin = builtin
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(module_name)
            .collect();
        Ok(ModuleDb {
            by_name,
            builtin,
            ..Default::default()
        })
    }

    /// The .ko paths (relative to the modules dir) that loading `names`
    /// needs, dependencies included. A name that is neither a module nor
    /// built in is an error naming it.
    pub fn closure(&self, names: &[String]) -> Result<BTreeSet<String>, String> {
        let mut out = BTreeSet::new();
        for name in names {
            let key = name.replace('-', "_");
            match self.by_name.get(&key) {
                Some((ko, deps)) => {
                    out.insert(ko.clone());
                    out.extend(deps.iter().cloned());
                }
                None if self.builtin.contains(&key) => {}
                None => return Err(format!("no kernel module named {name:?}")),
            }
        }
        Ok(out)
    }

    /// modules.dep restricted to `kos` (modules.dep already lists each
    /// module's full dependency list, so the restriction stays complete).
    pub fn filtered_dep(&self, kos: &BTreeSet<String>) -> String {
        let mut text = String::new();
        for (ko, deps) in self.by_name.values() {
            if kos.contains(ko) {
                text.push_str(ko);
                text.push(':');
                for d in deps {
                    text.push(' ');
                    text.push_str(d);
                }
                text.push('\n');
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "kernel/fs/overlayfs/overlay.ko:\n\
        kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_ring.ko\n\
        kernel/drivers/virtio/virtio_pci_legacy_dev.ko:\n\
        kernel/drivers/virtio/virtio_ring.ko:\n\
        kernel/net/ipv4/netfilter/ipt_REJECT.ko: kernel/net/ipv4/netfilter/nf_reject_ipv4.ko\n\
        kernel/net/ipv4/netfilter/nf_reject_ipv4.ko:\n\
        kernel/drivers/net/virtio-net.ko.xz: kernel/drivers/virtio/virtio_ring.ko\n";

    #[test]
    fn closure_includes_dependencies() {
        let db = ModuleDb::parse(DEP, "kernel/drivers/virtio/virtio.ko\n").unwrap();
        let c = db
            .closure(&["virtio_pci".into(), "ipt_REJECT".into(), "virtio".into()])
            .unwrap();
        assert_eq!(
            c.into_iter().collect::<Vec<_>>(),
            [
                "kernel/drivers/virtio/virtio_pci.ko",
                "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
                "kernel/drivers/virtio/virtio_ring.ko",
                "kernel/net/ipv4/netfilter/ipt_REJECT.ko",
                "kernel/net/ipv4/netfilter/nf_reject_ipv4.ko",
            ]
        );
    }

    #[test]
    fn names_are_normalized_and_unknown_names_named() {
        let db = ModuleDb::parse(DEP, "").unwrap();
        assert_eq!(
            module_name("kernel/drivers/net/virtio-net.ko.xz"),
            "virtio_net"
        );
        assert_eq!(db.closure(&["virtio-net".into()]).unwrap().len(), 2);
        let e = db.closure(&["nosuchmod".into()]).unwrap_err();
        assert!(e.contains("\"nosuchmod\""), "{e}");
        assert!(ModuleDb::parse("garbage line\n", "").is_err());
    }

    #[test]
    fn soft_dependencies_come_first_through_aliases() {
        let dep = "kernel/lib/libcrc32c.ko:\n\
            kernel/net/netfilter/nf_conntrack.ko: kernel/lib/libcrc32c.ko\n\
            kernel/arch/x86/crypto/crc32c-intel.ko:\n\
            kernel/crypto/crc32c_generic.ko:\n";
        let mut db = ModuleDb::parse(dep, "").unwrap();
        db.add_soft(
            "# comment\nsoftdep libcrc32c pre: crc32c post: nothing\n",
            "alias crc32c crc32c_intel\nalias crc32c crc32c_generic\n",
        );
        assert_eq!(
            db.load_order(&["libcrc32c".into()]),
            ["crc32c_generic", "libcrc32c"]
        );
        assert_eq!(
            db.load_order(&["nf_conntrack".into()]),
            ["crc32c_generic", "nf_conntrack"]
        );
        let kos = db
            .closure(&db.load_order(&["nf_conntrack".into()]))
            .unwrap();
        assert!(kos.contains("kernel/crypto/crc32c_generic.ko"));
    }

    #[test]
    fn filtered_dep_keeps_only_chosen_modules() {
        let db = ModuleDb::parse(DEP, "").unwrap();
        let kos = db.closure(&["ipt_REJECT".into()]).unwrap();
        let text = db.filtered_dep(&kos);
        assert_eq!(
            text,
            "kernel/net/ipv4/netfilter/ipt_REJECT.ko: kernel/net/ipv4/netfilter/nf_reject_ipv4.ko\n\
             kernel/net/ipv4/netfilter/nf_reject_ipv4.ko:\n"
        );
    }
}
