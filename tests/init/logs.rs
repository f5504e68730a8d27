//! Service output: `ctl logs` and the rotated log files.

use std::fs;
use std::time::Duration;

use crate::common;
use crate::sandbox::Booted;

pub fn ctl_logs_returns_what_the_service_printed(sb: &Booted) {
    let out = sb.ctl(&["logs", "-n", "5", "chatty"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let want: Vec<String> = (195..200)
        .map(|i| format!("line {i} ................................"))
        .collect();
    let got: Vec<String> = common::stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(got, want);
    let out = sb.ctl(&["logs", "base"]);
    let text = common::stdout(&out);
    assert!(text.lines().any(|l| l == "base-up"), "{text}");
    let out = sb.ctl(&["logs", "setup"]);
    let text = common::stdout(&out);
    assert!(
        text.lines().any(|l| l == "setup-to-stderr"),
        "stderr is captured too: {text}"
    );
    let out = sb.ctl(&["logs", "nope"]);
    assert!(!out.status.success());
    assert!(common::stderr(&out).contains("no service named \"nope\""));
    follow_streams_new_lines(sb);
    eprintln!("ok: ctl logs returns what the services printed");
}

/// `logs -f` prints the backlog and then what comes: a restart of top
/// prints `stopping top` and `top-up ...` while we follow.
fn follow_streams_new_lines(sb: &Booted) {
    let dir = common::TempDir::new("follow");
    let out = dir.path().join("out");
    let mut child = std::process::Command::new(common::CORRAL)
        .arg("ctl")
        .arg("--socket")
        .arg(sb.socket())
        .args(["logs", "-f", "-n", "1", "top"])
        .stdout(fs::File::create(&out).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let r = sb.ctl(&["restart", "top"]);
    assert!(r.status.success(), "{}", common::stderr(&r));
    sb.wait_until("followed lines", Duration::from_secs(10), || {
        let t = fs::read_to_string(&out).unwrap_or_default();
        t.contains("stopping top") && t.contains("top-up hello-from-override")
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

pub fn log_files_rotate_at_the_set_size(sb: &Booted) {
    let dir = sb.root.join("var/log/corral");
    let mut all = String::new();
    for name in ["chatty.log.2", "chatty.log.1", "chatty.log"] {
        let p = dir.join(name);
        let len = fs::metadata(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .len();
        assert!(len <= 2048, "{name} is {len} bytes, over max_file_size");
        all.push_str(&fs::read_to_string(&p).unwrap());
    }
    assert!(
        !dir.join("chatty.log.3").exists(),
        "more than max_files kept"
    );
    assert!(fs::metadata(dir.join("chatty.log.1")).unwrap().len() > 2048 - 120);
    // Oldest to newest, the kept lines are consecutive and end with line 199.
    let numbers: Vec<u32> = all
        .lines()
        .filter_map(|l| l.split(' ').nth(2))
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(numbers.last(), Some(&199));
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    eprintln!("ok: log files rotate at max_file_size and keep max_files");
}
