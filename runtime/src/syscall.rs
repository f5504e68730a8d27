//! The system calls the container's first process makes between clone and
//! execve, behind a trait.
//!
//! After clone the child of a possibly multi-threaded parent may not
//! allocate, take locks or run destructors: it only calls the methods below
//! with data the parent prepared. [`Linux`] makes the real calls; the test
//! double in [`recorder`] records them so the setup sequence can be
//! unit-tested without root.

use std::ffi::CStr;
use std::os::fd::RawFd;

use libc::{c_int, c_ulong, gid_t, mode_t, uid_t};
use nix::errno::Errno;

/// Result of one system call.
pub type SysResult<T> = Result<T, Errno>;

/// `openat2(2)` resolve flags used by the runtime.
pub mod resolve {
    /// Resolve as if the dirfd were the root: `..` and absolute symlinks stay inside.
    pub const IN_ROOT: u64 = 0x10;
    /// Refuse /proc/PID/fd style magic links.
    pub const NO_MAGICLINKS: u64 = 0x02;
    /// Refuse every symlink.
    pub const NO_SYMLINKS: u64 = 0x04;
    /// Refuse to cross a mount point.
    pub const NO_XDEV: u64 = 0x01;
}

/// `struct open_how` of openat2(2) (libc's is non-exhaustive).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct OpenHow {
    pub flags: u64,
    pub mode: u64,
    pub resolve: u64,
}

/// openat2(2); returns the raw result (fd or -1 with errno set).
pub fn raw_openat2(dirfd: RawFd, path: &CStr, how: &OpenHow) -> libc::c_long {
    // SAFETY: `how` lives across the call and its size is passed with it;
    // path is a valid C string.
    unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            path.as_ptr(),
            how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    }
}

/// The child's view of the kernel.
pub trait Syscalls {
    fn mount(
        &self,
        source: Option<&CStr>,
        target: &CStr,
        fstype: Option<&CStr>,
        flags: c_ulong,
        data: Option<&CStr>,
    ) -> SysResult<()>;
    fn umount2(&self, target: &CStr, flags: c_int) -> SysResult<()>;
    fn pivot_root(&self, new_root: &CStr, put_old: &CStr) -> SysResult<()>;
    fn chroot(&self, path: &CStr) -> SysResult<()>;
    fn chdir(&self, path: &CStr) -> SysResult<()>;
    fn fchdir(&self, fd: RawFd) -> SysResult<()>;
    fn openat(&self, dirfd: RawFd, path: &CStr, flags: c_int, mode: mode_t) -> SysResult<RawFd>;
    fn openat2(&self, dirfd: RawFd, path: &CStr, flags: c_int, resolve: u64) -> SysResult<RawFd>;
    fn mkdirat(&self, dirfd: RawFd, path: &CStr, mode: mode_t) -> SysResult<()>;
    fn mknodat(&self, dirfd: RawFd, path: &CStr, mode: mode_t, dev: u64) -> SysResult<()>;
    fn symlinkat(&self, target: &CStr, dirfd: RawFd, path: &CStr) -> SysResult<()>;
    fn fchownat(
        &self,
        dirfd: RawFd,
        path: &CStr,
        uid: uid_t,
        gid: gid_t,
        flags: c_int,
    ) -> SysResult<()>;
    fn close(&self, fd: RawFd);
    fn read(&self, fd: RawFd, buf: &mut [u8]) -> SysResult<usize>;
    fn write(&self, fd: RawFd, buf: &[u8]) -> SysResult<usize>;
    fn sethostname(&self, name: &[u8]) -> SysResult<()>;
    fn setdomainname(&self, name: &[u8]) -> SysResult<()>;
    fn setns(&self, fd: RawFd, nstype: c_int) -> SysResult<()>;
    fn unshare(&self, flags: c_int) -> SysResult<()>;
    fn setgroups(&self, groups: &[gid_t]) -> SysResult<()>;
    fn setresgid(&self, gid: gid_t) -> SysResult<()>;
    fn setresuid(&self, uid: uid_t) -> SysResult<()>;
    fn prctl(&self, option: c_int, arg2: c_ulong, arg3: c_ulong) -> SysResult<()>;
    /// mount_setattr(2) on an fd with AT_EMPTY_PATH | AT_RECURSIVE.
    fn mount_setattr(&self, fd: RawFd, set: u64, clr: u64) -> SysResult<()>;
    /// The MS_NOSUID/NODEV/NOEXEC/atime flags a mount currently has.
    fn mount_flags(&self, path: &CStr) -> SysResult<c_ulong>;
    /// Clears FD_CLOEXEC on `fd` (for preserved fds).
    fn clear_cloexec(&self, fd: RawFd) -> SysResult<()>;
    /// Joins a new session keyring called `name`.
    fn join_session_keyring(&self, name: &CStr) -> SysResult<()>;
    /// capset(2) with the three 64-bit sets (version 3 header, own pid).
    fn capset(&self, effective: u64, permitted: u64, inheritable: u64) -> SysResult<()>;
    fn setrlimit(&self, resource: c_int, soft: u64, hard: u64) -> SysResult<()>;
    fn umask(&self, mask: mode_t) -> mode_t;
    fn setsid(&self) -> SysResult<()>;
    fn ioctl(&self, fd: RawFd, request: c_ulong, arg: c_ulong) -> SysResult<c_int>;
    fn dup2(&self, old: RawFd, new: RawFd) -> SysResult<()>;
    /// Sends `fd` with SCM_RIGHTS over the unix socket `socket`, with `name` as payload.
    fn send_fd(&self, socket: RawFd, name: &[u8], fd: RawFd) -> SysResult<()>;
    /// Resets every catchable signal to its default action and sets the mask.
    fn reset_signals(&self, mask: &libc::sigset_t) -> SysResult<()>;
    /// Installs a classic BPF seccomp filter.
    fn seccomp_filter(&self, filter: &[libc::sock_filter], flags: c_ulong) -> SysResult<()>;
    /// Marks every fd from `first` on close-on-exec.
    fn cloexec_from(&self, first: RawFd) -> SysResult<()>;
    /// Checks that `path` is an executable regular file for the current creds.
    fn access_exec(&self, path: &CStr) -> SysResult<()>;
    /// Replaces the process image; returns only on failure.
    fn execve(
        &self,
        path: &CStr,
        argv: &[*const libc::c_char],
        envp: &[*const libc::c_char],
    ) -> Errno;
}

/// The real kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct Linux;

fn check(ret: c_int) -> SysResult<()> {
    Errno::result(ret).map(drop)
}

fn opt_ptr(s: Option<&CStr>) -> *const libc::c_char {
    s.map_or(std::ptr::null(), CStr::as_ptr)
}

impl Syscalls for Linux {
    fn mount(
        &self,
        source: Option<&CStr>,
        target: &CStr,
        fstype: Option<&CStr>,
        flags: c_ulong,
        data: Option<&CStr>,
    ) -> SysResult<()> {
        // SAFETY: every pointer is null or a NUL-terminated string that
        // outlives the call.
        check(unsafe {
            libc::mount(
                opt_ptr(source),
                target.as_ptr(),
                opt_ptr(fstype),
                flags,
                opt_ptr(data).cast(),
            )
        })
    }

    fn umount2(&self, target: &CStr, flags: c_int) -> SysResult<()> {
        // SAFETY: target is a valid C string.
        check(unsafe { libc::umount2(target.as_ptr(), flags) })
    }

    fn pivot_root(&self, new_root: &CStr, put_old: &CStr) -> SysResult<()> {
        // SAFETY: both are valid C strings; pivot_root has no libc wrapper.
        let ret =
            unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) };
        Errno::result(ret).map(drop)
    }

    fn chroot(&self, path: &CStr) -> SysResult<()> {
        // SAFETY: path is a valid C string.
        check(unsafe { libc::chroot(path.as_ptr()) })
    }

    fn chdir(&self, path: &CStr) -> SysResult<()> {
        // SAFETY: path is a valid C string.
        check(unsafe { libc::chdir(path.as_ptr()) })
    }

    fn fchdir(&self, fd: RawFd) -> SysResult<()> {
        // SAFETY: plain syscall on an integer fd.
        check(unsafe { libc::fchdir(fd) })
    }

    fn openat(&self, dirfd: RawFd, path: &CStr, flags: c_int, mode: mode_t) -> SysResult<RawFd> {
        // SAFETY: path is a valid C string; mode is passed as the variadic argument.
        Errno::result(unsafe { libc::openat(dirfd, path.as_ptr(), flags, mode) })
    }

    fn openat2(&self, dirfd: RawFd, path: &CStr, flags: c_int, resolve: u64) -> SysResult<RawFd> {
        let how = OpenHow {
            flags: flags as u64 | libc::O_CLOEXEC as u64,
            mode: 0,
            resolve,
        };
        Errno::result(raw_openat2(dirfd, path, &how)).map(|fd| fd as RawFd)
    }

    fn mkdirat(&self, dirfd: RawFd, path: &CStr, mode: mode_t) -> SysResult<()> {
        // SAFETY: path is a valid C string.
        check(unsafe { libc::mkdirat(dirfd, path.as_ptr(), mode) })
    }

    fn mknodat(&self, dirfd: RawFd, path: &CStr, mode: mode_t, dev: u64) -> SysResult<()> {
        // SAFETY: path is a valid C string.
        check(unsafe { libc::mknodat(dirfd, path.as_ptr(), mode, dev) })
    }

    fn symlinkat(&self, target: &CStr, dirfd: RawFd, path: &CStr) -> SysResult<()> {
        // SAFETY: both are valid C strings.
        check(unsafe { libc::symlinkat(target.as_ptr(), dirfd, path.as_ptr()) })
    }

    fn fchownat(
        &self,
        dirfd: RawFd,
        path: &CStr,
        uid: uid_t,
        gid: gid_t,
        flags: c_int,
    ) -> SysResult<()> {
        // SAFETY: path is a valid C string.
        check(unsafe { libc::fchownat(dirfd, path.as_ptr(), uid, gid, flags) })
    }

    fn close(&self, fd: RawFd) {
        // SAFETY: the caller owns fd; errors from close are not actionable here.
        unsafe { libc::close(fd) };
    }

    fn read(&self, fd: RawFd, buf: &mut [u8]) -> SysResult<usize> {
        loop {
            // SAFETY: buf is valid for writes of buf.len() bytes.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            match Errno::result(n) {
                Err(Errno::EINTR) => continue,
                r => return r.map(|n| n as usize),
            }
        }
    }

    fn write(&self, fd: RawFd, buf: &[u8]) -> SysResult<usize> {
        loop {
            // SAFETY: buf is valid for reads of buf.len() bytes.
            let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
            match Errno::result(n) {
                Err(Errno::EINTR) => continue,
                r => return r.map(|n| n as usize),
            }
        }
    }

    fn sethostname(&self, name: &[u8]) -> SysResult<()> {
        // SAFETY: name is valid for name.len() bytes.
        check(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) })
    }

    fn setdomainname(&self, name: &[u8]) -> SysResult<()> {
        // SAFETY: name is valid for name.len() bytes.
        check(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) })
    }

    fn setns(&self, fd: RawFd, nstype: c_int) -> SysResult<()> {
        // SAFETY: plain syscall on an integer fd.
        check(unsafe { libc::setns(fd, nstype) })
    }

    fn unshare(&self, flags: c_int) -> SysResult<()> {
        // SAFETY: plain syscall.
        check(unsafe { libc::unshare(flags) })
    }

    fn setgroups(&self, groups: &[gid_t]) -> SysResult<()> {
        // SAFETY: groups is valid for groups.len() entries. The raw syscall
        // is used because glibc's wrapper broadcasts to all threads, which a
        // cloned child must not attempt.
        let ret = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
        Errno::result(ret).map(drop)
    }

    fn setresgid(&self, gid: gid_t) -> SysResult<()> {
        // SAFETY: raw syscall (not glibc's all-threads setxid broadcast).
        let ret = unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) };
        Errno::result(ret).map(drop)
    }

    fn setresuid(&self, uid: uid_t) -> SysResult<()> {
        // SAFETY: raw syscall (not glibc's all-threads setxid broadcast).
        let ret = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
        Errno::result(ret).map(drop)
    }

    fn prctl(&self, option: c_int, arg2: c_ulong, arg3: c_ulong) -> SysResult<()> {
        // SAFETY: the options used take integer arguments only.
        check(unsafe { libc::prctl(option, arg2, arg3, 0 as c_ulong, 0 as c_ulong) })
    }

    fn mount_setattr(&self, fd: RawFd, set: u64, clr: u64) -> SysResult<()> {
        #[repr(C)]
        struct MountAttr {
            attr_set: u64,
            attr_clr: u64,
            propagation: u64,
            userns_fd: u64,
        }
        const AT_RECURSIVE: c_int = 0x8000;
        let attr = MountAttr {
            attr_set: set,
            attr_clr: clr,
            propagation: 0,
            userns_fd: 0,
        };
        // SAFETY: attr lives across the call and its size is passed with it.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                fd,
                c"".as_ptr(),
                libc::AT_EMPTY_PATH | AT_RECURSIVE,
                &attr as *const MountAttr,
                std::mem::size_of::<MountAttr>(),
            )
        };
        Errno::result(ret).map(drop)
    }

    fn mount_flags(&self, path: &CStr) -> SysResult<c_ulong> {
        // SAFETY: a zeroed statvfs is a valid out-buffer.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: path is a valid C string, st a valid out-pointer.
        check(unsafe { libc::statvfs(path.as_ptr(), &mut st) })?;
        let pairs = [
            (libc::ST_NOSUID, libc::MS_NOSUID),
            (libc::ST_NODEV, libc::MS_NODEV),
            (libc::ST_NOEXEC, libc::MS_NOEXEC),
            (libc::ST_NOATIME, libc::MS_NOATIME),
            (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
            (libc::ST_RELATIME, libc::MS_RELATIME),
        ];
        Ok(pairs
            .iter()
            .filter(|(st_flag, _)| st.f_flag & st_flag != 0)
            .fold(0, |acc, (_, ms)| acc | ms))
    }

    fn clear_cloexec(&self, fd: RawFd) -> SysResult<()> {
        // SAFETY: plain fcntl on an integer fd.
        check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) })
    }

    fn join_session_keyring(&self, name: &CStr) -> SysResult<()> {
        const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
        // SAFETY: name is a valid C string.
        let ret =
            unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
        Errno::result(ret).map(drop)
    }

    fn capset(&self, effective: u64, permitted: u64, inheritable: u64) -> SysResult<()> {
        #[repr(C)]
        struct Header {
            version: u32,
            pid: c_int,
        }
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        const VERSION_3: u32 = 0x2008_0522;
        let header = Header {
            version: VERSION_3,
            pid: 0,
        };
        let low = |v: u64| (v & 0xffff_ffff) as u32;
        let high = |v: u64| (v >> 32) as u32;
        let data = [
            Data {
                effective: low(effective),
                permitted: low(permitted),
                inheritable: low(inheritable),
            },
            Data {
                effective: high(effective),
                permitted: high(permitted),
                inheritable: high(inheritable),
            },
        ];
        // SAFETY: header and data match the kernel's v3 capability ABI and
        // live across the call.
        let ret =
            unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) };
        Errno::result(ret).map(drop)
    }

    fn setrlimit(&self, resource: c_int, soft: u64, hard: u64) -> SysResult<()> {
        let lim = libc::rlimit64 {
            rlim_cur: soft,
            rlim_max: hard,
        };
        // SAFETY: lim is a valid rlimit64; pid 0 means the calling process.
        check(unsafe {
            libc::prlimit64(
                0,
                resource as libc::__rlimit_resource_t,
                &lim,
                std::ptr::null_mut(),
            )
        })
    }

    fn umask(&self, mask: mode_t) -> mode_t {
        // SAFETY: umask cannot fail.
        unsafe { libc::umask(mask) }
    }

    fn setsid(&self) -> SysResult<()> {
        // SAFETY: plain syscall.
        Errno::result(unsafe { libc::setsid() }).map(drop)
    }

    fn ioctl(&self, fd: RawFd, request: c_ulong, arg: c_ulong) -> SysResult<c_int> {
        // SAFETY: the requests used take an integer or a pointer the caller
        // keeps alive (passed as arg).
        Errno::result(unsafe { libc::ioctl(fd, request, arg) })
    }

    fn dup2(&self, old: RawFd, new: RawFd) -> SysResult<()> {
        // SAFETY: plain syscall on integer fds.
        Errno::result(unsafe { libc::dup2(old, new) }).map(drop)
    }

    fn send_fd(&self, socket: RawFd, name: &[u8], fd: RawFd) -> SysResult<()> {
        const SPACE: usize = 64;
        // Room for one cmsghdr with one int, aligned as cmsghdr requires.
        #[repr(C, align(8))]
        struct Control([u8; SPACE]);
        let mut control = Control([0; SPACE]);
        let mut iov = libc::iovec {
            iov_base: name.as_ptr() as *mut libc::c_void,
            iov_len: name.len(),
        };
        // SAFETY: msghdr is plain data; zeroed is a valid empty value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE is a pure size computation.
        msg.msg_controllen =
            unsafe { libc::CMSG_SPACE(std::mem::size_of::<c_int>() as u32) } as usize;
        // SAFETY: msg_control points at SPACE bytes, more than CMSG_SPACE(int),
        // so the first header and its data are inside the buffer.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<c_int>() as u32) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<c_int>(), fd);
        }
        // SAFETY: msg and everything it points to live across the call.
        Errno::result(unsafe { libc::sendmsg(socket, &msg, 0) }).map(drop)
    }

    fn reset_signals(&self, mask: &libc::sigset_t) -> SysResult<()> {
        for sig in 1..libc::SIGRTMAX() {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            // SAFETY: SIG_DFL is always a valid disposition; errors for
            // signals glibc reserves are ignored on purpose.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
        // SAFETY: mask is a valid sigset; the old mask is not wanted.
        let ret = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, mask, std::ptr::null_mut()) };
        // pthread_sigmask returns the error number itself, not -1.
        match ret {
            0 => Ok(()),
            e => Err(Errno::from_raw(e)),
        }
    }

    fn seccomp_filter(&self, filter: &[libc::sock_filter], flags: c_ulong) -> SysResult<()> {
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: prog points at `filter`, which outlives the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                flags,
                &prog as *const libc::sock_fprog,
            )
        };
        Errno::result(ret).map(drop)
    }

    fn cloexec_from(&self, first: RawFd) -> SysResult<()> {
        // SAFETY: close_range with CLOEXEC only changes fd flags.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                first as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        Errno::result(ret).map(drop)
    }

    fn access_exec(&self, path: &CStr) -> SysResult<()> {
        // SAFETY: a zeroed stat is a valid out-buffer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: path is a valid C string and st a valid out-pointer.
        check(unsafe { libc::stat(path.as_ptr(), &mut st) })?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(Errno::EACCES);
        }
        // SAFETY: path is a valid C string.
        check(unsafe { libc::access(path.as_ptr(), libc::X_OK) })
    }

    fn execve(
        &self,
        path: &CStr,
        argv: &[*const libc::c_char],
        envp: &[*const libc::c_char],
    ) -> Errno {
        // SAFETY: argv and envp are NULL-terminated arrays of C strings the
        // caller keeps alive; execve only returns on failure.
        unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        Errno::last()
    }
}

#[cfg(test)]
pub mod recorder {
    //! A [`Syscalls`] double that records calls and can fail chosen ones.

    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;

    use super::*;

    /// Records every call as one line; fails calls whose line starts with
    /// a chosen prefix, a chosen number of times.
    #[derive(Debug, Default)]
    pub struct Recorder {
        pub calls: RefCell<Vec<String>>,
        fail_on: Option<(&'static str, Errno)>,
        failures_left: Cell<usize>,
        next_fd: Cell<RawFd>,
        /// Data returned by successive reads; a read with none queued
        /// returns one byte (the start barrier).
        pub reads: RefCell<VecDeque<Vec<u8>>>,
    }

    impl Recorder {
        /// Fails every call starting with `prefix`.
        pub fn failing(prefix: &'static str, errno: Errno) -> Self {
            Self::failing_times(prefix, errno, usize::MAX)
        }

        /// Fails the first `times` calls starting with `prefix`.
        pub fn failing_times(prefix: &'static str, errno: Errno, times: usize) -> Self {
            let r = Recorder {
                fail_on: Some((prefix, errno)),
                ..Default::default()
            };
            r.failures_left.set(times);
            r
        }

        fn record(&self, line: String) -> SysResult<()> {
            let matched = matches!(self.fail_on, Some((p, _)) if line.starts_with(p));
            self.calls.borrow_mut().push(line);
            match self.fail_on {
                Some((_, e)) if matched && self.failures_left.get() > 0 => {
                    self.failures_left.set(self.failures_left.get() - 1);
                    Err(e)
                }
                _ => Ok(()),
            }
        }

        fn fd(&self) -> RawFd {
            let fd = self.next_fd.get().max(100) + 1;
            self.next_fd.set(fd);
            fd
        }

        /// Queues `data` for the next read.
        pub fn queue_read(&self, data: &[u8]) {
            self.reads.borrow_mut().push_back(data.to_vec());
        }

        /// Index of the first call starting with `prefix`.
        pub fn position(&self, prefix: &str) -> Option<usize> {
            self.calls
                .borrow()
                .iter()
                .position(|c| c.starts_with(prefix))
        }

        pub fn lines(&self) -> Vec<String> {
            self.calls.borrow().clone()
        }
    }

    fn s(c: &CStr) -> String {
        c.to_string_lossy().into_owned()
    }

    fn o(c: Option<&CStr>) -> String {
        c.map_or("-".into(), s)
    }

    impl Syscalls for Recorder {
        fn mount(
            &self,
            src: Option<&CStr>,
            t: &CStr,
            fs: Option<&CStr>,
            flags: c_ulong,
            data: Option<&CStr>,
        ) -> SysResult<()> {
            self.record(format!(
                "mount {} {} {} {flags:#x} {}",
                o(src),
                s(t),
                o(fs),
                o(data)
            ))
        }
        fn umount2(&self, t: &CStr, flags: c_int) -> SysResult<()> {
            self.record(format!("umount2 {} {flags}", s(t)))
        }
        fn pivot_root(&self, n: &CStr, p: &CStr) -> SysResult<()> {
            self.record(format!("pivot_root {} {}", s(n), s(p)))
        }
        fn chroot(&self, p: &CStr) -> SysResult<()> {
            self.record(format!("chroot {}", s(p)))
        }
        fn chdir(&self, p: &CStr) -> SysResult<()> {
            self.record(format!("chdir {}", s(p)))
        }
        fn fchdir(&self, fd: RawFd) -> SysResult<()> {
            self.record(format!("fchdir {fd}"))
        }
        fn openat(&self, d: RawFd, p: &CStr, f: c_int, m: mode_t) -> SysResult<RawFd> {
            self.record(format!("openat {d} {} {f:#x} {m:o}", s(p)))
                .map(|_| self.fd())
        }
        fn openat2(&self, d: RawFd, p: &CStr, f: c_int, r: u64) -> SysResult<RawFd> {
            self.record(format!("openat2 {d} {} {f:#x} {r:#x}", s(p)))
                .map(|_| self.fd())
        }
        fn mkdirat(&self, d: RawFd, p: &CStr, m: mode_t) -> SysResult<()> {
            self.record(format!("mkdirat {d} {} {m:o}", s(p)))
        }
        fn mknodat(&self, d: RawFd, p: &CStr, m: mode_t, dev: u64) -> SysResult<()> {
            self.record(format!("mknodat {d} {} {m:o} {dev}", s(p)))
        }
        fn symlinkat(&self, t: &CStr, d: RawFd, p: &CStr) -> SysResult<()> {
            self.record(format!("symlinkat {} {d} {}", s(t), s(p)))
        }
        fn fchownat(&self, d: RawFd, p: &CStr, u: uid_t, g: gid_t, f: c_int) -> SysResult<()> {
            self.record(format!("fchownat {d} {} {u} {g} {f}", s(p)))
        }
        fn close(&self, fd: RawFd) {
            let _ = self.record(format!("close {fd}"));
        }
        fn read(&self, fd: RawFd, buf: &mut [u8]) -> SysResult<usize> {
            self.record(format!("read {fd}"))?;
            match self.reads.borrow_mut().pop_front() {
                Some(data) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    Ok(n)
                }
                None => Ok(buf.len().min(1)),
            }
        }
        fn write(&self, fd: RawFd, buf: &[u8]) -> SysResult<usize> {
            self.record(format!("write {fd} {}", String::from_utf8_lossy(buf)))
                .map(|_| buf.len())
        }
        fn sethostname(&self, n: &[u8]) -> SysResult<()> {
            self.record(format!("sethostname {}", String::from_utf8_lossy(n)))
        }
        fn setdomainname(&self, n: &[u8]) -> SysResult<()> {
            self.record(format!("setdomainname {}", String::from_utf8_lossy(n)))
        }
        fn setns(&self, fd: RawFd, t: c_int) -> SysResult<()> {
            self.record(format!("setns {fd} {t:#x}"))
        }
        fn unshare(&self, f: c_int) -> SysResult<()> {
            self.record(format!("unshare {f:#x}"))
        }
        fn setgroups(&self, g: &[gid_t]) -> SysResult<()> {
            self.record(format!("setgroups {g:?}"))
        }
        fn setresgid(&self, g: gid_t) -> SysResult<()> {
            self.record(format!("setresgid {g}"))
        }
        fn setresuid(&self, u: uid_t) -> SysResult<()> {
            self.record(format!("setresuid {u}"))
        }
        fn prctl(&self, o: c_int, a: c_ulong, b: c_ulong) -> SysResult<()> {
            self.record(format!("prctl {o} {a} {b}"))
        }
        fn mount_setattr(&self, fd: RawFd, set: u64, clr: u64) -> SysResult<()> {
            self.record(format!("mount_setattr {fd} {set:#x} {clr:#x}"))
        }
        fn mount_flags(&self, p: &CStr) -> SysResult<c_ulong> {
            self.record(format!("mount_flags {}", s(p)))
                .map(|_| libc::MS_NODEV)
        }
        fn clear_cloexec(&self, fd: RawFd) -> SysResult<()> {
            self.record(format!("clear_cloexec {fd}"))
        }
        fn join_session_keyring(&self, n: &CStr) -> SysResult<()> {
            self.record(format!("join_session_keyring {}", s(n)))
        }
        fn capset(&self, e: u64, p: u64, i: u64) -> SysResult<()> {
            self.record(format!("capset {e:#x} {p:#x} {i:#x}"))
        }
        fn setrlimit(&self, r: c_int, s: u64, h: u64) -> SysResult<()> {
            self.record(format!("setrlimit {r} {s} {h}"))
        }
        fn umask(&self, m: mode_t) -> mode_t {
            let _ = self.record(format!("umask {m:o}"));
            0o022
        }
        fn setsid(&self) -> SysResult<()> {
            self.record("setsid".into())
        }
        fn ioctl(&self, fd: RawFd, r: c_ulong, _a: c_ulong) -> SysResult<c_int> {
            self.record(format!("ioctl {fd} {r:#x}")).map(|_| 0)
        }
        fn dup2(&self, o: RawFd, n: RawFd) -> SysResult<()> {
            self.record(format!("dup2 {o} {n}"))
        }
        fn send_fd(&self, so: RawFd, _n: &[u8], fd: RawFd) -> SysResult<()> {
            self.record(format!("send_fd {so} {fd}"))
        }
        fn reset_signals(&self, _m: &libc::sigset_t) -> SysResult<()> {
            self.record("reset_signals".into())
        }
        fn seccomp_filter(&self, f: &[libc::sock_filter], fl: c_ulong) -> SysResult<()> {
            self.record(format!("seccomp {} {fl}", f.len()))
        }
        fn cloexec_from(&self, first: RawFd) -> SysResult<()> {
            self.record(format!("cloexec_from {first}"))
        }
        fn access_exec(&self, p: &CStr) -> SysResult<()> {
            self.record(format!("access_exec {}", s(p)))
        }
        fn execve(
            &self,
            p: &CStr,
            _a: &[*const libc::c_char],
            _e: &[*const libc::c_char],
        ) -> Errno {
            let _ = self.record(format!("execve {}", s(p)));
            Errno::ENOSYS
        }
    }
}
