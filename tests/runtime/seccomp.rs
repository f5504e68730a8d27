//! seccomp really refuses what the profile refuses, and nothing else.

use serde_json::json;

use crate::common::*;

/// Runs the syscall probe (tests/fixtures/probe.c) in a container with the
/// default profile and every capability, so EPERM can only come from seccomp.
fn probe(
    calls: &[&str],
    seccomp: Option<serde_json::Value>,
) -> std::collections::HashMap<String, String> {
    let rt = Runtime::new();
    let mut args = vec!["/bin/probe"];
    args.extend_from_slice(calls);
    let mut bundle = Bundle::new(&args);
    bundle.config["process"]["capabilities"] = json!(null);
    if let Some(s) = seccomp {
        bundle.config["linux"]["seccomp"] = s;
    }
    bundle.save();
    let (code, out, err) = rt.run_bundle(&bundle, &unique("probe"));
    assert_eq!(code, 0, "{err}");
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn default_profile_refuses_namespace_mount_and_key_syscalls() {
    if !privileged() {
        return;
    }
    let r = probe(
        &[
            "getpid",
            "unshare",
            "mount",
            "keyctl",
            "add_key",
            "setns",
            "bpf",
            "kexec_load",
            "init_module",
            "ptrace",
        ],
        None,
    );
    assert_eq!(r["getpid"], "0");
    for call in [
        "unshare",
        "mount",
        "keyctl",
        "add_key",
        "setns",
        "bpf",
        "kexec_load",
        "init_module",
        "ptrace",
    ] {
        assert_eq!(r[call], "EPERM", "{call} under the default profile: {r:?}");
    }
    // Without a filter the same calls get past seccomp (the probe is not
    // simply broken): keyctl on the session keyring works as root.
    let open = probe(&["keyctl", "getpid"], Some(json!(null)));
    assert_eq!(open["keyctl"], "0", "{open:?}");
}

#[test]
fn ordinary_tools_work_under_the_default_profile() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sh", "-c", "grep Seccomp: /proc/self/status; ls / > /dev/null && echo ls-ok; cat /etc/passwd > /dev/null && echo cat-ok; (sleep 0; echo sub-ok) | cat; wc -l < /etc/passwd"]);
    let (code, out, err) = rt.run_bundle(&bundle, &unique("tools"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Seccomp:\t2"), "no filter installed: {out}");
    for ok in ["ls-ok", "cat-ok", "sub-ok"] {
        assert!(out.contains(ok), "{ok} missing: {out} {err}");
    }
}

/// A profile need not allow what the runtime itself does between its
/// filter and execve: the OCI validation suite's profile (from before
/// close_range) has no close_range and no fcntl. With and without
/// no_new_privs (the filter goes in at different points).
#[test]
fn a_profile_without_close_range_or_fcntl_still_runs_the_process() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    for no_new_privs in [true, false] {
        let mut bundle = Bundle::new(&["sh", "-c", "echo ran-$((6*7))"]);
        bundle.config["process"]["noNewPrivileges"] = json!(no_new_privs);
        for rule in bundle.config["linux"]["seccomp"]["syscalls"]
            .as_array_mut()
            .unwrap()
        {
            let names = rule["names"].as_array_mut().unwrap();
            names.retain(|n| n != "close_range" && n != "fcntl");
        }
        bundle.save();
        let (code, out, err) = rt.run_bundle(&bundle, &unique("noclose"));
        assert_eq!(code, 0, "no_new_privs={no_new_privs}: {out}{err}");
        assert_eq!(out.trim(), "ran-42", "no_new_privs={no_new_privs}");
    }
}

/// A step that fails after `start` (nobody listens on the sync channel
/// any more) is still reported: one line on the container's stderr.
#[test]
fn a_failure_after_start_is_told_on_the_container_stderr() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sh", "-c", "echo never"]);
    bundle.config["process"]["noNewPrivileges"] = json!(true);
    for rule in bundle.config["linux"]["seccomp"]["syscalls"]
        .as_array_mut()
        .unwrap()
    {
        let names = rule["names"].as_array_mut().unwrap();
        names.retain(|n| n != "rt_sigprocmask");
    }
    bundle.save();
    let (code, out, err) = rt.run_bundle(&bundle, &unique("late"));
    assert_eq!(code, 127, "{out}{err}");
    assert!(!out.contains("never"), "{out}");
    assert!(
        err.contains("corral: container process: Exec failed: Operation not permitted"),
        "{err}"
    );
}

#[test]
fn argument_condition_is_enforced_exactly() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    // personality(0xffffffff) queries; anything else is refused.
    let r = probe(
        &["personality_query", "personality8"],
        Some(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                 "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_NE"}]}
            ]
        })),
    );
    assert_eq!(r["personality_query"], "0");
    assert_eq!(r["personality8"], "EPERM");
    // The same shell tool path, end to end: busybox setarch is refused.
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "uname -m; setarch linux32 uname -m; echo setarch=$?",
    ]);
    bundle.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_NE"}]}
        ]
    });
    bundle.save();
    let (code, out, err) = rt.run_bundle(&bundle, &unique("argcond"));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "x86_64");
    assert!(
        out.contains("setarch=1"),
        "personality(8) was allowed: {out} {err}"
    );
    assert!(!out.contains("i686"), "{out}");
}
