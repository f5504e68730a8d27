//! The end: once the supervisor has stopped the services, whatever is left
//! gets SIGTERM then SIGKILL, the service cgroups' parent goes, and then a
//! real system syncs, unmounts and calls reboot(2) while a sandbox just
//! exits (its namespaces die with it).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::sys::reboot::{reboot, RebootMode};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{console, mounts, reaper, SANDBOX_REBOOT_EXIT};
use crate::supervisor::cgroup::Placement;
use crate::supervisor::Action;

const GRACE: Duration = Duration::from_secs(2);

/// Finishes the shutdown. A real PID 1 never returns from here.
pub fn finish(action: Action, cgroups: &Placement, sandbox: bool) -> ExitCode {
    kill_remaining();
    if let Err(e) = cgroups.remove() {
        console::warn(format_args!("removing the services' cgroup: {e}"));
    }
    let _ = std::fs::remove_file(crate::ctl::SOCKET);
    if sandbox {
        console::info(format_args!("sandbox down"));
        return match action {
            Action::Poweroff => ExitCode::SUCCESS,
            Action::Reboot => ExitCode::from(SANDBOX_REBOOT_EXIT),
        };
    }
    nix::unistd::sync();
    mounts::unmount_all();
    nix::unistd::sync();
    let mode = match action {
        Action::Poweroff => RebootMode::RB_POWER_OFF,
        Action::Reboot => RebootMode::RB_AUTOBOOT,
    };
    console::info(format_args!("{mode:?}"));
    let Err(e) = reboot(mode);
    console::error(format_args!("reboot(2): {e}"));
    super::reap_forever()
}

/// SIGTERM, then SIGKILL, to every process but us, reaping as they go.
fn kill_remaining() {
    for signal in [Signal::SIGTERM, Signal::SIGKILL] {
        if !reaper::reap_all() {
            return;
        }
        let _ = kill(Pid::from_raw(-1), signal);
        let end = Instant::now() + GRACE;
        while Instant::now() < end {
            if !reaper::reap_all() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    reaper::reap_all();
}
