//! PID 1's event loop on a current-thread tokio runtime: signals, the
//! orphan reaper, the control socket and the supervisor's events. Returns
//! when the supervisor has stopped every service after a shutdown request.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::LocalSet;

use super::console;
use super::reaper::Reaper;
use crate::config::SystemConfig;
use crate::ctl;
use crate::engines;
use crate::supervisor::{cgroup, discover, Action, Ctx, Event, Supervisor, Tracked};

/// State root of the service containers.
pub const STATE_ROOT: &str = "/run/corral/state";
/// A sweep for orphans even without SIGCHLD, in case one was coalesced
/// while a tracked zombie stopped the previous sweep.
const SAFETY_SWEEP: Duration = Duration::from_secs(30);
/// How often the idle init drops its text pages and trims its heap.
const TRIM_EVERY: Duration = Duration::from_secs(60);
/// The first trim, once the boot has had time to settle.
const FIRST_TRIM: Duration = Duration::from_secs(5);

/// Runs the loop until the system is to go down: how, and where the
/// service cgroups were.
pub fn run(cfg: &SystemConfig, sandbox: bool) -> Result<(Action, cgroup::Placement), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("start the event loop: {e}"))?;
    let local = LocalSet::new();
    Ok(local.block_on(&rt, main_loop(cfg, sandbox)))
}

fn listen(kind: SignalKind, name: &str) -> Option<Signal> {
    signal(kind)
        .inspect_err(|e| console::error(format_args!("cannot handle {name}: {e}")))
        .ok()
}

async fn recv(s: &mut Option<Signal>) {
    if let Some(sig) = s.as_mut() {
        if sig.recv().await.is_some() {
            return;
        }
    }
    std::future::pending().await
}

/// Lets the control connections write the answers already given (the
/// `poweroff` that ended the loop) before the runtime goes away.
async fn flush_replies() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
}

async fn main_loop(cfg: &SystemConfig, sandbox: bool) -> (Action, cgroup::Placement) {
    // Handlers first: no child exists yet, so no exit can be missed.
    let mut sigchld = listen(SignalKind::child(), "SIGCHLD");
    let mut sigterm = listen(SignalKind::terminate(), "SIGTERM");
    let mut sigint = listen(SignalKind::interrupt(), "SIGINT");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tracked = Tracked::default();
    let reaper = Reaper::new(tracked.clone());
    match ctl::server::bind(Path::new(ctl::SOCKET)) {
        Ok(l) => {
            tokio::task::spawn_local(ctl::server::serve(l, tx.clone()));
        }
        Err(e) => console::error(format_args!("control socket {}: {e}", ctl::SOCKET)),
    }
    let (cgroups, errors) = cgroup::Placement::prepare(&cfg.cgroups);
    for e in errors {
        console::error(format_args!("service cgroups: {e}"));
    }
    let refused = engines::prepare(
        cfg,
        engines::Host::detect(cgroups.unified()),
        Path::new(engines::TEMPLATE),
        Path::new(engines::RUN_DIR),
    );
    let ctx = Ctx {
        state_root: PathBuf::from(STATE_ROOT),
        cgroups,
        system_oom_score_adj: super::system::may_lower_oom_score()
            .then_some(cfg.cgroups.system.oom_score_adj),
        refused,
        service_dirs: vec![
            PathBuf::from(discover::SHIPPED_DIR),
            PathBuf::from(engines::RUN_DIR),
            PathBuf::from(discover::ADMIN_DIR),
        ],
        tx,
        tracked,
    };
    let mut sup = Supervisor::new(cfg, ctx);
    sup.boot();
    let interrupt = if sandbox {
        Action::Poweroff
    } else {
        Action::Reboot
    };
    let mut sweep = tokio::time::interval(SAFETY_SWEEP);
    let mut trim = tokio::time::interval_at(tokio::time::Instant::now() + FIRST_TRIM, TRIM_EVERY);
    loop {
        if let Some(action) = sup.finished() {
            flush_replies().await;
            return (action, sup.cgroups().clone());
        }
        tokio::select! {
            Some(event) = rx.recv() => {
                if matches!(event, Event::Reap) {
                    reaper.reap();
                }
                sup.handle(event);
            }
            () = recv(&mut sigchld) => {
                reaper.reap();
            }
            () = recv(&mut sigterm) => sup.shutdown(Action::Poweroff),
            () = recv(&mut sigint) => sup.shutdown(interrupt),
            _ = sweep.tick() => {
                reaper.reap();
            }
            _ = trim.tick() => super::memory::trim(),
        }
    }
}
