//! create / start / state / kill / delete / run, with runc's observable
//! behaviour (status strings, exit codes, pid files).

use std::time::{Duration, Instant};

use crate::common::*;

fn wait_status(rt: &Runtime, id: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = rt.state(id);
        if s["status"] == want {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never became {want}: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn create_start_kill_delete() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = unique("life");
    let pid_file = bundle.path().join("pid");
    let out = rt.run(&[
        "create",
        "--bundle",
        bundle.path().to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let state = rt.state(&id);
    assert_eq!(state["status"], "created");
    assert_eq!(state["id"], id.as_str());
    assert_eq!(state["bundle"], bundle.path().to_str().unwrap());
    assert!(state["created"].as_str().unwrap().ends_with('Z'));
    let pid: i64 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(state["pid"], pid);
    // Created: the process exists but has not exec'd sleep yet.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_ne!(comm.trim(), "sleep");

    let out = rt.run(&["start", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_status(&rt, &id, "running");
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap()
        .trim()
        != "sleep"
    {
        assert!(Instant::now() < deadline, "sleep never exec'd");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Start twice is refused.
    let out = rt.run(&["start", &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("it is running"), "{}", stderr(&out));
    // Delete of a running container needs --force.
    let out = rt.run(&["delete", &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("it is running"));

    let out = rt.run(&["kill", &id, "KILL"]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_status(&rt, &id, "stopped");
    // Killing a stopped container is an error, as in runc.
    let out = rt.run(&["kill", &id, "TERM"]);
    assert!(!out.status.success());
    let out = rt.run(&["delete", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn delete_of_created_container_kills_it() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["true"]);
    let id = unique("created-del");
    assert!(rt
        .run(&["create", "--bundle", bundle.path().to_str().unwrap(), &id])
        .status
        .success());
    let out = rt.run(&["delete", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn run_returns_the_exit_code() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sh", "-c", "exit 7"]);
    let id = unique("exit7");
    let (code, _, err) = rt.run_bundle(&bundle, &id);
    assert_eq!(code, 7, "{err}");
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn run_reports_death_by_signal_as_128_plus_n() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    // Without a pid namespace sh is not an init, so it can kill itself.
    let mut bundle = Bundle::new(&["sh", "-c", "kill -KILL $$"]);
    bundle.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
    bundle.save();
    let id = unique("sig");
    let (code, _, err) = rt.run_bundle(&bundle, &id);
    assert_eq!(code, 128 + 9, "{err}");
}

#[test]
fn kill_all_reaches_every_process() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    let id = unique("killall");
    assert!(rt
        .run(&["create", "--bundle", bundle.path().to_str().unwrap(), &id])
        .status
        .success());
    assert!(rt.run(&["start", &id]).status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let pids = loop {
        let out = rt.run(&["ps", "--format", "json", &id]);
        let pids: Vec<i32> = serde_json::from_slice(&out.stdout).unwrap();
        if pids.len() >= 3 {
            break pids;
        }
        assert!(
            Instant::now() < deadline,
            "children never appeared: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(rt.run(&["kill", "--all", &id, "9"]).status.success());
    wait_status(&rt, &id, "stopped");
    for p in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{p}/cmdline")).exists()
                || std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .unwrap()
                    .contains(") Z")
        );
    }
    assert!(rt.run(&["delete", &id]).status.success());
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn list_and_state_json() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "100"]);
    let id = unique("list");
    assert!(rt
        .run(&["create", "--bundle", bundle.path().to_str().unwrap(), &id])
        .status
        .success());
    let out = rt.run(&["list", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["status"], "created");
    let out = rt.run(&["list", "-q"]);
    assert_eq!(stdout(&out).trim(), id);
    assert!(rt.run(&["delete", "--force", &id]).status.success());
    let out = rt.run(&["list", "-q"]);
    assert_eq!(stdout(&out).trim(), "");
}

#[test]
fn features_and_spec() {
    let out = std::process::Command::new(CORRAL)
        .arg("features")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ociVersionMin"], "1.0.0");
    assert!(doc["linux"]["namespaces"].as_array().unwrap().len() >= 8);
    let dir = TempDir::new("spec");
    let spec = |dir: &TempDir| {
        std::process::Command::new(CORRAL)
            .args(["spec", "--bundle"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    assert!(spec(&dir).status.success());
    let again = spec(&dir);
    assert!(
        !again.status.success(),
        "spec must not overwrite config.json"
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(config["process"]["noNewPrivileges"], true);
    assert!(config["linux"]["seccomp"]["syscalls"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
}

#[test]
fn runs_a_bundle_made_by_runc_spec() {
    if !privileged() {
        return;
    }
    let dir = TempDir::new("runcspec");
    let made = std::process::Command::new("runc")
        .arg("spec")
        .current_dir(dir.path())
        .status();
    if !made.map(|s| s.success()).unwrap_or(false) {
        assert!(
            std::env::var_os("CORRAL_REQUIRE_ROOT").is_none(),
            "runc is not installed (tests/setup-host.sh installs it)"
        );
        eprintln!("skipped: runc is not installed");
        return;
    }
    let path = dir.path().join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["root"]["path"] = serde_json::json!(busybox_rootfs());
    config["process"]["terminal"] = serde_json::json!(false);
    config["process"]["args"] = serde_json::json!(["sh", "-c", "echo runc-bundle; exit 3"]);
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    let rt = Runtime::new();
    let id = unique("runcspec");
    let out = output_via_files(rt.cmd().args(["run", "--bundle"]).arg(dir.path()).arg(&id));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "runc-bundle");
    // runc's ambient capabilities cannot all be raised; that is not an error.
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    rt.assert_nothing_left(&id, dir.path());
}

/// execve itself fails after `start` (a script without `#!`: ENOEXEC):
/// the exit status is 127 and the container's stderr says why.
#[test]
fn an_exec_failure_after_start_is_reported() {
    if !privileged() {
        return;
    }
    let name = unique("noshebang");
    let script = busybox_rootfs().join(&name);
    std::fs::write(&script, "echo never\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let rt = Runtime::new();
    let target = format!("/{name}");
    let bundle = Bundle::new(&[target.as_str()]);
    let (code, out, err) = rt.run_bundle(&bundle, &unique("enoexec"));
    std::fs::remove_file(&script).unwrap();
    assert_eq!(code, 127, "{out}{err}");
    assert!(
        err.contains("corral: container process: Exec failed: Exec format error"),
        "{err}"
    );
}
