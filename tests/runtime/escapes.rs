//! The known runtime escapes, each a test: /proc/PID/exe overwrite
//! (CVE-2019-5736), mount destinations through symlinks (CVE-2021-30465),
//! leaked runtime fds and cwd (CVE-2024-21626), and symlinked /proc or /dev.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

fn cap_name(n: u32) -> String {
    const NAMES: [&str; 41] = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ];
    format!("CAP_{}", NAMES[n as usize])
}

fn sha(path: &std::path::Path) -> Vec<u8> {
    // A cheap fingerprint is enough: any write changes bytes or size.
    let data = std::fs::read(path).unwrap();
    let mut h: u64 = 0xcbf29ce484222325;
    for b in &data {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100000001b3);
    }
    let mut v = h.to_le_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u64).to_le_bytes());
    v
}

/// A container process that keeps trying to open /proc/PID/exe of every
/// process it can see whose binary is not from its own image, and to write
/// through it, while we `exec` into the container many times.
#[test]
fn runtime_binary_cannot_be_overwritten_through_proc_exe() {
    if !privileged() {
        return;
    }
    // Attack a copy, so a successful attack cannot break the other tests.
    let bin = TempDir::new("corral-copy");
    let corral = bin.path().join("corral");
    std::fs::copy(CORRAL, &corral).unwrap();
    let before = sha(&corral);
    let attacker = r#"
        end=$(( $(date +%s) + 20 ))
        while [ $(date +%s) -lt $end ]; do
          for p in /proc/[0-9]*; do
            [ "$p" = /proc/$$ ] && continue
            # A runtime process still carries corral's argv.
            case "$(tr '\0' ' ' < $p/cmdline 2>/dev/null)" in *corral*) echo "SEEN $p" >> /dev/shm/log;; esac
            t=$(readlink $p/exe 2>/dev/null) || continue
            case "$t" in /bin/*|"") continue;; esac
            # A subshell: a failed redirection of `exec` ends the shell.
            ( exec 9<"$p/exe" && {
                echo "OPENED $p $t" >> /dev/shm/log
                sleep 0.2
                echo pwned >> /proc/self/fd/9 && echo "WROTE $p" >> /dev/shm/log
              } ) 2>/dev/null
          done
        done
        cat /dev/shm/log 2>/dev/null; echo attacker-done
    "#;
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sh", "-c", attacker]);
    // Every capability but CAP_SYS_PTRACE: a container that holds it and
    // shares the host's user namespace may ptrace the runtime's setup
    // process anyway (docs/reliability.md), so it is privileged by nature.
    // CAP_SYS_RESOURCE (24) is not in root's bounding set on these machines.
    let all: Vec<String> = (0..=40)
        .filter(|c| *c != 19 && *c != 24)
        .map(cap_name)
        .collect();
    bundle.config["process"]["capabilities"] =
        json!({"bounding": all, "effective": all, "permitted": all});
    bundle.save();
    let id = unique("exe");
    let run = |args: &[&str]| {
        output_via_files(
            std::process::Command::new(&corral)
                .arg("--root")
                .arg(rt.root.path())
                .args(args),
        )
    };
    let out = run(&["create", "--bundle", bundle.path().to_str().unwrap(), &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run(&["start", &id]).status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut execs = 0;
    while Instant::now() < deadline {
        let out = run(&["exec", &id, "true"]);
        assert!(out.status.success(), "{}", stderr(&out));
        execs += 1;
    }
    assert!(execs > 20, "too few execs to mean anything: {execs}");
    // The attacker never got an fd on a foreign exe.
    let out = run(&["exec", &id, "cat", "/dev/shm/log"]);
    assert_eq!(
        sha(&corral),
        before,
        "the runtime binary was modified; attacker log: {}",
        stdout(&out)
    );
    assert!(
        !stdout(&out).contains("OPENED"),
        "attacker opened a runtime exe: {}",
        stdout(&out)
    );
    // Not vacuous: the attacker did see runtime processes in its namespace.
    assert!(
        stdout(&out).contains("SEEN"),
        "the attacker never saw a runtime process"
    );
    assert!(run(&["delete", "--force", &id]).status.success());
}

#[test]
fn mount_destination_symlinks_resolve_inside_the_rootfs() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let rootfs = TempDir::new("symroot");
    make_busybox_rootfs(rootfs.path());
    std::fs::create_dir(rootfs.path().join("target")).unwrap();
    // Absolute and ..-escaping symlinks both point "outside".
    std::os::unix::fs::symlink("/target", rootfs.path().join("abs")).unwrap();
    std::os::unix::fs::symlink("../../../../../../target", rootfs.path().join("rel")).unwrap();
    let host_etc_mounts_before = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .matches(" /target ")
        .count();
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "grep -c ' /target ' /proc/self/mountinfo; ls /target",
    ]);
    bundle.config["root"]["path"] = json!(rootfs.path());
    let m = bundle.config["mounts"].as_array_mut().unwrap();
    m.push(
        json!({"destination": "/abs", "type": "tmpfs", "source": "tmpfs", "options": ["mode=700"]}),
    );
    m.push(json!({"destination": "/rel/sub", "type": "tmpfs", "source": "tmpfs"}));
    bundle.save();
    let id = unique("symlink");
    let (code, out, err) = rt.run_bundle(&bundle, &id);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    // Both mounts landed in the rootfs: /target itself and /target/sub.
    assert_eq!(lines[0], "1", "{out}");
    assert!(lines.contains(&"sub"), "{out}");
    assert!(
        !std::path::Path::new("/target").exists(),
        "a directory was made on the host"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .matches(" /target ")
            .count(),
        host_etc_mounts_before
    );
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn no_runtime_fd_or_cwd_reaches_the_container() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "100"]);
    let id = unique("fdleak");
    // Run the runtime from a host directory with extra fds open.
    let host_dir = TempDir::new("cwd");
    let extra = std::fs::File::open("/etc/hostname").unwrap();
    let out = output_via_files(rt.cmd().current_dir(host_dir.path()).args([
        "create",
        "--bundle",
        bundle.path().to_str().unwrap(),
        &id,
    ]));
    drop(extra);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(rt.run(&["start", &id]).status.success());
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        != "sleep"
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut fds: Vec<i32> = fds.iter().map(|f| f.parse().unwrap()).collect();
    fds.sort();
    assert_eq!(fds, [0, 1, 2], "runtime fds leaked into the container");
    // cwd is the container's "/", not the runtime's directory.
    let out = rt.run(&[
        "exec",
        &id,
        "sh",
        "-c",
        "readlink /proc/1/cwd; ls /proc/1/cwd/bin/busybox",
    ]);
    assert_eq!(stdout(&out).lines().next(), Some("/"), "{}", stderr(&out));
    assert!(rt.run(&["delete", "--force", &id]).status.success());

    // A cwd through a would-be leaked fd is refused, not followed.
    let mut bundle = Bundle::new(&["pwd"]);
    bundle.config["process"]["cwd"] = json!("/proc/self/fd/7");
    bundle.save();
    let id = unique("fdcwd");
    let out = rt.run(&["create", "--bundle", bundle.path().to_str().unwrap(), &id]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("/process/cwd: cannot enter cwd /proc/self/fd/7"),
        "{}",
        stderr(&out)
    );
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn symlinked_dev_in_rootfs_is_refused() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let rootfs = TempDir::new("evildev");
    make_busybox_rootfs(rootfs.path());
    std::fs::remove_dir(rootfs.path().join("dev")).unwrap();
    std::os::unix::fs::symlink("/tmp", rootfs.path().join("dev")).unwrap();
    let mut bundle = Bundle::new(&["true"]);
    bundle.config["root"]["path"] = json!(rootfs.path());
    bundle.save();
    let id = unique("evildev");
    let out = rt.run(&["create", "--bundle", bundle.path().to_str().unwrap(), &id]);
    assert!(!out.status.success());
    assert!(
        stderr(&out)
            .contains("tmpfs on /dev: destination is a symlink or leaves the rootfs; refused"),
        "{}",
        stderr(&out)
    );
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn a_container_cannot_see_or_signal_other_processes() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    // A neighbour container, and a host process, to aim at.
    let neighbour = Bundle::new(&["sleep", "1000"]);
    let nid = unique("neighbour");
    assert!(rt
        .run(&[
            "create",
            "--bundle",
            neighbour.path().to_str().unwrap(),
            &nid
        ])
        .status
        .success());
    assert!(rt.run(&["start", &nid]).status.success());
    let neighbour_pid = rt.state(&nid)["pid"].as_i64().unwrap();
    let mut host = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let host_pid = host.id();

    let script = format!(
        "ls /proc | grep -c '^[0-9]'; kill -9 {host_pid}; echo host=$?; kill -9 {neighbour_pid}; echo neighbour=$?; kill -9 1; echo self-init=$?"
    );
    let mut bundle = Bundle::new(&["sh", "-c", &script]);
    bundle.config["process"]["capabilities"] = json!(null);
    bundle.save();
    let (code, out, err) = rt.run_bundle(&bundle, &unique("peek"));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    // Only its own shell, ls and grep are visible.
    assert!(
        lines[0].parse::<u32>().unwrap() <= 3,
        "saw other processes: {out}"
    );
    assert_eq!(lines[1], "host=1", "{out} {err}");
    assert_eq!(lines[2], "neighbour=1", "{out} {err}");
    // Both targets are alive.
    assert!(std::path::Path::new(&format!("/proc/{host_pid}")).exists());
    assert_eq!(rt.state(&nid)["status"], "running");
    host.kill().unwrap();
    host.wait().unwrap();
    assert!(rt.run(&["delete", "--force", &nid]).status.success());
}
