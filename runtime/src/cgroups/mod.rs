//! The container's cgroup: where it lives in every mounted hierarchy (v1,
//! hybrid or pure cgroup v2), creating and joining it, applying
//! linux.resources, freezing, statistics and removal.
//!
//! [`Cgroup::resolve`] only computes paths from /proc/self/mountinfo and
//! /proc/self/cgroup; the result is what state.json records, so every
//! later verb works on exactly the directories create made. Resource
//! files are written through cgroups-rs's controller types constructed on
//! the container's directory; hierarchy discovery, paths, mkdir, join and
//! removal are done here (cgroups-rs's own hierarchy code assumes
//! /sys/fs/cgroup and panics on errors).

mod apply;
mod blkio;
mod bpf;
mod cpu;
mod create;
mod destroy;
mod devices;
mod devices_bpf;
mod devices_emulator;
mod freezer;
mod fs;
mod host;
mod hugetlb;
mod memory;
mod mountinfo;
mod network;
mod normalize;
mod path;
mod pids;
mod rdma;
mod stats;
mod unified;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::error::Result;

pub use devices::{default_device_rules, merged_device_rules};
pub use stats::{
    Blkio, BlkioEntry, Cpu, CpuUsage, Hugetlb, Memory, MemoryEntry, Pids, Stats, Throttling,
};

/// How the cgroup hierarchies of the host are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// cgroup v1 controllers only.
    V1,
    /// v1 controllers plus a cgroup2 hierarchy (systemd's hybrid mode).
    Hybrid,
    /// Pure cgroup v2.
    Unified,
}

/// A hierarchy's cgroup version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Version {
    V1,
    V2,
}

/// The container's place in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Hierarchy {
    version: Version,
    mount_point: PathBuf,
    /// v1: the hierarchy's controllers, or `name=systemd`; v2: the
    /// controllers its root offers (cgroup.controllers).
    controllers: Vec<String>,
    /// The container's directory.
    dir: PathBuf,
}

impl Hierarchy {
    /// Whether `dir` lies strictly below the mount point with plain
    /// components only. [`Cgroup::resolve`] guarantees it; killing and
    /// removal check it again in case a state file was edited, so that they
    /// can never reach a hierarchy root or anything outside it.
    pub(crate) fn is_contained(&self) -> bool {
        self.dir.strip_prefix(&self.mount_point).is_ok_and(|rel| {
            !rel.as_os_str().is_empty()
                && rel
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)))
        })
    }
}

/// The container's cgroup in every hierarchy, as recorded in state.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cgroup {
    layout: Layout,
    hierarchies: Vec<Hierarchy>,
}

/// What a `cgroup` mount inside the container shows: one entry per hierarchy.
#[derive(Debug, Clone, PartialEq)]
pub struct CgroupMount {
    /// Subdirectory under the container's cgroup mount destination: "" for
    /// pure v2, else e.g. "memory", "cpu", "systemd", "unified".
    pub subdir: String,
    /// "cgroup" or "cgroup2".
    pub fstype: &'static str,
    /// Mount data for a fresh mount in a cgroup namespace: the v1
    /// controller list ("memory", "cpu,cpuacct", "none,name=systemd"), ""
    /// for cgroup2.
    pub data: String,
    /// The container's directory in this hierarchy on the host, to
    /// bind-mount when there is no cgroup namespace.
    pub host_dir: PathBuf,
}

/// A controller's directory for the container.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctl<'a> {
    pub dir: &'a Path,
    pub v2: bool,
}

/// The cgroup v2 name of v1 controller `c`.
pub(crate) fn v2_name(c: &str) -> &str {
    match c {
        "blkio" => "io",
        "cpuacct" => "cpu",
        other => other,
    }
}

/// v1 controllers without a cgroup v2 controller file interface.
const V1_ONLY: [&str; 5] = ["devices", "freezer", "net_cls", "net_prio", "perf_event"];

impl Cgroup {
    /// Resolves linux.cgroupsPath against the running system's layout
    /// (/proc/self/mountinfo and /proc/self/cgroup). An absolute path is
    /// taken from each hierarchy's root, a relative one from the calling
    /// process's own cgroup there; `None` or empty means the relative path
    /// `<id>`. A path escaping its base is an error at /linux/cgroupsPath
    /// of `file`. Changes nothing on the system. The mounts are cached per
    /// process while they stay the same (see `host`); the own cgroup is
    /// read every time.
    pub fn resolve(cgroups_path: Option<&Path>, id: &str, file: &Path) -> Result<Cgroup> {
        let requested = path::requested(cgroups_path, id, file)?;
        let host = host::current()?;
        let own = Path::new("/proc/self/cgroup");
        let own = crate::smallfile::read_to_string(own)
            .map_err(|e| fs::err(own, format!("read: {e}")))?;
        Self::resolve_in(&host, &own, &requested, file)
    }

    /// [`Cgroup::resolve`] with the two /proc files' contents given.
    #[cfg(test)]
    pub(crate) fn resolve_from(
        mountinfo: &str,
        proc_cgroup: &str,
        cgroups_path: Option<&Path>,
        id: &str,
        file: &Path,
    ) -> Result<Cgroup> {
        let requested = path::requested(cgroups_path, id, file)?;
        let host = host::HostMounts::parse(mountinfo)?;
        Self::resolve_in(&host, proc_cgroup, &requested, file)
    }

    /// The container's directories for `requested` in the mounted
    /// hierarchies `host`, the caller being in the cgroups `proc_cgroup`.
    fn resolve_in(
        host: &host::HostMounts,
        proc_cgroup: &str,
        requested: &path::Requested,
        file: &Path,
    ) -> Result<Cgroup> {
        let members = mountinfo::parse_proc_cgroup(proc_cgroup);
        let hierarchies = host
            .mounts
            .iter()
            .map(|m| {
                let own = mountinfo::own_cgroup(&m.mount, &members);
                let dir = requested.dir(
                    &m.mount.mount_point,
                    own.as_deref().map_err(String::as_str),
                    file,
                )?;
                Ok(Hierarchy {
                    version: m.mount.version,
                    mount_point: m.mount.mount_point.clone(),
                    controllers: m.controllers.clone(),
                    dir,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Cgroup {
            layout: host.layout,
            hierarchies,
        })
    }

    /// Drops the host layout cached by [`Cgroup::resolve`]. Mount changes
    /// are noticed without it; it is for a cgroup2 mount whose available
    /// controllers changed (cgroup.controllers) while mounted.
    pub fn forget_host_layout() {
        host::forget();
    }

    /// Which layout this is.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The cgroup2 hierarchy, if one is mounted.
    pub(crate) fn v2_hierarchy(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.version == Version::V2)
    }

    /// Where v1 controller name `c` ("memory", "blkio"...) is handled: its
    /// v1 hierarchy, else the cgroup2 hierarchy when that offers it.
    pub(crate) fn controller(&self, c: &str) -> Option<Ctl<'_>> {
        if let Some(h) = self
            .hierarchies
            .iter()
            .find(|h| h.version == Version::V1 && h.controllers.iter().any(|x| x == c))
        {
            return Some(Ctl {
                dir: &h.dir,
                v2: false,
            });
        }
        if V1_ONLY.contains(&c) {
            return None;
        }
        let name = v2_name(c);
        self.v2_hierarchy()
            .filter(|h| h.controllers.iter().any(|x| x == name))
            .map(|h| Ctl {
                dir: &h.dir,
                v2: true,
            })
    }

    /// The mounted controllers, for messages.
    pub(crate) fn describe(&self) -> String {
        let mut v1: Vec<&str> = self
            .hierarchies
            .iter()
            .filter(|h| h.version == Version::V1)
            .flat_map(|h| h.controllers.iter().map(String::as_str))
            .filter(|c| !c.starts_with("name="))
            .collect();
        v1.sort_unstable();
        let mut parts = Vec::new();
        if !v1.is_empty() {
            parts.push(format!("v1: {}", v1.join(" ")));
        }
        if let Some(h) = self.v2_hierarchy() {
            parts.push(format!("cgroup2: {}", h.controllers.join(" ")));
        }
        parts.join("; ")
    }

    /// Creates the directories in every hierarchy and applies `resources`
    /// (device rules always: the defaults plus linux.resources.devices).
    /// Values are checked before anything is made; on any later error what
    /// was made is removed again.
    pub fn create(&self, resources: Option<&LinuxResources>, file: &Path) -> Result<()> {
        let normalized = resources.map(normalize::normalize);
        let resources = normalized.as_ref();
        if let Some(res) = resources {
            apply::check(self, res, file)?;
        }
        let v2_needed = apply::v2_controllers(self, resources);
        let mut created = Vec::new();
        let result = create::make_dirs(self, &v2_needed, &mut created)
            .and_then(|()| apply::apply(self, resources, file, false));
        if let Err(e) = result {
            create::rollback(&created);
            return Err(e);
        }
        Ok(())
    }

    /// Moves `pid` into the cgroup in every hierarchy (cgroup.procs).
    pub fn join(&self, pid: i32) -> Result<()> {
        for h in &self.hierarchies {
            fs::write(&h.dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// The cgroup2 directory when the layout is pure v2, for clone3's
    /// CLONE_INTO_CGROUP.
    pub fn unified_dir(&self) -> Option<PathBuf> {
        if self.layout != Layout::Unified {
            return None;
        }
        self.v2_hierarchy().map(|h| h.dir.clone())
    }

    /// The hierarchy whose cgroup.procs is the most telling: cgroup2 on a
    /// pure v2 layout, else pids, memory, freezer, or the first one.
    fn procs_hierarchy(&self) -> Option<&Path> {
        if let Some(d) = self.unified_dir() {
            return self
                .hierarchies
                .iter()
                .find(|h| h.dir == d)
                .map(|h| h.dir.as_path());
        }
        for c in ["pids", "memory", "freezer"] {
            if let Some(h) = self
                .hierarchies
                .iter()
                .find(|h| h.version == Version::V1 && h.controllers.iter().any(|x| x == c))
            {
                return Some(&h.dir);
            }
        }
        self.hierarchies.first().map(|h| h.dir.as_path())
    }

    /// PIDs in the cgroup, sub-cgroups included.
    pub fn procs(&self) -> Result<Vec<i32>> {
        let dir = self.procs_hierarchy().ok_or_else(|| {
            fs::err(
                Path::new("/sys/fs/cgroup"),
                "no hierarchy recorded for this cgroup",
            )
        })?;
        // The directory itself must be readable; sub-cgroups may vanish meanwhile.
        fs::read(dir, "cgroup.procs")?;
        Ok(fs::procs_recursive(dir))
    }

    /// Freezes every process and waits until the kernel reports it frozen.
    pub fn freeze(&self) -> Result<()> {
        freezer::freeze(self)
    }

    /// Thaws every process.
    pub fn thaw(&self) -> Result<()> {
        freezer::thaw(self)
    }

    /// Whether the cgroup is completely frozen.
    pub fn is_frozen(&self) -> bool {
        freezer::is_frozen(self)
    }

    /// `corral update`: applies new resources to the live cgroup. Only the
    /// sections present in `resources` are touched (device rules, when
    /// given, are merged with the defaults as at create).
    pub fn update(&self, resources: &LinuxResources, file: &Path) -> Result<()> {
        if let Some(h) = self.hierarchies.iter().find(|h| !h.dir.is_dir()) {
            return Err(fs::err(&h.dir, "the cgroup does not exist"));
        }
        let normalized = normalize::normalize(resources);
        let resources = &normalized;
        apply::check(self, resources, file)?;
        let v2_needed = apply::v2_controllers(self, Some(resources));
        if !v2_needed.is_empty() {
            // Controllers a new section needs may not be enabled yet.
            let mut created = Vec::new();
            create::make_dirs(self, &v2_needed, &mut created)?;
        }
        apply::apply(self, Some(resources), file, true)
    }

    /// Usage numbers for `corral events --stats`.
    pub fn stats(&self) -> Result<Stats> {
        if !self.hierarchies.iter().any(|h| h.dir.is_dir()) {
            let dir = self
                .hierarchies
                .first()
                .map(|h| h.dir.as_path())
                .unwrap_or(Path::new("/sys/fs/cgroup"));
            return Err(fs::err(dir, "the cgroup does not exist"));
        }
        Ok(stats::collect(self))
    }

    /// OOM kills recorded for this cgroup (0 when unknown).
    pub fn oom_kill_count(&self) -> u64 {
        stats::oom_kills(self)
    }

    /// Kills everything left (frozen, SIGKILL, thawed; cgroup.kill where
    /// available), waits until no process is left (bounded), then removes
    /// the directories in every hierarchy, children before parents.
    /// Idempotent: missing directories are fine.
    pub fn destroy(&self) -> Result<()> {
        destroy::destroy(self)
    }

    /// What a `cgroup` mount inside the container shows: one entry per
    /// hierarchy (on a pure v2 layout only the cgroup2 one).
    pub fn container_mounts(&self) -> Vec<CgroupMount> {
        self.hierarchies
            .iter()
            .filter(|h| self.layout != Layout::Unified || h.version == Version::V2)
            .map(|h| {
                let base = h
                    .mount_point
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                match h.version {
                    Version::V2 => CgroupMount {
                        subdir: if self.layout == Layout::Unified {
                            String::new()
                        } else {
                            base.unwrap_or_else(|| "unified".into())
                        },
                        fstype: "cgroup2",
                        data: String::new(),
                        host_dir: h.dir.clone(),
                    },
                    Version::V1 => {
                        let named = h.controllers.iter().all(|c| c.starts_with("name="));
                        let data = if named {
                            format!("none,{}", h.controllers.join(","))
                        } else {
                            h.controllers.join(",")
                        };
                        let fallback = if named {
                            h.controllers
                                .join(",")
                                .trim_start_matches("name=")
                                .to_string()
                        } else {
                            h.controllers.join(",")
                        };
                        CgroupMount {
                            subdir: base.unwrap_or(fallback),
                            fstype: "cgroup",
                            data,
                            host_dir: h.dir.clone(),
                        }
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
