//! config.json `mounts`: options parsed to flags in the parent, then mounted
//! by the child under the rootfs with every destination resolved *inside*
//! the rootfs (`openat2` with `RESOLVE_IN_ROOT`), so a symlink in the image
//! cannot send a mount to the host (the CVE-2021-30465 class).

use std::ffi::{CStr, CString};
use std::os::fd::RawFd;
use std::path::{Component, Path};

use libc::c_ulong;
use nix::errno::Errno;

use crate::procfd::FdPath;
use crate::syscall::{resolve, SysResult, Syscalls};

/// Mount flags and data parsed from an OCI `options` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// MS_* flags to set.
    pub flags: c_ulong,
    /// Propagation changes (MS_SHARED, MS_SLAVE... possibly with MS_REC) in order.
    pub propagation: Vec<c_ulong>,
    /// Filesystem-specific options, joined with commas as mount data.
    pub data: Vec<String>,
    /// mount_setattr attributes to set / clear recursively (rro, rnosuid...).
    pub attr_set: u64,
    pub attr_clr: u64,
    /// Options this runtime refuses (idmap), reported by the caller.
    pub unsupported: Vec<String>,
}

/// Options accepted, for the `features` document.
pub const KNOWN_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "private",
    "rbind",
    "rdev",
    "relatime",
    "remount",
    "rexec",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnosuid",
    "ro",
    "rprivate",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "runbindable",
    "rsuid",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "sync",
    "unbindable",
];

impl MountOptions {
    pub fn parse<S: AsRef<str>>(options: &[S]) -> Self {
        let mut o = MountOptions::default();
        for opt in options {
            o.apply(opt.as_ref());
        }
        o
    }

    fn apply(&mut self, opt: &str) {
        use libc::*;
        let set = |o: &mut Self, f: c_ulong| o.flags |= f;
        let clear = |o: &mut Self, f: c_ulong| o.flags &= !f;
        match opt {
            "defaults" => {}
            "ro" => set(self, MS_RDONLY),
            "rw" => clear(self, MS_RDONLY),
            "nosuid" => set(self, MS_NOSUID),
            "suid" => clear(self, MS_NOSUID),
            "nodev" => set(self, MS_NODEV),
            "dev" => clear(self, MS_NODEV),
            "noexec" => set(self, MS_NOEXEC),
            "exec" => clear(self, MS_NOEXEC),
            "sync" => set(self, MS_SYNCHRONOUS),
            "async" => clear(self, MS_SYNCHRONOUS),
            "dirsync" => set(self, MS_DIRSYNC),
            "remount" => set(self, MS_REMOUNT),
            "mand" => set(self, MS_MANDLOCK),
            "nomand" => clear(self, MS_MANDLOCK),
            "atime" => clear(self, MS_NOATIME),
            "noatime" => set(self, MS_NOATIME),
            "diratime" => clear(self, MS_NODIRATIME),
            "nodiratime" => set(self, MS_NODIRATIME),
            "relatime" => set(self, MS_RELATIME),
            "norelatime" => clear(self, MS_RELATIME),
            "strictatime" => set(self, MS_STRICTATIME),
            "nostrictatime" => clear(self, MS_STRICTATIME),
            "silent" => set(self, MS_SILENT),
            "loud" => clear(self, MS_SILENT),
            "lazytime" => set(self, MS_LAZYTIME),
            "nolazytime" => clear(self, MS_LAZYTIME),
            "iversion" => set(self, MS_I_VERSION),
            "noiversion" => clear(self, MS_I_VERSION),
            "bind" => set(self, MS_BIND),
            "rbind" => set(self, MS_BIND | MS_REC),
            "private" => self.propagation.push(MS_PRIVATE),
            "rprivate" => self.propagation.push(MS_PRIVATE | MS_REC),
            "shared" => self.propagation.push(MS_SHARED),
            "rshared" => self.propagation.push(MS_SHARED | MS_REC),
            "slave" => self.propagation.push(MS_SLAVE),
            "rslave" => self.propagation.push(MS_SLAVE | MS_REC),
            "unbindable" => self.propagation.push(MS_UNBINDABLE),
            "runbindable" => self.propagation.push(MS_UNBINDABLE | MS_REC),
            "rro" => self.attr(MOUNT_ATTR_RDONLY, true),
            "rrw" => self.attr(MOUNT_ATTR_RDONLY, false),
            "rnosuid" => self.attr(MOUNT_ATTR_NOSUID, true),
            "rsuid" => self.attr(MOUNT_ATTR_NOSUID, false),
            "rnodev" => self.attr(MOUNT_ATTR_NODEV, true),
            "rdev" => self.attr(MOUNT_ATTR_NODEV, false),
            "rnoexec" => self.attr(MOUNT_ATTR_NOEXEC, true),
            "rexec" => self.attr(MOUNT_ATTR_NOEXEC, false),
            "rnodiratime" => self.attr(MOUNT_ATTR_NODIRATIME, true),
            "rnoatime" => {
                self.attr_clr |= MOUNT_ATTR__ATIME;
                self.attr(MOUNT_ATTR_NOATIME, true)
            }
            "rstrictatime" => {
                self.attr_clr |= MOUNT_ATTR__ATIME;
                self.attr(MOUNT_ATTR_STRICTATIME, true)
            }
            "idmap" | "ridmap" => self.unsupported.push(opt.to_owned()),
            // runc extension: accepted, the tmpfs starts empty.
            "tmpcopyup" => {}
            other => self.data.push(other.to_owned()),
        }
    }

    fn attr(&mut self, attr: u64, on: bool) {
        if on {
            self.attr_set |= attr;
            self.attr_clr &= !attr;
        } else {
            self.attr_clr |= attr;
            self.attr_set &= !attr;
        }
    }

    pub fn is_bind(&self) -> bool {
        self.flags & libc::MS_BIND != 0
    }

    /// Flags that need a remount after a bind mount (the kernel ignores
    /// them on the initial MS_BIND).
    pub fn bind_remount_flags(&self) -> c_ulong {
        self.flags & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT)
    }
}

/// How the destination must be prepared and which resolution is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new filesystem (tmpfs, proc, devpts...).
    Filesystem,
    /// A bind mount of a directory.
    BindDir,
    /// A bind mount of a file (or device node): the mountpoint is a file.
    BindFile,
    /// Only remount an existing mountpoint with `remount_flags`.
    Remount,
}

/// One mount, every string ready for the child.
#[derive(Debug)]
pub struct MountEntry {
    /// Index in config.json `mounts` (for error messages), or u32::MAX for
    /// mounts the runtime adds itself.
    pub config_index: u32,
    pub kind: Kind,
    pub source: Option<CString>,
    pub fstype: Option<CString>,
    pub flags: c_ulong,
    pub data: Option<CString>,
    /// For bind mounts: flags applied by a bind remount.
    pub remount_flags: c_ulong,
    pub propagation: Vec<c_ulong>,
    pub attr_set: u64,
    pub attr_clr: u64,
    /// Destination relative to the rootfs ("dev/pts"), and its prefixes
    /// ("dev", "dev/pts") with the last component of each ("dev", "pts").
    pub dest: CString,
    pub prefixes: Vec<CString>,
    pub components: Vec<CString>,
    /// `openat2` resolve flags for the destination: always in-root, and no
    /// symlinks at all for /proc, /sys and /dev.
    pub resolve: u64,
    /// Human-readable destination ("/dev/pts") for errors.
    pub display: String,
}

/// Why a mount could not be prepared.
#[derive(Debug, PartialEq, Eq)]
pub struct PrepareError(pub String);

impl MountEntry {
    /// Builds an entry for destination `dest` (absolute, inside the rootfs).
    pub fn new(dest: &Path, kind: Kind) -> Result<Self, PrepareError> {
        let mut components = Vec::new();
        for c in dest.components() {
            match c {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(n) => components.push(cstring(n.as_encoded_bytes())?),
                // In-root resolution would clamp it, but a `..` in a
                // destination is a config mistake worth reporting.
                Component::ParentDir => {
                    return Err(PrepareError(format!("{} contains ..", dest.display())))
                }
                Component::Prefix(_) => {
                    return Err(PrepareError(format!(
                        "{} is not a Linux path",
                        dest.display()
                    )))
                }
            }
        }
        let mut prefixes = Vec::with_capacity(components.len());
        let mut joined: Vec<u8> = Vec::new();
        for c in &components {
            if !joined.is_empty() {
                joined.push(b'/');
            }
            joined.extend_from_slice(c.as_bytes());
            prefixes.push(cstring(&joined)?);
        }
        let dest_c = cstring(if joined.is_empty() { b"." } else { &joined })?;
        let strict = ["proc", "sys", "dev"]
            .iter()
            .any(|p| dest.starts_with(Path::new("/").join(p)));
        Ok(MountEntry {
            config_index: u32::MAX,
            kind,
            source: None,
            fstype: None,
            flags: 0,
            data: None,
            remount_flags: 0,
            propagation: Vec::new(),
            attr_set: 0,
            attr_clr: 0,
            dest: dest_c,
            prefixes,
            components,
            resolve: resolve::IN_ROOT
                | resolve::NO_MAGICLINKS
                | if strict { resolve::NO_SYMLINKS } else { 0 },
            display: dest.display().to_string(),
        })
    }

    /// A new filesystem of `fstype` from `source` with parsed `opts`.
    pub fn filesystem(
        dest: &Path,
        fstype: &str,
        source: &str,
        opts: &MountOptions,
    ) -> Result<Self, PrepareError> {
        let mut e = MountEntry::new(dest, Kind::Filesystem)?;
        e.fstype = Some(cstring(fstype.as_bytes())?);
        e.source = Some(cstring(source.as_bytes())?);
        e.flags = opts.flags & !libc::MS_REC;
        e.data = data_string(&opts.data)?;
        e.set_common(opts);
        Ok(e)
    }

    /// A bind mount of host path `source`.
    pub fn bind(
        dest: &Path,
        source: &Path,
        is_dir: bool,
        opts: &MountOptions,
    ) -> Result<Self, PrepareError> {
        let mut e = MountEntry::new(
            dest,
            if is_dir {
                Kind::BindDir
            } else {
                Kind::BindFile
            },
        )?;
        e.source = Some(cstring(source.as_os_str().as_encoded_bytes())?);
        e.flags = libc::MS_BIND | (opts.flags & libc::MS_REC);
        e.remount_flags = opts.bind_remount_flags();
        e.data = data_string(&opts.data)?;
        e.set_common(opts);
        Ok(e)
    }

    fn set_common(&mut self, opts: &MountOptions) {
        self.propagation = opts.propagation.clone();
        self.attr_set = opts.attr_set;
        self.attr_clr = opts.attr_clr;
    }
}

fn cstring(bytes: &[u8]) -> Result<CString, PrepareError> {
    CString::new(bytes).map_err(|_| PrepareError("contains a NUL byte".into()))
}

fn data_string(data: &[String]) -> Result<Option<CString>, PrepareError> {
    if data.is_empty() {
        return Ok(None);
    }
    cstring(data.join(",").as_bytes()).map(Some)
}

/// What failed while applying one entry (for the error message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountFailure {
    Mountpoint(Errno),
    Mount(Errno),
    Remount(Errno),
    Propagation(Errno),
    Attributes(Errno),
}

/// Child side: mounts `e` under the rootfs open as `rootfd`.
pub fn apply<S: Syscalls>(sys: &S, rootfd: RawFd, e: &MountEntry) -> Result<(), MountFailure> {
    if e.kind != Kind::Remount {
        let fd = ensure_mountpoint(sys, rootfd, e).map_err(MountFailure::Mountpoint)?;
        let target = FdPath::new(fd);
        let r = sys.mount(
            e.source.as_deref(),
            target.as_cstr(),
            e.fstype.as_deref(),
            e.flags,
            e.data.as_deref(),
        );
        sys.close(fd);
        r.map_err(MountFailure::Mount)?;
    }
    let needs_remount = e.remount_flags != 0 || e.kind == Kind::Remount;
    if !needs_remount && e.propagation.is_empty() && e.attr_set == 0 && e.attr_clr == 0 {
        return Ok(());
    }
    // Re-resolve: the fd opened before the mount names the covered
    // directory, not the new mount on top of it.
    let fd = sys
        .openat2(rootfd, &e.dest, libc::O_PATH, e.resolve)
        .map_err(MountFailure::Mountpoint)?;
    let r = finish(sys, fd, e);
    sys.close(fd);
    r
}

fn finish<S: Syscalls>(sys: &S, fd: RawFd, e: &MountEntry) -> Result<(), MountFailure> {
    let target = FdPath::new(fd);
    if e.remount_flags != 0 || e.kind == Kind::Remount {
        bind_remount(sys, target.as_cstr(), e.remount_flags).map_err(MountFailure::Remount)?;
    }
    for p in &e.propagation {
        sys.mount(None, target.as_cstr(), None, *p, None)
            .map_err(MountFailure::Propagation)?;
    }
    if e.attr_set != 0 || e.attr_clr != 0 {
        sys.mount_setattr(fd, e.attr_set, e.attr_clr)
            .map_err(MountFailure::Attributes)?;
    }
    Ok(())
}

/// Remounts a bind mount with `flags`. A mount from a less privileged user
/// namespace keeps its locked flags, so on EPERM retry with the current
/// nosuid/nodev/noexec/atime flags added.
pub fn bind_remount<S: Syscalls>(sys: &S, target: &CStr, flags: c_ulong) -> SysResult<()> {
    let base = libc::MS_BIND | libc::MS_REMOUNT;
    match sys.mount(None, target, None, base | flags, None) {
        Err(Errno::EPERM) => {
            let locked = sys.mount_flags(target)?;
            sys.mount(None, target, None, base | flags | locked, None)
        }
        r => r,
    }
}

/// Opens (O_PATH) the destination of `e` under `rootfd`, creating missing
/// directories (and the final file for file bind mounts) one component at a
/// time, each resolved inside the root.
pub fn ensure_mountpoint<S: Syscalls>(sys: &S, rootfd: RawFd, e: &MountEntry) -> SysResult<RawFd> {
    match sys.openat2(rootfd, &e.dest, libc::O_PATH, e.resolve) {
        Err(Errno::ENOENT) => {}
        r => return r,
    }
    let last = e.prefixes.len().saturating_sub(1);
    let mut parent: Option<RawFd> = None;
    for (k, (prefix, name)) in e.prefixes.iter().zip(&e.components).enumerate() {
        let fd = match sys.openat2(rootfd, prefix, libc::O_PATH, e.resolve) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                let dir = parent.unwrap_or(rootfd);
                let created = if k == last && e.kind == Kind::BindFile {
                    create_file(sys, dir, name)
                } else {
                    match sys.mkdirat(dir, name, 0o755) {
                        Err(Errno::EEXIST) => Ok(()),
                        r => r,
                    }
                };
                let opened =
                    created.and_then(|()| sys.openat2(rootfd, prefix, libc::O_PATH, e.resolve));
                match opened {
                    Ok(fd) => fd,
                    Err(err) => {
                        if let Some(p) = parent {
                            sys.close(p);
                        }
                        return Err(err);
                    }
                }
            }
            Err(err) => {
                if let Some(p) = parent {
                    sys.close(p);
                }
                return Err(err);
            }
        };
        if let Some(p) = parent.replace(fd) {
            sys.close(p);
        }
    }
    parent.ok_or(Errno::ENOENT)
}

fn create_file<S: Syscalls>(sys: &S, dir: RawFd, name: &CStr) -> SysResult<()> {
    let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    match sys.openat(dir, name, flags, 0o644) {
        Ok(fd) => {
            sys.close(fd);
            Ok(())
        }
        Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recorder::Recorder;

    #[test]
    fn parses_flags_propagation_and_data() {
        let o = MountOptions::parse(&[
            "nosuid",
            "noexec",
            "ro",
            "rw",
            "mode=755",
            "size=65536k",
            "rslave",
        ]);
        assert_eq!(o.flags, libc::MS_NOSUID | libc::MS_NOEXEC);
        assert_eq!(o.propagation, vec![libc::MS_SLAVE | libc::MS_REC]);
        assert_eq!(o.data, vec!["mode=755", "size=65536k"]);
    }

    #[test]
    fn rbind_ro_needs_a_remount() {
        let o = MountOptions::parse(&["rbind", "ro", "nosuid"]);
        assert!(o.is_bind());
        assert_eq!(o.bind_remount_flags(), libc::MS_RDONLY | libc::MS_NOSUID);
    }

    #[test]
    fn idmap_is_reported_unsupported() {
        assert_eq!(MountOptions::parse(&["idmap"]).unsupported, vec!["idmap"]);
    }

    #[test]
    fn entry_splits_destination() {
        let e = MountEntry::new(Path::new("/dev/pts"), Kind::Filesystem).unwrap();
        assert_eq!(e.dest.as_c_str(), c"dev/pts");
        assert_eq!(e.prefixes, vec![c"dev".to_owned(), c"dev/pts".to_owned()]);
        assert_eq!(e.components, vec![c"dev".to_owned(), c"pts".to_owned()]);
        assert_ne!(
            e.resolve & resolve::NO_SYMLINKS,
            0,
            "/dev must not be a symlink"
        );
        let e = MountEntry::new(Path::new("/data"), Kind::BindDir).unwrap();
        assert_eq!(e.resolve & resolve::NO_SYMLINKS, 0);
        assert!(MountEntry::new(Path::new("/a/../b"), Kind::BindDir).is_err());
    }

    #[test]
    fn existing_destination_is_mounted_through_its_fd() {
        let sys = Recorder::default();
        let e = MountEntry::filesystem(
            Path::new("/proc"),
            "proc",
            "proc",
            &MountOptions::parse(&["nosuid"]),
        )
        .unwrap();
        apply(&sys, 3, &e).unwrap();
        let lines = sys.lines();
        assert!(lines[0].starts_with("openat2 3 proc"), "{lines:?}");
        assert!(
            lines[1].starts_with("mount proc /proc/self/fd/101 proc 0x2"),
            "{lines:?}"
        );
    }

    #[test]
    fn missing_destination_is_created_in_root() {
        // "data" exists, "data/x" does not until mkdirat creates it.
        let sys = Recorder::failing_times("openat2 3 data/x", Errno::ENOENT, 2);
        let e = MountEntry::bind(
            Path::new("/data/x"),
            Path::new("/host"),
            true,
            &MountOptions::parse(&["rbind"]),
        )
        .unwrap();
        apply(&sys, 3, &e).unwrap();
        let lines = sys.lines();
        let mkdir = sys
            .position("mkdirat 101 x")
            .expect("x created under data's fd");
        let mount = sys
            .position("mount /host /proc/self/fd/102")
            .expect("mounted through the new fd");
        assert!(mkdir < mount, "{lines:?}");
    }

    #[test]
    fn symlinked_proc_is_refused() {
        let sys = Recorder::failing("openat2 3 proc", Errno::ELOOP);
        let e =
            MountEntry::filesystem(Path::new("/proc"), "proc", "proc", &MountOptions::default())
                .unwrap();
        assert_eq!(
            apply(&sys, 3, &e),
            Err(MountFailure::Mountpoint(Errno::ELOOP))
        );
        assert!(sys.position("mount").is_none());
    }

    #[test]
    fn bind_ro_remounts_and_sets_propagation() {
        let sys = Recorder::default();
        let o = MountOptions::parse(&["rbind", "ro", "rprivate"]);
        let e = MountEntry::bind(Path::new("/data"), Path::new("/host"), true, &o).unwrap();
        apply(&sys, 3, &e).unwrap();
        let lines = sys.lines();
        let bind = sys.position("mount /host").unwrap();
        let remount = lines
            .iter()
            .position(|l| {
                l.contains(&format!(
                    "{:#x}",
                    libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY
                ))
            })
            .unwrap();
        let prop = lines
            .iter()
            .position(|l| l.contains(&format!("{:#x}", libc::MS_PRIVATE | libc::MS_REC)))
            .unwrap();
        assert!(bind < remount && remount < prop, "{lines:?}");
    }
}
