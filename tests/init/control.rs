//! The control socket: root only; start, stop and restart.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::time::Duration;

use crate::common;
use crate::sandbox::Booted;

fn ctl_as_nobody(sb: &Booted, with_dac_override: bool) -> std::process::Output {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
    if with_dac_override {
        c.args(["--inh-caps=+dac_override", "--ambient-caps=+dac_override"]);
    }
    c.arg(common::CORRAL)
        .arg("ctl")
        .arg("--socket")
        .arg(sb.socket())
        .arg("status");
    common::output_via_files(&mut c)
}

pub fn non_root_clients_are_refused(sb: &Booted) {
    let meta = std::fs::metadata(sb.socket()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), 0);
    // The file mode stops an ordinary user...
    let out = ctl_as_nobody(sb, false);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("Permission denied"),
        "{}",
        common::stderr(&out)
    );
    // ...and SO_PEERCRED one that can pass the file mode.
    let out = ctl_as_nobody(sb, true);
    assert!(!out.status.success(), "{}", common::stdout(&out));
    assert!(
        common::stderr(&out).contains("serves only root (peer uid 65534)"),
        "{}",
        common::stderr(&out)
    );
    assert!(common::stdout(&out).is_empty());
    // Root still is.
    assert!(sb.ctl(&["status"]).status.success());
    eprintln!("ok: a non-root client is refused by the control socket");
}

pub fn stop_start_restart(sb: &Booted) {
    let name = "override-me";
    let ok = |args: &[&str]| {
        let out = sb.ctl(args);
        assert!(
            out.status.success(),
            "ctl {args:?}: {}",
            common::stderr(&out)
        );
    };
    let first = sb.row(name).pid.unwrap();
    // Each waits, like systemctl, until the service has settled.
    ok(&["stop", name]);
    assert_eq!(sb.row(name).state, "stopped");
    sb.logged_at(name, &format!("stopping {name}"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sb.row(name).state, "stopped", "a stopped service came back");
    ok(&["start", name]);
    assert_eq!(sb.row(name).state, "running");
    let second = sb.row(name).pid.unwrap();
    ok(&["restart", name]);
    let third = sb.row(name);
    assert_eq!(third.state, "running");
    assert_ne!(
        third.pid,
        Some(second),
        "restart returned before a new process ran"
    );
    assert_ne!(first, second);
    // --no-block returns at once; the stop still happens.
    ok(&["stop", "--no-block", name]);
    sb.wait_until("stopped", Duration::from_secs(10), || {
        sb.row(name).state == "stopped"
    });
    ok(&["start", name]);
    let out = sb.ctl(&["stop", "nope"]);
    assert!(!out.status.success());
    eprintln!("ok: ctl stop, start and restart");
}
