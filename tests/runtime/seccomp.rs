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
