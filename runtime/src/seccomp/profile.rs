//! The default profile written by `corral spec`.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompOperator, LinuxSyscall,
};

use super::arch;

/// Syscalls allowed whatever their arguments: those of Docker's default
/// profile that ordinary programs (a shell, busybox, coreutils, Go and
/// glibc programs, dockerd and containerd) need, for x86_64 and aarch64.
/// Names a native table lacks are left out of the generated profile.
#[rustfmt::skip]
const ALLOWED: &[&str] = &[
    "accept", "accept4", "access", "alarm", "arch_prctl", "bind", "brk", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chroot", "clock_getres", "clock_gettime",
    "clock_nanosleep", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "execve", "execveat", "exit",
    "exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate", "fanotify_mark",
    "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync",
    "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
    "fstatfs", "fsync", "ftruncate", "futex", "futex_requeue", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat", "get_robust_list", "getcpu", "getcwd", "getdents", "getdents64",
    "getegid", "geteuid", "getgid", "getgroups", "getitimer", "getpeername", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresuid",
    "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday",
    "getuid", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup",
    "io_submit", "ioctl", "ioprio_get", "ioprio_set", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lgetxattr", "link",
    "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr",
    "lstat", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "mincore", "mkdir",
    "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mprotect",
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
    "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "nanosleep", "newfstatat", "open", "openat", "openat2", "pause",
    "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
    "process_mrelease", "pselect6", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
    "readlink", "readlinkat", "readv", "recvfrom", "recvmmsg", "recvmsg", "remap_file_pages",
    "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity", "sched_setattr",
    "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
    "semget", "semop", "semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto",
    "set_robust_list", "set_tid_address", "setfsgid", "setfsuid", "setgid", "setgroups",
    "setitimer", "setpgid", "setpriority", "setregid", "setresgid", "setresuid", "setreuid",
    "setrlimit", "setsid", "setsockopt", "setuid", "setxattr", "shmat", "shmctl", "shmdt",
    "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "socketpair", "splice",
    "stat", "statfs", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
    "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime",
    "times", "tkill", "truncate", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimes", "vfork", "vmsplice", "wait4", "waitid", "write", "writev",
    // Only honoured by the kernel from its uprobe trampolines: refusing them
    // crashes container processes that a host tool (bpftrace...) probes.
    "uprobe", "uretprobe",
];

/// `personality(2)` values Docker allows: PER_LINUX, PER_LINUX32, UNAME26,
/// UNAME26|PER_LINUX32, and 0xffffffff (query). Not ADDR_NO_RANDOMIZE.
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
/// CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET: clone(2) is allowed only
/// when none of these is set (Docker's mask, 2114060288).
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// `AF_VSOCK`: Docker refuses vsock sockets.
const AF_VSOCK: u64 = 40;

/// ENOSYS, so that glibc and Go fall back from clone3 to clone, whose
/// flags a filter can see (clone3 passes them in memory).
const ENOSYS: u32 = 38;

/// A default profile at least as strict as Docker's default, for `corral spec`.
///
/// defaultAction is SCMP_ACT_ERRNO (EPERM) and the entries allow the
/// ordinary syscalls of Docker's default profile, with its argument
/// conditions on clone (no namespace flags), personality (few values) and
/// socket (no AF_VSOCK), and clone3 answered with ENOSYS. Unlike Docker's,
/// this profile does not depend on the container's capabilities: what
/// Docker allows only with CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_NICE,
/// CAP_SYS_TIME, CAP_SYS_BOOT, CAP_SYSLOG, CAP_SYS_MODULE... stays refused
/// (mount, unshare, setns, ptrace, bpf, perf_event_open, mbind, keyctl,
/// settimeofday, reboot, init_module...), which is stricter. ptrace,
/// name_to_handle_at, adjtimex and clock_adjtime (a filter cannot tell a
/// read from a write there), and io_uring are refused too.
///
/// The profile lists the native architecture's syscalls and names the
/// native architecture with its compat ones, as Docker does for the host;
/// only the native architecture is enforced (see the module documentation).
pub fn default_profile() -> LinuxSeccomp {
    let known = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|n| arch::syscall_number(n).is_some())
            .map(|n| n.to_string())
            .collect()
    };
    let mut syscalls = vec![entry(
        known(ALLOWED),
        LinuxSeccompAction::ScmpActAllow,
        vec![],
    )];
    // Conditional entries all allow: one whose condition could not be built
    // is left out, which refuses more, never less.
    let mut allow_if = |name: &str, cond: Option<LinuxSeccompArg>| {
        if let Some(cond) = cond {
            syscalls.push(entry(
                known(&[name]),
                LinuxSeccompAction::ScmpActAllow,
                vec![cond],
            ));
        }
    };
    for &persona in PERSONALITIES {
        allow_if(
            "personality",
            arg(LinuxSeccompOperator::ScmpCmpEq, persona, None),
        );
    }
    let no_namespaces = arg(
        LinuxSeccompOperator::ScmpCmpMaskedEq,
        CLONE_NAMESPACE_FLAGS,
        Some(0),
    );
    allow_if("clone", no_namespaces);
    allow_if(
        "socket",
        arg(LinuxSeccompOperator::ScmpCmpNe, AF_VSOCK, None),
    );
    let mut clone3 = entry(known(&["clone3"]), LinuxSeccompAction::ScmpActErrno, vec![]);
    clone3.set_errno_ret(Some(ENOSYS));
    syscalls.push(clone3);
    syscalls.retain(|s| !s.names().is_empty());

    let mut profile = LinuxSeccomp::default();
    profile
        .set_default_action(LinuxSeccompAction::ScmpActErrno)
        .set_default_errno_ret(Some(libc::EPERM.unsigned_abs()))
        .set_architectures(Some(architectures()))
        .set_syscalls(Some(syscalls));
    profile
}

/// The native architecture and its compat ones, like Docker's `archMap`.
fn architectures() -> Vec<Arch> {
    if cfg!(target_arch = "x86_64") {
        vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    } else if cfg!(target_arch = "aarch64") {
        vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    } else {
        vec![Arch::ScmpArchNative]
    }
}

// The getset setters are used where oci-spec has them: these values are
// always valid, and a fallible build would need an unwrap or a fallback.
fn entry(
    names: Vec<String>,
    action: LinuxSeccompAction,
    args: Vec<LinuxSeccompArg>,
) -> LinuxSyscall {
    let mut s = LinuxSyscall::default();
    s.set_names(names).set_action(action);
    if !args.is_empty() {
        s.set_args(Some(args));
    }
    s
}

/// A condition on argument 0 (LinuxSeccompArg only has a builder).
fn arg(op: LinuxSeccompOperator, value: u64, value_two: Option<u64>) -> Option<LinuxSeccompArg> {
    let b = LinuxSeccompArgBuilder::default()
        .index(0usize)
        .op(op)
        .value(value);
    match value_two {
        Some(v) => b.value_two(v).build().ok(),
        None => b.build().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A typo in the lists would silently allow nothing: every name must be
    /// a syscall of x86_64 or aarch64.
    #[test]
    fn every_listed_name_is_a_real_syscall() {
        use std::str::FromStr;
        let real = |n: &str| {
            syscalls::x86_64::Sysno::from_str(n).is_ok()
                || syscalls::aarch64::Sysno::from_str(n).is_ok()
        };
        for n in ALLOWED
            .iter()
            .chain(&["personality", "clone", "clone3", "socket"])
        {
            assert!(real(n), "{n}");
        }
        let mut sorted = ALLOWED.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALLOWED.len(), "duplicate names");
    }

    #[test]
    fn refused_syscalls_are_not_listed() {
        for n in super::super::tests::MUST_REFUSE {
            assert!(!ALLOWED.contains(n), "{n}");
        }
    }

    #[test]
    fn shape_is_dockers() {
        let p = default_profile();
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret(), Some(1));
        let calls = p.syscalls().as_ref().unwrap();
        assert!(calls[0].names().len() > 250, "{}", calls[0].names().len());
        let clone = calls
            .iter()
            .find(|c| c.names() == &["clone".to_string()])
            .unwrap();
        let a = clone.args().as_ref().unwrap()[0];
        assert_eq!(
            (a.index(), a.value(), a.value_two()),
            (0, 2114060288, Some(0))
        );
        assert_eq!(a.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        let clone3 = calls
            .iter()
            .find(|c| c.names() == &["clone3".to_string()])
            .unwrap();
        assert_eq!(
            (clone3.action(), clone3.errno_ret()),
            (LinuxSeccompAction::ScmpActErrno, Some(38))
        );
    }

    #[test]
    fn round_trips_through_json() {
        let p = default_profile();
        let json = serde_json::to_string_pretty(&p).unwrap();
        assert!(
            json.contains("\"defaultAction\": \"SCMP_ACT_ERRNO\""),
            "{json}"
        );
        assert!(json.contains("\"SCMP_CMP_MASKED_EQ\""));
        assert!(json.contains("\"errnoRet\": 38"));
        let back: LinuxSeccomp = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
}
