//! cgroup limits really enforced: pids, memory, cpu quota, device rules;
//! update, pause/resume, events; and no cgroup left after delete.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;

/// The container's cgroup directory for `controller`, from its state.
fn cgroup_dir(rt: &Runtime, id: &str, controller: &str) -> PathBuf {
    let state: Value =
        serde_json::from_slice(&std::fs::read(rt.root.path().join(id).join("state.json")).unwrap())
            .unwrap();
    let h = state["cgroup"]["hierarchies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| {
            h["controllers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == controller)
        })
        .unwrap_or_else(|| panic!("no {controller} hierarchy in {state}"));
    PathBuf::from(h["dir"].as_str().unwrap())
}

fn read_u64(p: PathBuf) -> u64 {
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .parse()
        .unwrap()
}

fn start(rt: &Runtime, bundle: &Bundle) -> String {
    let id = unique("lim");
    let out = rt.run(&["create", "--bundle", bundle.path().to_str().unwrap(), &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(rt.run(&["start", &id]).status.success());
    id
}

fn wait_stopped(rt: &Runtime, id: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while rt.state(id)["status"] != "stopped" {
        assert!(Instant::now() < deadline, "{id} did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn fork_bomb_is_contained_by_pids_max() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    // Re-armed every 0.2 s: a bomb whose forks fail burns out, and the
    // test wants the limit under steady pressure.
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "b() { b | b & }; while :; do b; sleep 0.2; done",
    ]);
    bundle.config["linux"]["resources"]["pids"] = json!({"limit": 32});
    bundle.save();
    let id = start(&rt, &bundle);
    let pids = cgroup_dir(&rt, &id, "pids");
    // Wait until forks have been refused at the ceiling.
    let hits = || -> u64 {
        let events = std::fs::read_to_string(pids.join("pids.events")).unwrap();
        events
            .lines()
            .find_map(|l| l.strip_prefix("max "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while hits() == 0 {
        assert!(Instant::now() < deadline, "pids.max was never hit");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(read_u64(pids.join("pids.max")), 32);
    assert!(read_u64(pids.join("pids.current")) <= 32);
    // The host still forks freely.
    assert!(std::process::Command::new("true")
        .status()
        .unwrap()
        .success());
    let out = rt.run(&["delete", "--force", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn memory_hog_is_oom_killed_inside_its_cgroup() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    // A 256 MiB shell variable in a 32 MiB cgroup (the host has no swap).
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "x=$(head -c 268435456 /dev/zero | tr '\\0' a); echo survived ${#x}",
    ]);
    bundle.config["linux"]["resources"]["memory"] = json!({"limit": 33554432});
    bundle.save();
    let id = start(&rt, &bundle);
    wait_stopped(&rt, &id, Duration::from_secs(60));
    let memory = cgroup_dir(&rt, &id, "memory");
    let oom = std::fs::read_to_string(memory.join("memory.oom_control")).unwrap();
    let kills: u64 = oom
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(kills >= 1, "no OOM kill recorded: {oom}");
    assert!(read_u64(memory.join("memory.failcnt")) > 0);
    assert_eq!(read_u64(memory.join("memory.limit_in_bytes")), 33554432);
    assert!(rt.run(&["delete", &id]).status.success());
    rt.assert_nothing_left(&id, bundle.path());

    // `run` reports the kill in its exit status.
    let id = unique("oomrun");
    let (code, out, _) = rt.run_bundle(&bundle, &id);
    assert!(!out.contains("survived"));
    assert_eq!(code, 128 + 9, "OOM-killed init should exit by SIGKILL");
}

#[test]
fn cpu_quota_limits_a_busy_loop() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sh", "-c", "while :; do :; done"]);
    bundle.config["linux"]["resources"]["cpu"] = json!({"quota": 20000, "period": 100000});
    bundle.save();
    let id = start(&rt, &bundle);
    let usage = cgroup_dir(&rt, &id, "cpuacct").join("cpuacct.usage");
    std::thread::sleep(Duration::from_millis(500));
    let (u0, t0) = (read_u64(usage.clone()), Instant::now());
    std::thread::sleep(Duration::from_secs(3));
    let (u1, t1) = (read_u64(usage), Instant::now());
    let share = (u1 - u0) as f64 / (t1 - t0).as_nanos() as f64;
    assert!(
        (0.1..0.3).contains(&share),
        "busy loop used {share:.3} CPU under a 0.2 quota"
    );
    assert!(rt.run(&["delete", "--force", &id]).status.success());
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn device_rules_are_enforced() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    // Default rules: /dev/null works, a device outside the list does not.
    let mut bundle = Bundle::new(&["sh", "-c", "echo x > /dev/null && echo null-ok; mknod /tmp/kmsg c 1 11 && head -c1 /tmp/kmsg; echo end"]);
    bundle.config["root"]["readonly"] = json!(false);
    bundle.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}));
    bundle.config["process"]["capabilities"] = json!(null);
    bundle.save();
    let (code, out, err) = rt.run_bundle(&bundle, &unique("devdefault"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("null-ok"), "{out}");
    assert!(
        err.contains("Operation not permitted"),
        "kmsg was readable: {out} {err}"
    );

    // A rule denying /dev/null is enforced.
    bundle.config["process"]["args"] =
        json!(["sh", "-c", "echo x > /dev/null && echo null-ok; echo end"]);
    bundle.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
    ]);
    bundle.save();
    let (code, out, err) = rt.run_bundle(&bundle, &unique("devdeny"));
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("null-ok"), "/dev/null still writable: {out}");
    assert!(err.contains("Operation not permitted"), "{err}");
}

#[test]
fn update_pause_resume_and_events() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sleep", "1000"]);
    bundle.config["linux"]["resources"]["pids"] = json!({"limit": 100});
    bundle.save();
    let id = start(&rt, &bundle);
    let pids = cgroup_dir(&rt, &id, "pids");
    let out = rt.run(&["update", "--pids-limit", "50", "--memory", "67108864", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read_u64(pids.join("pids.max")), 50);
    assert_eq!(
        read_u64(cgroup_dir(&rt, &id, "memory").join("memory.limit_in_bytes")),
        67108864
    );
    // containerd's form: resources JSON on stdin.
    let mut child = rt
        .cmd()
        .args(["update", "--resources", "-", &id])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"pids":{"limit":40}}"#)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(read_u64(pids.join("pids.max")), 40);

    assert!(rt.run(&["pause", &id]).status.success());
    assert_eq!(rt.state(&id)["status"], "paused");
    let freezer = cgroup_dir(&rt, &id, "freezer");
    assert_eq!(
        std::fs::read_to_string(freezer.join("freezer.state"))
            .unwrap()
            .trim(),
        "FROZEN"
    );
    assert!(!rt.run(&["pause", &id]).status.success(), "pause twice");
    assert!(rt.run(&["resume", &id]).status.success());
    assert_eq!(rt.state(&id)["status"], "running");

    let out = rt.run(&["events", "--stats", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ev: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], id.as_str());
    assert!(ev["data"]["pids"]["current"].as_u64().unwrap() >= 1, "{ev}");
    assert!(
        ev["data"]["memory"]["usage"]["usage"].as_u64().is_some(),
        "{ev}"
    );

    // Delete of a paused container with --force works and cleans everything.
    assert!(rt.run(&["pause", &id]).status.success());
    let out = rt.run(&["delete", "--force", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn bad_isolation_input_fails_cleanly() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    type Case = (&'static str, fn(&mut Value), &'static str);
    let cases: [Case; 6] = [
        (
            "unknown seccomp action",
            |c| c["linux"]["seccomp"]["defaultAction"] = json!("SCMP_ACT_BOGUS"),
            "/linux/seccomp/defaultAction",
        ),
        (
            "unknown seccomp operator",
            |c| c["linux"]["seccomp"]["syscalls"] = json!([{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"}]}]),
            "/linux/seccomp/syscalls/0/args/0/op",
        ),
        (
            "argument index out of range",
            |c| c["linux"]["seccomp"]["syscalls"] = json!([{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]),
            "/linux/seccomp/syscalls/0/args/0/index",
        ),
        (
            "negative memory limit",
            |c| c["linux"]["resources"]["memory"] = json!({"limit": -5}),
            "/linux/resources/memory/limit",
        ),
        (
            "negative pids limit",
            |c| c["linux"]["resources"]["pids"] = json!({"limit": -7}),
            "/linux/resources/pids/limit",
        ),
        (
            "cgroupsPath escaping the hierarchy",
            |c| c["linux"]["cgroupsPath"] = json!("../../escape"),
            "/linux/cgroupsPath",
        ),
    ];
    for (name, edit, want) in cases {
        let mut bundle = Bundle::new(&["true"]);
        edit(&mut bundle.config);
        bundle.save();
        let id = unique("badiso");
        let out = rt.run(&["create", "--bundle", bundle.path().to_str().unwrap(), &id]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{name}: accepted");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        rt.assert_nothing_left(&id, bundle.path());
        assert!(
            cgroup_dirs("escape").is_empty(),
            "{name}: made a cgroup outside the hierarchy"
        );
    }
}
