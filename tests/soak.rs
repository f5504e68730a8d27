//! Leak soak: create/start/kill/delete cycles through the library (as PID 1
//! embeds it), mixed with creates that fail at every stage and runtimes
//! killed mid-create that `delete --force` must recover; afterwards no
//! mount, cgroup, state dir, veth, fd or zombie may be left.
//! CORRAL_SOAK_CYCLES sets the number of cycles (default 300; tests/soak.sh
//! runs 5,000).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use corral_runtime::CreateOptions;
use serde_json::json;

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn mount_count() -> usize {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .count()
}

fn veth_count() -> usize {
    std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("veth"))
                .count()
        })
        .unwrap_or(0)
}

/// Zombies anywhere whose command line mentions `marker`.
fn zombies(marker: &str) -> Vec<i32> {
    processes_with_arg(marker)
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(false)
        })
        .collect()
}

fn options(root: &Path, id: &str) -> CreateOptions {
    let null = std::fs::File::open("/dev/null").unwrap();
    let fd = std::os::fd::IntoRawFd::into_raw_fd(null);
    CreateOptions {
        state_root: root.to_path_buf(),
        id: id.to_string(),
        stdio: [Some(fd), Some(fd), Some(fd)],
        ..Default::default()
    }
}

fn close(fd: Option<i32>) {
    if let Some(fd) = fd {
        // SAFETY: closes the /dev/null fd made by `options`.
        unsafe { libc::close(fd) };
    }
}

fn good_cycle(bundle: &corral_runtime::Bundle, root: &Path, id: &str) {
    let opts = options(root, id);
    let stdin = opts.stdio[0];
    let created = corral_runtime::create(bundle, opts).unwrap_or_else(|e| panic!("{id}: {e}"));
    close(stdin);
    let mut c = created.container;
    c.start().unwrap();
    c.kill(libc::SIGKILL, false).unwrap();
    corral_runtime::pidfd::wait(&created.pidfd, false).unwrap();
    c.delete(false).unwrap();
}

fn failing_cycle(bundle: &corral_runtime::Bundle, root: &Path, id: &str, want: &str) {
    let opts = options(root, id);
    let stdin = opts.stdio[0];
    let err = corral_runtime::create(bundle, opts)
        .map(|_| ())
        .expect_err("create should fail");
    close(stdin);
    assert!(err.to_string().contains(want), "{id}: {err}");
}

/// `corral create` killed with SIGKILL while a createRuntime hook runs;
/// `delete --force` recovers.
fn killed_runtime_cycle(rt: &Runtime, bundle: &Bundle, id: &str) {
    let mut child = rt
        .cmd()
        .args(["create", "--bundle", bundle.path().to_str().unwrap(), id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let state = rt.root.path().join(id).join("state.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    // Wait until the container process exists (pid recorded), then kill.
    while !std::fs::read_to_string(&state)
        .map(|s| !s.contains("\"pid\":0"))
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "{id}: create never got going");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let out = rt.run(&["delete", "--force", id]);
    assert!(
        out.status.success(),
        "{id}: delete --force: {}",
        stderr(&out)
    );
}

#[test]
fn soak_leaves_nothing_behind() {
    if !privileged() {
        return;
    }
    let cycles: usize = std::env::var("CORRAL_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let rt = Runtime::new();
    let good = Bundle::new(&["sleep", "1000"]);
    let mut bad_mount = Bundle::new(&["true"]);
    bad_mount.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/x", "type": "nosuchfs", "source": "x"}));
    bad_mount.save();
    let mut bad_seccomp = Bundle::new(&["true"]);
    bad_seccomp.config["linux"]["seccomp"]["syscalls"] = json!([{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "value": 0, "op": "SCMP_CMP_EQ"}]}]);
    bad_seccomp.save();
    let bad_exec = Bundle::new(&["/no/such/binary"]);
    let mut slow_hook = Bundle::new(&["true"]);
    slow_hook.config["hooks"] =
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "10"]}]});
    slow_hook.save();
    let load = |b: &Bundle| corral_runtime::load_bundle(b.path()).unwrap();
    let (good_b, mount_b, exec_b, seccomp_b) = (
        load(&good),
        load(&bad_mount),
        load(&bad_exec),
        load(&bad_seccomp),
    );

    // Warm up once so lazily opened fds (e.g. logging) are in the baseline.
    good_cycle(&good_b, rt.root.path(), "soak-warmup");
    let (fds, mounts, veths) = (fd_count(), mount_count(), veth_count());

    for i in 0..cycles {
        let id = format!("soak-{i}");
        match i % 10 {
            7 => failing_cycle(&mount_b, rt.root.path(), &id, "mount nosuchfs on /x"),
            8 => failing_cycle(
                &seccomp_b,
                rt.root.path(),
                &id,
                "/linux/seccomp/syscalls/0/args/0/index",
            ),
            9 if i % 20 == 9 => killed_runtime_cycle(&rt, &slow_hook, &id),
            9 => failing_cycle(&exec_b, rt.root.path(), &id, "executable file not found"),
            _ => good_cycle(&good_b, rt.root.path(), &id),
        }
    }

    assert_eq!(fd_count(), fds, "fds leaked in the runtime process");
    assert_eq!(mount_count(), mounts, "mounts leaked");
    assert_eq!(veth_count(), veths, "veths leaked");
    assert!(
        std::fs::read_dir(rt.root.path()).unwrap().next().is_none(),
        "state dirs left"
    );
    let cgroups: Vec<_> = (0..cycles)
        .flat_map(|i| cgroup_dirs(&format!("soak-{i}")))
        .collect();
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
    // Killed runtimes' container processes were reaped by the host's init;
    // give it a moment, then no zombie of ours may remain.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        zombies("soak-").is_empty(),
        "zombies left: {:?}",
        zombies("soak-")
    );
}
