//! Behaviour tests: profiles are compiled with `prepare` and the program
//! is run in the `vm` interpreter; `equivalence` checks it against the
//! former stacked filters, `kernel` installs programs in forked children.

use std::path::Path;

use oci_spec::runtime::LinuxSeccomp;

use super::vm::{self, SeccompData};
use super::*;

/// What the default profile must refuse (with EPERM) where the syscall exists.
#[rustfmt::skip]
pub(super) const MUST_REFUSE: &[&str] = &[
    "unshare", "setns", "mount", "umount2", "pivot_root", "keyctl", "add_key", "request_key",
    "ptrace", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "bpf", "perf_event_open", "open_by_handle_at", "name_to_handle_at", "swapon", "swapoff",
    "reboot", "syslog", "acct", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime",
    "userfaultfd", "lookup_dcookie", "quotactl", "quotactl_fd", "iopl", "ioperm", "vm86",
    "vm86old", "create_module", "nfsservctl", "mbind", "set_mempolicy", "get_mempolicy",
    "set_mempolicy_home_node", "move_pages", "migrate_pages", "fsopen", "fsmount", "fsconfig",
    "fspick", "move_mount", "open_tree", "mount_setattr", "sethostname", "setdomainname",
    "kcmp", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "fanotify_init", "vhangup", "modify_ldt", "_sysctl",
    "uselib", "ustat", "sysfs",
];

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;

fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | e.unsigned_abs()
}

fn nr(name: &str) -> i64 {
    arch::syscall_number(name).unwrap_or_else(|| panic!("{name} unknown"))
}

fn profile(json: &str) -> LinuxSeccomp {
    serde_json::from_str(json).unwrap()
}

fn prepare(json: &str) -> Result<SeccompPlan> {
    SeccompPlan::prepare(&profile(json), Path::new("/b/config.json"))
}

fn compiled(p: &LinuxSeccomp) -> SeccompPlan {
    let plan = SeccompPlan::prepare(p, Path::new("/b/config.json")).unwrap();
    for prog in &plan.programs {
        vm::validate(prog);
    }
    plan
}

/// The stacked result of a native call.
fn call(plan: &SeccompPlan, name: &str, args: &[u64]) -> u32 {
    vm::run_stack(&plan.programs, &SeccompData::native(nr(name), args))
}

#[test]
fn default_profile_compiles_to_one_short_program() {
    let plan = compiled(&default_profile());
    let sizes: Vec<usize> = plan.programs.iter().map(Vec::len).collect();
    eprintln!("default profile on {}: programs {sizes:?}", arch::NAME);
    assert_eq!(plan.programs.len(), 1);
    // 109 on x86_64; two linear programs of 13 + 1512 before the tree.
    assert!(plan.programs[0].len() < 500, "{sizes:?}");
    assert_eq!(plan.flags, 0);
}

#[test]
fn default_profile_behaviour() {
    let plan = compiled(&default_profile());
    let eperm = errno(libc::EPERM);
    for name in [
        "read",
        "write",
        "openat",
        "execve",
        "exit_group",
        "futex",
        "seccomp",
        "wait4",
    ] {
        assert_eq!(call(&plan, name, &[]), ALLOW, "{name}");
    }
    for name in MUST_REFUSE
        .iter()
        .filter(|n| arch::syscall_number(n).is_some())
    {
        assert_eq!(call(&plan, name, &[]), eperm, "{name}");
    }
    // clone: only without namespace flags.
    let sigchld = libc::SIGCHLD as u64;
    assert_eq!(call(&plan, "clone", &[sigchld]), ALLOW);
    let thread = (libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_SETTLS
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_CLEARTID) as u64;
    assert_eq!(call(&plan, "clone", &[thread]), ALLOW);
    for ns in [
        libc::CLONE_NEWNS,
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWCGROUP,
    ] {
        assert_eq!(
            call(&plan, "clone", &[ns as u64 | sigchld]),
            eperm,
            "{ns:#x}"
        );
    }
    assert_eq!(call(&plan, "clone3", &[]), errno(libc::ENOSYS));
    // personality: Docker's values only.
    for ok in [0, 8, 0x2_0000, 0x2_0008, 0xffff_ffff] {
        assert_eq!(call(&plan, "personality", &[ok]), ALLOW, "{ok:#x}");
    }
    assert_eq!(
        call(&plan, "personality", &[libc::ADDR_NO_RANDOMIZE as u64]),
        eperm
    );
    assert_eq!(call(&plan, "personality", &[0x1_0000_0008]), eperm); // 64-bit compare
                                                                     // socket: anything but AF_VSOCK.
    assert_eq!(call(&plan, "socket", &[libc::AF_INET as u64]), ALLOW);
    assert_eq!(call(&plan, "socket", &[libc::AF_VSOCK as u64]), eperm);
    // Syscalls the profile does not name, even ones the kernel lacks.
    assert_eq!(
        vm::run_stack(&plan.programs, &SeccompData::native(1000, &[])),
        eperm
    );
}

#[test]
fn compat_syscalls_are_killed() {
    let allow_all = profile(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#);
    let blocklist = profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["unshare"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    for p in [default_profile(), allow_all, blocklist] {
        let plan = compiled(&p);
        // Another architecture: i386 on x86_64, arm on aarch64.
        let mut foreign = SeccompData::native(nr("read"), &[]);
        foreign.arch = if cfg!(target_arch = "x86_64") {
            0x4000_0003
        } else {
            0x4000_0028
        };
        assert_eq!(vm::run_stack(&plan.programs, &foreign), KILL_PROCESS);
        if cfg!(target_arch = "x86_64") {
            // x32: x86_64 arch value, __X32_SYSCALL_BIT in the number.
            let x32 = SeccompData::native(0x4000_0000 | nr("unshare"), &[]);
            assert_eq!(vm::run_stack(&plan.programs, &x32), KILL_PROCESS);
        }
        assert_eq!(call(&plan, "read", &[]), ALLOW);
    }
}

#[test]
fn an_allow_all_profile_is_one_guard_program() {
    let plan = prepare(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#).unwrap();
    assert_eq!(plan.programs.len(), 1);
    assert_eq!(call(&plan, "unshare", &[]), ALLOW);
}

#[test]
fn argument_condition_selects_the_call() {
    let plan = compiled(&profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]}]}"#,
    ));
    assert_eq!(plan.programs.len(), 1);
    assert_eq!(call(&plan, "personality", &[0xffff_ffff]), ALLOW);
    assert_eq!(call(&plan, "personality", &[8]), errno(libc::EPERM));
}

#[test]
fn every_operator_compares_64_bit_values() {
    let big = 0x1_0000_0005_u64;
    let cases: [(&str, &[(u64, bool)]); 7] = [
        ("SCMP_CMP_NE", &[(big, false), (5, true), (big + 1, true)]),
        (
            "SCMP_CMP_LT",
            &[(big - 1, true), (5, true), (big, false), (u64::MAX, false)],
        ),
        ("SCMP_CMP_LE", &[(big, true), (big + 1, false), (0, true)]),
        ("SCMP_CMP_EQ", &[(big, true), (5, false)]),
        (
            "SCMP_CMP_GE",
            &[(big, true), (big - 1, false), (u64::MAX, true), (5, false)],
        ),
        (
            "SCMP_CMP_GT",
            &[(big, false), (big + 1, true), (0x2_0000_0000, true)],
        ),
        // mask 0x1_0000_00ff, datum 0x1_0000_0005.
        (
            "SCMP_CMP_MASKED_EQ",
            &[(0x1_0000_ff05, true), (0x5, false), (0x1_0000_0006, false)],
        ),
    ];
    for (op, expect) in cases {
        let (value, value_two) = if op == "SCMP_CMP_MASKED_EQ" {
            (0x1_0000_00ff_u64, big)
        } else {
            (big, 0)
        };
        let plan = compiled(&profile(&format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO",
                "syscalls": [{{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                  "args": [{{"index": 5, "value": {value}, "valueTwo": {value_two}, "op": "{op}"}}]}}]}}"#
        )));
        for &(arg, allowed) in expect {
            let want = if allowed { ALLOW } else { errno(libc::EPERM) };
            assert_eq!(
                call(&plan, "read", &[0, 0, 0, 0, 0, arg]),
                want,
                "{op} {arg:#x}"
            );
        }
    }
}

#[test]
fn masked_eq_without_value_two_compares_to_zero() {
    let plan = compiled(&profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#,
    ));
    assert_eq!(call(&plan, "clone", &[17]), ALLOW);
    assert_eq!(call(&plan, "clone", &[0x2000_0011]), errno(libc::EPERM));
}

#[test]
fn highest_precedence_wins_among_matching_entries() {
    let plan = compiled(&profile(
        r#"{"defaultAction": "SCMP_ACT_LOG",
            "syscalls": [
              {"names": ["getpid", "getppid", "gettid"], "action": "SCMP_ACT_ALLOW"},
              {"names": ["getpid", "gettid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
              {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
               "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
              {"names": ["getpid"], "action": "SCMP_ACT_TRAP",
               "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_GE"}]},
              {"names": ["getpid"], "action": "SCMP_ACT_KILL",
               "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_GE"}]},
              {"names": ["getpid"], "action": "SCMP_ACT_KILL_PROCESS",
               "args": [{"index": 0, "value": 4, "op": "SCMP_CMP_GE"}]}
            ]}"#,
    ));
    assert_eq!(plan.programs.len(), 1);
    assert_eq!(call(&plan, "getppid", &[]), ALLOW);
    assert_eq!(call(&plan, "gettid", &[]), libc::SECCOMP_RET_TRACE | 7);
    assert_eq!(call(&plan, "getpid", &[0]), libc::SECCOMP_RET_TRACE | 7);
    assert_eq!(call(&plan, "getpid", &[1]), errno(13));
    assert_eq!(call(&plan, "getpid", &[2]), libc::SECCOMP_RET_TRAP);
    assert_eq!(call(&plan, "getpid", &[3]), libc::SECCOMP_RET_KILL_THREAD);
    assert_eq!(call(&plan, "getpid", &[4]), KILL_PROCESS);
    assert_eq!(call(&plan, "getuid", &[]), libc::SECCOMP_RET_LOG);
}

#[test]
fn a_conditional_allow_does_not_override_another_refusal() {
    let plan = compiled(&profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
              {"names": ["write"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
              {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
               "args": [{"index": 2, "value": 100, "op": "SCMP_CMP_GT"}]}
            ]}"#,
    ));
    assert_eq!(call(&plan, "write", &[1, 0, 10]), ALLOW);
    assert_eq!(call(&plan, "write", &[1, 0, 1000]), errno(libc::EACCES));
    assert_eq!(call(&plan, "write", &[2, 0, 1000]), errno(libc::EACCES));
    assert_eq!(call(&plan, "write", &[2, 0, 10]), errno(libc::EPERM));
}

#[test]
fn conditions_of_one_entry_are_anded_and_entries_ored() {
    let plan = compiled(&profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
              {"names": ["read"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_GE"},
                        {"index": 0, "value": 5, "op": "SCMP_CMP_LE"}]},
              {"names": ["read"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]}
            ]}"#,
    ));
    let results: Vec<bool> = (0..11)
        .map(|fd| call(&plan, "read", &[fd]) == ALLOW)
        .collect();
    let expect: Vec<bool> = (0..11).map(|fd| (3..=5).contains(&fd) || fd == 9).collect();
    assert_eq!(results, expect);
}

#[test]
fn an_explicit_default_action_entry_still_refuses() {
    // Listed as ALLOW and as the default ERRNO: ERRNO has precedence.
    let plan = compiled(&profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
              {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
              {"names": ["write"], "action": "SCMP_ACT_ERRNO"}
            ]}"#,
    ));
    assert_eq!(plan.programs.len(), 1);
    assert_eq!(call(&plan, "read", &[]), ALLOW);
    assert_eq!(call(&plan, "write", &[]), errno(libc::EPERM));
}

#[test]
fn errno_ties_go_to_the_action_listed_first() {
    let json = |first: u32, second: u32| {
        format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": {first},
                "syscalls": [
                  {{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": {first}}},
                  {{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": {second},
                    "args": [{{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}}]}}
                ]}}"#
        )
    };
    let plan = compiled(&profile(&json(13, 38)));
    assert_eq!(call(&plan, "getpid", &[0]), errno(13));
    assert_eq!(call(&plan, "getpid", &[1]), errno(13));
    let plan = compiled(&profile(&json(38, 13)));
    assert_eq!(call(&plan, "getpid", &[0]), errno(38));
}

#[test]
fn default_errno_ret_and_trace_default() {
    let plan = compiled(&profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_TRACE"}]}"#,
    ));
    assert_eq!(call(&plan, "write", &[]), errno(libc::ENOSYS));
    assert_eq!(call(&plan, "read", &[]), libc::SECCOMP_RET_TRACE | 1);
}

#[test]
fn unknown_syscall_names_are_skipped() {
    let plan = compiled(&profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read", "frobnicate_2077"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["frobnicate_2078"], "action": "SCMP_ACT_KILL"}]}"#,
    ));
    assert_eq!(plan.programs.len(), 1);
    assert_eq!(call(&plan, "read", &[]), ALLOW);
}

#[test]
fn config_errors_name_file_and_pointer() {
    let err = |json: &str| prepare(json).unwrap_err().to_string();
    assert_eq!(
        err(r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["read"], "action": "SCMP_ACT_LOG"},
                             {"names": ["write"], "action": "SCMP_ACT_LOG",
                              "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#),
        "/b/config.json: /linux/seccomp/syscalls/1/args/0/index: argument index 6 is out of range 0..=5"
    );
    assert!(err(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#).starts_with(
        "/b/config.json: /linux/seccomp/defaultAction: SCMP_ACT_NOTIFY is not supported"
    ));
    assert!(err(r#"{"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                                 {"names": ["ioctl"], "action": "SCMP_ACT_NOTIFY"}]}"#)
    .starts_with(
        "/b/config.json: /linux/seccomp/syscalls/1/action: SCMP_ACT_NOTIFY is not supported"
    ));
    assert!(err(r#"{"defaultAction": "SCMP_ACT_ALLOW",
                    "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"]}"#)
    .starts_with(
        "/b/config.json: /linux/seccomp/flags/1: SECCOMP_FILTER_FLAG_TSYNC is not supported"
    ));
    assert_eq!(
        err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}"#),
        "/b/config.json: /linux/seccomp/defaultErrnoRet: 70000 is not an errno (0..=4095)"
    );
}

#[test]
fn flags_become_bits() {
    let plan = prepare(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#,
    )
    .unwrap();
    assert_eq!(
        plan.flags,
        libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
    );
}

#[test]
fn profiles_refusing_seccomp_are_one_program_too() {
    for json in [
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["seccomp", "unshare"], "action": "SCMP_ACT_ERRNO"},
                         {"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"}]}"#,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"},
                         {"names": ["seccomp", "unshare"], "action": "SCMP_ACT_ERRNO"}]}"#,
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"},
                         {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}"#,
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["seccomp"], "action": "SCMP_ACT_KILL_PROCESS"},
                         {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}"#,
    ] {
        let plan = compiled(&profile(json));
        assert_eq!(plan.programs.len(), 1);
        assert_ne!(call(&plan, "seccomp", &[1]), ALLOW);
    }
    // Stacked filters could not all be installed here: now one program.
    let plan = compiled(&profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["seccomp"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 2, "value": 0, "op": "SCMP_CMP_NE"}]},
                         {"names": ["seccomp"], "action": "SCMP_ACT_KILL",
                          "args": [{"index": 2, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
    ));
    assert_eq!(call(&plan, "seccomp", &[1, 0, 8]), ALLOW);
    assert_eq!(
        call(&plan, "seccomp", &[1, 0, 0]),
        libc::SECCOMP_RET_KILL_THREAD
    );
}

#[test]
fn a_profile_too_big_for_one_program_is_refused() {
    // 100 syscalls, each with its own 10 conditions of 5 instructions.
    let entries: Vec<String> = (0..100)
        .filter_map(|n| {
            let name = syscall_name(n)?;
            let conds: Vec<String> = (0..10)
                .map(|v| {
                    format!(
                        r#"{{"index": 1, "value": {}, "op": "SCMP_CMP_GE"}}"#,
                        n * 10 + v
                    )
                })
                .collect();
            Some(format!(
                r#"{{"names": ["{name}"], "action": "SCMP_ACT_ALLOW", "args": [{}]}}"#,
                conds.join(",")
            ))
        })
        .collect();
    let json = format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{}]}}"#,
        entries.join(",")
    );
    let e = prepare(&json).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "/b/config.json: /linux/seccomp/syscalls: the profile compiles to a program of"
        ),
        "{e}"
    );
}

/// The native name of syscall number `n`, if any.
fn syscall_name(n: i64) -> Option<String> {
    let n = usize::try_from(n).ok()?;
    syscalls::Sysno::new(n).map(|s| s.name().to_string())
}

#[test]
fn supported_lists_parse_as_oci_values() {
    use oci_spec::runtime::{
        Arch, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
    };
    let parse = |s: &str| format!("\"{s}\"");
    for a in SUPPORTED_ACTIONS {
        let _: LinuxSeccompAction = serde_json::from_str(&parse(a)).unwrap();
    }
    for o in SUPPORTED_OPERATORS {
        let _: LinuxSeccompOperator = serde_json::from_str(&parse(o)).unwrap();
    }
    for a in SUPPORTED_ARCHES {
        let _: Arch = serde_json::from_str(&parse(a)).unwrap();
    }
    for f in SUPPORTED_FLAGS {
        let _: LinuxSeccompFilterFlag = serde_json::from_str(&parse(f)).unwrap();
    }
    assert!(!SUPPORTED_ACTIONS.contains(&"SCMP_ACT_NOTIFY"));
    assert!(!SUPPORTED_FLAGS.contains(&"SECCOMP_FILTER_FLAG_TSYNC"));
}

mod equivalence;
mod kernel;

#[test]
fn compiled_profiles_are_reused_and_told_apart() {
    let default = default_profile();
    let first = compiled(&default);
    let again = compiled(&default);
    assert_eq!(first.programs, again.programs);
    assert_eq!(first.flags, again.flags);
    let mut other = default.clone();
    other.set_default_errno_ret(Some(libc::EACCES as u32));
    let other = compiled(&other);
    assert_ne!(
        first.programs, other.programs,
        "a changed profile is compiled anew"
    );
    assert_eq!(call(&other, "mount", &[]), errno(libc::EACCES));
    assert_eq!(call(&compiled(&default), "mount", &[]), errno(libc::EPERM));
}
