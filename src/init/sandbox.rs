//! Sandbox mode, inside the fresh namespaces `corral boot` made: the
//! prepared root becomes `/`, with the host's /dev and /sys bound in and
//! nothing propagating back to the host.

use std::fs;
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

/// Makes `root` our `/`.
pub fn enter(root: &Path) -> Result<(), String> {
    let none = None::<&str>;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .map_err(|e| format!("make / private: {e}"))?;
    for d in ["proc", "sys", "dev", "run", "tmp"] {
        fs::create_dir_all(root.join(d))
            .map_err(|e| format!("mkdir {}: {e}", root.join(d).display()))?;
    }
    let rbind = MsFlags::MS_BIND | MsFlags::MS_REC;
    mount(Some(root), root, none, rbind, none)
        .map_err(|e| format!("bind {}: {e}", root.display()))?;
    for d in ["dev", "sys"] {
        let host = format!("/{d}");
        mount(Some(host.as_str()), &root.join(d), none, rbind, none)
            .map_err(|e| format!("bind {host} into the sandbox: {e}"))?;
    }
    nix::unistd::chdir(root).map_err(|e| format!("chdir {}: {e}", root.display()))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| format!("pivot_root: {e}"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("detach the host root: {e}"))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir /: {e}"))
}
