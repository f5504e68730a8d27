//! Hooks run at the points the runtime-spec defines, in order, with the
//! state on stdin, in the right namespaces.

use serde_json::{json, Value};

use crate::common::*;

fn hook(dir: &str, kind: &str) -> Value {
    let script = format!("cat > {dir}/{kind}.json; echo {kind} $(hostname) >> {dir}/order");
    json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
}

#[test]
fn hooks_run_in_order_with_state_on_stdin() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let logs = TempDir::new("hooklog");
    let host_dir = logs.path().display().to_string();
    let mut bundle = Bundle::new(&["sh", "-c", "echo main $(hostname) >> /hooklog/order"]);
    bundle.config["hostname"] = json!("hooked");
    bundle.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/hooklog", "type": "bind", "source": host_dir, "options": ["rbind", "rw"]}));
    bundle.config["hooks"] = json!({
        "prestart": [hook(&host_dir, "prestart")],
        "createRuntime": [hook(&host_dir, "createRuntime")],
        "createContainer": [hook(&host_dir, "createContainer")],
        // Runs inside the container after pivot_root: paths are the container's.
        "startContainer": [hook("/hooklog", "startContainer")],
        "poststart": [hook(&host_dir, "poststart")],
        "poststop": [hook(&host_dir, "poststop")]
    });
    bundle.save();
    let id = unique("hooks");
    let (code, _, err) = rt.run_bundle(&bundle, &id);
    assert_eq!(code, 0, "{err}");
    let order = std::fs::read_to_string(logs.path().join("order")).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host = host.trim();
    let kinds: Vec<&str> = order
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    // poststart runs after the process is started, so "main" may come before it.
    let pos = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("{k} missing: {order}"))
    };
    assert!(pos("prestart") < pos("createRuntime"));
    assert!(pos("createRuntime") < pos("createContainer"));
    assert!(pos("createContainer") < pos("startContainer"));
    assert!(pos("startContainer") < pos("main"));
    assert!(pos("startContainer") < pos("poststart"));
    assert_eq!(pos("poststop"), kinds.len() - 1);
    // Runtime-namespace hooks see the host's hostname; container ones the container's.
    let hostname_of = |k: &str| {
        order
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(hostname_of("createRuntime"), host);
    assert_eq!(hostname_of("createContainer"), "hooked");
    assert_eq!(hostname_of("startContainer"), "hooked");
    assert_eq!(hostname_of("poststop"), host);
    let state = |k: &str| -> Value {
        serde_json::from_slice(&std::fs::read(logs.path().join(format!("{k}.json"))).unwrap())
            .unwrap()
    };
    assert_eq!(state("createRuntime")["status"], "creating");
    assert_eq!(state("startContainer")["status"], "created");
    assert_eq!(state("poststart")["status"], "running");
    assert_eq!(state("poststop")["status"], "stopped");
    assert_eq!(state("createRuntime")["id"], id.as_str());
    assert!(state("createRuntime")["pid"].as_i64().unwrap() > 0);
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn failing_create_hook_fails_create_and_cleans_up() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["true"]);
    bundle.config["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]});
    bundle.save();
    let id = unique("hookfail");
    let out = rt.run(&["create", "--bundle", bundle.path().to_str().unwrap(), &id]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("createRuntime hook /bin/false"),
        "{}",
        stderr(&out)
    );
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn hook_timeout_is_enforced() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["true"]);
    bundle.config["hooks"] =
        json!({"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    bundle.save();
    let id = unique("hooktimeout");
    let out = rt.run(&["create", "--bundle", bundle.path().to_str().unwrap(), &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    rt.assert_nothing_left(&id, bundle.path());
}

/// runtime-spec: a failing poststart or poststop hook is a warning; the
/// remaining hooks still run and the lifecycle goes on.
#[test]
fn a_failing_poststart_or_poststop_hook_does_not_stop_the_others() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let logs = TempDir::new("hooklog");
    let dir = logs.path().display().to_string();
    let fail = json!({"path": "/bin/false"});
    let mut bundle = Bundle::new(&["true"]);
    bundle.config["hooks"] = json!({
        "poststart": [fail.clone(), hook(&dir, "poststart")],
        "poststop": [fail, hook(&dir, "poststop")]
    });
    bundle.save();
    let id = unique("hookfail");
    let (code, _, err) = rt.run_bundle(&bundle, &id);
    assert_eq!(code, 0, "{err}");
    let order = std::fs::read_to_string(logs.path().join("order")).unwrap_or_default();
    assert!(order.contains("poststart"), "{order:?} {err}");
    assert!(order.contains("poststop"), "{order:?} {err}");
    assert!(err.contains("poststart hook /bin/false"), "{err}");
    rt.assert_nothing_left(&id, bundle.path());
}
