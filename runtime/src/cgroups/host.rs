//! The host's cgroup hierarchies, found once per mount table and reused.
//!
//! Parsing the mount table and reading cgroup2's cgroup.controllers cost
//! more than the rest of [`Cgroup::resolve`]; they are redone only when
//! the process's mount table changed (see `crate::mounttable`, which also
//! covers forks and mount namespace changes). The process's own cgroups
//! are not cached (/proc/self/cgroup is read by every resolve): PID 1
//! moves itself into a leaf on cgroup v2.
//!
//! [`Cgroup::resolve`]: super::Cgroup::resolve

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use super::mountinfo::{self, CgroupMountInfo};
use super::{fs, Layout, Version};
use crate::error::Result;
use crate::mounttable;

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostMount {
    pub mount: CgroupMountInfo,
    /// v1: the hierarchy's controllers (or `name=systemd`); cgroup2: the
    /// controllers its mounted root offers (cgroup.controllers).
    pub controllers: Vec<String>,
}

/// The cgroup hierarchies mounted in this process's mount namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostMounts {
    pub layout: Layout,
    pub mounts: Vec<HostMount>,
}

impl HostMounts {
    /// From mountinfo `text`; cgroup2 controllers are read from the mount.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let (layout, found) = mountinfo::mounted(text)?;
        let mounts = found
            .into_iter()
            .map(|mount| {
                let controllers = match mount.version {
                    Version::V1 => mount.controllers.clone(),
                    Version::V2 => fs::read_opt(&mount.mount_point, "cgroup.controllers")
                        .map(|t| t.split_whitespace().map(str::to_string).collect())
                        .unwrap_or_default(),
                };
                HostMount { mount, controllers }
            })
            .collect();
        Ok(HostMounts { layout, mounts })
    }
}

/// The hierarchies and the mount table generation they come from.
static CACHE: Mutex<Option<(u64, Arc<HostMounts>)>> = Mutex::new(None);

/// The hierarchies of the current mount table.
pub(crate) fn current() -> Result<Arc<HostMounts>> {
    let table = mounttable::current()
        .map_err(|e| fs::err(Path::new("/proc/self/mountinfo"), format!("read: {e}")))?;
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((generation, mounts)) = cache.as_ref() {
        if *generation == table.generation {
            return Ok(Arc::clone(mounts));
        }
    }
    let mounts = Arc::new(HostMounts::parse(&table.text)?);
    *cache = Some((table.generation, Arc::clone(&mounts)));
    Ok(mounts)
}

/// Drops what is cached, so the next resolve reads everything again.
pub(crate) fn forget() {
    *CACHE.lock().unwrap_or_else(PoisonError::into_inner) = None;
    mounttable::forget();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hierarchies_follow_the_mount_table() {
        let Ok(first) = current() else {
            return; // no cgroup mounted where the tests run
        };
        let again = current().unwrap();
        assert_eq!(*first, *again);
        forget();
        let fresh = current().unwrap();
        assert!(!Arc::ptr_eq(&first, &fresh), "forget drops the cache");
        assert_eq!(*first, *fresh);
    }
}
