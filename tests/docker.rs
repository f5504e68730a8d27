//! Docker drives corral as its OCI runtime: Debian's dockerd, started on its
//! own socket and data root with `--add-runtime corral=...`, runs, execs,
//! stops and removes containers of an image imported from a busybox rootfs
//! tarball (no registry is reachable here).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use common::*;

/// Debian's client matches Debian's dockerd (20.10); prefer it.
fn docker_client() -> &'static str {
    if Path::new("/usr/bin/docker").exists() {
        "/usr/bin/docker"
    } else {
        "docker"
    }
}

struct Dockerd {
    child: Child,
    dir: TempDir,
    socket: PathBuf,
}

impl Dockerd {
    fn start() -> Option<Dockerd> {
        if Command::new("dockerd").arg("--version").output().is_err() {
            if std::env::var_os("CORRAL_REQUIRE_ROOT").is_some() {
                panic!("dockerd is not installed (tests/setup-host.sh installs docker.io)");
            }
            eprintln!("skipped: dockerd is not installed");
            return None;
        }
        let dir = TempDir::new("dockerd");
        let socket = dir.path().join("docker.sock");
        let log = std::fs::File::create(dir.path().join("dockerd.log")).unwrap();
        // No bridge and no iptables: the test must not change the host's
        // network, and `echo ok` needs none.
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .args(["--bridge=none", "--iptables=false", "--ip-masq=false"])
            .arg("--add-runtime")
            .arg(format!("corral={CORRAL}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let d = Dockerd { child, dir, socket };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !d.docker(&["info"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "dockerd did not come up: {}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(d)
    }

    fn docker(&self, args: &[&str]) -> Output {
        Command::new(docker_client())
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {}\n{}",
            stderr(&out),
            self.log()
        );
        stdout(&out)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    fn exec_root(&self) -> PathBuf {
        self.dir.path().join("exec")
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SAFETY: plain kill of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // dockerd leaves its overlay and netns mounts under its roots.
        clients::unmount_below(self.dir.path());
    }
}

fn import_busybox(d: &Dockerd) {
    let tar = clients::busybox_tarball(d.dir.path());
    d.ok(&["import", tar.to_str().unwrap(), "corral-busybox"]);
}

/// corral's own state.json for `id` under dockerd's exec root.
fn corral_state_exists(d: &Dockerd, id: &str) -> bool {
    clients::corral_state_exists(&d.exec_root(), id)
}

#[test]
fn docker_runs_containers_with_corral() {
    if !privileged() {
        return;
    }
    let Some(d) = Dockerd::start() else { return };
    import_busybox(&d);

    let out = d.ok(&[
        "run",
        "--rm",
        "--runtime",
        "corral",
        "corral-busybox",
        "sh",
        "-c",
        "echo ok",
    ]);
    assert_eq!(out.trim(), "ok");

    let id = d.ok(&[
        "run",
        "-d",
        "--runtime",
        "corral",
        "--name",
        "c1",
        "corral-busybox",
        "sleep",
        "1000",
    ]);
    let id = id.trim();
    let inspect = d.ok(&[
        "inspect",
        "--format",
        "{{.HostConfig.Runtime}} {{.State.Running}}",
        "c1",
    ]);
    assert_eq!(inspect.trim(), "corral true");
    assert!(
        corral_state_exists(&d, id),
        "no corral state.json for {id} under {}",
        d.exec_root().display()
    );

    let out = d.ok(&[
        "exec",
        "c1",
        "sh",
        "-c",
        "echo exec-$((40+2)); cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert!(out.contains("exec-42"), "{out}");
    assert!(out.contains("sleep 1000"), "{out}");
    let top = d.ok(&["top", "c1"]);
    assert!(top.contains("sleep 1000"), "{top}");

    d.ok(&["stop", "-t", "1", "c1"]);
    let state = d.ok(&[
        "inspect",
        "--format",
        "{{.State.Running}} {{.State.ExitCode}}",
        "c1",
    ]);
    assert_eq!(state.trim(), "false 137");
    d.ok(&["rm", "c1"]);
    assert!(!corral_state_exists(&d, id), "state of {id} left behind");
    assert!(cgroup_dirs(id).is_empty(), "cgroup of {id} left behind");

    // Exit codes come back through the shim.
    let out = d.docker(&[
        "run",
        "--rm",
        "--runtime",
        "corral",
        "corral-busybox",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
}
