//! process.user (uid, gid, additionalGids, umask) and the user namespace id
//! maps the parent writes for the child.

use std::fs;

use oci_spec::runtime::{Linux, LinuxIdMapping, User};

use crate::error::{Error, Result};
use crate::syscall::{SysResult, Syscalls};

/// The identity the container process takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPlan {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
    pub umask: Option<libc::mode_t>,
}

impl UserPlan {
    pub fn prepare(user: &User) -> Self {
        UserPlan {
            uid: user.uid(),
            gid: user.gid(),
            groups: user.additional_gids().clone().unwrap_or_default(),
            umask: user.umask(),
        }
    }
}

/// Which step of the identity change failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdStep {
    Groups,
    Gid,
    Uid,
}

/// Child side: supplementary groups, gid, uid (keeping capabilities across
/// the uid change so the caller can set them next).
pub fn switch<S: Syscalls>(
    sys: &S,
    plan: &UserPlan,
    can_setgroups: bool,
) -> Result<(), (IdStep, nix::errno::Errno)> {
    sys.prctl(libc::PR_SET_KEEPCAPS, 1, 0)
        .map_err(|e| (IdStep::Uid, e))?;
    if can_setgroups {
        sys.setgroups(&plan.groups)
            .map_err(|e| (IdStep::Groups, e))?;
    }
    sys.setresgid(plan.gid).map_err(|e| (IdStep::Gid, e))?;
    sys.setresuid(plan.uid).map_err(|e| (IdStep::Uid, e))?;
    Ok(())
}

/// Child side: applies the umask if one is configured.
pub fn apply_umask<S: Syscalls>(sys: &S, plan: &UserPlan) -> SysResult<()> {
    if let Some(m) = plan.umask {
        sys.umask(m & 0o777);
    }
    Ok(())
}

/// Parent side: writes uid_map and gid_map of the child `pid`.
pub fn write_id_maps(pid: i32, linux: &Linux) -> Result<()> {
    let uid = format_map(linux.uid_mappings().as_deref().unwrap_or_default());
    let gid = format_map(linux.gid_mappings().as_deref().unwrap_or_default());
    let write = |name: &str, text: &str| {
        let path = format!("/proc/{pid}/{name}");
        fs::write(&path, text).map_err(|e| Error::io(format!("write {path}"), e))
    };
    write("uid_map", &uid)?;
    if !nix::unistd::geteuid().is_root() {
        // user_namespaces(7): without CAP_SETGID in the parent namespace,
        // a gid map may only be written once setgroups is denied.
        write("setgroups", "deny")?;
    }
    write("gid_map", &gid)
}

fn format_map(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Maps a container uid to the host through `maps` (for chown of devices
/// and ptys made by the parent).
pub fn to_host(id: u32, maps: &[LinuxIdMapping]) -> Option<u32> {
    maps.iter().find_map(|m| {
        let offset = id.checked_sub(m.container_id())?;
        (offset < m.size()).then(|| m.host_id() + offset)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recorder::Recorder;
    use oci_spec::runtime::LinuxIdMappingBuilder;

    fn map(c: u32, h: u32, n: u32) -> LinuxIdMapping {
        LinuxIdMappingBuilder::default()
            .container_id(c)
            .host_id(h)
            .size(n)
            .build()
            .unwrap()
    }

    #[test]
    fn formats_maps_one_per_line() {
        assert_eq!(
            format_map(&[map(0, 1000, 1), map(1, 100000, 65536)]),
            "0 1000 1\n1 100000 65536\n"
        );
    }

    #[test]
    fn maps_ids_to_host() {
        let maps = [map(0, 100000, 65536)];
        assert_eq!(to_host(0, &maps), Some(100000));
        assert_eq!(to_host(70000, &maps), None);
    }

    #[test]
    fn groups_then_gid_then_uid() {
        let sys = Recorder::default();
        let plan = UserPlan {
            uid: 1000,
            gid: 100,
            groups: vec![10, 20],
            umask: None,
        };
        switch(&sys, &plan, true).unwrap();
        let l = sys.lines();
        assert_eq!(
            &l[1..],
            ["setgroups [10, 20]", "setresgid 100", "setresuid 1000"]
        );
    }
}
