//! The single program against the former stacked filters (`stack`).
//!
//! For the default profile, podman-shaped profiles and generated ones,
//! every syscall number 0..=470 (plus compat and out-of-table ones), with
//! argument values on both sides of every condition's boundary, must get
//! the same kernel-visible result from the program as from the stacked
//! filters (the precedence-max the kernel computes), and both the result
//! the profile's meaning gives (`expected`).

use super::super::action::Action;
use super::super::rules::{self, Cond, Op, Rule};
use super::super::{program, stack};
use super::*;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
}

/// The profile's meaning, straight from the entries.
fn expected(default: Action, rules: &[Rule], data: &SeccompData) -> u32 {
    if data.arch != arch::AUDIT_ARCH
        || (cfg!(target_arch = "x86_64") && data.nr as u32 >= 0x4000_0000)
    {
        return libc::SECCOMP_RET_KILL_PROCESS;
    }
    let first = |a: Action| rules.iter().position(|r| r.action == a);
    rules
        .iter()
        .filter(|r| r.nrs.contains(&i64::from(data.nr)))
        .filter(|r| {
            r.conds
                .iter()
                .all(|c| c.holds(data.args[usize::from(c.index)]))
        })
        .map(|r| r.action)
        .min_by_key(|&a| (a.precedence(), first(a)))
        .unwrap_or(default)
        .ret()
}

/// Values around a condition's boundary, on both halves.
fn boundary_values(c: &Cond, out: &mut Vec<u64>) {
    let v = c.value;
    out.extend([
        v,
        v.wrapping_sub(1),
        v.wrapping_add(1),
        v ^ (1 << 32),
        v ^ 1,
        v & 0xffff_ffff,
        v | 0xffff_ffff_0000_0000,
        v.wrapping_add(1 << 32),
        v.wrapping_sub(1 << 32),
    ]);
    if let Op::MaskedEq(m) = c.op {
        let d = v & m;
        let low_bit = m & m.wrapping_neg();
        let high_bit = if m == 0 {
            0
        } else {
            1 << (63 - m.leading_zeros())
        };
        out.extend([d, d | !m, d ^ low_bit, d ^ high_bit, !d & m, m]);
    }
}

/// The calls to try: for each syscall number, every boundary value alone
/// in each argument it is compared in, and random mixes of them.
fn cases(rules: &[Rule], rng: &mut Rng) -> Vec<SeccompData> {
    let mut nrs: Vec<i64> = (0..=470).collect();
    nrs.extend([1000, 0x3fff_ffff, -1, i64::from(i32::MAX)]);
    let mut out = Vec::new();
    for nr in nrs {
        let mut values: [Vec<u64>; 6] = Default::default();
        for r in rules.iter().filter(|r| r.nrs.contains(&nr)) {
            for c in &r.conds {
                boundary_values(c, &mut values[usize::from(c.index)]);
            }
        }
        for v in &mut values {
            if !v.is_empty() {
                v.extend([0, u64::MAX, 0xffff_ffff, 1 << 32]);
                v.sort_unstable();
                v.dedup();
            }
        }
        out.push(SeccompData::native(nr, &[]));
        for (i, vs) in values.iter().enumerate() {
            for &v in vs {
                let mut args = [0; 6];
                args[i] = v;
                out.push(SeccompData::native(nr, &args));
            }
        }
        let mixes = if values.iter().all(Vec::is_empty) {
            1
        } else {
            24
        };
        for _ in 0..mixes {
            let mut args = [0; 6];
            for (a, vs) in args.iter_mut().zip(&values) {
                *a = if vs.is_empty() || rng.below(4) == 0 {
                    rng.next()
                } else {
                    rng.pick(vs)
                };
            }
            out.push(SeccompData::native(nr, &args));
        }
    }
    let mut compat = Vec::new();
    for d in out.iter().step_by(37) {
        let mut x32 = *d;
        x32.nr |= 0x4000_0000;
        let mut foreign = *d;
        foreign.arch = 0x4000_0003; // i386
        compat.extend([x32, foreign]);
    }
    out.extend(compat);
    out
}

/// What one comparison found.
#[derive(Debug, Default)]
struct Seen {
    calls: usize,
    /// Calls where the former install order (`order_for_install`) changed
    /// a tie; the program keeps the documented order instead.
    reordered: usize,
    /// The program used a `JA` trampoline.
    trampolines: bool,
}

/// Asserts that the program of `rules` decides every case like the
/// stacked filters and like the profile's meaning.
fn assert_equivalent(default: Action, rules: &[Rule], rng: &mut Rng) -> Seen {
    let new = program::build(default, rules).unwrap();
    vm::validate(&new);
    let old = stack::programs(default, rules, false).unwrap();
    let installed = stack::programs(default, rules, true).ok();
    let mut seen = Seen {
        trampolines: new.iter().any(|i| i.code == super::super::bpf::JA),
        ..Seen::default()
    };
    for data in cases(rules, rng) {
        let stacked = vm::run_stack(&old, &data);
        let single = vm::run(&new, &data);
        let meant = expected(default, rules, &data);
        assert_eq!(
            (single, stacked),
            (meant, meant),
            "{data:?}\ndefault {default}\nrules {rules:?}"
        );
        if let Some(installed) = &installed {
            if vm::run_stack(installed, &data) != stacked {
                assert_ne!(installed, &old, "{data:?}");
                seen.reordered += 1;
            }
        }
        seen.calls += 1;
    }
    seen
}

fn parsed(p: &LinuxSeccomp) -> (Action, Vec<Rule>) {
    let file = Path::new("/b/config.json");
    let default =
        Action::from_oci(p.default_action(), p.default_errno_ret(), file, "/a", "/e").unwrap();
    (default, rules::parse(p, file).unwrap().rules)
}

#[test]
fn default_profile_is_equivalent() {
    let (default, rules) = parsed(&default_profile());
    let mut rng = Rng(1);
    let seen = assert_equivalent(default, &rules, &mut rng);
    let old: usize = stack::programs(default, &rules, true)
        .unwrap()
        .iter()
        .map(Vec::len)
        .sum();
    let new = program::build(default, &rules).unwrap().len();
    eprintln!(
        "default profile: {} calls; {old} instructions before, {new} now",
        seen.calls
    );
}

/// Shaped like podman's seccomp.json (containers-common) as podman
/// resolves it for a container without extra capabilities: ENOSYS by
/// default, EPERM lists, argument conditions on personality, clone and
/// socket, and overlapping socket entries of different actions.
const PODMAN_STYLE: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
  "syscalls": [
    {"names": ["bdflush", "io_pgetevents", "kexec_file_load", "kexec_load", "migrate_pages",
               "move_pages", "nfsservctl", "nice", "oldfstat", "oldlstat", "oldolduname",
               "oldstat", "olduname", "pciconfig_iobase", "pciconfig_read", "pciconfig_write",
               "sgetmask", "ssetmask", "swapcontext", "swapoff", "swapon", "sysfs", "uselib",
               "userfaultfd", "ustat", "vm86", "vm86old", "vmsplice"],
     "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
    {"names": ["_llseek", "accept", "accept4", "access", "arch_prctl", "bind", "brk", "close",
               "connect", "dup", "dup2", "execve", "exit", "exit_group", "fcntl", "fstat",
               "futex", "getdents64", "getpid", "getppid", "ioctl", "mmap", "mprotect",
               "munmap", "openat", "read", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
               "seccomp", "set_tid_address", "setns", "unshare", "wait4", "write", "socketcall"],
     "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 131072, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 131080, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 4294967295, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    {"names": ["bpf", "fanotify_init", "lookup_dcookie", "perf_event_open", "quotactl",
               "setdomainname", "sethostname", "setns"],
     "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
    {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
     "args": [{"index": 0, "value": 16, "valueTwo": 0, "op": "SCMP_CMP_EQ"},
              {"index": 2, "value": 9, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 2, "value": 9, "valueTwo": 0, "op": "SCMP_CMP_NE"}]},
    {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 16, "valueTwo": 0, "op": "SCMP_CMP_NE"}]},
    {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 2, "value": 9, "valueTwo": 0, "op": "SCMP_CMP_NE"}]}
  ]
}"#;

#[test]
fn podman_style_profile_is_equivalent() {
    let (default, rules) = parsed(&profile(PODMAN_STYLE));
    assert_equivalent(default, &rules, &mut Rng(2));
}

/// podman's own profile when installed: the entries it keeps for a
/// container without extra capabilities on this architecture.
#[test]
fn installed_podman_profile_is_equivalent() {
    let Ok(text) = std::fs::read_to_string("/usr/share/containers/seccomp.json") else {
        eprintln!("no /usr/share/containers/seccomp.json: skipped");
        return;
    };
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ours = if cfg!(target_arch = "x86_64") {
        "amd64"
    } else {
        "arm64"
    };
    let keep = |s: &serde_json::Value| {
        let includes = &s["includes"];
        let arches_ok = includes["arches"]
            .as_array()
            .is_none_or(|a| a.iter().any(|x| x == ours));
        let needs_caps = includes["caps"].as_array().is_some_and(|c| !c.is_empty());
        let min_kernel = includes.get("minKernel").is_some();
        arches_ok && !needs_caps && !min_kernel
    };
    let entries: Vec<serde_json::Value> = json["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| keep(s))
        .map(|s| {
            let mut s = s.clone();
            let o = s.as_object_mut().unwrap();
            o.remove("includes");
            o.remove("excludes");
            o.remove("comment");
            s
        })
        .collect();
    let o = json.as_object_mut().unwrap();
    o.insert("syscalls".into(), entries.into());
    o.retain(|k, _| {
        ["defaultAction", "defaultErrnoRet", "syscalls", "flags"].contains(&k.as_str())
    });
    let p: LinuxSeccomp = serde_json::from_value(json).unwrap();
    let (default, rules) = parsed(&p);
    let seen = assert_equivalent(default, &rules, &mut Rng(3));
    let new = program::build(default, &rules).unwrap().len();
    eprintln!("podman's profile: {} calls, {new} instructions", seen.calls);
}

const ACTIONS: &[Action] = &[
    Action::KillProcess,
    Action::KillThread,
    Action::Trap,
    Action::Errno(1),
    Action::Errno(13),
    Action::Errno(38),
    Action::Trace(1),
    Action::Trace(7),
    Action::Log,
    Action::Allow,
    Action::Allow,
    Action::Allow,
];

const VALUES: &[u64] = &[
    0,
    1,
    2,
    5,
    8,
    0xff,
    0x7E02_0000,
    0xffff_ffff,
    1 << 32,
    (1 << 32) + 5,
    0xffff_ffff_0000_0000,
    u64::MAX - 1,
    u64::MAX,
];

const MASKS: &[u64] = &[
    0,
    0xff,
    0x7E02_0000,
    0xffff_ffff,
    0xffff_ffff_0000_0000,
    0x1_0000_00ff,
    u64::MAX,
];

fn random_cond(rng: &mut Rng) -> Cond {
    let value = if rng.below(4) == 0 {
        rng.next()
    } else {
        rng.pick(VALUES)
    };
    let op = match rng.below(7) {
        0 => Op::Eq,
        1 => Op::Ne,
        2 => Op::Lt,
        3 => Op::Le,
        4 => Op::Gt,
        5 => Op::Ge,
        _ => Op::MaskedEq(if rng.below(4) == 0 {
            rng.next()
        } else {
            rng.pick(MASKS)
        }),
    };
    Cond {
        index: rng.pick(&[0, 0, 1, 2, 5]),
        op,
        value,
    }
}

/// A profile of `entries` entries over syscall numbers below `span`.
fn random_profile(rng: &mut Rng, entries: usize, span: usize) -> (Action, Vec<Rule>) {
    let default = rng.pick(ACTIONS);
    let rules = (0..entries)
        .map(|_| {
            let mut nrs: Vec<i64> = (0..1 + rng.below(8))
                .map(|_| rng.below(span) as i64)
                .collect();
            nrs.sort_unstable();
            nrs.dedup();
            let conds = (0..rng.pick(&[0, 0, 1, 1, 2, 3]))
                .map(|_| random_cond(rng))
                .collect();
            Rule {
                action: rng.pick(ACTIONS),
                nrs,
                conds,
            }
        })
        .collect();
    (default, rules)
}

#[test]
fn generated_profiles_are_equivalent() {
    let mut rng = Rng(0x5eed_c0de);
    let (mut calls, mut reordered) = (0, 0);
    for _ in 0..200 {
        let (entries, span) = (1 + rng.below(30), rng.pick(&[12, 40, 471]));
        let (default, rules) = random_profile(&mut rng, entries, span);
        let seen = assert_equivalent(default, &rules, &mut rng);
        calls += seen.calls;
        reordered += seen.reordered;
    }
    eprintln!("{calls} calls; {reordered} where the former install order changed a tie");
}

#[test]
fn large_generated_profiles_are_equivalent_and_need_trampolines() {
    let mut rng = Rng(0xb16_7ee);
    let (mut compared, mut trampolines) = (0, 0);
    for _ in 0..16 {
        let (default, rules) = random_profile(&mut rng, 100, 471);
        let new = program::build(default, &rules).unwrap().len();
        // seccompiler refuses a filter over 4096 instructions.
        if new > bpf::MAX_PROGRAM_LEN || stack::programs(default, &rules, false).is_err() {
            eprintln!("skipped: {new} instructions now, the former filters too long");
            continue;
        }
        let seen = assert_equivalent(default, &rules, &mut rng);
        compared += 1;
        trampolines += usize::from(seen.trampolines);
    }
    eprintln!("{compared} compared, {trampolines} with trampolines");
    assert!(compared >= 6 && trampolines > 0);
}
