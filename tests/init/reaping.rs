//! Orphans re-parented to the sandbox's init are reaped.

use std::time::Duration;

use crate::sandbox::{all_pids, cmdline, ppid_state, Booted};

/// The orphan service runs `sh -c 'sleep 1.7 &'` every 2 s: each `sleep`
/// loses its parent at once and is re-parented to PID 1 of the sandbox.
pub fn orphaned_grandchild_is_reaped(sb: &Booted) {
    let is_orphan = |p: i32| cmdline(p) == ["sleep", "1.7"];
    let mut orphan = None;
    sb.wait_until(
        "an orphan re-parented to the init",
        Duration::from_secs(10),
        || {
            orphan = all_pids().into_iter().find(|p| {
                is_orphan(*p) && ppid_state(*p).is_some_and(|(pp, s)| pp == sb.init_pid && s != 'Z')
            });
            orphan.is_some()
        },
    );
    let p = orphan.unwrap();
    // It exits after its 1.7 s; unreaped it would stay a zombie of the init.
    sb.wait_until("the orphan reaped", Duration::from_secs(5), || {
        ppid_state(p).is_none()
    });
    let zombies: Vec<i32> = all_pids()
        .into_iter()
        .filter(|q| ppid_state(*q) == Some((sb.init_pid, 'Z')))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let lasting: Vec<i32> = zombies
        .into_iter()
        .filter(|q| ppid_state(*q) == Some((sb.init_pid, 'Z')))
        .collect();
    assert!(lasting.is_empty(), "zombies of the init: {lasting:?}");
    eprintln!("ok: an orphaned grandchild that exits is reaped");
}
