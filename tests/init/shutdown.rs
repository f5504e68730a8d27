//! Power off: services stop in reverse dependency order, the sandbox exits
//! 0, and nothing is left behind.

use std::fs;
use std::time::Duration;

use crate::common;
use crate::sandbox::{all_pids, Booted};

/// Reports the sandbox init's resident memory with the services running.
pub fn report_idle_rss(sb: &Booted) {
    std::thread::sleep(Duration::from_millis(500));
    let status = fs::read_to_string(format!("/proc/{}/status", sb.init_pid)).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .map(|l| l[k.len()..].trim().to_owned())
            .unwrap_or_default()
    };
    eprintln!(
        "info: sandbox init idle: VmRSS {} (RssAnon {}, RssFile {}), threads {}",
        field("VmRSS:"),
        field("RssAnon:"),
        field("RssFile:"),
        field("Threads:")
    );
    assert_eq!(field("Threads:"), "1", "PID 1 must stay single-threaded");
    let anon: u64 = field("RssAnon:")
        .trim_end_matches(" kB")
        .parse()
        .unwrap_or(u64::MAX);
    assert!(anon < 4096, "the init's own memory is {anon} kB");
}

/// `ctl poweroff`: the sandbox shuts down and `corral boot` exits 0.
pub fn poweroff_exits_zero(sb: &mut Booted) {
    let out = sb.ctl(&["poweroff"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let status = sb.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{}", sb.console());
    eprintln!("ok: ctl poweroff, exit status 0");
}

pub fn services_stopped_in_reverse_order(sb: &Booted) {
    let last = |name: &str| {
        sb.log(name)
            .into_iter()
            .rfind(|(_, l)| *l == format!("stopping {name}"))
            .map(|(t, _)| t)
            .unwrap_or_else(|| panic!("{name} logged no stop: {:?}", sb.log(name)))
    };
    let (top, mid, base) = (last("top"), last("mid"), last("base"));
    assert!(top < mid, "mid stopped before top ({mid} < {top})");
    assert!(mid < base, "base stopped before mid ({base} < {mid})");
    let console = sb.console();
    let at = |s: &str| {
        console
            .rfind(s)
            .unwrap_or_else(|| panic!("{s}:\n{console}"))
    };
    assert!(at("top: stopped after") < at("mid: stopped after"));
    assert!(at("mid: stopped after") < at("base: stopped after"));
    eprintln!("ok: services stopped in reverse dependency order");
}

pub fn nothing_left_behind(sb: &Booted) {
    let root = sb.root.display().to_string();
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&root), "a mount under {root} is left");
    assert_eq!(
        common::cgroup_dirs(&sb.cgroup_name()),
        Vec::<std::path::PathBuf>::new(),
        "the sandbox's cgroup is left"
    );
    let left: Vec<i32> = all_pids()
        .into_iter()
        .filter(|p| {
            fs::metadata(format!("/proc/{p}/ns/pid"))
                .map(|m| std::os::unix::fs::MetadataExt::ino(&m) == sb.pid_ns)
                .unwrap_or(false)
        })
        .collect();
    assert!(left.is_empty(), "processes left in the sandbox: {left:?}");
    let state = sb.root.join("run/corral/state");
    let entries = fs::read_dir(&state).map(|d| d.count()).unwrap_or(0);
    assert_eq!(entries, 0, "container state left in {}", state.display());
    assert!(!sb.socket().exists(), "the control socket is left");
    eprintln!("ok: no mount, cgroup, process or state left");
}
