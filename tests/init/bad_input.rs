//! Bad input: each problem is reported in one clear line and the rest boots.

use std::time::Duration;

use crate::common;
use crate::sandbox::{Booted, Root};

pub fn bad_services_are_reported_and_the_rest_boots(sb: &Booted) {
    let console = sb.console();
    let line = |needle: &str| -> String {
        console
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("console lacks {needle:?}:\n{console}"))
            .to_owned()
    };
    let l = line("FAILED badkey:");
    assert!(
        l.contains("/usr/lib/corral/services/badkey/service.toml:1:") && l.contains("colour"),
        "{l}"
    );
    let l = line("FAILED cyc-a:");
    assert!(
        l.contains("dependency cycle: cyc-a -> cyc-b -> cyc-a"),
        "{l}"
    );
    let l = line("FAILED cyc-b:");
    assert!(l.contains("dependency cycle"), "{l}");
    let l = line("FAILED nobundle:");
    assert!(
        l.contains("/usr/lib/corral/services/nobundle/config.json") && l.contains("No such file"),
        "{l}"
    );
    let l = line("FAILED needs-cycle:");
    assert!(l.contains("requires cyc-a, which is failed"), "{l}");
    let rows = sb.status();
    for (name, state) in [
        ("badkey", "failed"),
        ("cyc-a", "failed"),
        ("cyc-b", "failed"),
        ("nobundle", "failed"),
        ("needs-cycle", "skipped"),
    ] {
        let r = rows.iter().find(|r| r.name == name).unwrap();
        assert_eq!(r.state, state, "{r:?}");
    }
    let text = sb.status_text();
    assert!(
        text.contains("\nbadkey: "),
        "status shows no reason:\n{text}"
    );
    // A bad service cannot be started by hand either, and says why.
    let out = sb.ctl(&["start", "badkey"]);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("colour"),
        "{}",
        common::stderr(&out)
    );
    eprintln!("ok: unknown key, cycle, missing bundle reported; the rest boots");
}

/// A corral.toml that is not TOML: the defaults are used, the error is on
/// the console, the services boot; Ctrl-C powers off with status 0.
#[test]
fn broken_corral_toml_falls_back_and_ctrl_c_powers_off() {
    if !common::privileged() {
        return;
    }
    let root = Root::new("sandbox-b");
    root.corral_toml("hostname = \"x\"\nthis is [not toml\n");
    root.service(
        "hello",
        "trap 'echo bye; exit 0' TERM; echo hello; while :; do sleep 0.1; done",
        "",
    );
    let mut sb = Booted::boot(&root, None);
    sb.wait_until("hello running", Duration::from_secs(20), || {
        sb.row("hello").state == "running"
    });
    let console = sb.console();
    let err = console
        .lines()
        .find(|l| l.contains("error: /etc/corral/corral.toml:2:"))
        .unwrap_or_else(|| panic!("no corral.toml error on the console:\n{console}"));
    assert!(err.ends_with("using the default configuration"), "{err}");
    assert_eq!(sb.hostname(), "corral");
    // Ctrl-C on corral boot.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sb.boot_pid() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = sb.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", sb.console());
    sb.logged_at("hello", "bye");
    crate::shutdown::nothing_left_behind(&sb);
}

/// `corral boot` with --config from the host instead of the root's file;
/// a disabled service; a readiness timeout.
#[test]
fn boot_config_flag_disabled_service_and_readiness_timeout() {
    if !common::privileged() {
        return;
    }
    let root = Root::new("sandbox-c");
    let cfg = common::TempDir::new("cfg");
    let file = cfg.path().join("corral.toml");
    std::fs::write(
        &file,
        "hostname = \"from-flag\"\n[services]\ndisabled = [\"off\"]\n",
    )
    .unwrap();
    root.service("off", "echo never", "");
    root.service(
        "never-ready",
        "echo waiting; exec sleep 1000",
        "[ready]\nkind = \"path\"\npath = \"/run/never\"\ntimeout_secs = 1\n[restart]\npolicy = \"no\"\n",
    );
    root.service(
        "stubborn",
        "trap '' TERM; echo stubborn; while :; do sleep 0.1; done",
        "[stop]\ntimeout_secs = 1\n",
    );
    let mut sb = Booted::boot(&root, Some(&file));
    sb.wait_until("off listed", Duration::from_secs(20), || {
        sb.row("off").state == "disabled"
    });
    sb.wait_until("stubborn running", Duration::from_secs(20), || {
        sb.row("stubborn").state == "running"
    });
    // A readiness timeout kills the service; without restarts it is failed.
    sb.wait_until("never-ready failed", Duration::from_secs(20), || {
        sb.row("never-ready").state == "failed"
    });
    let text = sb.status_text();
    assert!(
        text.contains("never-ready: not ready within 1s: /run/never did not appear"),
        "{text}"
    );
    sb.logged_at("never-ready", "[corral] killed by SIGKILL");
    assert_eq!(sb.hostname(), "from-flag");
    let out = sb.ctl(&["poweroff"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(sb.wait_exit(Duration::from_secs(20)).code(), Some(0));
    // A service that ignores its stop signal is killed after its timeout.
    let console = sb.console();
    assert!(
        console.contains("warning: stubborn: did not stop within 1 s; killing it"),
        "{console}"
    );
    sb.logged_at("stubborn", "[corral] killed by SIGKILL");
    crate::shutdown::nothing_left_behind(&sb);
}

/// As /init or /sbin/init the binary is the init, whatever the arguments
/// (the kernel passes its own); outside PID 1 it refuses to run.
#[test]
fn argv0_init_chooses_init_mode() {
    let dir = common::TempDir::new("argv0");
    let init = dir.path().join("init");
    std::os::unix::fs::symlink(common::CORRAL, &init).unwrap();
    let out =
        common::output_via_files(std::process::Command::new(&init).args(["--version", "quiet"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("must run as PID 1"),
        "{}",
        common::stderr(&out)
    );
    assert!(
        common::stdout(&out).is_empty(),
        "clap answered: {}",
        common::stdout(&out)
    );
}
