//! Start latency in process: one container running /bin/true, created,
//! started, waited for and deleted through a runtime library embedded in
//! this process.
//!
//! - `start/corral/<variant>`: corral-runtime with the full default config
//!   of `corral spec` (+ pids and memory limits) and variants that each
//!   drop one part (see `corral_benches::Variant`); `full_preloaded` reuses
//!   the parsed bundle instead of reading config.json every time.
//! - `start/libcontainer/full`: youki's libcontainer 0.7 on the same
//!   bundle, same process model (build = create, start, waitpid, delete).
//! - `start/floor/*`: the kernel's share: clone into new pid, mount, uts,
//!   ipc and net namespaces + exec of /bin/true + wait (the same without
//!   the net namespace, and with a mkdir, join and rmdir of a cgroup in
//!   every hierarchy).
//! - `start_after_idle/*`: one-off starts, 200 ms of idle before each
//!   (only the container is timed): what a single `run` or a service start
//!   on a quiet system sees.
//! - `start/breakdown` (not a criterion bench): 60 rounds of one iteration
//!   of every corral variant, libcontainer and the floors, interleaved so
//!   that the differences between them (what each part costs) do not
//!   depend on when each criterion bench ran; medians go to stderr and to
//!   CRITERION_HOME/breakdown/start.txt. Skipped when a criterion filter
//!   that does not match "start/breakdown" is given.
//!
//! `start`: 20 samples over 2 s each (flat sampling), 0.5 s warm-up;
//! `start_after_idle`: 10 samples over 0.3 s of timed work, 50 ms warm-up
//! (about 40 one-off starts per bench).

// A bench harness, not a library: a broken fixture ends the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use corral_benches::{self as cb, Variant};
use corral_runtime::{pidfd, Bundle, CreateOptions, ExitStatus};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

const WHAT: &str = "start";

/// One create + start + wait + delete through corral-runtime.
fn corral_once(bundle: &Bundle, root: &Path, variant: Variant) {
    let opts = CreateOptions {
        state_root: root.to_path_buf(),
        id: cb::unique_id("c"),
        ..Default::default()
    };
    let created = if variant.without_cgroup() {
        corral_runtime::create_without_cgroup(bundle, opts)
    } else {
        corral_runtime::create(bundle, opts)
    }
    .unwrap_or_else(|e| cb::fatal(format!("corral create ({}): {e}", variant.name())));
    let mut c = created.container;
    c.start()
        .unwrap_or_else(|e| cb::fatal(format!("corral start: {e}")));
    let status =
        pidfd::wait(&created.pidfd, false).unwrap_or_else(|e| cb::fatal(format!("wait: {e}")));
    c.delete(false)
        .unwrap_or_else(|e| cb::fatal(format!("corral delete: {e}")));
    if status != Some(ExitStatus::Exited(0)) {
        cb::fatal(format!("/bin/true ended with {status:?}"));
    }
}

/// `corral_once` on the bundle at `dir`, read and parsed first (as
/// libcontainer and every command line do).
fn load_and_run(dir: &Path, root: &Path, variant: Variant) {
    let bundle =
        corral_runtime::load_bundle(dir).unwrap_or_else(|e| cb::fatal(format!("load bundle: {e}")));
    corral_once(&bundle, root, variant);
}

/// The same through youki's libcontainer.
fn libcontainer_once(bundle: &Path, root: &Path) {
    use libcontainer::container::builder::ContainerBuilder;
    use libcontainer::syscall::syscall::SyscallType;
    let id = cb::unique_id("y");
    let mut c = ContainerBuilder::new(id, SyscallType::default())
        .with_root_path(root)
        .and_then(|b| b.validate_id())
        .and_then(|b| {
            b.as_init(bundle)
                .with_systemd(false)
                .with_detach(false)
                .build()
        })
        .unwrap_or_else(|e| cb::fatal(format!("libcontainer create: {e}")));
    c.start()
        .unwrap_or_else(|e| cb::fatal(format!("libcontainer start: {e}")));
    let pid = c
        .pid()
        .unwrap_or_else(|| cb::fatal("libcontainer: no init pid"))
        .as_raw();
    let code = wait_pid(pid);
    c.delete(true)
        .unwrap_or_else(|e| cb::fatal(format!("libcontainer delete: {e}")));
    if code != 0 {
        cb::fatal(format!("/bin/true under libcontainer: wait status {code}"));
    }
}

/// waitpid(pid), retried on EINTR; the raw wait status.
fn wait_pid(pid: i32) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return status;
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            cb::fatal(format!("waitpid {pid}: {e}"));
        }
    }
}

/// The kernel floor: clone into fresh namespaces, (join `cgroups`),
/// execve /bin/true, wait. Everything the child touches is prepared here.
struct Floor {
    path: CString,
    argv: [*const libc::c_char; 2],
    envp: [*const libc::c_char; 1],
}

impl Floor {
    fn new(path: &CString) -> Floor {
        Floor {
            path: path.clone(),
            argv: [path.as_ptr(), std::ptr::null()],
            envp: [std::ptr::null()],
        }
    }

    /// One clone into new pid, mount, uts, ipc and net namespaces + exec +
    /// wait; `procs` are cgroup.procs files to join (by writing "0")
    /// before exec.
    fn once(&self, procs: &[CString]) {
        self.once_with(libc::CLONE_NEWNET, procs)
    }

    /// As `once`, with `extra` (0 or CLONE_NEWNET) added to the pid,
    /// mount, uts and ipc namespaces.
    fn once_with(&self, extra: libc::c_int, procs: &[CString]) {
        let flags = libc::CLONE_NEWPID
            | libc::CLONE_NEWNS
            | libc::CLONE_NEWUTS
            | libc::CLONE_NEWIPC
            | extra;
        // SAFETY: a fork-like clone (no new stack, SIGCHLD on exit); the
        // child only makes raw system calls on data prepared above and
        // ends in execve or _exit.
        let pid = unsafe {
            libc::syscall(
                libc::SYS_clone,
                (flags | libc::SIGCHLD) as libc::c_ulong,
                0usize,
                0usize,
                0usize,
                0usize,
            )
        };
        if pid == 0 {
            for p in procs {
                // SAFETY: raw syscalls on prepared C strings.
                unsafe {
                    let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 || libc::write(fd, c"0".as_ptr().cast(), 1) != 1 {
                        libc::_exit(126);
                    }
                    libc::close(fd);
                }
            }
            // SAFETY: argv and envp are NULL-terminated arrays of C strings
            // owned by self; _exit never returns.
            unsafe {
                libc::execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr());
                libc::_exit(127)
            }
        }
        if pid < 0 {
            cb::fatal(format!("clone: {}", std::io::Error::last_os_error()));
        }
        let status = wait_pid(pid as i32);
        if status != 0 {
            cb::fatal(format!("floor child: wait status {status}"));
        }
    }
}

/// Every cgroup hierarchy's mount point (v1 controllers and cgroup2).
fn hierarchies() -> Vec<(PathBuf, bool)> {
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let fstype = *f.iter().skip_while(|x| **x != "-").nth(1)?;
            let cpuset = f
                .last()
                .is_some_and(|o| o.split(',').any(|x| x == "cpuset"));
            matches!(fstype, "cgroup" | "cgroup2").then(|| (PathBuf::from(f[4]), cpuset))
        })
        .collect()
}

/// The floor with a cgroup: mkdir in every hierarchy (cpuset initialised
/// from its parent), clone + join + exec + wait, rmdir.
fn floor_with_cgroups(floor: &Floor, hier: &[(PathBuf, bool)]) {
    let id = cb::unique_id("f");
    let dirs: Vec<PathBuf> = hier.iter().map(|(mp, _)| mp.join(&id)).collect();
    for ((mp, cpuset), d) in hier.iter().zip(&dirs) {
        fs::create_dir(d).unwrap_or_else(|e| cb::fatal(format!("mkdir {}: {e}", d.display())));
        if *cpuset {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let v = fs::read_to_string(mp.join(f)).unwrap_or_default();
                fs::write(d.join(f), v.trim()).unwrap();
            }
        }
    }
    let procs: Vec<CString> = dirs
        .iter()
        .map(|d| {
            CString::new(d.join("cgroup.procs").into_os_string().into_encoded_bytes()).unwrap()
        })
        .collect();
    floor.once(&procs);
    for d in &dirs {
        fs::remove_dir(d).unwrap_or_else(|e| cb::fatal(format!("rmdir {}: {e}", d.display())));
    }
}

fn bench_start(c: &mut Criterion) {
    if cb::skip_unless_root(WHAT) {
        return;
    }
    let ws = cb::Workspace::new("start").unwrap_or_else(|e| cb::fatal(format!("fixture: {e}")));
    let root = ws.state_root("state").unwrap();
    let mut g = c.benchmark_group("start");
    g.sampling_mode(SamplingMode::Flat);

    for variant in Variant::ALL {
        let dir = ws.bundle(variant.name(), variant).unwrap();
        g.bench_function(format!("corral/{}", variant.name()), |b| {
            b.iter(|| load_and_run(&dir, &root, variant))
        });
        if variant == Variant::Full {
            let bundle = corral_runtime::load_bundle(&dir).unwrap();
            g.bench_function("corral/full_preloaded", |b| {
                b.iter(|| corral_once(&bundle, &root, variant))
            });
        }
    }

    let full = ws.bundle("lc-full", Variant::Full).unwrap();
    let lc_root = ws.state_root("youki-state").unwrap();
    g.bench_function("libcontainer/full", |b| {
        b.iter(|| libcontainer_once(&full, &lc_root))
    });

    let floor = Floor::new(&CString::new(cb::TRUE).unwrap());
    g.bench_function("floor/namespaces_exec", |b| b.iter(|| floor.once(&[])));
    g.bench_function("floor/namespaces_no_net_exec", |b| {
        b.iter(|| floor.once_with(0, &[]))
    });
    let hier = hierarchies();
    g.bench_function("floor/namespaces_cgroups_exec", |b| {
        b.iter(|| floor_with_cgroups(&floor, &hier))
    });
    g.finish();

    if breakdown_wanted() {
        let preloaded = corral_runtime::load_bundle(&full).unwrap();
        let mut cases: Vec<Case<'_>> = Vec::new();
        for variant in Variant::ALL {
            let dir = ws
                .bundle(&format!("bd-{}", variant.name()), variant)
                .unwrap();
            let root = &root;
            cases.push((
                format!("corral_{}", variant.name()),
                Box::new(move || load_and_run(&dir, root, variant)),
            ));
        }
        let (preloaded, root) = (&preloaded, &root);
        cases.push((
            "corral_full_preloaded".into(),
            Box::new(move || corral_once(preloaded, root, Variant::Full)),
        ));
        let (full, lc_root) = (&full, &lc_root);
        cases.push((
            "libcontainer_full".into(),
            Box::new(move || libcontainer_once(full, lc_root)),
        ));
        let (floor, hier) = (&floor, &hier);
        cases.push((
            "floor_namespaces_exec".into(),
            Box::new(move || floor.once(&[])),
        ));
        cases.push((
            "floor_namespaces_no_net_exec".into(),
            Box::new(move || floor.once_with(0, &[])),
        ));
        cases.push((
            "floor_namespaces_cgroups_exec".into(),
            Box::new(move || floor_with_cgroups(floor, hier)),
        ));
        breakdown(&cases, BREAKDOWN_ROUNDS);
    }

    // One-off starts: the system idle for IDLE before each container. On
    // cgroup v1 the first cgroup.procs write after a quiet spell waits for
    // an RCU grace period (cgroup_threadgroup_rwsem); back-to-back
    // iterations above do not see it.
    let mut g = c.benchmark_group("start_after_idle");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(50))
        .measurement_time(Duration::from_millis(300));
    for variant in [Variant::Full, Variant::NoCgroup] {
        let dir = ws
            .bundle(&format!("idle-{}", variant.name()), variant)
            .unwrap();
        g.bench_function(format!("corral/{}", variant.name()), |b| {
            b.iter_custom(|n| after_idle(n, || load_and_run(&dir, &root, variant)))
        });
    }
    let lc_full = ws.bundle("idle-lc-full", Variant::Full).unwrap();
    g.bench_function("libcontainer/full", |b| {
        b.iter_custom(|n| after_idle(n, || libcontainer_once(&lc_full, &lc_root)))
    });
    g.finish();

    drop(ws);
    cb::check_no_leaks(WHAT);
}

/// One case of the breakdown: its name and one iteration of it.
type Case<'a> = (String, Box<dyn Fn() + 'a>);

/// Rounds of the interleaved breakdown.
const BREAKDOWN_ROUNDS: usize = 60;

/// Whether to run the interleaved breakdown: always, unless a criterion
/// filter is given that does not mention it.
fn breakdown_wanted() -> bool {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    args.next()
        .is_none_or(|f| "start/breakdown".contains(f.as_str()))
}

/// Runs one iteration of every case per round, `rounds` times, so that a
/// change in the machine's load during the run hits every case alike
/// (criterion measures one bench after the other). Prints each case's
/// median and writes them ("name nanoseconds" lines) to
/// CRITERION_HOME/breakdown/start.txt for benches/compare.sh.
fn breakdown(cases: &[Case<'_>], rounds: usize) {
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); cases.len()];
    for _ in 0..rounds {
        for (i, (_, f)) in cases.iter().enumerate() {
            let t = Instant::now();
            f();
            times[i].push(t.elapsed());
        }
    }
    let mut out = String::new();
    eprintln!("start/breakdown: {rounds} interleaved rounds, medians:");
    for ((name, _), t) in cases.iter().zip(&mut times) {
        t.sort_unstable();
        let median = t[t.len() / 2];
        eprintln!("  {name:32} {median:>10.2?}");
        out.push_str(&format!("{name} {}\n", median.as_nanos()));
    }
    let dir = criterion_home().join("breakdown");
    if let Err(e) = fs::create_dir_all(&dir).and_then(|()| fs::write(dir.join("start.txt"), out)) {
        eprintln!("start/breakdown: not saved in {}: {e}", dir.display());
    }
}

/// Where criterion writes: CRITERION_HOME, else <target>/criterion.
fn criterion_home() -> PathBuf {
    if let Some(h) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(h);
    }
    // <target>/release/deps/<bench>-<hash>
    std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.parent()?.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// How long the system idles before each one-off start.
const IDLE: Duration = Duration::from_millis(200);

/// Runs `f` `iters` times, each after IDLE of sleep; the time of `f` only.
fn after_idle(iters: u64, mut f: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        std::thread::sleep(IDLE);
        let t = Instant::now();
        f();
        total += t.elapsed();
    }
    total
}

criterion_group! {
    name = benches;
    config = cb::criterion(20, Duration::from_secs(2));
    targets = bench_start
}
criterion_main!(benches);
