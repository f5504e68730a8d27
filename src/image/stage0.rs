//! Stage 0: the image's /init when it boots from an initramfs.
//!
//! The kernel unpacks an initramfs into rootfs, the one mount that has no
//! parent; pivot_root(2) refuses to move a process off it, so no
//! container could pivot_root into its bundle. As LinuxKit does, stage 0
//! copies the image into a tmpfs (hard links kept, so shared binaries
//! stay shared), empties the initramfs and switch_roots to the copy,
//! running corral as /sbin/init there. Before the switch it loads the
//! SELinux policy (one write) and labels the copy's files from the
//! policy's file_contexts (relabel.rs): the kernel labels tmpfs files by
//! filesystem, not by path. PID 1 then loads the policy again as usual
//! (a reload of the same policy keeps the labels) and sets enforcing. It is a few lines of busybox
//! (the same busybox the bundles carry, so it costs nothing) ahead of
//! PID 1, and goes away once the init moves off an initramfs itself.

use std::path::Path;

use super::tree::Tree;
use super::Error;

/// Where stage 0 finds busybox in the image.
pub const BUSYBOX: &str = "/usr/lib/corral/busybox";
/// The tmpfs the image is copied into.
pub const NEW_ROOT: &str = "/.corral-root";

/// The /init script.
pub fn script() -> String {
    format!(
        r#"#!{BUSYBOX} sh
# corral stage 0 (src/image/stage0.rs): copy the initramfs to a tmpfs so
# that containers can pivot_root, label its files once the SELinux policy
# is loaded, then run corral as PID 1 there.
bb={BUSYBOX}
new={NEW_ROOT}
selinux=/usr/lib/corral/selinux
if $bb mount -t tmpfs -o mode=0755,size=90% corral-root $new; then
    for e in /* /.[!.]*; do
        [ "$e" = "$new" ] || [ ! -e "$e" ] || $bb cp -a "$e" $new/ || break
    done
    if [ -f $new$selinux/policy ] &&
        $bb mount -t sysfs -o nosuid,nodev,noexec sysfs $new/sys &&
        $bb mount -t selinuxfs -o nosuid,noexec selinuxfs $new/sys/fs/selinux 2>/dev/null; then
        $bb dd if=$new$selinux/policy of=$new/sys/fs/selinux/load bs=64M 2>/dev/null &&
            $new/usr/bin/corral image relabel --root $new --contexts $new$selinux/file_contexts
    fi
    exec $bb switch_root $new /sbin/init
    echo "corral stage 0: switch_root failed; staying on the initramfs" >&2
else
    echo "corral stage 0: no tmpfs; staying on the initramfs" >&2
fi
exec /sbin/init
"#
    )
}

/// Adds busybox, the mount point and the /init script to `tree`.
pub fn add(tree: &mut Tree) -> Result<(), Error> {
    let host = Path::new("/bin/busybox");
    if !host.is_file() {
        return Err(Error::Invalid(
            host.to_path_buf(),
            "missing: stage 0 needs busybox-static (apt-get install busybox-static)".into(),
        ));
    }
    tree.host_file(Path::new(BUSYBOX), host, 0o755)?;
    tree.dir(Path::new(NEW_ROOT))?;
    tree.bytes(Path::new("/init"), script().into_bytes(), 0o755)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_switches_to_sbin_init() {
        let s = script();
        assert!(s.starts_with("#!/usr/lib/corral/busybox sh\n"));
        assert!(s.contains("switch_root $new /sbin/init"));
        let mut t = Tree::new();
        if Path::new("/bin/busybox").is_file() {
            add(&mut t).unwrap();
            assert!(t.contains(Path::new("/init")));
            assert!(t.contains(Path::new(NEW_ROOT)));
        }
    }
}
