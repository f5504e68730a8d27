//! Profiles installed for real, in forked children.

use super::*;

/// The errno of the last failed call, without allocating.
fn errno_now() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Calls syscall `nr` with three arguments: its return value and errno.
fn sys(nr: libc::c_long, a: u64, b: u64, c: u64) -> (libc::c_long, i32) {
    // SAFETY: the callers pass integers, null pointers (which the kernel
    // checks), or a pointer to a live sock_fprog; a clone without CLONE_VM
    // that succeeds continues in a copy of this process, which exits at once.
    let ret = unsafe { libc::syscall(nr, a, b, c) };
    (ret, if ret == -1 { errno_now() } else { 0 })
}

fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the forked child without running the parent's
    // atexit handlers or destructors.
    unsafe { libc::_exit(code) }
}

/// Installs `programs` in a forked child, runs `body` there and returns
/// the child's wait status. The child only makes syscalls: the test
/// harness is multi-threaded.
fn in_filtered_child(programs: &[Vec<libc::sock_filter>], body: fn() -> i32) -> i32 {
    let progs: Vec<libc::sock_fprog> = programs
        .iter()
        .map(|p| libc::sock_fprog {
            len: u16::try_from(p.len()).unwrap(),
            filter: p.as_ptr().cast_mut(),
        })
        .collect();
    // SAFETY: the child only calls prctl, seccomp, raw syscalls and _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            exit(100);
        }
        for p in &progs {
            let prog = std::ptr::from_ref(p) as u64;
            let mode = u64::from(libc::SECCOMP_SET_MODE_FILTER);
            if sys(libc::SYS_seccomp, mode, 0, prog).0 != 0 {
                exit(101);
            }
        }
        exit(body());
    }
    let mut status = 0;
    // SAFETY: pid is our child; status is a valid out-pointer.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    status
}

/// Returns a bit per failed expectation.
fn default_profile_checks() -> i32 {
    let eperm = (-1, libc::EPERM);
    let mut failed = 0;
    let mut check = |bit: i32, ok: bool| {
        if !ok {
            failed |= 1 << bit;
        }
    };
    check(0, sys(libc::SYS_getppid, 0, 0, 0).0 > 0);
    check(1, sys(libc::SYS_unshare, 0, 0, 0) == eperm);
    check(2, sys(libc::SYS_clone3, 0, 0, 0) == (-1, libc::ENOSYS));
    check(
        3,
        sys(libc::SYS_personality, libc::ADDR_NO_RANDOMIZE as u64, 0, 0) == eperm,
    );
    check(4, sys(libc::SYS_personality, 0xffff_ffff, 0, 0).0 >= 0);
    check(
        5,
        sys(
            libc::SYS_socket,
            libc::AF_VSOCK as u64,
            libc::SOCK_STREAM as u64,
            0,
        ) == eperm,
    );
    let newuser = sys(libc::SYS_clone, libc::CLONE_NEWUSER as u64, 0, 0);
    if newuser.0 == 0 {
        exit(0); // unfiltered: the new child leaves; bit 6 reports it
    }
    check(6, newuser == eperm);
    check(7, sys(libc::SYS_mount, 0, 0, 0) == eperm);
    check(8, sys(libc::SYS_getpid, 0, 0, 0).0 > 0);
    failed
}

#[test]
fn kernel_enforces_the_default_profile() {
    let plan = compiled(&default_profile());
    let status = in_filtered_child(&plan.programs, default_profile_checks);
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "bits of failed checks (100/101: install)"
    );
}

/// Precedence, ties, and a profile refusing seccomp(2).
fn stacked_checks() -> i32 {
    let mut failed = 0;
    let mut check = |bit: i32, ok: bool| {
        if !ok {
            failed |= 1 << bit;
        }
    };
    check(0, sys(libc::SYS_getpid, 0, 0, 0) == (-1, libc::EACCES));
    check(1, sys(libc::SYS_getpid, 1, 0, 0) == (-1, libc::EACCES));
    check(2, sys(libc::SYS_getppid, 0, 0, 0) == (-1, libc::ENOSYS));
    check(3, sys(libc::SYS_getppid, 7, 0, 0).0 > 0);
    check(4, sys(libc::SYS_seccomp, 1, 0, 0) == (-1, libc::EPERM));
    check(5, sys(libc::SYS_unshare, 0, 0, 0) == (-1, libc::EPERM));
    check(6, sys(libc::SYS_gettid, 0, 0, 0).0 > 0);
    failed
}

#[test]
fn kernel_applies_precedence_like_the_model() {
    let plan = compiled(&profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
              {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
              {"names": ["seccomp", "unshare"], "action": "SCMP_ACT_ERRNO"},
              {"names": ["getpid", "getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
               "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
              {"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"}
            ]}"#,
    ));
    assert_eq!(plan.programs.len(), 1);
    let status = in_filtered_child(&plan.programs, stacked_checks);
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "bits of failed checks (100/101: install)"
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn kernel_kills_x32_and_i386_syscalls() {
    fn x32_getpid() -> i32 {
        sys(0x4000_0000 | libc::SYS_getpid, 0, 0, 0);
        0
    }
    fn i386_getpid() -> i32 {
        let mut eax: u32 = 20; // getpid in the i386 table
                               // SAFETY: int 0x80 enters the i386 syscall ABI; getpid takes no
                               // arguments and only eax is changed.
        unsafe { std::arch::asm!("int 0x80", inout("eax") eax) };
        i32::from(eax == 0)
    }
    let plan = compiled(&default_profile());
    let status = in_filtered_child(&plan.programs, x32_getpid);
    assert!(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
        "x32: {status:#x}"
    );
    let status = in_filtered_child(&plan.programs, i386_getpid);
    // SIGSEGV if the kernel runs without IA32 emulation: no path either.
    assert!(
        libc::WIFSIGNALED(status)
            && [libc::SIGSYS, libc::SIGSEGV].contains(&libc::WTERMSIG(status)),
        "i386: {status:#x}"
    );
}

fn long_program_checks() -> i32 {
    let mut failed = 0;
    let mut check = |bit: i32, ok: bool| {
        if !ok {
            failed |= 1 << bit;
        }
    };
    check(0, sys(libc::SYS_getpid, 12345, 0, 0) == (-1, libc::EACCES));
    check(1, sys(libc::SYS_getpid, 0, 0, 0).0 > 0);
    check(2, sys(libc::SYS_getppid, 0, 77, 0) == (-1, libc::EIO));
    check(3, sys(libc::SYS_getppid, 0, 5, 0).0 > 0);
    failed
}

/// A program whose jumps need trampolines is accepted and behaves.
#[test]
fn kernel_accepts_long_jumps() {
    // Every syscall its own conditional ERRNO: a leaf of about ten
    // instructions each, so the tree's upper jumps are far.
    let entries: Vec<String> = (0..300)
        .filter_map(super::syscall_name)
        .filter(|n| !["exit", "exit_group", "getpid"].contains(&n.as_str()))
        .map(|name| {
            format!(
                r#"{{"names": ["{name}"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                    "args": [{{"index": 1, "value": {}, "op": "SCMP_CMP_GE"}},
                             {{"index": 1, "value": {}, "op": "SCMP_CMP_LE"}}]}}"#,
                name.len() * 10,
                1000 + name.len()
            )
        })
        .collect();
    let json = format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{},
            {{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
              "args": [{{"index": 0, "value": 12345, "op": "SCMP_CMP_EQ"}}]}}]}}"#,
        entries.join(",")
    );
    let plan = compiled(&profile(&json));
    let program = &plan.programs[0];
    assert!(program.iter().any(|i| i.code == bpf::JA), "no trampoline");
    let status = in_filtered_child(&plan.programs, long_program_checks);
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "bits of failed checks (100/101: install)"
    );
}
