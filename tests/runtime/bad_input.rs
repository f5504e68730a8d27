//! Bad input: each case gives one line naming the problem and where, a
//! non-zero exit, and leaves nothing behind (no state dir, cgroup, mount or
//! process).

use serde_json::{json, Value};

use crate::common::*;

struct Case {
    name: &'static str,
    /// Edits the default config (after `corral spec`).
    edit: fn(&mut Value),
    /// Expected in the single stderr line.
    want: &'static str,
}

fn ns_path(c: &mut Value, kind: &str, path: &str) {
    for n in c["linux"]["namespaces"].as_array_mut().unwrap() {
        if n["type"] == kind {
            n["path"] = json!(path);
        }
    }
}

const CONFIG_CASES: &[Case] = &[
    Case {
        name: "wrong type for args",
        edit: |c| c["process"]["args"] = json!("sh"),
        want: "/process/args: invalid type",
    },
    Case {
        name: "unknown ociVersion major",
        edit: |c| c["ociVersion"] = json!("2.0.0"),
        want: "/ociVersion: unsupported ociVersion 2.0.0",
    },
    Case {
        name: "ociVersion not semver",
        edit: |c| c["ociVersion"] = json!("banana"),
        want: "/ociVersion: \"banana\" is not a semantic version",
    },
    Case {
        name: "missing root",
        edit: |c| {
            c.as_object_mut().unwrap().remove("root");
        },
        want: "/root: is required",
    },
    Case {
        name: "missing rootfs",
        edit: |c| c["root"]["path"] = json!("/nonexistent/rootfs"),
        want: "/root/path: rootfs /nonexistent/rootfs",
    },
    Case {
        name: "rootfs is a file",
        edit: |c| c["root"]["path"] = json!("/etc/hostname"),
        want: "/root/path: rootfs /etc/hostname is not a directory",
    },
    Case {
        name: "relative cwd",
        edit: |c| c["process"]["cwd"] = json!("tmp"),
        want: "/process/cwd: \"tmp\" is not an absolute path",
    },
    Case {
        name: "empty args",
        edit: |c| c["process"]["args"] = json!([]),
        want: "/process/args: must name a program",
    },
    Case {
        name: "env without =",
        edit: |c| c["process"]["env"] = json!(["PATH=/bin", "JUNK"]),
        want: "/process/env/1",
    },
    Case {
        name: "duplicate namespace",
        edit: |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "pid"}))
        },
        want: "duplicate namespace pid",
    },
    Case {
        name: "unknown namespace type",
        edit: |c| c["linux"]["namespaces"][0]["type"] = json!("bogus"),
        want: "/linux/namespaces/0/type",
    },
    Case {
        name: "namespace path is not a namespace",
        edit: |c| ns_path(c, "network", "/etc/hostname"),
        want: "/etc/hostname is not a namespace file",
    },
    Case {
        name: "namespace path missing",
        edit: |c| ns_path(c, "network", "/nonexistent/ns"),
        want: "/nonexistent/ns: No such file",
    },
    Case {
        name: "namespace of the wrong type",
        edit: |c| ns_path(c, "network", "/proc/self/ns/uts"),
        want: "is a namespace of another type",
    },
    Case {
        name: "relative namespace path",
        edit: |c| ns_path(c, "network", "proc/1/ns/net"),
        want: "is not an absolute path",
    },
    Case {
        name: "unknown capability",
        edit: |c| {
            c["process"]["capabilities"]["bounding"]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_TEST"))
        },
        want: "unknown capability CAP_TEST",
    },
    Case {
        name: "relative mount destination",
        edit: |c| {
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"destination": "data", "type": "tmpfs", "source": "tmpfs"}))
        },
        want: "/mounts/7/destination: \"data\" is not an absolute path",
    },
    Case {
        name: "bind mount of a missing source",
        edit: |c| {
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/data", "type": "bind", "source": "/nonexistent/src", "options": ["rbind"]}))
        },
        want: "/mounts/7: source /nonexistent/src",
    },
    Case {
        name: "mount of an unknown filesystem",
        edit: |c| {
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"destination": "/data", "type": "nosuchfs", "source": "x"}))
        },
        want: "mount nosuchfs on /data: No such device",
    },
    Case {
        name: "mount without type",
        edit: |c| {
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"destination": "/data", "source": "x"}))
        },
        want: "/mounts/7/type: is required unless the mount is a bind mount",
    },
    Case {
        name: "hostname without uts namespace",
        edit: |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "uts");
        },
        want: "/hostname: setting the hostname needs a uts namespace",
    },
    Case {
        name: "unknown rlimit",
        edit: |c| c["process"]["rlimits"] = json!([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]),
        want: "/process/rlimits/0/type",
    },
    Case {
        name: "rlimit soft above hard",
        edit: |c| {
            c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 5}])
        },
        want: "/process/rlimits/0: soft limit is above the hard limit",
    },
    Case {
        name: "executable not found",
        edit: |c| c["process"]["args"] = json!(["/no/such/binary"]),
        want: "/process/args/0: exec: \"/no/such/binary\": executable file not found",
    },
    Case {
        name: "id mappings without user namespace",
        edit: |c| {
            c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}])
        },
        want: "/linux/uidMappings",
    },
    Case {
        name: "sysctl that is not namespaced",
        edit: |c| c["linux"]["sysctl"] = json!({"vm.swappiness": "10"}),
        want: "/linux/sysctl/vm.swappiness: vm.swappiness is not a namespaced sysctl",
    },
    Case {
        name: "negative uid",
        edit: |c| c["process"]["user"]["uid"] = json!(-1),
        want: "/process/user/uid: invalid value",
    },
    Case {
        name: "no mount namespace",
        edit: |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "mount");
        },
        want: "/linux/namespaces: a mount namespace is required",
    },
    Case {
        name: "cwd that does not exist",
        edit: |c| c["process"]["cwd"] = json!("/nonexistent"),
        want: "/process/cwd: cannot enter cwd /nonexistent",
    },
    Case {
        name: "terminal without console socket",
        edit: |c| c["process"]["terminal"] = json!(true),
        want: "/process/terminal: a terminal needs --console-socket",
    },
    Case {
        name: "hook with a relative path",
        edit: |c| c["hooks"] = json!({"prestart": [{"path": "true"}]}),
        want: "/hooks/prestart/0/path",
    },
];

/// Checks one failed command: non-zero exit, exactly one stderr line
/// containing `want`, the same error in the JSON log, nothing left behind.
fn check_failure(
    rt: &Runtime,
    out: &std::process::Output,
    log: &std::path::Path,
    id: &str,
    bundle: &std::path::Path,
    name: &str,
    want: &str,
) {
    let err = stderr(out);
    assert!(!out.status.success(), "{name}: succeeded");
    assert_eq!(err.lines().count(), 1, "{name}: not one line:\n{err}");
    assert!(
        err.contains(want),
        "{name}: {err:?} does not contain {want:?}"
    );
    let logged = std::fs::read_to_string(log).unwrap_or_default();
    let last: Value =
        serde_json::from_str(logged.lines().last().unwrap_or("{}")).unwrap_or_default();
    assert_eq!(last["level"], "error", "{name}: log {logged:?}");
    assert!(
        last["msg"].as_str().unwrap_or("").contains(want),
        "{name}: log {logged:?}"
    );
    rt.assert_nothing_left(id, bundle);
}

fn create_with_log(
    rt: &Runtime,
    bundle: &std::path::Path,
    id: &str,
    log: &std::path::Path,
) -> std::process::Output {
    output_via_files(
        rt.cmd()
            .arg("--log")
            .arg(log)
            .args(["--log-format", "json", "create", "--bundle"])
            .arg(bundle)
            .arg(id),
    )
}

#[test]
fn bad_configs_fail_cleanly() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    for case in CONFIG_CASES {
        let mut bundle = Bundle::new(&["sleep", "10"]);
        (case.edit)(&mut bundle.config);
        bundle.save();
        let id = unique("bad");
        let log = bundle.path().join("log.json");
        let out = create_with_log(&rt, bundle.path(), &id, &log);
        check_failure(&rt, &out, &log, &id, bundle.path(), case.name, case.want);
    }
}

#[test]
fn malformed_and_missing_config() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["true"]);
    std::fs::write(
        bundle.path().join("config.json"),
        "{\"ociVersion\": \"1.0.0\", ",
    )
    .unwrap();
    let log = bundle.path().join("log.json");
    let id = unique("malformed");
    let out = create_with_log(&rt, bundle.path(), &id, &log);
    check_failure(
        &rt,
        &out,
        &log,
        &id,
        bundle.path(),
        "malformed JSON",
        "config.json: /: malformed JSON",
    );
    std::fs::remove_file(bundle.path().join("config.json")).unwrap();
    let out = create_with_log(&rt, bundle.path(), &id, &log);
    check_failure(
        &rt,
        &out,
        &log,
        &id,
        bundle.path(),
        "missing config",
        "config.json: No such file or directory",
    );
}

#[test]
fn hostile_ids_are_refused() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["true"]);
    let long = "x".repeat(300);
    for (id, want) in [
        ("", "must not be empty"),
        ("../escape", "must not contain /"),
        ("a/b", "must not contain /"),
        ("..", "must not be . or .."),
        (long.as_str(), "longer than 255 bytes"),
        ("bad id", "may only contain"),
    ] {
        let log = bundle.path().join("log.json");
        let out = create_with_log(&rt, bundle.path(), id, &log);
        let err = stderr(&out);
        assert!(!out.status.success(), "{id:?} accepted");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{id:?}: {err}");
    }
    // Nothing was written anywhere, including outside the state root.
    assert!(std::fs::read_dir(rt.root.path())
        .map(|d| d.count() == 0)
        .unwrap_or(true));
    assert!(!rt.root.path().parent().unwrap().join("escape").exists());
}

#[test]
fn wrong_state_operations() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "100"]);
    let id = unique("wrongstate");
    let b = bundle.path().to_str().unwrap();
    assert!(rt.run(&["create", "--bundle", b, &id]).status.success());
    let cases: [(&[&str], &str); 5] = [
        (&["create", "--bundle", b, &id], "already exists"),
        (
            &["start", "nosuchcontainer"],
            "container nosuchcontainer does not exist",
        ),
        (&["kill", &id, "NOTASIGNAL"], "unknown signal"),
        (&["state", "nosuchcontainer"], "does not exist"),
        (&["delete", "nosuchcontainer"], "does not exist"),
    ];
    for (args, want) in cases {
        let out = rt.run(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    assert!(rt.run(&["start", &id]).status.success());
    let out = rt.run(&["start", &id]);
    assert!(
        stderr(&out).contains("cannot start container") && stderr(&out).contains("it is running"),
        "{}",
        stderr(&out)
    );
    let out = rt.run(&["delete", &id]);
    assert!(
        stderr(&out).contains("cannot delete container") && stderr(&out).contains("it is running")
    );
    assert!(rt.run(&["kill", &id, "KILL"]).status.success());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let out = rt.run(&["kill", &id, "TERM"]);
    assert!(stderr(&out).contains("it is stopped"), "{}", stderr(&out));
    assert!(rt.run(&["delete", &id]).status.success());
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn symlinked_proc_in_rootfs_is_refused() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let rootfs = TempDir::new("evilroot");
    make_busybox_rootfs(rootfs.path());
    std::fs::remove_dir(rootfs.path().join("proc")).unwrap();
    std::os::unix::fs::symlink("/", rootfs.path().join("proc")).unwrap();
    let mut bundle = Bundle::new(&["true"]);
    bundle.config["root"]["path"] = json!(rootfs.path());
    bundle.save();
    let id = unique("evilproc");
    let log = bundle.path().join("log.json");
    let out = create_with_log(&rt, bundle.path(), &id, &log);
    check_failure(
        &rt,
        &out,
        &log,
        &id,
        bundle.path(),
        "symlinked /proc",
        "/mounts/0/destination: proc on /proc: destination is a symlink",
    );
}
