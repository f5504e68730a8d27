//! What the container sees from inside: its own namespaces, hostname,
//! mounts, devices, identity, capabilities, limits and hidden paths.

use serde_json::json;

use crate::common::*;

/// Runs `script` with sh in a container made from the default spec after
/// `edit`, returning (exit code, stdout, stderr).
fn inside(script: &str, edit: impl FnOnce(&mut serde_json::Value)) -> (i32, String, String) {
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sh", "-c", script]);
    edit(&mut bundle.config);
    bundle.save();
    let id = unique("iso");
    let r = rt.run_bundle(&bundle, &id);
    rt.assert_nothing_left(&id, bundle.path());
    r
}

fn host_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn own_namespaces_pid1_and_hostname() {
    if !privileged() {
        return;
    }
    let (code, out, err) = inside("echo pid=$$; hostname; for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done", |c| {
        c["hostname"] = json!("boxy");
    });
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "pid=1");
    assert_eq!(lines[1], "boxy");
    for (i, kind) in ["pid", "net", "ipc", "uts", "mnt", "cgroup"]
        .iter()
        .enumerate()
    {
        assert_ne!(
            lines[2 + i],
            host_ns(kind),
            "{kind} namespace is the host's"
        );
    }
}

#[test]
fn joins_a_namespace_by_path() {
    if !privileged() {
        return;
    }
    // Join the host's uts namespace: the container sees the host hostname.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let (code, out, err) = inside("hostname; readlink /proc/self/ns/uts", |c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        for n in ns.iter_mut() {
            if n["type"] == "uts" {
                n["path"] =
                    json!("/proc/self/ns/uts".replace("self", &std::process::id().to_string()));
            }
        }
        c["hostname"] = json!(null);
    });
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], host.trim());
    assert_eq!(lines[1], host_ns("uts"));
}

#[test]
fn mounts_devices_and_links() {
    if !privileged() {
        return;
    }
    let (code, out, err) = inside(
        "mount | awk '{print $3, $5}'; ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; for l in fd stdin ptmx; do readlink /dev/$l; done",
        |_| {},
    );
    assert_eq!(code, 0, "{err}");
    for m in [
        "/proc proc",
        "/dev tmpfs",
        "/dev/pts devpts",
        "/dev/shm tmpfs",
        "/dev/mqueue mqueue",
        "/sys sysfs",
        "/sys/fs/cgroup",
    ] {
        assert!(out.contains(m), "missing mount {m}:\n{out}");
    }
    for (dev, nums) in [
        ("null", "1,   3"),
        ("zero", "1,   5"),
        ("full", "1,   7"),
        ("random", "1,   8"),
        ("urandom", "1,   9"),
        ("tty", "5,   0"),
    ] {
        let line = out
            .lines()
            .find(|l| l.ends_with(&format!("/dev/{dev}")))
            .unwrap_or_else(|| panic!("no /dev/{dev}:\n{out}"));
        assert!(line.starts_with("crw-rw-rw-"), "{line}");
        assert!(line.contains(nums), "{line}");
    }
    assert!(
        out.contains("/proc/self/fd\n/proc/self/fd/0\npts/ptmx"),
        "{out}"
    );
}

#[test]
fn linux_devices_are_created() {
    if !privileged() {
        return;
    }
    let (code, out, err) = inside("ls -ln /dev/mynull", |c| {
        c["linux"]["devices"] = json!([{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 432, "uid": 7, "gid": 8}]);
        c["linux"]["resources"]["devices"] =
            json!([{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]);
    });
    assert_eq!(code, 0, "{err}");
    // 432 = 0660
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        &fields[..6],
        ["crw-rw----", "1", "7", "8", "1,", "3"],
        "{out}"
    );
}

#[test]
fn user_groups_umask_cwd_env() {
    if !privileged() {
        return;
    }
    let (code, out, err) = inside(
        "id -u; id -g; id -G; umask; pwd; echo $FOO; echo $HOME",
        |c| {
            c["process"]["user"] =
                json!({"uid": 1000, "gid": 1001, "additionalGids": [5, 6], "umask": 23});
            c["process"]["cwd"] = json!("/tmp");
            c["process"]["env"]
                .as_array_mut()
                .unwrap()
                .push(json!("FOO=bar"));
        },
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        ["1000", "1001", "1001 5 6", "0027", "/tmp", "bar", "/"]
    );
}

fn cap_line(out: &str, name: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in {out}"));
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn capability_sets_are_exactly_as_configured() {
    if !privileged() {
        return;
    }
    let (code, out, err) = inside("grep -E '^(Cap|NoNewPrivs)' /proc/self/status", |c| {
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW", "CAP_SETUID"],
            "permitted": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"],
            "effective": ["CAP_KILL"],
            "inheritable": ["CAP_NET_RAW"],
            "ambient": ["CAP_NET_RAW"]
        });
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    assert_eq!(code, 0, "{err}");
    let bit = |n: u32| 1u64 << n;
    let (chown, kill, setuid, net_raw) = (bit(0), bit(5), bit(7), bit(13));
    assert_eq!(cap_line(&out, "CapBnd"), kill | chown | net_raw | setuid);
    // A non-root process keeps ambient caps across exec: permitted and
    // effective become the ambient set.
    assert_eq!(cap_line(&out, "CapAmb"), net_raw);
    assert_eq!(cap_line(&out, "CapInh"), net_raw);
    assert_eq!(cap_line(&out, "CapPrm"), net_raw);
    assert_eq!(cap_line(&out, "CapEff"), net_raw);
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
}

#[test]
fn root_capabilities_without_ambient() {
    if !privileged() {
        return;
    }
    let (code, out, err) = inside("grep -E '^Cap' /proc/self/status", |_| {});
    assert_eq!(code, 0, "{err}");
    // The default spec: AUDIT_WRITE(29), KILL(5), NET_BIND_SERVICE(10).
    let want = (1u64 << 29) | (1 << 5) | (1 << 10);
    for set in ["CapBnd", "CapPrm", "CapEff"] {
        assert_eq!(cap_line(&out, set), want, "{set}");
    }
    assert_eq!(cap_line(&out, "CapInh"), 0);
}

#[test]
fn rlimits_are_applied() {
    if !privileged() {
        return;
    }
    let (code, out, err) = inside("ulimit -n; ulimit -Hn; ulimit -c", |c| {
        c["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}
        ]);
    });
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["321", "654", "0"]);
}

#[test]
fn masked_and_readonly_paths_hold() {
    if !privileged() {
        return;
    }
    // /proc/timer_list is a masked file that exists on every kernel here.
    assert!(
        std::fs::metadata("/proc/timer_list").unwrap().len() > 0
            || std::fs::read("/proc/timer_list").unwrap().len() > 10
    );
    let (code, out, err) = inside(
        "wc -c < /proc/timer_list; mkdir -p /tmp/x; echo 1 > /proc/sys/kernel/domainname && echo WROTE; echo x > /etc/x && echo ROOTWRITE; true",
        |c| c["process"]["capabilities"] = json!(null),
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].trim(), "0", "timer_list not masked: {out}");
    assert!(
        !out.contains("WROTE"),
        "/proc/sys writable even with all capabilities: {out}"
    );
    assert!(
        !out.contains("ROOTWRITE"),
        "read-only root was writable: {out}"
    );
    assert!(err.contains("Read-only file system"), "{err}");
}

#[test]
fn masked_directory_is_empty() {
    if !privileged() {
        return;
    }
    let (code, out, err) = inside(
        "ls -A /sys/firmware | wc -l; touch /sys/firmware/x && echo WROTE; true",
        |_| {},
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read_dir("/sys/firmware").unwrap().next().is_some(),
        "host /sys/firmware is empty: test proves nothing"
    );
    assert_eq!(out.lines().next(), Some("0"), "{out}");
    assert!(!out.contains("WROTE"));
}

#[test]
fn sysctl_and_oom_score_adj() {
    if !privileged() {
        return;
    }
    let (code, out, err) = inside(
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/self/oom_score_adj",
        |c| {
            c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"});
            c["process"]["oomScoreAdj"] = json!(123);
        },
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["1", "1234", "123"]);
    // The host's values are untouched.
    assert_ne!(
        std::fs::read_to_string("/proc/sys/kernel/shmmni")
            .unwrap()
            .trim(),
        "1234"
    );
}

#[test]
fn user_namespace_maps_ids() {
    if !privileged() {
        return;
    }
    let (code, out, err) = inside(
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; readlink /proc/self/ns/user",
        |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "user"}));
            c["linux"]["uidMappings"] =
                json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            c["linux"]["gidMappings"] =
                json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            // sysfs and cgroup cannot be mounted fresh from a user namespace
            // that does not own the network/cgroup namespace: bind them.
            let mounts = c["mounts"].as_array_mut().unwrap();
            mounts.retain(|m| m["destination"] != "/sys/fs/cgroup");
            for m in mounts.iter_mut() {
                if m["destination"] == "/sys" {
                    *m = json!({"destination": "/sys", "type": "bind", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
                }
            }
        },
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert!(
        lines[0].split_whitespace().eq(["0", "100000", "65536"]),
        "{out}"
    );
    assert_eq!(lines[2], "0");
    assert_ne!(lines[3], host_ns("user"));
}

/// Mounts a user namespace not owned by the container's network and
/// cgroup namespaces can make: /sys bound, no cgroup mount.
fn mounts_for_a_user_namespace(c: &mut serde_json::Value) {
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["destination"] != "/sys/fs/cgroup");
    for m in mounts.iter_mut() {
        if m["destination"] == "/sys" {
            *m = json!({"destination": "/sys", "type": "bind", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
        }
    }
}

/// A user namespace joined by path (another container's, as a pod's
/// containers share one) with a new pid namespace: the pid namespace must
/// be owned by the joined user namespace, so corral clones from inside it
/// (through an intermediate process).
#[test]
fn joined_user_namespace_with_a_new_pid_namespace() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let mut holder = Bundle::new(&["sleep", "100"]);
    holder.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    holder.config["linux"]["uidMappings"] =
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    holder.config["linux"]["gidMappings"] =
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    mounts_for_a_user_namespace(&mut holder.config);
    holder.save();
    let holder_id = unique("userns-holder");
    let out = rt.run(&[
        "create",
        "--bundle",
        holder.path().to_str().unwrap(),
        &holder_id,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let holder_pid = rt.state(&holder_id)["pid"].as_i64().unwrap();
    let user_ns = format!("/proc/{holder_pid}/ns/user");
    let holder_user = std::fs::read_link(&user_ns).unwrap();

    let (code, out, err) = inside(
        "cat /proc/self/uid_map; echo pid=$$; readlink /proc/self/ns/user; readlink /proc/self/ns/pid",
        |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "user", "path": user_ns}));
            mounts_for_a_user_namespace(c);
        },
    );
    assert!(rt.run(&["delete", "--force", &holder_id]).status.success());
    rt.assert_nothing_left(&holder_id, holder.path());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert!(
        lines[0].split_whitespace().eq(["0", "100000", "65536"]),
        "the holder's mapping: {out}"
    );
    assert_eq!(lines[1], "pid=1", "{out}");
    assert_eq!(lines[2], holder_user.display().to_string(), "{out}");
    assert_ne!(lines[3], host_ns("pid"), "{out}");
}

#[test]
fn no_pivot_works() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sh", "-c", "ls /bin/busybox && echo pid=$$"]);
    let id = unique("nopivot");
    let out = rt.run(&[
        "run",
        "--no-pivot",
        "--bundle",
        bundle.path().to_str().unwrap(),
        &id,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("pid=1"));
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn time_namespace_with_offsets() {
    if !privileged() {
        return;
    }
    let host_uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (code, out, err) = inside(
        "cut -d' ' -f1 /proc/uptime; readlink /proc/self/ns/time",
        |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "time"}));
            c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 1000000, "nanosecs": 0}});
        },
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    let uptime: f64 = lines[0].parse().unwrap();
    assert!(
        uptime >= host_uptime + 1_000_000.0 - 1.0,
        "boottime offset not applied: {uptime} vs host {host_uptime}"
    );
    assert_ne!(lines[1], host_ns("time"));
}

#[test]
fn bind_mounts_honour_ro_and_propagation() {
    if !privileged() {
        return;
    }
    let shared = TempDir::new("shared");
    // A shared tmpfs as the source, so slave/private propagation shows.
    let sh = |args: &[&str]| {
        assert!(std::process::Command::new("mount")
            .args(args)
            .status()
            .unwrap()
            .success())
    };
    sh(&["-t", "tmpfs", "tmpfs", shared.path().to_str().unwrap()]);
    sh(&["--make-shared", shared.path().to_str().unwrap()]);
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(self.0)
                .status();
        }
    }
    let _unmount = Unmount(shared.path());
    std::fs::write(shared.path().join("file"), "data\n").unwrap();
    let src = shared.path().display().to_string();
    let (code, out, err) = inside(
        "cat /data/file; echo x > /data/new && echo WROTE; cat /rw/file; echo y > /rw/new && echo rw-ok; grep -E ' /(data|rw) ' /proc/self/mountinfo",
        |c| {
            let m = c["mounts"].as_array_mut().unwrap();
            m.push(json!({"destination": "/data", "type": "bind", "source": src, "options": ["rbind", "ro", "nosuid", "rprivate"]}));
            m.push(json!({"destination": "/rw", "type": "none", "source": src, "options": ["bind", "rw", "rslave"]}));
        },
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "data");
    assert!(!out.contains("WROTE"), "ro bind mount was writable: {out}");
    assert!(out.contains("rw-ok"), "{out} {err}");
    let data = lines.iter().find(|l| l.contains(" /data ")).unwrap();
    assert!(data.contains(" ro,nosuid"), "{data}");
    assert!(
        !data.contains("shared:") && !data.contains("master:"),
        "rprivate not applied: {data}"
    );
    let rw = lines.iter().find(|l| l.contains(" /rw ")).unwrap();
    assert!(
        rw.contains("master:") && !rw.contains("shared:"),
        "rslave not applied: {rw}"
    );
    assert_eq!(
        std::fs::read_to_string(shared.path().join("new")).unwrap(),
        "y\n"
    );
}

#[test]
fn preserved_fds_reach_the_process_and_nothing_else_does() {
    if !privileged() {
        return;
    }
    use std::os::fd::AsRawFd;
    let rt = Runtime::new();
    let bundle = Bundle::new(&[
        "sh",
        "-c",
        "ls /proc/self/fd | sort -n | tr '\\n' ' '; cat <&3",
    ]);
    let secret = TempDir::new("fd");
    let path = secret.path().join("passed");
    std::fs::write(&path, "through-fd-3").unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let id = unique("fds");
    let mut cmd = rt.cmd();
    cmd.args([
        "run",
        "--preserve-fds",
        "1",
        "--bundle",
        bundle.path().to_str().unwrap(),
        &id,
    ]);
    let raw = file.as_raw_fd();
    // SAFETY: dup2/fcntl in the child before exec; raw stays open in the
    // parent. When the file already is fd 3, dup2 would leave it
    // close-on-exec, so clear the flag instead.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            let r = if raw == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(raw, 3)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = output_via_files(&mut cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // 0, 1, 2, the preserved 3, and the fd ls itself opens for /proc/self/fd.
    let fds: Vec<&str> = text
        .split(" through")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(fds, ["0", "1", "2", "3", "4"], "{text}");
    assert!(text.contains("through-fd-3"), "{text}");
    rt.assert_nothing_left(&id, bundle.path());
}
