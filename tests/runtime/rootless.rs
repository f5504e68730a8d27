//! Rootless: an unprivileged user (uid 65534) runs containers from a
//! `corral spec --rootless` config: a user namespace mapping only itself,
//! no cgroup of its own (it may not make one), the same lifecycle verbs,
//! exec included.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common::*;

const NOBODY: u32 = 65534;

/// corral as uid/gid 65534 without supplementary groups.
fn as_nobody(state: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(CORRAL);
    cmd.uid(NOBODY)
        .gid(NOBODY)
        .arg("--root")
        .arg(state)
        .args(args);
    output_via_files(&mut cmd)
}

struct Rootless {
    dir: TempDir,
}

impl Rootless {
    fn new() -> Rootless {
        let dir = TempDir::new("rootless");
        for d in ["", "state", "bundle"] {
            let p = dir.path().join(d);
            std::fs::create_dir_all(&p).unwrap();
            std::os::unix::fs::chown(&p, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        Rootless { dir }
    }

    fn state(&self) -> std::path::PathBuf {
        self.dir.path().join("state")
    }

    fn bundle(&self) -> std::path::PathBuf {
        self.dir.path().join("bundle")
    }

    fn corral(&self, args: &[&str]) -> Output {
        as_nobody(&self.state(), args)
    }

    /// `corral spec --rootless` as the user, then `edit` on its config.
    fn config(&self, args: &[&str], edit: impl FnOnce(&mut Value)) {
        let bundle = self.bundle();
        let _ = std::fs::remove_file(bundle.join("config.json"));
        let out = self.corral(&["spec", "--rootless", "--bundle", bundle.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let path = bundle.join("config.json");
        let mut c: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        c["root"]["path"] = json!(busybox_rootfs());
        c["process"]["terminal"] = json!(false);
        c["process"]["args"] = json!(args);
        edit(&mut c);
        std::fs::write(&path, serde_json::to_vec(&c).unwrap()).unwrap();
    }
}

#[test]
fn an_unprivileged_user_runs_a_container_in_its_own_user_namespace() {
    if !privileged() {
        return;
    }
    let r = Rootless::new();
    r.config(
        &["sh", "-c", "id -u; cat /proc/self/uid_map; hostname"],
        |_| {},
    );
    let id = unique("rootless");
    let bundle = r.bundle();
    let out = r.corral(&["run", "--bundle", bundle.to_str().unwrap(), &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "root inside: {text}");
    assert_eq!(
        lines[1],
        ["0", "65534", "1"],
        "only the user is mapped: {text}"
    );
    assert!(cgroup_dirs(&id).is_empty(), "a cgroup it may not make");
    assert!(!r.state().join(&id).exists());
}

#[test]
fn rootless_lifecycle_exec_and_what_it_refuses() {
    if !privileged() {
        return;
    }
    let r = Rootless::new();
    r.config(&["sleep", "100"], |_| {});
    let id = unique("rootless");
    let bundle = r.bundle();
    let b = bundle.to_str().unwrap();
    let out = r.corral(&["create", "--bundle", b, &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(r.corral(&["start", &id]).status.success());
    let state: Value = serde_json::from_str(&stdout(&r.corral(&["state", &id]))).unwrap();
    assert_eq!(state["status"], "running");
    let pid = state["pid"].as_i64().unwrap();
    let uid_line = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .to_owned();
    assert_eq!(
        uid_line.split_whitespace().nth(1),
        Some("65534"),
        "the host sees the user: {uid_line}"
    );
    // exec reaches the container's pid namespace through its user
    // namespace (a double fork) and reports the process's exit status.
    let out = r.corral(&[
        "exec",
        &id,
        "sh",
        "-c",
        "id -u; tr '\\0' ' ' < /proc/1/cmdline; echo; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["0", "sleep 100 "],
        "in the container's user and pid namespaces: {text}"
    );
    assert!(r.corral(&["kill", &id, "KILL"]).status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !r.corral(&["delete", &id]).status.success() {
        assert!(
            std::time::Instant::now() < deadline,
            "delete never succeeded"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!r.state().join(&id).exists());

    // A limit needs a cgroup the user may not make: refused, nothing left.
    r.config(&["true"], |c| {
        c["linux"]["resources"] = json!({"pids": {"limit": 10}});
    });
    let id = unique("rootless");
    let out = r.corral(&["run", "--bundle", b, &id]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert!(!r.state().join(&id).exists());
    assert!(cgroup_dirs(&id).is_empty());
}
