//! Integration tests of PID 1 in sandbox mode, as root: `corral boot` over a
//! root made at test time, with busybox services that really run, checked
//! from the host (/proc, cgroups, log files) and through `corral ctl`.
//!
//! One sandbox runs the whole service set of issue 4 and is checked point
//! by point (each check is a function named after what it proves); a second
//! one boots with a corral.toml that is not TOML and is stopped by Ctrl-C.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod control;
mod faults;
mod isolation;
mod logs;
mod ordering;
mod reaping;
mod restart;
mod sandbox;
mod services;
mod shutdown;

use sandbox::Booted;

/// The service set of issue 4 in one sandbox, every acceptance point
/// checked in turn, then `ctl poweroff`.
#[test]
fn sandbox_boot_serves_the_service_set_and_powers_off() {
    if !common::privileged() {
        return;
    }
    let root = services::service_set();
    let mut sb = Booted::boot(&root, None);
    ordering::all_running_after_dependencies_and_oneshots(&sb);
    ordering::status_lists_every_service(&sb);
    isolation::each_service_has_its_own_namespaces_and_cgroup(&sb);
    isolation::hostname_and_overrides_from_corral_toml(&sb);
    bad_input::bad_services_are_reported_and_the_rest_boots(&sb);
    restart::crash_loop_is_marked_failed_after_the_limit(&sb);
    restart::sigkilled_service_restarts_with_backoff(&sb);
    reaping::orphaned_grandchild_is_reaped(&sb);
    logs::ctl_logs_returns_what_the_service_printed(&sb);
    logs::log_files_rotate_at_the_set_size(&sb);
    control::non_root_clients_are_refused(&sb);
    control::stop_start_restart(&sb);
    shutdown::report_idle_rss(&sb);
    shutdown::poweroff_exits_zero(&mut sb);
    shutdown::services_stopped_in_reverse_order(&sb);
    shutdown::nothing_left_behind(&sb);
}
