//! linux.resources.network → net_cls.classid and net_prio.ifpriomap
//! (cgroup v1 only: cgroup v2 has neither controller).

use std::path::Path;

use cgroups_rs::net_cls::NetClsController;
use cgroups_rs::net_prio::NetPrioController;
use oci_spec::runtime::LinuxNetwork;

use super::fs;
use crate::error::{Error, Result};

/// Checks interface names.
pub(crate) fn validate(n: &LinuxNetwork, file: &Path) -> Result<()> {
    for (i, p) in n.priorities().iter().flatten().enumerate() {
        let name = p.name();
        if name.is_empty()
            || name.len() > 15
            || name.contains(|c: char| c.is_whitespace() || c == '/')
        {
            return Err(Error::spec(
                file,
                format!("/linux/resources/network/priorities/{i}/name"),
                format!("{name:?} is not an interface name"),
            ));
        }
    }
    Ok(())
}

/// Writes the class id to the net_cls cgroup `dir`.
pub(crate) fn apply_class(dir: &Path, class_id: u32) -> Result<()> {
    fs::require(dir, "net_cls.classid", "net_cls controller")?;
    NetClsController::new(dir.to_path_buf())
        .set_class(class_id.into())
        .map_err(fs::rs_err(dir, "net_cls.classid", class_id))
}

/// Writes the interface priorities to the net_prio cgroup `dir`.
pub(crate) fn apply_priorities(dir: &Path, n: &LinuxNetwork) -> Result<()> {
    let ctl = NetPrioController::new(dir.to_path_buf());
    for p in n.priorities().iter().flatten() {
        fs::require(dir, "net_prio.ifpriomap", "net_prio controller")?;
        ctl.set_if_prio(p.name(), p.priority().into())
            .map_err(fs::rs_err(
                dir,
                "net_prio.ifpriomap",
                format!("{} {}", p.name(), p.priority()),
            ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fs::testdir::{content, TestDir};
    use super::*;
    use oci_spec::runtime::{LinuxInterfacePriorityBuilder, LinuxNetworkBuilder};

    #[test]
    fn class_and_priorities() {
        let t = TestDir::new("net");
        let d = t.cgroup("c", &["net_cls.classid", "net_prio.ifpriomap"]);
        apply_class(&d, 0x100001).unwrap();
        // cgroups-rs writes hex; the kernel parses it with base 0.
        assert_eq!(content(&d, "net_cls.classid"), "0x100001");
        let p = LinuxInterfacePriorityBuilder::default()
            .name("eth0")
            .priority(5u32)
            .build()
            .unwrap();
        let n = LinuxNetworkBuilder::default()
            .priorities(vec![p])
            .build()
            .unwrap();
        validate(&n, Path::new("/c.json")).unwrap();
        apply_priorities(&d, &n).unwrap();
        assert_eq!(content(&d, "net_prio.ifpriomap"), "eth0 5");
        let bad = LinuxInterfacePriorityBuilder::default()
            .name("a b")
            .priority(1u32)
            .build()
            .unwrap();
        let n = LinuxNetworkBuilder::default()
            .priorities(vec![bad])
            .build()
            .unwrap();
        let e = validate(&n, Path::new("/c.json")).unwrap_err().to_string();
        assert!(
            e.contains("/linux/resources/network/priorities/0/name"),
            "{e}"
        );
    }
}
