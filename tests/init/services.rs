//! The service set of the main sandbox.
//!
//! setup (oneshot) <- base (requires setup, provides "database", ready by
//! exec) <- mid (requires database, ready by path) <- top (after + wants
//! mid); plus orphan (no pid namespace, makes orphans), crash (exits at
//! once), killme (to SIGKILL), chatty (fills small log files), an admin
//! override, and broken ones: an unknown key, a dependency cycle, a
//! missing bundle, and a service requiring a cycle member.

use std::fs;

use crate::sandbox::Root;

/// A long-running service that logs `stopping NAME` on SIGTERM.
fn stoppable(name: &str, before: &str) -> String {
    format!("trap 'echo stopping {name}; exit 0' TERM; {before} while :; do sleep 0.1; done")
}

pub fn service_set() -> Root {
    let root = Root::new("sandbox-a");
    fs::create_dir_all(root.path().join("run/test")).unwrap();
    root.corral_toml(
        r#"hostname = "sandbox-a"
[log]
ring_lines = 300
[services.overrides.top]
env = ["GREETING=hello-from-override"]
"#,
    );
    root.service(
        "setup",
        "echo setup-begin; echo setup-to-stderr >&2; sleep 0.3; echo setup-end",
        "kind = \"oneshot\"\n",
    );
    root.service(
        "base",
        &stoppable("base", "echo base-up; sleep 0.3; touch /tmp/ready;"),
        r#"requires = ["setup"]
provides = ["database"]
[ready]
kind = "exec"
command = ["test", "-e", "/tmp/ready"]
interval_ms = 100
timeout_secs = 20
[stop]
timeout_secs = 5
"#,
    );
    root.service(
        "mid",
        &stoppable("mid", "echo mid-up; sleep 0.2; touch /out/mid.ready;"),
        r#"requires = ["database"]
[ready]
kind = "path"
path = "/run/test/mid.ready"
interval_ms = 50
[stop]
timeout_secs = 5
"#,
    )
    .bind("/run/test", "/out");
    root.service(
        "top",
        &stoppable("top", "echo top-up $GREETING;"),
        "after = [\"mid\"]\nwants = [\"mid\"]\n[stop]\ntimeout_secs = 5\n",
    );
    root.service(
        "orphan",
        "echo orphan-up; while :; do sh -c 'sleep 1.7 &'; sleep 2; done",
        "[stop]\ntimeout_secs = 5\n",
    )
    .without_pid_namespace();
    root.service(
        "crash",
        "echo boom; exit 3",
        "[restart]\ninitial_delay_ms = 50\nmax_restarts = 3\nwindow_secs = 60\n",
    );
    root.service(
        "killme",
        &stoppable("killme", "echo killme-up;"),
        "[restart]\ninitial_delay_ms = 300\nmax_delay_ms = 5000\nmax_restarts = 5\n[stop]\ntimeout_secs = 5\n",
    );
    root.service(
        "chatty",
        &stoppable(
            "chatty",
            "i=0; while [ $i -lt 200 ]; do echo \"line $i ................................\"; i=$((i+1)); done;",
        ),
        "[logs]\nmax_file_size = 2048\nmax_files = 2\n[stop]\ntimeout_secs = 5\n",
    );
    root.service("override-me", "echo shipped; exec sleep 1000", "");
    root.admin_service("override-me", &stoppable("override-me", "echo admin;"), "");
    root.service("badkey", "echo never", "colour = \"red\"\n");
    root.service("cyc-a", "echo never", "requires = [\"cyc-b\"]\n");
    root.service("cyc-b", "echo never", "after = [\"cyc-a\"]\n");
    root.service("needs-cycle", "echo never", "requires = [\"cyc-a\"]\n");
    let nobundle = root.service("nobundle", "echo never", "");
    fs::remove_file(nobundle.dir.join("config.json")).unwrap();
    root
}
