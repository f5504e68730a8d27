//! Faults the init must ride out (issue 7): a service OOM-killed in its
//! cgroup, a fork bomb, one that ignores SIGTERM at shutdown, one that logs
//! faster than it can be stored, and control clients that send garbage,
//! nothing, or an endless line. Through all of it a steady service keeps
//! running untouched, `ctl status` answers, and PID 1's memory stays
//! bounded.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common;
use crate::sandbox::{Booted, Root};

fn rss_kb(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// CPU time (user + system) PID `pid` has used, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): state is 3rd,
    // utime the 14th and stime the 15th of the whole line.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// The service's cgroup directory in the hierarchy mounted at `mount`.
fn cgroup_dir_of(sb: &Booted, service: &str, mount: &str) -> std::path::PathBuf {
    let sandbox = sb.cgroup_name();
    common::cgroup_dirs(service)
        .into_iter()
        .find(|d| d.starts_with(mount) && d.to_string_lossy().contains(&sandbox))
        .unwrap_or_else(|| panic!("no {mount} cgroup for {service}"))
}

fn fault_set() -> Root {
    let root = Root::new("sandbox-faults");
    root.corral_toml("hostname = \"faults\"\n");
    root.service(
        "steady",
        "trap 'exit 0' TERM; while :; do sleep 0.2; done",
        "[stop]\ntimeout_secs = 5\n",
    );
    let mut oom = root.service(
        "oom",
        "echo allocating; x=$(head -c 134217728 /dev/zero | tr '\\0' a); echo survived",
        "[restart]\npolicy = \"on-failure\"\ninitial_delay_ms = 200\nmax_restarts = 2\nwindow_secs = 60\n",
    );
    oom.config["linux"]["resources"]["memory"] = json!({"limit": 16777216});
    oom.save();
    let mut bomb = root.service(
        "bomb",
        "trap 'exit 0' TERM; b() { b | b & }; while :; do b; sleep 0.2; done",
        "[stop]\ntimeout_secs = 2\n",
    );
    bomb.config["linux"]["resources"]["pids"] = json!({"limit": 48});
    bomb.save();
    root.service(
        "stubborn",
        "trap '' TERM; echo ignoring-term; while :; do sleep 0.2; done",
        "[stop]\ntimeout_secs = 1\n",
    );
    root.service(
        "flood",
        "trap 'exit 0' TERM; yes 'flood flood flood flood flood flood flood flood flood flood'",
        "[logs]\nmax_file_size = 65536\nmax_files = 2\n[stop]\ntimeout_secs = 5\n",
    );
    root
}

/// Sends `payload` to the control socket and returns whatever comes back
/// within a second (the server may answer or close).
fn poke(sb: &Booted, payload: &[u8]) -> String {
    let mut s = UnixStream::connect(sb.socket()).unwrap();
    // A liveness bound, not a speed claim: the fault services keep this
    // 2-core machine busy, so the reply may take a moment.
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(payload);
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while !reply.contains(&b'\n') {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&reply).into_owned()
}

fn ctl_status_answers(sb: &Booted) {
    let started = Instant::now();
    let rows = sb.status();
    assert!(
        rows.iter()
            .any(|r| r.name == "steady" && r.state == "running"),
        "{rows:?}"
    );
    // A liveness bound, not a speed claim: the init must not be blocked.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "ctl status took {:?}",
        started.elapsed()
    );
}

#[test]
fn faults_do_not_stop_the_init() {
    if !common::privileged() {
        return;
    }
    let root = fault_set();
    let mut sb = Booted::boot(&root, None);
    sb.wait_until("steady running", Duration::from_secs(30), || {
        sb.status()
            .iter()
            .any(|r| r.name == "steady" && r.state == "running")
    });
    let steady_pid = sb.row("steady").pid;
    let rss_start = rss_kb(sb.init_pid);

    // The OOM hog is killed inside its cgroup and, after its restarts,
    // marked failed; the host and the other services are untouched.
    sb.wait_until("oom marked failed", Duration::from_secs(60), || {
        sb.row("oom").state == "failed"
    });
    assert!(!sb.log("oom").iter().any(|(_, l)| l.contains("survived")));
    assert!(sb.console().contains("oom"), "{}", sb.console());

    // The fork bomb is held at its pids limit.
    sb.wait_until("the bomb's cgroup", Duration::from_secs(20), || {
        common::cgroup_dirs("bomb").iter().any(|d| {
            d.starts_with("/sys/fs/cgroup/pids") && d.to_string_lossy().contains(&sb.cgroup_name())
        })
    });
    let bomb_pids = cgroup_dir_of(&sb, "bomb", "/sys/fs/cgroup/pids");
    let hits = |dir: &std::path::Path| -> u64 {
        let events = std::fs::read_to_string(dir.join("pids.events")).unwrap_or_default();
        events
            .lines()
            .find_map(|l| l.strip_prefix("max "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    sb.wait_until("the bomb to hit its limit", Duration::from_secs(20), || {
        hits(&bomb_pids) > 0
    });
    assert!(
        std::fs::read_to_string(bomb_pids.join("pids.current"))
            .unwrap()
            .trim()
            .parse::<u32>()
            .unwrap()
            <= 48
    );

    // Hostile control clients: garbage, an endless line, silence.
    let reply = poke(&sb, b"this is not json\n");
    assert!(reply.contains("\"ok\":false"), "{reply:?}");
    let mut silent = UnixStream::connect(sb.socket()).unwrap();
    let endless = std::thread::spawn({
        let sock = sb.socket();
        move || {
            let mut s = UnixStream::connect(sock).unwrap();
            s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
            let chunk = vec![b'a'; 1 << 16];
            // The server must cut this off rather than buffer it all.
            (0..256).take_while(|_| s.write_all(&chunk).is_ok()).count()
        }
    });
    ctl_status_answers(&sb);
    let written_chunks = endless.join().unwrap();
    assert!(
        written_chunks < 256,
        "the server buffered a 16 MiB request line"
    );
    let _ = silent.write_all(b"");

    // While the flood runs the log files stay at their size and PID 1's
    // memory stays bounded.
    let cpu_before = cpu_ticks(sb.init_pid);
    std::thread::sleep(Duration::from_secs(3));
    let cpu_flood = cpu_ticks(sb.init_pid) - cpu_before;
    eprintln!("PID 1 used {cpu_flood} ticks of CPU in 3 s of flood");
    // Logs are read at a bounded rate (the flood blocks on its own pipe):
    // a bound on PID 1's share of a CPU, not a speed claim. Unthrottled,
    // this took about 180 ticks (60% of a core) here; throttled about 40.
    let ticks_per_sec = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .unwrap()
        .unwrap() as u64;
    assert!(
        cpu_flood < 3 * ticks_per_sec / 2,
        "a log flood cost PID 1 {cpu_flood} ticks in 3 s"
    );
    ctl_status_answers(&sb);
    let log_dir = root.path().join("var/log/corral");
    for f in ["flood.log", "flood.log.1", "flood.log.2"] {
        if let Ok(m) = std::fs::metadata(log_dir.join(f)) {
            assert!(m.len() <= 65536 + 4096, "{f} is {} bytes", m.len());
        }
    }
    assert!(!log_dir.join("flood.log.3").exists());
    let rss_flood = rss_kb(sb.init_pid);
    eprintln!("PID 1 VmRSS: {rss_start} kB at start, {rss_flood} kB during the flood");
    assert!(
        rss_flood < rss_start + 8 * 1024,
        "PID 1 grew from {rss_start} kB to {rss_flood} kB"
    );

    // The steady service never noticed.
    let steady = sb.row("steady");
    assert_eq!(
        (steady.state.as_str(), steady.restarts, steady.pid),
        ("running", 0, steady_pid)
    );

    // Shutdown gets past the one that ignores SIGTERM (killed after its
    // stop timeout) and exits 0 with nothing left.
    let out = sb.ctl(&["poweroff"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let status = sb.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status:?}\n{}", sb.console());
    assert!(sb.console().contains("stubborn"), "{}", sb.console());
    assert!(
        common::cgroup_dirs(&sb.cgroup_name()).is_empty(),
        "sandbox cgroup left"
    );
    drop(silent);
}
