//! Issue 8 in one boot: two engines side by side on a persistent ext4
//! disk (plus one refused for its name and one for a socket clash), each
//! listing only its own images and containers, SELinux MCS keeping a file
//! one engine's container wrote into a shared volume from the other
//! engine's privileged container, and a system that stays responsive
//! while a container of an engine burns every CPU, fills its engine's
//! memory and forks up to its engine's pids limit.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::guest::Guest;
use crate::image::*;
use crate::{pid_of, serve_once, BOOTS, SECS, SYSTEM};

/// The second engine's client.
const CI: &str = "docker -H unix:///var/run/docker-ci.sock";

const CONFIG: &str = r#"hostname = "corral"

[modules]
load = ["virtio_pci", "virtio_net", "virtio_blk", "crc32c_generic", "ext4", "overlay", "veth",
    "bridge", "br_netfilter", "nf_conntrack", "nf_nat", "nf_tables", "nft_compat", "nft_chain_nat",
    "ip_tables", "iptable_filter", "iptable_nat", "xt_MASQUERADE", "xt_addrtype", "xt_conntrack",
    "xt_mark", "xt_nat", "ipt_REJECT"]

[selinux]
enforcing = true

[network]
interfaces = [{ name = "eth0", dhcp = true }]

[ntp]
servers = ["pool.ntp.org"]

[storage]
device = "/dev/vda"
fstype = "ext4"

[engines.docker]
volumes = ["shared"]

[engines.ci]
memory_max = "320M"
pids_max = 400
volumes = ["shared"]

[engines.CI]

[engines.qa]
socket = "/var/run/docker-ci.sock"
"#;

/// A sparse ext4 image for /dev/vda.
fn ext4_disk(path: &Path) {
    let _ = std::fs::remove_file(path);
    let f = std::fs::File::create(path).unwrap();
    f.set_len(1 << 30).unwrap();
    let out = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "corral-data"])
        .arg(path)
        .output()
        .expect("mkfs.ext4 (tests/setup-host.sh installs e2fsprogs)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `debugfs -R CMD` on the disk image (after the guest is down).
fn debugfs(disk: &Path, cmd: &str) -> String {
    let out = Command::new("debugfs")
        .args(["-R", cmd])
        .arg(disk)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The RESTARTS column of `service` in a `ctl status` table.
fn restarts(status: &str, service: &str) -> String {
    status
        .lines()
        .find(|l| l.split_whitespace().next() == Some(service))
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap_or_else(|| panic!("no {service} in:\n{status}"))
        .to_owned()
}

fn state(status: &str, service: &str) -> String {
    status
        .lines()
        .find(|l| l.split_whitespace().next() == Some(service))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no {service} in:\n{status}"))
        .to_owned()
}

#[test]
fn engines_side_by_side_on_a_protected_system() {
    if !can_boot() {
        return;
    }
    let cfg = work_dir().join("engines-corral.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let img = build_ok("engines", &["--config", cfg.to_str().unwrap()]);
    let disk = work_dir().join("engines-disk.img");
    ext4_disk(&disk);
    let _one = BOOTS.lock().unwrap_or_else(|e| e.into_inner());
    let log = work_dir().join("engines-boot.log");
    let mut g = Guest::boot_with(
        Path::new(CORRAL),
        &img,
        SECS(900),
        &log,
        &[std::ffi::OsStr::new("--disk"), disk.as_os_str()],
    );

    g.wait_seen("SELinux policy loaded (enforcing)", SECS(120));
    g.wait_seen(
        "storage: /dev/vda (ext4) mounted on /var/lib/corral",
        SECS(60),
    );
    // Bad input: one line each at boot; the others start.
    g.wait_seen(
        "FAILED docker-CI: [engines.CI] \"CI\" is not an engine name",
        SECS(60),
    );
    g.wait_seen(
        "FAILED docker-qa: [engines.qa] socket /var/run/docker-ci.sock is already docker-ci's; not started",
        SECS(60),
    );
    for s in SYSTEM {
        g.wait_seen(&format!("] {s}: ready after"), SECS(120));
    }
    g.wait_seen("] docker: ready after", SECS(400));
    g.wait_seen("] docker-ci: ready after", SECS(400));
    eprintln!(
        "two engines ready {:?} after QEMU started",
        g.started.elapsed()
    );
    g.wait_seen("built-in shell", SECS(60));

    let status = g.ok("corral ctl status", SECS(60));
    assert_eq!(state(&status, "docker"), "running", "{status}");
    assert_eq!(state(&status, "docker-ci"), "running", "{status}");
    for bad in ["docker-CI", "docker-qa"] {
        assert_eq!(state(&status, bad), "failed", "{status}");
    }
    assert!(
        status.contains("docker-CI: [engines.CI] \"CI\" is not an engine name")
            && status.contains(
                "docker-qa: [engines.qa] socket /var/run/docker-ci.sock is already docker-ci's"
            ),
        "ctl status names why: {status}"
    );

    // Each engine in docker_t at its own level, in its own engine cgroup;
    // their data is on the disk.
    let engines = g.ok(
        "for p in $(pidof dockerd); do cat /proc/$p/attr/current; echo; grep '^0::' /proc/$p/cgroup; done",
        SECS(30),
    );
    assert!(
        engines.contains("system_r:docker_t:s0:c0") && engines.contains("system_r:docker_t:s0:c1"),
        "{engines}"
    );
    assert!(
        engines.contains("engines/docker/") && engines.contains("engines/docker-ci/"),
        "{engines}"
    );
    // The cgroup settings of corral.toml (the console sees the tree
    // read-only), and the OOM killer's bias against user workloads.
    let cg = g.ok(
        "cd /sys/fs/cgroup/corral && grep . system/cpu.weight system/memory.min \
         system/memory.low engines/cpu.weight engines/docker-ci/memory.max \
         engines/docker-ci/pids.max engines/docker-ci/cpu.weight; \
         ls system engines | tr '\\n' ' '; cd /",
        SECS(30),
    );
    for want in [
        "system/cpu.weight:1000",
        &format!("system/memory.min:{}", 64u64 << 20),
        &format!("system/memory.low:{}", 256u64 << 20),
        "engines/cpu.weight:100",
        &format!("engines/docker-ci/memory.max:{}", 320u64 << 20),
        "engines/docker-ci/pids.max:400",
        "engines/docker-ci/cpu.weight:100",
    ] {
        assert!(cg.contains(want), "{want} not in:\n{cg}");
    }
    for s in [
        "console",
        "syslog",
        "network",
        "ntp",
        "udev",
        "docker",
        "docker-ci",
    ] {
        assert!(
            cg.split_whitespace().any(|w| w == s),
            "{s} has no cgroup:\n{cg}"
        );
    }
    let console = pid_of(&status, "console");
    let adj = g.ok(
        &format!("cat /proc/{console}/oom_score_adj /proc/$(pidof chronyd)/oom_score_adj"),
        SECS(30),
    );
    assert_eq!(
        adj.split_whitespace().collect::<Vec<_>>(),
        ["-900", "-900"],
        "system services' oom_score_adj"
    );
    let mounts = g.ok("grep ' /var/lib/corral ' /proc/mounts", SECS(30));
    assert!(
        mounts.starts_with("/dev/vda /var/lib/corral ext4"),
        "{mounts}"
    );

    // Images and containers: each engine lists only its own.
    let tarball = busybox_tarball();
    let t = Instant::now();
    let port = serve_once(tarball.clone());
    g.ok(
        &format!("nc 10.0.2.2 {port} </dev/null | docker import - busybox:default"),
        SECS(300),
    );
    let port = serve_once(tarball);
    g.ok(
        &format!("nc 10.0.2.2 {port} </dev/null | {CI} import - busybox:ci"),
        SECS(300),
    );
    let out = g.ok(
        "docker run --name writer -v /volumes/shared:/shared busybox:default \
         sh -c 'echo secret-of-default > /shared/from-default; cat /proc/self/attr/current'",
        SECS(400),
    );
    assert!(out.contains("container_t:s0:c0"), "{out}");
    // Both engines ran clean so far: their level covers all they need.
    let (avcs, _) = g.sh("dmesg | grep 'avc: *denied'", SECS(30));
    assert!(avcs.trim().is_empty(), "AVC denials:\n{avcs}");

    // Root in a privileged container of the other engine: the file is
    // there, and SELinux MCS keeps it unreadable.
    let (out, _) = g.sh(
        &format!(
            "{CI} run --name reader --privileged -v /volumes/shared:/shared busybox:ci \
             sh -c 'cat /proc/self/attr/current; id; ls /shared; cat /shared/from-default'"
        ),
        SECS(400),
    );
    assert!(out.contains("container_t:s0:c1"), "{out}");
    assert!(
        out.contains("uid=0(root)") || out.contains("uid=0 "),
        "{out}"
    );
    assert!(out.contains("from-default"), "the file is listed: {out}");
    assert!(out.contains("Permission denied"), "{out}");
    assert!(
        !out.contains("secret-of-default"),
        "read across engines: {out}"
    );
    let avc = g.ok("dmesg | grep 'avc: *denied'", SECS(30));
    assert!(
        avc.contains("scontext=system_u:system_r:container_t:s0:c1")
            && avc.contains("tcontext=system_u:object_r:engine_volume_t:s0:c0"),
        "the denial is MCS's: {avc}"
    );
    let default_lists = g.ok(
        "docker images --format '{{.Repository}}:{{.Tag}}'; docker ps -a --format '{{.Names}}'",
        SECS(120),
    );
    let ci_lists = g.ok(
        &format!(
            "{CI} images --format '{{{{.Repository}}}}:{{{{.Tag}}}}'; {CI} ps -a --format '{{{{.Names}}}}'"
        ),
        SECS(120),
    );
    assert!(
        default_lists.contains("busybox:default") && default_lists.contains("writer"),
        "{default_lists}"
    );
    assert!(
        !default_lists.contains("busybox:ci") && !default_lists.contains("reader"),
        "{default_lists}"
    );
    assert!(
        ci_lists.contains("busybox:ci") && ci_lists.contains("reader"),
        "{ci_lists}"
    );
    assert!(
        !ci_lists.contains("busybox:default") && !ci_lists.contains("writer"),
        "{ci_lists}"
    );
    eprintln!(
        "images, containers and the MCS check took {:?}",
        t.elapsed()
    );

    // A container of docker-ci burns both CPUs, grows until the engine's
    // memory.max and forks until its pids.max, for three minutes at most.
    let before = g.ok("corral ctl status", SECS(60));
    g.ok(
        &format!(
            "{CI} run -d --name stress busybox:ci sh -c '\
             for i in 1 2; do (while :; do :; done) & done; \
             (s=x; while :; do s=$s$s; done) & \
             (while :; do sleep 600 & done) 2>/dev/null & \
             sleep 180'"
        ),
        SECS(300),
    );
    // `corral ctl status` every few seconds until the engine has met both
    // its memory.max and its pids.max (and at least 30 s of load).
    let stress = Instant::now();
    let mut worst = Duration::ZERO;
    let mut rounds = 0;
    let both = "dmesg | grep -q 'oom_memcg=/corral/engines/docker-ci' && \
                dmesg | grep -q 'fork rejected by pids controller in /corral/engines/docker-ci/' && \
                echo both-limits\"\"-met; true";
    loop {
        let t = Instant::now();
        let status = g.ok("corral ctl status", SECS(30));
        let took = t.elapsed();
        worst = worst.max(took);
        rounds += 1;
        assert!(status.contains("console "), "{status}");
        let met = g.ok(both, SECS(30)).contains("both-limits-met");
        if met && stress.elapsed() > SECS(30) {
            break;
        }
        assert!(
            stress.elapsed() < SECS(100),
            "docker-ci's limits not met after 100 s:\n{}",
            g.ok("dmesg | tail -20", SECS(30))
        );
        g.ok("sleep 2", SECS(30));
    }
    eprintln!(
        "under load for {:?}: {rounds} x `corral ctl status`, the slowest {worst:?}",
        stress.elapsed()
    );
    assert!(worst < SECS(5), "ctl status took {worst:?} under load");
    let kernel = g.ok(
        "cat /proc/loadavg; dmesg | grep -e 'oom-kill:' -e 'out of memory' -e 'fork rejected'",
        SECS(30),
    );
    eprintln!("{kernel}");
    assert!(
        kernel.contains("oom_memcg=/corral/engines/docker-ci"),
        "the memory hog met docker-ci's memory.max: {kernel}"
    );
    assert!(
        kernel.contains("fork rejected by pids controller in /corral/engines/docker-ci/"),
        "the forks met docker-ci's pids.max: {kernel}"
    );
    // pids.events counts in the cgroup that forked (the container's, on
    // 6.1), so the engine's pids.current shows the ceiling instead.
    let events = g.ok(
        "cd /sys/fs/cgroup/corral && grep -H . engines/docker-ci/memory.events \
         engines/docker-ci/pids.current system/memory.events; cd /",
        SECS(30),
    );
    eprintln!("{events}");
    let count = |line: &str| -> u64 {
        events
            .lines()
            .find_map(|l| l.strip_prefix(line)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {line} in:\n{events}"))
    };
    assert!(count("engines/docker-ci/memory.events:oom_kill ") >= 1);
    let pids = count("engines/docker-ci/pids.current:");
    assert!(pids >= 380, "docker-ci holds {pids} of its 400 pids");
    assert_eq!(count("system/memory.events:oom_kill "), 0);
    for l in kernel.lines().filter(|l| l.contains("oom-kill:")) {
        assert!(
            l.contains("oom_memcg=/corral/engines/"),
            "an OOM outside the engines: {l}"
        );
    }
    assert!(
        !kernel.lines().any(|l| l.contains("Out of memory:")),
        "a system-wide OOM: {kernel}"
    );
    // No system service was restarted or killed: same console, no restarts.
    let after = g.ok("corral ctl status", SECS(60));
    for s in SYSTEM {
        assert_eq!(state(&after, s), "running", "{after}");
        assert_eq!(restarts(&after, s), "0", "{s} restarted:\n{after}");
    }
    assert_eq!(pid_of(&before, "console"), pid_of(&after, "console"));

    // `corral ctl` stops and starts an engine like any other service; the
    // other engine is untouched and the stopped one's data survives.
    g.ok("corral ctl stop docker-ci", SECS(120));
    let stopped = g.ok("corral ctl status", SECS(60));
    assert_eq!(state(&stopped, "docker-ci"), "stopped", "{stopped}");
    assert_eq!(state(&stopped, "docker"), "running", "{stopped}");
    let (out, rc) = g.sh(
        &format!("{CI} version --format '{{{{.Server.Version}}}}'"),
        SECS(60),
    );
    assert_ne!(rc, 0, "docker-ci still answers: {out}");
    let default_lists = g.ok("docker ps -a --format '{{.Names}}'", SECS(120));
    assert!(default_lists.contains("writer"), "{default_lists}");
    g.ok("corral ctl start docker-ci", SECS(120));
    let restarted = Instant::now();
    loop {
        let (out, rc) = g.sh(
            &format!("{CI} images --format '{{{{.Repository}}}}:{{{{.Tag}}}}'"),
            SECS(120),
        );
        if rc == 0 {
            assert!(out.contains("busybox:ci"), "{out}");
            break;
        }
        assert!(
            restarted.elapsed() < SECS(300),
            "docker-ci did not come back: {out}"
        );
        g.ok("sleep 3", SECS(30));
    }
    eprintln!("docker-ci back after {:?}", restarted.elapsed());

    // Poweroff; the engines' data stayed on the disk.
    g.send("corral ctl poweroff\n");
    g.wait_seen("RB_POWER_OFF", SECS(180));
    let exit = g.wait_exit(SECS(120));
    assert!(exit.success(), "QEMU exited {exit}");
    let top = debugfs(&disk, "ls -l /");
    for d in ["docker", "docker-ci", "volumes", "ntp"] {
        assert!(
            top.split_whitespace().any(|w| w == d),
            "{d} is not on the disk:\n{top}"
        );
    }
    let secret = debugfs(&disk, "cat /volumes/shared/from-default");
    assert!(secret.contains("secret-of-default"), "{secret}");
    eprintln!("whole boot {:?}", g.started.elapsed());
}
