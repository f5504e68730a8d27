//! Shared fixtures for the integration tests: a busybox-static rootfs made
//! at test time, bundles with a config from `corral spec`, and helpers to
//! run the corral binary and check that nothing was left behind.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod clients;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

pub const CORRAL: &str = env!("CARGO_BIN_EXE_corral");

/// Whether the tests can run: root is needed for namespaces and cgroups.
/// With CORRAL_REQUIRE_ROOT=1 (set by CI) a missing privilege is a failure,
/// not a skip.
pub fn privileged() -> bool {
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        if std::env::var_os("CORRAL_REQUIRE_ROOT").is_some() {
            panic!("CORRAL_REQUIRE_ROOT is set but the tests do not run as root");
        }
        eprintln!("skipped: needs root (namespaces, mounts, cgroups)");
    }
    root
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique name for this test process and call.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A scratch directory removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let p = std::env::temp_dir().join(unique(&format!("corral-{prefix}")));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The shared busybox rootfs (built once per test binary).
pub fn busybox_rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        remove_stale_rootfs();
        let dir = std::env::temp_dir().join(format!("corral-rootfs-{}", std::process::id()));
        make_busybox_rootfs(&dir);
        dir
    })
}

/// Removes shared rootfs dirs of test processes that are gone.
fn remove_stale_rootfs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name
            .strip_prefix("corral-rootfs-")
            .and_then(|p| p.parse::<u32>().ok())
        {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Makes a busybox-static rootfs at `dir`.
pub fn make_busybox_rootfs(dir: &Path) {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .expect("busybox-static is not installed (apt-get install busybox-static)");
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    fs::copy(busybox, bin.join("busybox")).unwrap();
    let list = Command::new(busybox).arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", bin.join(applet));
        }
    }
    for d in [
        "proc", "sys", "dev", "etc", "tmp", "root", "usr/bin", "sbin",
    ] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    build_probe(&bin.join("probe"));
    fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    fs::write(dir.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
}

/// Compiles tests/fixtures/probe.c statically to `out`: it calls system
/// calls by name and prints their raw result (see the file).
pub fn build_probe(out: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/probe.c");
    let status = Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(out)
        .arg(&src)
        .status()
        .expect("cc is needed to build the syscall probe");
    assert!(status.success(), "building {} failed", src.display());
}

/// A bundle directory with a config.json made by `corral spec`.
#[derive(Debug)]
pub struct Bundle {
    pub dir: TempDir,
    pub config: Value,
}

impl Bundle {
    /// `corral spec` output, pointed at the shared rootfs, running `args`
    /// without a terminal.
    pub fn new(args: &[&str]) -> Self {
        let dir = TempDir::new("bundle");
        let out = Command::new(CORRAL)
            .args(["spec", "--bundle"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "corral spec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut config: Value =
            serde_json::from_slice(&fs::read(dir.path().join("config.json")).unwrap()).unwrap();
        config["root"]["path"] = Value::String(busybox_rootfs().display().to_string());
        config["process"]["terminal"] = Value::Bool(false);
        config["process"]["args"] = args.iter().map(|a| Value::String(a.to_string())).collect();
        let b = Bundle { dir, config };
        b.save();
        b
    }

    /// Writes the (modified) config back.
    pub fn save(&self) {
        fs::write(
            self.dir.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A state root of its own for one test.
#[derive(Debug)]
pub struct Runtime {
    pub root: TempDir,
}

impl Runtime {
    pub fn new() -> Self {
        Runtime {
            root: TempDir::new("state"),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(CORRAL);
        c.arg("--root").arg(self.root.path());
        c
    }

    /// Runs corral with `args`, stdin closed, capturing output. Output
    /// goes through files, not pipes: a created container inherits the
    /// runtime's stdio and would hold a pipe open.
    pub fn run(&self, args: &[&str]) -> Output {
        output_via_files(self.cmd().args(args))
    }

    /// `corral run` of a bundle; returns (exit code, stdout, stderr).
    pub fn run_bundle(&self, bundle: &Bundle, id: &str) -> (i32, String, String) {
        let out = output_via_files(
            self.cmd()
                .args(["run", "--bundle"])
                .arg(bundle.path())
                .arg(id),
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn state(&self, id: &str) -> Value {
        let out = self.run(&["state", id]);
        assert!(
            out.status.success(),
            "state {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Asserts that container `id` left nothing: no state, no cgroup
    /// directory in any hierarchy, no host mount under the bundle.
    pub fn assert_nothing_left(&self, id: &str, bundle: &Path) {
        assert!(
            !self.root.path().join(id).exists(),
            "state dir of {id} left behind"
        );
        assert_eq!(
            cgroup_dirs(id),
            Vec::<PathBuf>::new(),
            "cgroup of {id} left behind"
        );
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let b = bundle.display().to_string();
        assert!(!mounts.contains(&b), "a mount under {b} leaked to the host");
        assert!(
            processes_with_arg(id).is_empty(),
            "processes of {id} left behind"
        );
    }
}

/// Runs `cmd` with stdin closed and stdout/stderr captured in files.
pub fn output_via_files(cmd: &mut Command) -> Output {
    let dir = TempDir::new("out");
    let (o, e) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let status = cmd
        .stdin(Stdio::null())
        .stdout(fs::File::create(&o).unwrap())
        .stderr(fs::File::create(&e).unwrap())
        .status()
        .unwrap();
    Output {
        status,
        stdout: fs::read(&o).unwrap(),
        stderr: fs::read(&e).unwrap(),
    }
}

/// Every cgroup directory named `id` (or ending in /id) in any hierarchy.
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let fstype = fields.get(dash + 1).copied().unwrap_or("");
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        find_named(Path::new(fields[4]), id, 0, &mut found);
    }
    found
}

fn find_named(dir: &Path, name: &str, depth: u32, out: &mut Vec<PathBuf>) {
    if depth > 16 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            let p = e.path();
            if e.file_name() == name {
                out.push(p.clone());
            }
            find_named(&p, name, depth + 1, out);
        }
    }
}

/// PIDs (other than ours) with `arg` in their command line: a leftover
/// container process before execve still carries corral's argv, id included.
pub fn processes_with_arg(arg: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
