//! Start order: dependencies first, oneshots completed first.

use std::time::Duration;

use crate::sandbox::Booted;

pub const RUNNING: [&str; 8] = [
    "base",
    "mid",
    "top",
    "orphan",
    "killme",
    "chatty",
    "override-me",
    "setup",
];

pub fn all_running_after_dependencies_and_oneshots(sb: &Booted) {
    sb.wait_until("every service up", Duration::from_secs(30), || {
        let rows = sb.status();
        RUNNING.iter().all(|n| {
            rows.iter()
                .any(|r| &r.name == n && r.state == if *n == "setup" { "done" } else { "running" })
        })
    });
    // The oneshot finished before what requires it started...
    let setup_end = sb.logged_at("setup", "[corral] exited with status 0");
    assert!(sb.logged_at("setup", "setup-end") <= setup_end);
    let base_start = sb.logged_at("base", "[corral] started");
    assert!(setup_end < base_start, "base started before setup was done");
    // ...and each service started only once what it waits for was ready.
    let base_ready = sb.logged_at("base", "[corral] ready");
    assert!(sb.logged_at("base", "base-up") < base_ready);
    let mid_start = sb.logged_at("mid", "[corral] started");
    assert!(base_ready < mid_start, "mid started before base was ready");
    let mid_ready = sb.logged_at("mid", "[corral] ready");
    let top_start = sb.logged_at("top", "[corral] started");
    assert!(mid_ready < top_start, "top started before mid was ready");
    // The console's boot lines come in the same order.
    let console = sb.console();
    let at = |s: &str| {
        console
            .find(s)
            .unwrap_or_else(|| panic!("console lacks {s:?}:\n{console}"))
    };
    assert!(at("setup: done after") < at("base: ready after"));
    assert!(at("base: ready after") < at("mid: ready after"));
    assert!(at("mid: ready after") < at("top: ready after"));
    eprintln!("ok: services start in dependency order, the oneshot first");
}

pub fn status_lists_every_service(sb: &Booted) {
    let rows = sb.status();
    for n in RUNNING {
        let r = rows.iter().find(|r| r.name == n).unwrap();
        if n == "setup" {
            assert_eq!(r.pid, None);
            continue;
        }
        assert!(r.pid.is_some_and(|p| p > 1), "{r:?}");
        assert_ne!(r.memory, "-", "{r:?}: no memory figure");
    }
    assert_eq!(rows.len(), 14, "{rows:?}");
    eprintln!("ok: ctl status lists every service running with pid and memory");
}
