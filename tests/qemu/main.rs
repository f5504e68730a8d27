//! The bootable image in a QEMU guest (TCG, each boot under `timeout`):
//! one enforcing boot with docker that checks the system end to end, one
//! boot with a corrupt corral.toml, and the image builder's bad inputs
//! (no boot). Boots run one at a time (the machine has two cores).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod engines;
mod guest;
mod image;

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use guest::Guest;
use image::*;

/// One QEMU at a time.
static BOOTS: Mutex<()> = Mutex::new(());

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// The services that are up before docker.
const SYSTEM: [&str; 5] = ["udev", "console", "syslog", "network", "ntp"];

/// Serves `data` to whoever connects to the returned port on 127.0.0.1
/// (the guest reaches it as 10.0.2.2).
fn serve_once(data: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let _ = conn.write_all(&data);
        }
    });
    port
}

/// The host PID `corral ctl status` shows for `service`.
fn pid_of(status: &str, service: &str) -> u32 {
    status
        .lines()
        .find(|l| l.split_whitespace().next() == Some(service))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid for {service} in:\n{status}"))
}

/// Boot to ready with SELinux enforcing and corral's policy; every service
/// in its own domain, `corral ctl status` all running, no AVC denial;
/// console and its writes into docker's data root denied by SELinux; DHCP
/// address; ntp and syslog running; docker info and docker run through
/// the docker service's socket, dockerd in its own container; poweroff in
/// reverse order with QEMU exiting 0.
#[test]
fn enforcing_system_with_docker() {
    if !can_boot() {
        return;
    }
    let img = build_ok("full", &[]);
    let _one = BOOTS.lock().unwrap_or_else(|e| e.into_inner());
    let log = work_dir().join("full-boot.log");
    let mut g = Guest::boot(Path::new(CORRAL), &img, SECS(900), &log);

    g.wait_seen("SELinux policy loaded (enforcing)", SECS(120));
    for s in SYSTEM {
        g.wait_seen(&format!("] {s}: ready after"), SECS(120));
    }
    // Printed right after the system services: boot-to-ready (excluding
    // docker) as PID 1 counts it.
    eprintln!(
        "system services ready {:?} after QEMU started",
        g.started.elapsed()
    );
    g.wait_seen("built-in shell", SECS(60));

    // Every service in its own domain.
    let status = g.ok("corral ctl status", SECS(60));
    for s in ["udev", "console", "syslog", "network", "ntp", "docker"] {
        let pid = pid_of(&status, s);
        let label = g.ok(&format!("cat /proc/{pid}/attr/current"), SECS(30));
        assert!(
            label.contains(&format!("system_r:{s}_t:")),
            "{s} (pid {pid}) runs as {label:?}"
        );
    }
    assert!(status.contains("tmpfiles  done"), "{status}");

    // The network service got QEMU's DHCP address; ntp and syslog run.
    let addr = g.ok("ip -4 addr show eth0", SECS(30));
    assert!(addr.contains("inet 10.0.2.15/24"), "{addr}");
    let chrony = g.ok("pidof chronyd", SECS(30));
    assert!(!chrony.trim().is_empty());
    g.ok("logger corral-qemu-test-mark; sleep 1", SECS(30));
    let messages = g.ok("cat /var/log/syslog/messages", SECS(30));
    assert!(messages.contains("corral-qemu-test-mark"), "{messages}");
    assert!(
        messages.contains("kern."),
        "klogd forwards the kernel's messages: {messages}"
    );

    // Docker: ready, its socket answers, dockerd runs in a container.
    g.wait_seen("] docker: ready after", SECS(400));
    let info = g.ok("docker info", SECS(120));
    assert!(info.contains("Server Version"), "{info}");
    let status = g.ok("corral ctl status", SECS(60));
    for s in SYSTEM.iter().chain(&["docker"]) {
        let line = status
            .lines()
            .find(|l| l.starts_with(s))
            .unwrap_or_else(|| panic!("{s} missing:\n{status}"));
        assert!(line.contains(" running "), "{line}");
    }
    let dockerd = g.ok("pidof dockerd", SECS(30)).trim().to_owned();
    let ns = g.ok(
        &format!("grep NSpid /proc/{dockerd}/status; cat /proc/{dockerd}/attr/current"),
        SECS(30),
    );
    assert_eq!(
        ns.lines().next().unwrap().split_whitespace().count(),
        3,
        "dockerd has a PID in the docker container's namespace too: {ns}"
    );
    assert!(ns.contains("docker_t:s0:c0"), "{ns}");

    // No denial so far: the default system runs clean in enforcing mode.
    let (avcs, _) = g.sh("dmesg | grep 'avc: *denied'", SECS(30));
    assert!(
        avcs.trim().is_empty(),
        "AVC denials in the default system:\n{avcs}"
    );

    // A user container from an imported busybox image.
    let port = serve_once(busybox_tarball());
    g.ok(
        &format!("nc 10.0.2.2 {port} </dev/null | docker import - busybox:corral"),
        SECS(300),
    );
    let run = g.ok(
        "docker run --rm busybox:corral sh -c 'echo hello from a user container; cat /proc/self/attr/current'",
        SECS(400),
    );
    assert!(run.contains("hello from a user container"), "{run}");
    assert!(run.contains("container_t:s0:c0"), "{run}");

    // The console is root with CAP_DAC_OVERRIDE; SELinux still says no.
    let (out, code) = g.sh("echo x > /var/lib/corral/docker/probe", SECS(30));
    assert_ne!(code, 0, "the console wrote into docker's data root: {out}");
    assert!(out.contains("Permission denied"), "{out}");
    let avc = g.ok("dmesg | grep 'avc: *denied'", SECS(30));
    assert!(
        avc.contains("scontext=system_u:system_r:console_t")
            && avc.contains("tcontext=system_u:object_r:docker_data_t"),
        "the denial is SELinux's: {avc}"
    );

    // Poweroff: services stop in reverse dependency order, QEMU exits 0.
    g.send("corral ctl poweroff\n");
    g.wait_seen("RB_POWER_OFF", SECS(120));
    let status = g.wait_exit(SECS(120));
    assert!(status.success(), "QEMU exited {status}");
    let out = g.output();
    let stopped = |s: &str| {
        out.find(&format!("] {s}: stopped after"))
            .unwrap_or_else(|| panic!("{s} not stopped:\n{out}"))
    };
    assert!(
        stopped("docker") < stopped("network"),
        "docker stops before the network"
    );
    assert!(
        stopped("ntp") < stopped("network"),
        "ntp stops before the network"
    );
}

/// A corral.toml that is not TOML: the image still boots to a console, and
/// the error is on it.
#[test]
fn corrupt_config_still_boots_to_a_console() {
    if !can_boot() {
        return;
    }
    let bad = work_dir().join("corrupt-corral.toml");
    std::fs::write(&bad, "hostname = \"edge\"\n[selinux\nenforcing = yes\n").unwrap();
    let img = build_ok(
        "corrupt-config",
        &["--exclude", "docker", "--config", bad.to_str().unwrap()],
    );
    let _one = BOOTS.lock().unwrap_or_else(|e| e.into_inner());
    let log = work_dir().join("corrupt-config-boot.log");
    let mut g = Guest::boot(Path::new(CORRAL), &img, SECS(300), &log);
    g.wait_seen("using the default configuration", SECS(120));
    let out = g.output();
    let error = out
        .lines()
        .find(|l| l.contains("using the default configuration"))
        .unwrap();
    assert!(
        error.contains("error: /etc/corral/corral.toml:2"),
        "{error}"
    );
    g.wait_seen("] console: ready after", SECS(120));
    g.wait_seen("built-in shell", SECS(60));
    let out = g.ok("hostname; echo console-works", SECS(60));
    assert!(
        out.contains("corral\n") && out.contains("console-works"),
        "{out}"
    );
    g.send("corral ctl poweroff\n");
    let status = g.wait_exit(SECS(120));
    assert!(status.success(), "QEMU exited {status}");
}

/// Bad input stops the build with one line naming what and where.
#[test]
fn bad_build_inputs_are_one_clear_line() {
    // busybox is a static ELF: it passes the /init check, so the build gets
    // to the input under test.
    let init = "/bin/busybox";
    if !Path::new(init).exists() {
        return;
    }
    let scratch = work_dir().join("bad-inputs");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let line_with = |init: &str, args: &[&str]| {
        let mut all = vec!["--corral", init];
        all.extend_from_slice(args);
        let o = build(&scratch.join("out"), &all);
        assert!(!o.status.success(), "{args:?} built");
        let err = String::from_utf8_lossy(&o.stderr).trim().to_owned();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        err
    };
    let line = |args: &[&str]| line_with(init, args);

    let e = line(&["--kernel", "/boot/vmlinuz-missing"]);
    assert!(
        e.contains("kernel") && e.contains("/boot/vmlinuz-missing"),
        "{e}"
    );

    let bundles = scratch.join("bundles");
    let svc = bundles.join("norootfs");
    std::fs::create_dir_all(&svc).unwrap();
    std::fs::copy(
        repo().join("bundles/udev/config.json"),
        svc.join("config.json"),
    )
    .unwrap();
    std::fs::write(svc.join("service.toml"), "description = \"x\"\n").unwrap();
    if has_any_kernel() {
        let e = line(&["--bundles", bundles.to_str().unwrap(), "--no-policy"]);
        assert!(
            e.contains("norootfs") && e.contains("no rootfs.toml and no rootfs/"),
            "{e}"
        );

        let policy = scratch.join("policy");
        std::fs::create_dir_all(&policy).unwrap();
        std::fs::copy(
            repo().join("selinux-policy/00-base.cil"),
            policy.join("00-base.cil"),
        )
        .unwrap();
        std::fs::write(
            policy.join("99-broken.cil"),
            "(allow nosuch_t self (file (read)))\n",
        )
        .unwrap();
        if Command::new("secilc").arg("-V").output().is_ok() {
            let e = line(&["--policy", policy.to_str().unwrap()]);
            assert!(
                e.contains("selinux policy") && e.contains("99-broken.cil:1"),
                "{e}"
            );
        }
    }

    let e = line_with("/bin/sh", &[]);
    assert!(e.contains("dynamically linked"), "{e}");
}

fn has_any_kernel() -> bool {
    std::fs::read_dir("/boot")
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"))
        })
        .unwrap_or(false)
}

/// corral as /init is static and needs nothing of the host at run time: it
/// runs in an empty root where no shared library, NSS module or loader
/// exists.
#[test]
fn static_corral_needs_no_shared_libraries() {
    if !can_boot() {
        return;
    }
    let corral = static_corral();
    let root = work_dir().join("empty-root");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("b")).unwrap();
    std::fs::copy(corral, root.join("corral")).unwrap();
    let out = Command::new("chroot")
        .arg(&root)
        .args(["/corral", "spec", "--bundle", "/b"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(root.join("b/config.json").exists());
    let out = Command::new("chroot")
        .arg(&root)
        .args(["/corral", "ctl", "status"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("corral.sock"),
        "a clear error, not a loader failure: {err}"
    );
}
