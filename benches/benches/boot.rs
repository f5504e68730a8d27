//! Boot to ready, and shutdown, of the init in sandbox mode
//! (`corral boot --root DIR`) with a test service set, written against
//! the contract in docs/config.md:
//!
//! - DIR holds the image layout: /usr/bin/corral, /init -> /usr/bin/corral,
//!   /etc/corral/corral.toml, /usr/lib/corral/services/NAME/{config.json,
//!   service.toml, rootfs/}.
//! - Five simple services (busybox, the full default config of
//!   `corral spec` plus a tmpfs on /tmp) with a dependency chain and both
//!   `started` and `exec` readiness:
//!   a; b requires a (ready: `test -e /tmp/ready`); c requires b;
//!   d wants c (ready: exec); e alone. Each traps SIGTERM and exits 0.
//! - Ready = every service's `state` in `status` is "running" (started
//!   and, with a `[ready]` check, ready),
//!   asked over the control socket (one JSON line per request) every 2 ms;
//!   the socket is DIR/run/corral/corral.sock unless
//!   CORRAL_BOOT_SOCKET names another.
//! - Shutdown = `corral ctl --socket S poweroff` until `corral boot` exits.
//!
//! `boot/to_ready` times spawn-to-all-ready, `boot/shutdown` times
//! poweroff-to-exit; each iteration is one whole boot. A first boot,
//! before measuring, prints PID 1's resident memory after 8 s of idling.
//! Skipped with a message when the corral binary has no `boot` or `ctl`
//! subcommand.
//!
//! 10 samples over 3 s of timed work each (flat sampling), 0.5 s warm-up.

// A bench harness, not a library: a broken fixture ends the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use corral_benches::{self as cb, Variant};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use serde_json::{json, Value};

const WHAT: &str = "boot";
const TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(2);
/// States that count as ready in `status`.
const READY: [&str; 1] = ["running"];

/// (name, the service.toml keys besides description, kind, restart, stop)
const SERVICES: [(&str, &str); 5] = [
    ("corralbench-a", "[ready]\nkind = \"started\"\n"),
    (
        "corralbench-b",
        "requires = [\"corralbench-a\"]\n\n[ready]\nkind = \"exec\"\ncommand = [\"test\", \"-e\", \"/tmp/ready\"]\ntimeout_secs = 20\ninterval_ms = 5\n",
    ),
    ("corralbench-c", "requires = [\"corralbench-b\"]\n"),
    (
        "corralbench-d",
        "wants = [\"corralbench-c\"]\nafter = [\"corralbench-c\"]\n\n[ready]\nkind = \"exec\"\ncommand = [\"test\", \"-e\", \"/tmp/ready\"]\ntimeout_secs = 20\ninterval_ms = 5\n",
    ),
    ("corralbench-e", ""),
];

/// The service process: ready file, then wait for SIGTERM.
const SERVICE_SCRIPT: &str = "trap 'exit 0' TERM; touch /tmp/ready; sleep 3600 & wait";

/// Builds the sandbox root at `dir` with `corral` as /usr/bin/corral.
fn make_root(dir: &Path, corral: &Path) -> std::io::Result<()> {
    for d in [
        "usr/bin",
        "etc/corral/services",
        "usr/lib/corral/services",
        "run",
        "var/log/corral",
        "var/lib/corral",
        "tmp",
        "proc",
        "sys",
        "dev",
    ] {
        fs::create_dir_all(dir.join(d))?;
    }
    fs::copy(corral, dir.join("usr/bin/corral"))?;
    std::os::unix::fs::symlink("/usr/bin/corral", dir.join("init"))?;
    fs::write(
        dir.join("etc/corral/corral.toml"),
        "hostname = \"corralbench\"\n\n[log]\ndir = \"/var/log/corral\"\n",
    )?;
    for (name, extra) in SERVICES {
        let svc = dir.join("usr/lib/corral/services").join(name);
        cb::make_busybox_rootfs(&svc.join("rootfs"))?;
        let mut config = cb::config(
            Path::new("rootfs"),
            &["/bin/sh", "-c", SERVICE_SCRIPT],
            Variant::NoResources,
        );
        if let Some(m) = config["mounts"].as_array_mut() {
            m.push(json!({
                "destination": "/tmp",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=1777", "size=1m"]
            }));
        }
        cb::write_bundle(&svc, &config)?;
        let toml = format!(
            "description = \"corral bench service {name}\"\nkind = \"simple\"\n{extra}\n[restart]\npolicy = \"no\"\n\n[stop]\nsignal = \"SIGTERM\"\ntimeout_secs = 5\n"
        );
        fs::write(svc.join("service.toml"), toml)?;
    }
    Ok(())
}

/// Whether `corral SUB --help` succeeds.
fn has_subcommand(corral: &Path, sub: &str) -> bool {
    Command::new(corral)
        .args([sub, "--help"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// One request over the control socket; the parsed response.
fn request(sock: &Path, req: &Value) -> Result<Value, String> {
    let mut s =
        UnixStream::connect(sock).map_err(|e| format!("connect {}: {e}", sock.display()))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut line = req.to_string();
    line.push('\n');
    s.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = String::new();
    BufReader::new(s)
        .read_line(&mut resp)
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&resp).map_err(|e| format!("bad status response {resp:?}: {e}"))
}

/// Whether `status` shows every bench service ready.
fn all_ready(status: &Value) -> bool {
    let Some(services) = status["services"].as_array() else {
        return false;
    };
    SERVICES.iter().all(|(name, _)| {
        services.iter().any(|s| {
            s["name"] == *name
                && s["state"]
                    .as_str()
                    .is_some_and(|st| READY.contains(&st.to_ascii_lowercase().as_str()))
        })
    })
}

/// A sandbox root and the corral binary that boots it.
struct Sandbox {
    corral: PathBuf,
    root: PathBuf,
    sock: PathBuf,
    log: PathBuf,
    /// Every `corral boot` spawned: its cgroup is corral-sandbox-PID.
    pids: std::cell::RefCell<Vec<u32>>,
}

/// A running `corral boot`.
struct Booted {
    child: Child,
}

impl Sandbox {
    /// Clears what a previous boot left under /run and spawns a new one.
    fn spawn(&self) -> Result<Booted, String> {
        let run = self.root.join("run");
        let _ = fs::remove_dir_all(&run);
        fs::create_dir_all(&run).map_err(|e| e.to_string())?;
        let log = fs::File::create(&self.log).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&self.corral)
            .arg("boot")
            .arg("--root")
            .arg(&self.root)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("spawn corral boot: {e}"))?;
        self.pids.borrow_mut().push(child.id());
        Ok(Booted { child })
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Polls the socket until every service is ready.
    fn wait_ready(&self, b: &mut Booted) -> Result<(), String> {
        let deadline = Instant::now() + TIMEOUT;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            if let Ok(Some(st)) = b.child.try_wait() {
                return Err(format!("corral boot exited early ({st})"));
            }
            match request(&self.sock, &json!({"cmd": "status"})) {
                Ok(v) if all_ready(&v) => return Ok(()),
                Ok(v) => last = v.to_string(),
                Err(e) => last = e,
            }
            std::thread::sleep(POLL);
        }
        Err(format!(
            "services not ready after {TIMEOUT:?}; last status: {last}"
        ))
    }

    /// `corral ctl poweroff`, then waits for `corral boot` to exit.
    fn shutdown(&self, mut b: Booted) -> Result<(), String> {
        let out = Command::new(&self.corral)
            .arg("ctl")
            .arg("--socket")
            .arg(&self.sock)
            .arg("poweroff")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("corral ctl poweroff: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "corral ctl poweroff failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match b.child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                _ => {
                    kill(&mut b);
                    return Err(format!(
                        "corral boot still running {TIMEOUT:?} after poweroff"
                    ));
                }
            }
        }
    }

    /// One boot: (spawn to ready, poweroff to exit).
    fn cycle(&self) -> Result<(Duration, Duration), String> {
        self.cycle_with(|_| {})
    }

    /// One boot, calling `when_ready` with the `corral boot` pid once every
    /// service is running (not timed).
    fn cycle_with(&self, when_ready: impl FnOnce(u32)) -> Result<(Duration, Duration), String> {
        let t0 = Instant::now();
        let mut b = self.spawn()?;
        if let Err(e) = self.wait_ready(&mut b) {
            kill(&mut b);
            return Err(e);
        }
        let ready = t0.elapsed();
        when_ready(b.child.id());
        let t1 = Instant::now();
        self.shutdown(b)?;
        Ok((ready, t1.elapsed()))
    }

    fn cycle_or_die(&self) -> (Duration, Duration) {
        self.cycle().unwrap_or_else(|e| {
            cb::fatal(format!(
                "boot: {e}\n--- corral boot log ---\n{}",
                self.log_tail()
            ))
        })
    }
}

/// `field` (VmRSS, RssAnon, RssFile...) of /proc/`pid`/status in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.split(':').next() == Some(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// "N KiB (anon A, file F)" for `pid`.
fn rss(pid: u32) -> Option<String> {
    let k = |f| status_kib(pid, f);
    Some(format!(
        "{} KiB (anon {}, file {}, shmem {})",
        k("VmRSS")?,
        k("RssAnon")?,
        k("RssFile")?,
        k("RssShmem")?
    ))
}

/// The children of `pid` (from /proc/*/stat).
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|st| {
                st.rfind(')')
                    .and_then(|i| st[i + 2..].split(' ').nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// How long PID 1 idles before its memory is read: the init drops its
/// idle text 5 s after boot (see tests/init/rss.sh).
const SETTLE: Duration = Duration::from_secs(8);

/// Prints the resident memory of the sandbox's PID 1 (the child of
/// `corral boot`) after SETTLE of idling with every service running.
fn report_rss(boot_pid: u32) {
    std::thread::sleep(SETTLE);
    let init: Vec<String> = children(boot_pid).into_iter().filter_map(rss).collect();
    eprintln!(
        "boot: idle RSS: PID 1 (init) {}; corral boot (host side) {} (target: PID 1 < 4 MiB)",
        init.join(", "),
        rss(boot_pid).unwrap_or_default()
    );
}

/// Ends a boot that went wrong (the process we spawned, by its pid).
fn kill(b: &mut Booted) {
    let _ = b.child.kill();
    let _ = b.child.wait();
}

fn bench_boot(c: &mut Criterion) {
    if cb::skip_unless_root(WHAT) {
        return;
    }
    let corral = match cb::corral_binary() {
        Ok(p) => p,
        Err(e) => return cb::skip(WHAT, &e),
    };
    for sub in ["boot", "ctl"] {
        if !has_subcommand(&corral, sub) {
            return cb::skip(
                WHAT,
                &format!(
                    "`corral {sub}` does not exist in {} yet (sandbox boot / control socket \
                     not implemented); boot-to-ready not measured",
                    corral.display()
                ),
            );
        }
    }
    let tmp = cb::TempDir::new("boot").unwrap_or_else(|e| cb::fatal(format!("fixture: {e}")));
    let root = tmp.path().join("root");
    make_root(&root, &corral).unwrap_or_else(|e| cb::fatal(format!("sandbox root: {e}")));
    let sock = std::env::var_os("CORRAL_BOOT_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("run/corral/corral.sock"));
    let sandbox = Sandbox {
        corral,
        root,
        sock,
        log: tmp.path().join("boot.log"),
        pids: Default::default(),
    };
    // One boot first: a broken boot is reported once, with its log, before
    // criterion starts counting; it also reports PID 1's idle RSS.
    if let Err(e) = sandbox.cycle_with(report_rss) {
        eprintln!(
            "boot: FAILED (not measured): {e}\n--- corral boot log ---\n{}",
            sandbox.log_tail()
        );
        drop(tmp);
        check_leaks(&sandbox);
        return;
    }

    let mut g = c.benchmark_group("boot");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("to_ready", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| sandbox.cycle_or_die().0).sum())
    });
    g.bench_function("shutdown", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| sandbox.cycle_or_die().1).sum())
    });
    g.finish();

    drop(tmp);
    check_leaks(&sandbox);
}

/// The usual leak check plus the sandboxes' own cgroups.
fn check_leaks(sandbox: &Sandbox) {
    let names: Vec<String> = sandbox
        .pids
        .borrow()
        .iter()
        .map(|p| format!("corral-sandbox-{p}"))
        .collect();
    let left = cb::cgroups_named(&names);
    if !left.is_empty() {
        eprintln!("{WHAT}: LEFT BEHIND: sandbox cgroups {left:?}");
    }
    cb::check_no_leaks(WHAT);
}

criterion_group! {
    name = benches;
    config = cb::criterion(10, Duration::from_secs(3));
    targets = bench_boot
}
criterion_main!(benches);
