//! From an initramfs to the real root (corral.toml `[root]`): mount it,
//! move the API filesystems over, empty the initramfs (it is RAM), make
//! the new root `/` and exec the init there.

use std::convert::Infallible;
use std::ffi::CString;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::mount::{mount, MsFlags};
use nix::sys::statfs::{FsType, TMPFS_MAGIC};

use super::mounts;
use crate::config::system::RootConfig;

const NEW_ROOT: &str = "/sysroot";
/// The initramfs's rootfs when it is a ramfs (nix has no name for it).
const RAMFS_MAGIC: FsType = FsType(0x8584_58f6);

/// Whether we are PID 1 on an initramfs (rootfs is a ramfs or tmpfs).
pub fn on_initramfs() -> bool {
    let Ok(st) = nix::sys::statfs::statfs("/") else {
        return false;
    };
    let fs = st.filesystem_type();
    std::process::id() == 1 && (fs == RAMFS_MAGIC || fs == TMPFS_MAGIC)
}

/// Switches to the root described by `cfg`; returns only on failure.
pub fn switch(cfg: &RootConfig) -> Result<Infallible, String> {
    wait_for(&cfg.device, Duration::from_secs(cfg.wait_secs));
    fs::create_dir_all(NEW_ROOT).map_err(|e| format!("mkdir {NEW_ROOT}: {e}"))?;
    mounts::mount_disk(&cfg.device, NEW_ROOT, &cfg.fstype, &cfg.options)?;
    let init = Path::new(NEW_ROOT).join(cfg.init.strip_prefix("/").unwrap_or(&cfg.init));
    if !init.exists() {
        return Err(format!("{} is not on {}", cfg.init.display(), cfg.device));
    }
    for m in ["/dev", "/proc", "/sys", "/run"] {
        if mounts::is_mount_point(m) {
            let target = format!("{NEW_ROOT}{m}");
            let _ = fs::create_dir_all(&target);
            mount(
                Some(m),
                target.as_str(),
                None::<&str>,
                MsFlags::MS_MOVE,
                None::<&str>,
            )
            .map_err(|e| format!("move {m} to {target}: {e}"))?;
        }
    }
    let root_dev = fs::symlink_metadata("/").map(|m| m.dev()).unwrap_or(0);
    delete_contents(Path::new("/"), root_dev);
    enter_new_root()?;
    exec_init(&cfg.init)
}

/// Waits up to `limit` for a device path to appear (drivers may be late).
pub(super) fn wait_for(device: &str, limit: Duration) {
    if !device.starts_with("/dev/") {
        return;
    }
    let end = Instant::now() + limit;
    while !Path::new(device).exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Removes everything under `dir` on device `dev`, never descending into
/// another filesystem (the new root, moved mounts).
fn delete_contents(dir: &Path, dev: u64) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.dev() != dev {
            continue;
        }
        if meta.is_dir() {
            delete_contents(&path, dev);
            let _ = fs::remove_dir(&path);
        } else {
            let _ = fs::remove_file(&path);
        }
    }
}

fn enter_new_root() -> Result<(), String> {
    nix::unistd::chdir(NEW_ROOT).map_err(|e| format!("chdir {NEW_ROOT}: {e}"))?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
        .map_err(|e| format!("move {NEW_ROOT} to /: {e}"))?;
    nix::unistd::chroot(".").map_err(|e| format!("chroot: {e}"))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir /: {e}"))
}

fn exec_init(init: &Path) -> Result<Infallible, String> {
    let path = CString::new(init.as_os_str().as_encoded_bytes())
        .map_err(|_| format!("{}: NUL in path", init.display()))?;
    let argv = [c"init"];
    nix::unistd::execv(&path, &argv).map_err(|e| format!("exec {}: {e}", init.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_contents_empties_the_tree() {
        let d = std::env::temp_dir().join(format!("corral-switch-{}", std::process::id()));
        fs::create_dir_all(d.join("a/b/c")).unwrap();
        fs::write(d.join("a/b/file"), "x").unwrap();
        fs::write(d.join("top"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", d.join("link")).unwrap();
        let dev = fs::metadata(&d).unwrap().dev();
        delete_contents(&d, dev);
        assert_eq!(fs::read_dir(&d).unwrap().count(), 0);
        assert!(Path::new("/etc").exists(), "symlinks are not followed");
        fs::remove_dir(&d).unwrap();
    }

    #[test]
    fn other_filesystems_are_left_alone() {
        let d = std::env::temp_dir().join(format!("corral-switch2-{}", std::process::id()));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("keep"), "x").unwrap();
        delete_contents(&d, u64::MAX);
        assert!(d.join("keep").exists());
        fs::remove_dir_all(&d).unwrap();
    }
}
