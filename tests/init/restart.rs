//! Restart policy: backoff after SIGKILL, the crash-loop limit.

use std::time::{Duration, Instant};

use crate::sandbox::Booted;

pub fn crash_loop_is_marked_failed_after_the_limit(sb: &Booted) {
    sb.wait_until("crash marked failed", Duration::from_secs(20), || {
        sb.row("crash").state == "failed"
    });
    let r = sb.row("crash");
    assert_eq!(r.restarts, 3, "{r:?}");
    let booms = sb.log("crash").iter().filter(|(_, l)| l == "boom").count();
    assert_eq!(booms, 4, "max_restarts = 3: four runs");
    let text = sb.status_text();
    assert!(
        text.contains("crash: exited with status 3; crash loop: 4 exits within 60 s"),
        "{text}"
    );
    assert!(sb
        .console()
        .contains("FAILED crash: exited with status 3; crash loop"));
    // Backoff doubled between the runs.
    let restarts: Vec<String> = sb
        .log("crash")
        .into_iter()
        .filter(|(_, l)| l.starts_with("[corral] restarting in"))
        .map(|(_, l)| l)
        .collect();
    assert_eq!(
        restarts,
        [
            "[corral] restarting in 50 ms",
            "[corral] restarting in 100 ms",
            "[corral] restarting in 200 ms"
        ]
    );
    // The others are still served.
    for n in ["base", "mid", "top", "killme"] {
        assert_eq!(sb.row(n).state, "running");
    }
    eprintln!("ok: a crash-looping service is failed after the limit, the rest runs");
}

/// SIGKILLs killme's init from the host and times its return.
fn kill_and_time_restart(sb: &Booted) -> Duration {
    let before = sb.row("killme");
    let old = before.pid.unwrap();
    let host = sb.host_pid(old);
    let t0 = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(host),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut back = None;
    sb.wait_until("killme back", Duration::from_secs(20), || {
        let r = sb.row("killme");
        let ok = r.state == "running" && r.pid.is_some() && r.restarts == before.restarts + 1;
        if ok && back.is_none() {
            back = Some(t0.elapsed());
        }
        ok
    });
    back.unwrap()
}

pub fn sigkilled_service_restarts_with_backoff(sb: &Booted) {
    let first = kill_and_time_restart(sb);
    let second = kill_and_time_restart(sb);
    assert!(
        first >= Duration::from_millis(300),
        "restarted after {first:?}"
    );
    assert!(
        second >= Duration::from_millis(600),
        "restarted after {second:?}"
    );
    let log = sb.log("killme");
    let lines: Vec<&str> = log.iter().map(|(_, l)| l.as_str()).collect();
    let killed = lines
        .iter()
        .filter(|l| **l == "[corral] killed by SIGKILL")
        .count();
    assert_eq!(killed, 2, "{lines:?}");
    let i = lines
        .iter()
        .position(|l| *l == "[corral] restarting in 300 ms")
        .unwrap();
    assert!(
        lines[i..].contains(&"[corral] restarting in 600 ms"),
        "{lines:?}"
    );
    assert_eq!(sb.row("killme").restarts, 2);
    eprintln!(
        "ok: a SIGKILLed service is restarted after 300 ms, then 600 ms ({first:?}, {second:?})"
    );
}
