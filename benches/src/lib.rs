//! Fixtures shared by corral's criterion benches: a busybox-static rootfs,
//! bundles with the configuration `corral spec` writes (plus variants that
//! drop one part of it), the peers' command lines, the corral binary, and
//! checks that a bench left no container, cgroup or state behind.
//!
//! Every bench needs root (namespaces, mounts, cgroups): [`skip_unless_root`]
//! prints why a bench is skipped and the bench returns without measuring.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use criterion::Criterion;
use serde_json::{json, Value};

/// Prefix of every container id and temp dir the benches make: what the
/// leak check looks for.
pub const PREFIX: &str = "corralbench";

/// The command every container runs.
pub const TRUE: &str = "/bin/true";

/// Whether the benches can run; prints a skip message for `what` if not.
pub fn skip_unless_root(what: &str) -> bool {
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("{what}: skipped: needs root (namespaces, mounts, cgroups)");
    }
    !root
}

/// Prints why `what` is skipped.
pub fn skip(what: &str, why: &str) {
    eprintln!("{what}: skipped: {why}");
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A container id unique to this process and call (runc, crun and youki
/// accept it too: letters, digits and '-').
pub fn unique_id(tag: &str) -> String {
    format!(
        "{PREFIX}-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A scratch directory removed (recursively) on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Under the system temp dir.
    pub fn new(tag: &str) -> io::Result<Self> {
        Self::new_in(&std::env::temp_dir(), tag)
    }

    /// Under `base`.
    pub fn new_in(base: &Path, tag: &str) -> io::Result<Self> {
        let p = base.join(unique_id(tag));
        fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }

    /// On tmpfs, as a runtime's state root is on a real system (/run):
    /// /dev/shm when it is a tmpfs (here /run and /tmp are on disk), else
    /// the system temp dir.
    pub fn new_on_tmpfs(tag: &str) -> io::Result<Self> {
        use nix::sys::statfs::{statfs, TMPFS_MAGIC};
        let shm = Path::new("/dev/shm");
        let tmpfs = statfs(shm).is_ok_and(|s| s.filesystem_type() == TMPFS_MAGIC);
        if tmpfs {
            Self::new_in(shm, tag)
        } else {
            Self::new(tag)
        }
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

/// Makes a busybox-static rootfs at `dir` (as tests/common/mod.rs does):
/// /bin/busybox with a link per applet (so /bin/true exists), the usual
/// mount points, /etc/passwd and /etc/group.
pub fn make_busybox_rootfs(dir: &Path) -> io::Result<()> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "busybox-static is not installed (apt-get install busybox-static)",
            )
        })?;
    let bin = dir.join("bin");
    fs::create_dir_all(&bin)?;
    fs::copy(busybox, bin.join("busybox"))?;
    let list = Command::new(busybox).arg("--list").output()?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", bin.join(applet));
        }
    }
    for d in [
        "proc", "sys", "dev", "etc", "tmp", "root", "run", "usr/bin", "sbin",
    ] {
        fs::create_dir_all(dir.join(d))?;
    }
    fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    fs::write(dir.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
    Ok(())
}

/// What a bundle leaves out of the full default configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `corral spec` as is (pid, net, ipc, uts, mount and cgroup
    /// namespaces, the default seccomp profile, three capabilities,
    /// masked and read-only paths, a read-only root, /sys/fs/cgroup
    /// mounted) plus pids and memory limits.
    Full,
    /// Full without the network namespace.
    NoNetNs,
    /// Full without linux.seccomp.
    NoSeccomp,
    /// Full without linux.resources (the cgroup is still made and joined).
    NoResources,
    /// Full without the /sys/fs/cgroup mount (one tmpfs plus one mount per
    /// hierarchy on this host).
    NoCgroupMount,
    /// No cgroup at all: no resources, no /sys/fs/cgroup mount, and the
    /// container is created with `create_without_cgroup`.
    NoCgroup,
    /// Namespaces (net included), mounts, pivot_root and exec only: no
    /// cgroup, no seccomp, no masked/read-only paths, no capability drop.
    Minimal,
}

impl Variant {
    pub const ALL: [Variant; 7] = [
        Variant::Full,
        Variant::NoNetNs,
        Variant::NoSeccomp,
        Variant::NoResources,
        Variant::NoCgroupMount,
        Variant::NoCgroup,
        Variant::Minimal,
    ];

    /// The bench name.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Full => "full",
            Variant::NoNetNs => "no_netns",
            Variant::NoSeccomp => "no_seccomp",
            Variant::NoResources => "no_resources",
            Variant::NoCgroupMount => "no_cgroup_mount",
            Variant::NoCgroup => "no_cgroup",
            Variant::Minimal => "minimal",
        }
    }

    /// Whether the container is created without a cgroup of its own.
    pub fn without_cgroup(self) -> bool {
        matches!(self, Variant::NoCgroup | Variant::Minimal)
    }
}

/// The config.json `corral spec` writes, with the root at `rootfs`, no
/// terminal, `args` as the process, and pids/memory limits.
pub fn full_config(rootfs: &Path, args: &[&str]) -> Value {
    let spec = corral_runtime::default_spec::default_spec(false)
        .unwrap_or_else(|e| fatal(format!("default spec: {e}")));
    let mut c = serde_json::to_value(&spec).unwrap_or_else(|e| fatal(format!("spec json: {e}")));
    // crun 1.8 accepts only 1.0.x ("unknown version specified"); every
    // runtime here reads the same bundle, and nothing in it is newer.
    c["ociVersion"] = Value::String("1.0.2".into());
    c["root"]["path"] = Value::String(rootfs.display().to_string());
    c["process"]["terminal"] = Value::Bool(false);
    c["process"]["args"] = args.iter().map(|a| Value::String((*a).into())).collect();
    c["linux"]["resources"] = json!({
        "pids": { "limit": 1024 },
        "memory": { "limit": 256 * 1024 * 1024 }
    });
    c
}

/// `full_config` with `variant`'s part removed.
pub fn config(rootfs: &Path, args: &[&str], variant: Variant) -> Value {
    let mut c = full_config(rootfs, args);
    let drop_ns = |c: &mut Value, typ: &str| {
        if let Some(ns) = c["linux"]["namespaces"].as_array_mut() {
            ns.retain(|n| n["type"] != typ);
        }
    };
    let drop_cgroup_mount = |c: &mut Value| {
        if let Some(m) = c["mounts"].as_array_mut() {
            m.retain(|m| m["type"] != "cgroup" && m["type"] != "cgroup2");
        }
    };
    let linux = |c: &mut Value| -> serde_json::Map<String, Value> {
        c["linux"].as_object().cloned().unwrap_or_default()
    };
    let set_linux = |c: &mut Value, remove: &[&str]| {
        let mut l = linux(c);
        for k in remove {
            l.remove(*k);
        }
        c["linux"] = Value::Object(l);
    };
    match variant {
        Variant::Full => {}
        Variant::NoNetNs => drop_ns(&mut c, "network"),
        Variant::NoSeccomp => set_linux(&mut c, &["seccomp"]),
        Variant::NoResources => set_linux(&mut c, &["resources"]),
        Variant::NoCgroupMount => drop_cgroup_mount(&mut c),
        Variant::NoCgroup => {
            set_linux(&mut c, &["resources"]);
            drop_cgroup_mount(&mut c);
        }
        Variant::Minimal => {
            set_linux(
                &mut c,
                &["resources", "seccomp", "maskedPaths", "readonlyPaths"],
            );
            drop_cgroup_mount(&mut c);
            if let Some(p) = c["process"].as_object_mut() {
                p.remove("capabilities");
            }
        }
    }
    c
}

/// Writes `config` as `dir`/config.json and returns `dir`.
pub fn write_bundle(dir: &Path, config: &Value) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let text = serde_json::to_vec_pretty(config).map_err(io::Error::other)?;
    fs::write(dir.join("config.json"), text)?;
    Ok(dir.to_path_buf())
}

/// A temp dir holding one busybox rootfs and bundles made over it, and a
/// tmpfs dir for the runtimes' state roots; both removed on drop.
#[derive(Debug)]
pub struct Workspace {
    pub dir: TempDir,
    pub state: TempDir,
    pub rootfs: PathBuf,
}

impl Workspace {
    pub fn new(tag: &str) -> io::Result<Self> {
        let dir = TempDir::new(tag)?;
        let state = TempDir::new_on_tmpfs(&format!("{tag}-state"))?;
        let rootfs = dir.path().join("rootfs");
        make_busybox_rootfs(&rootfs)?;
        Ok(Workspace { dir, state, rootfs })
    }

    /// A bundle named `name` running /bin/true with `variant`'s config.
    pub fn bundle(&self, name: &str, variant: Variant) -> io::Result<PathBuf> {
        let c = config(&self.rootfs, &[TRUE], variant);
        write_bundle(&self.dir.path().join(name), &c)
    }

    /// An empty state root named `name` (on tmpfs, see
    /// [`TempDir::new_on_tmpfs`]).
    pub fn state_root(&self, name: &str) -> io::Result<PathBuf> {
        let p = self.state.path().join(name);
        fs::create_dir_all(&p)?;
        Ok(p)
    }
}

/// Ends a bench run that cannot continue (a broken fixture): what failed
/// is printed and the process exits non-zero.
pub fn fatal(msg: impl std::fmt::Display) -> ! {
    eprintln!("corral-benches: {msg}");
    std::process::exit(1)
}

/// `name` found in PATH (and /usr/sbin, /sbin for runc).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether the host has the hybrid cgroup layout (v1 controllers plus a
/// cgroup2 mount at /sys/fs/cgroup/unified) that crun 1.8 refuses.
pub fn hybrid_cgroups() -> bool {
    fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| {
        m.lines().any(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f.get(4) == Some(&"/sys/fs/cgroup/unified")
                && f.iter().skip_while(|x| **x != "-").nth(1) == Some(&"cgroup2")
        })
    })
}

/// How a runtime's command line is run: the program, and the arguments
/// before the runtime's own (an `unshare -m` wrapper for crun on a hybrid
/// host).
#[derive(Debug, Clone)]
pub struct Cli {
    pub name: &'static str,
    pub program: PathBuf,
    /// Runs through `unshare -m sh -c 'umount /sys/fs/cgroup/unified; exec ...'`.
    pub hybrid_wrapper: bool,
}

impl Cli {
    /// `RUNTIME --root ROOT run -b BUNDLE ID` (stdio on /dev/null): create,
    /// start, wait and delete.
    pub fn run_command(&self, root: &Path, bundle: &Path, id: &str) -> Command {
        let rt_args: Vec<OsString> = vec![
            "--root".into(),
            root.into(),
            "run".into(),
            "--bundle".into(),
            bundle.into(),
            id.into(),
        ];
        let mut cmd = if self.hybrid_wrapper {
            let mut c = Command::new("unshare");
            c.args(["-m", "sh", "-c", WRAPPER_SCRIPT, "sh"])
                .arg(&self.program)
                .args(rt_args);
            c
        } else {
            let mut c = Command::new(&self.program);
            c.args(rt_args);
            c
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }
}

/// The crun wrapper on a hybrid host: a private mount namespace without
/// the cgroup2 mount, then exec of the runtime ("$@").
pub const WRAPPER_SCRIPT: &str = "umount /sys/fs/cgroup/unified && exec \"$@\"";

/// The wrapper alone, exec'ing /bin/true: its cost, to subtract from crun's.
pub fn wrapper_only_command() -> Command {
    let mut c = Command::new("unshare");
    c.args(["-m", "sh", "-c", WRAPPER_SCRIPT, "sh", TRUE])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Runs `cmd` to completion; an error names the command and its stderr.
pub fn run_ok(mut cmd: Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    check_status(&cmd, out.status, &out.stderr)
}

fn check_status(cmd: &Command, status: ExitStatus, stderr: &[u8]) -> Result<(), String> {
    if status.success() {
        return Ok(());
    }
    let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
    Err(format!(
        "{} {} failed ({status}): {}",
        cmd.get_program().to_string_lossy(),
        args.join(" "),
        String::from_utf8_lossy(stderr).trim()
    ))
}

/// The peers found on this host, each with why it is missing otherwise.
pub fn peers() -> Vec<Result<Cli, String>> {
    let runc = which("runc")
        .map(|program| Cli {
            name: "runc",
            program,
            hybrid_wrapper: false,
        })
        .ok_or_else(|| "runc is not installed (apt-get install runc)".to_string());
    let crun = which("crun")
        .ok_or_else(|| "crun is not installed (apt-get install crun)".to_string())
        .and_then(|program| {
            let hybrid = hybrid_cgroups();
            if hybrid && which("unshare").is_none() {
                return Err("crun needs `unshare` (util-linux) on this hybrid host".into());
            }
            Ok(Cli {
                name: "crun",
                program,
                hybrid_wrapper: hybrid,
            })
        });
    vec![runc, crun]
}

/// The workspace root (this crate's parent).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The `corral` binary the command-line benches run, or why there is none.
///
/// `CORRAL_BIN` names one explicitly. Otherwise, under `cargo bench`, the
/// release binary is brought up to date with `cargo build --release --bin
/// corral` (a no-op when it is; `cargo bench` uses the release profile, so
/// its dependencies are already built) and taken from the target dir this
/// bench runs from. Without cargo, or when that build fails (e.g. the tree
/// is mid-edit), an existing target/release/corral is used with a warning.
pub fn corral_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CORRAL_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("CORRAL_BIN={} does not exist", p.display()))
        };
    }
    // <target>/release/deps/<bench>-<hash>
    let release_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent()?.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| workspace_root().join("target/release"));
    let bin = release_dir.join("corral");
    if let Some(cargo) = std::env::var_os("CARGO") {
        let target_dir = release_dir.parent().map(Path::to_path_buf);
        let mut cmd = Command::new(cargo);
        // Over the default members, as `cargo bench` at the root: the same
        // features and (bench = release) the same profile, so only the
        // corral crate itself compiles.
        cmd.current_dir(workspace_root()).args([
            "build",
            "--quiet",
            "--release",
            "--bin",
            "corral",
        ]);
        if let Some(t) = target_dir {
            cmd.env("CARGO_TARGET_DIR", t);
        }
        if let Err(e) = run_ok(cmd) {
            if bin.is_file() {
                eprintln!(
                    "corral-benches: warning: could not rebuild corral ({e}); using the existing {}",
                    bin.display()
                );
            } else {
                return Err(format!("could not build corral: {e}"));
            }
        }
    }
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "no corral binary at {} (run `cargo build --release` or set CORRAL_BIN)",
            bin.display()
        ))
    }
}

/// Every cgroup directory (in any mounted hierarchy) whose name starts
/// with [`PREFIX`]: a container the benches left behind.
pub fn leaked_cgroups() -> Vec<PathBuf> {
    cgroups_matching(&|name| name.starts_with(PREFIX))
}

/// Every cgroup directory named one of `names`.
pub fn cgroups_named(names: &[String]) -> Vec<PathBuf> {
    cgroups_matching(&|name| names.iter().any(|n| n == name))
}

fn cgroups_matching(wanted: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for line in mounts.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let fstype = f.iter().skip_while(|x| **x != "-").nth(1).copied();
        if matches!(fstype, Some("cgroup" | "cgroup2")) {
            if let Some(mp) = f.get(4) {
                find_matching(Path::new(mp), wanted, 0, &mut found);
            }
        }
    }
    found
}

fn find_matching(dir: &Path, wanted: &dyn Fn(&str) -> bool, depth: u32, out: &mut Vec<PathBuf>) {
    if depth > 4 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            if wanted(&e.file_name().to_string_lossy()) {
                out.push(e.path());
            }
            find_matching(&e.path(), wanted, depth + 1, out);
        }
    }
}

/// Processes (other than this one) whose command line mentions
/// [`PREFIX`]: a runtime or container process the benches left behind.
pub fn leaked_processes() -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.split(|b| *b == 0)
                    .any(|a| String::from_utf8_lossy(a).contains(PREFIX))
            })
        })
        .collect()
}

/// Reports (and removes, where it can) cgroups and processes a bench left
/// behind; returns whether everything was clean.
pub fn check_no_leaks(what: &str) -> bool {
    let procs = leaked_processes();
    let cgroups = leaked_cgroups();
    for d in cgroups.iter().rev() {
        let _ = fs::remove_dir(d);
    }
    if procs.is_empty() && cgroups.is_empty() {
        eprintln!("{what}: no container, cgroup or process left behind");
        return true;
    }
    eprintln!(
        "{what}: LEFT BEHIND: processes {procs:?}, cgroups {:?}",
        cgroups
    );
    false
}

/// Criterion settings for benches whose iterations take milliseconds to
/// seconds: `samples` samples over `measure`, half a second of warm-up,
/// 10 000 bootstrap resamples (the default 100 000 only slows the
/// analysis). Each bench file sets flat sampling on its groups.
pub fn criterion(samples: usize, measure: Duration) -> Criterion {
    Criterion::default()
        .sample_size(samples)
        .measurement_time(measure)
        .warm_up_time(Duration::from_millis(500))
        .nresamples(10_000)
        .without_plots()
        .configure_from_args()
}
