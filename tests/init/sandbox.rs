//! The fixture: a sandbox root with services, `corral boot` over it, and
//! helpers to look at it from the host.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{self, TempDir, CORRAL};

/// A prepared root: corral as /usr/bin/corral, a busybox rootfs at
/// /srv/busybox shared by the services, /etc/corral and the service dirs.
#[derive(Debug)]
pub struct Root {
    pub dir: TempDir,
}

impl Root {
    pub fn new(tag: &str) -> Root {
        let dir = TempDir::new(tag);
        let p = dir.path();
        for d in [
            "usr/bin",
            "usr/lib/corral/services",
            "etc/corral/services",
            "proc",
            "sys",
            "dev",
            "run",
            "tmp",
            "var/log",
        ] {
            fs::create_dir_all(p.join(d)).unwrap();
        }
        fs::copy(CORRAL, p.join("usr/bin/corral")).unwrap();
        fs::create_dir_all(p.join("srv")).unwrap();
        let st = Command::new("cp")
            .arg("-a")
            .arg(common::busybox_rootfs())
            .arg(p.join("srv/busybox"))
            .status()
            .unwrap();
        assert!(st.success(), "copy the busybox rootfs");
        Root { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn corral_toml(&self, text: &str) {
        fs::write(self.path().join("etc/corral/corral.toml"), text).unwrap();
    }

    /// A shipped service running `script` with `sh -c`.
    pub fn service(&self, name: &str, script: &str, toml: &str) -> Svc {
        self.service_in("usr/lib/corral/services", name, script, toml)
    }

    /// An admin service (/etc/corral/services).
    pub fn admin_service(&self, name: &str, script: &str, toml: &str) -> Svc {
        self.service_in("etc/corral/services", name, script, toml)
    }

    fn service_in(&self, base: &str, name: &str, script: &str, toml: &str) -> Svc {
        let dir = self.path().join(base).join(name);
        fs::create_dir_all(&dir).unwrap();
        let out = Command::new(CORRAL)
            .args(["spec", "--bundle"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::stderr(&out));
        let mut config: Value =
            serde_json::from_slice(&fs::read(dir.join("config.json")).unwrap()).unwrap();
        config["root"]["path"] = json!("/srv/busybox");
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(["sh", "-c", script]);
        config["mounts"].as_array_mut().unwrap().push(
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                         "options": ["nosuid", "nodev", "mode=1777"]}),
        );
        let svc = Svc { dir, config };
        svc.save();
        fs::write(svc.dir.join("service.toml"), toml).unwrap();
        svc
    }
}

/// One service folder being set up.
#[derive(Debug)]
pub struct Svc {
    pub dir: PathBuf,
    pub config: Value,
}

impl Svc {
    pub fn save(&self) {
        fs::write(
            self.dir.join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// Shares the sandbox's PID namespace (no pid namespace of its own).
    pub fn without_pid_namespace(mut self) -> Self {
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "pid");
        self.save();
        self
    }

    /// Binds `source` (a path inside the sandbox) at `dest`, read-write.
    pub fn bind(mut self, source: &str, dest: &str) -> Self {
        self.config["mounts"].as_array_mut().unwrap().push(
            json!({"destination": dest, "type": "bind", "source": source,
                   "options": ["rbind", "rw"]}),
        );
        self.save();
        self
    }
}

/// One row of `corral ctl status`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub state: String,
    pub pid: Option<i32>,
    pub restarts: u32,
    pub memory: String,
}

/// A running `corral boot`.
#[derive(Debug)]
pub struct Booted {
    pub root: PathBuf,
    pub child: Child,
    pub out: PathBuf,
    _out_dir: TempDir,
    pub exit: Option<ExitStatus>,
    /// The sandbox init's PID namespace (inode of /proc/PID/ns/pid).
    pub pid_ns: u64,
    pub init_pid: i32,
}

impl Booted {
    /// Starts `corral boot --root ROOT` with its console in a file and
    /// waits for the control socket.
    pub fn boot(root: &Root, config: Option<&Path>) -> Booted {
        let out_dir = TempDir::new("console");
        let out = out_dir.path().join("console");
        let file = fs::File::create(&out).unwrap();
        let mut cmd = Command::new(CORRAL);
        cmd.arg("boot").arg("--root").arg(root.path());
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut b = Booted {
            root: root.path().to_path_buf(),
            child,
            out,
            _out_dir: out_dir,
            exit: None,
            pid_ns: 0,
            init_pid: 0,
        };
        let sock = b.socket();
        b.wait_until("the control socket", Duration::from_secs(20), || {
            sock.exists()
        });
        b.init_pid = b.find_init();
        b.pid_ns = fs::metadata(format!("/proc/{}/ns/pid", b.init_pid))
            .unwrap()
            .ino();
        b
    }

    pub fn socket(&self) -> PathBuf {
        self.root.join("run/corral/corral.sock")
    }

    pub fn boot_pid(&self) -> u32 {
        self.child.id()
    }

    /// The sandbox's cgroup name (below the test's own cgroup).
    pub fn cgroup_name(&self) -> String {
        format!("corral-sandbox-{}", self.boot_pid())
    }

    fn find_init(&self) -> i32 {
        let me = self.boot_pid() as i32;
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(p) = children_of(me).into_iter().next() {
                return p;
            }
            assert!(Instant::now() < end, "no sandbox init below corral boot");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the console showed so far.
    pub fn console(&self) -> String {
        fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Polls `cond` every 50 ms; panics with the console after `limit`.
    pub fn wait_until(&self, what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
        let end = Instant::now() + limit;
        while !cond() {
            if Instant::now() > end {
                panic!(
                    "timed out waiting for {what}\n--- console ---\n{}",
                    self.console()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `corral ctl --socket S ARGS`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        let mut c = Command::new(CORRAL);
        c.arg("ctl").arg("--socket").arg(self.socket()).args(args);
        common::output_via_files(&mut c)
    }

    /// The rows of `corral ctl status`.
    pub fn status(&self) -> Vec<Row> {
        let out = self.ctl(&["status"]);
        assert!(
            out.status.success(),
            "ctl status: {}\n--- console ---\n{}",
            common::stderr(&out),
            self.console()
        );
        parse_status(&common::stdout(&out))
    }

    pub fn row(&self, name: &str) -> Row {
        self.status()
            .into_iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{name} is not in ctl status"))
    }

    /// The sandbox's hostname, read in its UTS namespace.
    pub fn hostname(&self) -> String {
        let out = std::process::Command::new("nsenter")
            .arg("-t")
            .arg(self.init_pid.to_string())
            .args(["-u", "hostname"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The full `ctl status` text (table and error lines).
    pub fn status_text(&self) -> String {
        common::stdout(&self.ctl(&["status"]))
    }

    /// The host PID of sandbox PID `pid` (from NSpid of the processes in
    /// the sandbox's PID namespace or below).
    pub fn host_pid(&self, pid: i32) -> i32 {
        for p in all_pids() {
            let Ok(status) = fs::read_to_string(format!("/proc/{p}/status")) else {
                continue;
            };
            let Some(ns) = status.lines().find(|l| l.starts_with("NSpid:")) else {
                continue;
            };
            let ids: Vec<i32> = ns
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            if ids.get(1) == Some(&pid) && self.in_sandbox(p) {
                return p;
            }
        }
        panic!("sandbox pid {pid} not found on the host");
    }

    /// Whether host PID `p` descends from the sandbox's init.
    pub fn in_sandbox(&self, p: i32) -> bool {
        ancestors(p).contains(&self.init_pid)
    }

    /// A service's log file as lines of (timestamp, text).
    pub fn log(&self, name: &str) -> Vec<(String, String)> {
        let text = fs::read_to_string(self.root.join(format!("var/log/corral/{name}.log")))
            .unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(t, x)| (t.to_owned(), x.to_owned()))
            .collect()
    }

    /// The timestamp of the first line of `name`'s log containing `text`.
    pub fn logged_at(&self, name: &str, text: &str) -> String {
        self.log(name)
            .into_iter()
            .find(|(_, l)| l.contains(text))
            .map(|(t, _)| t)
            .unwrap_or_else(|| {
                panic!(
                    "{name}'s log has no {text:?}: {:?}\n--- console ---\n{}",
                    self.log(name),
                    self.console()
                )
            })
    }

    /// Waits for `corral boot` to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let end = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                self.exit = Some(s);
                return s;
            }
            if Instant::now() > end {
                panic!(
                    "corral boot did not exit\n--- console ---\n{}",
                    self.console()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Booted {
    /// After a failed check: Ctrl-C (power off), a second one (kill the
    /// sandbox), so that `corral boot` still removes the sandbox's cgroup;
    /// SIGKILL only as the last resort.
    fn drop(&mut self) {
        if self.exit.is_some() {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.boot_pid() as i32);
        for wait in [Duration::from_secs(20), Duration::from_secs(10)] {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
            let end = Instant::now() + wait;
            while Instant::now() < end {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn parse_status(text: &str) -> Vec<Row> {
    text.lines()
        .skip(1)
        .filter(|l| !l.contains(": "))
        .filter_map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            (c.len() == 6).then(|| Row {
                name: c[0].into(),
                state: c[1].into(),
                pid: c[2].parse().ok(),
                restarts: c[4].parse().unwrap_or(u32::MAX),
                memory: c[5].into(),
            })
        })
        .collect()
}

pub fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// (PPid, state letter) of a host PID.
pub fn ppid_state(p: i32) -> Option<(i32, char)> {
    let status = fs::read_to_string(format!("/proc/{p}/status")).ok()?;
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .map(|l| l[k.len()..].trim().to_owned())
    };
    let ppid = field("PPid:")?.parse().ok()?;
    let state = field("State:")?.chars().next()?;
    Some((ppid, state))
}

pub fn children_of(parent: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|p| ppid_state(*p).map(|(pp, _)| pp) == Some(parent))
        .collect()
}

fn ancestors(mut p: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for _ in 0..64 {
        out.push(p);
        match ppid_state(p) {
            Some((pp, _)) if pp > 0 => p = pp,
            _ => break,
        }
    }
    out
}

pub fn cmdline(p: i32) -> Vec<String> {
    fs::read(format!("/proc/{p}/cmdline"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// A process's namespace inode of `kind` (pid, mnt, uts, ipc, net).
pub fn ns(p: i32, kind: &str) -> u64 {
    fs::metadata(format!("/proc/{p}/ns/{kind}")).unwrap().ino()
}
