//! Each service in its own namespaces and cgroup, checked from the host.

use std::fs;

use crate::sandbox::{ns, Booted};

const ISOLATED: [&str; 5] = ["base", "mid", "top", "killme", "chatty"];

pub fn each_service_has_its_own_namespaces_and_cgroup(sb: &Booted) {
    let init = sb.init_pid;
    let host_pids: Vec<(String, i32)> = ISOLATED
        .iter()
        .map(|n| {
            let pid = sb.row(n).pid.unwrap();
            (n.to_string(), sb.host_pid(pid))
        })
        .collect();
    // The host: this test process's namespaces.
    let host = std::process::id() as i32;
    let kinds = ["pid", "mnt", "uts", "ipc", "net"];
    for kind in kinds {
        let mut seen = vec![ns(init, kind), ns(host, kind)];
        for (name, p) in &host_pids {
            let id = ns(*p, kind);
            assert!(
                !seen.contains(&id),
                "{name} shares its {kind} namespace with the init, the host or another service"
            );
            seen.push(id);
        }
    }
    // The sandbox itself: its own pid/mnt/uts/ipc namespaces, the host's network.
    for kind in ["pid", "mnt", "uts", "ipc"] {
        assert_ne!(
            ns(init, kind),
            ns(host, kind),
            "sandbox shares {kind} with the host"
        );
    }
    let sandbox_cg = sb.cgroup_name();
    let init_cg = fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
    assert!(
        init_cg.contains(&sandbox_cg),
        "init not in its cgroup: {init_cg}"
    );
    for (name, p) in &host_pids {
        let cg = fs::read_to_string(format!("/proc/{p}/cgroup")).unwrap();
        let want = format!("/{sandbox_cg}/corral/system/{name}");
        for line in cg.lines() {
            let path = line.splitn(3, ':').nth(2).unwrap_or("");
            assert!(
                path.ends_with(&want),
                "{name} (host pid {p}) is not in its own cgroup {want}: {line}"
            );
        }
    }
    // The orphan-maker shares the sandbox's pid namespace but nothing else.
    let orphan = sb.host_pid(sb.row("orphan").pid.unwrap());
    assert_eq!(ns(orphan, "pid"), ns(init, "pid"));
    assert_ne!(ns(orphan, "mnt"), ns(init, "mnt"));
    eprintln!("ok: each service has its own namespaces and cgroup");
}

pub fn hostname_and_overrides_from_corral_toml(sb: &Booted) {
    assert_eq!(sb.hostname(), "sandbox-a");
    sb.logged_at("top", "top-up hello-from-override");
    let admin = sb.log("override-me");
    assert!(admin.iter().any(|(_, l)| l == "admin"), "{admin:?}");
    assert!(!admin.iter().any(|(_, l)| l == "shipped"), "{admin:?}");
    eprintln!("ok: hostname, env override and /etc service override applied");
}
