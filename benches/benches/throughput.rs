//! Throughput: 50 containers of /bin/true started concurrently and waited
//! for (and deleted), on the full default config. One iteration = 50
//! containers; criterion reports the time per iteration and elements/s.
//!
//! - `throughput/corral_threads`: corral-runtime in this process, one
//!   thread per container (create, start, wait, delete).
//! - `throughput/corral_serial`: corral-runtime from one thread, as a
//!   single-threaded supervisor would: 50 creates, 50 starts, 50 waits and
//!   deletes.
//! - `throughput/corral_cli`, `throughput/crun_cli`, `throughput/runc_cli`:
//!   50 concurrent `RUNTIME run` processes (crun inside its unshare wrapper
//!   on a hybrid-cgroup host); peers skipped with a message when missing.
//!
//! 10 samples over 5 s each (flat sampling; at least one iteration per
//! sample, so the slowest peer takes longer), 0.5 s warm-up.

// A bench harness, not a library: a broken fixture ends the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use corral_benches::{self as cb, Cli, Variant};
use corral_runtime::{pidfd, Bundle, CreateOptions, ExitStatus};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

const WHAT: &str = "throughput";
const N: usize = 50;

fn opts(root: &Path) -> CreateOptions {
    CreateOptions {
        state_root: root.to_path_buf(),
        id: cb::unique_id("t"),
        ..Default::default()
    }
}

fn check(status: Option<ExitStatus>) {
    if status != Some(ExitStatus::Exited(0)) {
        cb::fatal(format!("/bin/true ended with {status:?}"));
    }
}

/// One container, start to delete, on the calling thread.
fn corral_one(bundle: &Bundle, root: &Path) {
    let created = corral_runtime::create(bundle, opts(root))
        .unwrap_or_else(|e| cb::fatal(format!("corral create: {e}")));
    let mut c = created.container;
    c.start()
        .unwrap_or_else(|e| cb::fatal(format!("corral start: {e}")));
    check(pidfd::wait(&created.pidfd, false).unwrap_or_else(|e| cb::fatal(format!("wait: {e}"))));
    c.delete(false)
        .unwrap_or_else(|e| cb::fatal(format!("corral delete: {e}")));
}

fn corral_threads(bundle: &Bundle, root: &Path) {
    std::thread::scope(|s| {
        for _ in 0..N {
            s.spawn(|| corral_one(bundle, root));
        }
    });
}

fn corral_serial(bundle: &Bundle, root: &Path) {
    let mut made: Vec<_> = (0..N)
        .map(|_| {
            corral_runtime::create(bundle, opts(root))
                .unwrap_or_else(|e| cb::fatal(format!("corral create: {e}")))
        })
        .collect();
    for c in &mut made {
        c.container
            .start()
            .unwrap_or_else(|e| cb::fatal(format!("corral start: {e}")));
    }
    for c in made {
        check(pidfd::wait(&c.pidfd, false).unwrap_or_else(|e| cb::fatal(format!("wait: {e}"))));
        c.container
            .delete(false)
            .unwrap_or_else(|e| cb::fatal(format!("corral delete: {e}")));
    }
}

fn cli_concurrent(cli: &Cli, root: &Path, bundle: &Path) {
    let children: Vec<_> = (0..N)
        .map(|_| {
            let id = cb::unique_id(cli.name);
            let mut cmd = cli.run_command(root, bundle, &id);
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| cb::fatal(format!("spawn {}: {e}", cli.name)));
            (cmd, child)
        })
        .collect();
    let mut failed = None;
    for (cmd, child) in children {
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| cb::fatal(format!("wait {}: {e}", cli.name)));
        if !out.status.success() && failed.is_none() {
            let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
            failed = Some(format!(
                "{} {} failed ({}): {}",
                cmd.get_program().to_string_lossy(),
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    if let Some(e) = failed {
        cb::fatal(e);
    }
}

fn bench_throughput(c: &mut Criterion) {
    if cb::skip_unless_root(WHAT) {
        return;
    }
    let ws =
        cb::Workspace::new("throughput").unwrap_or_else(|e| cb::fatal(format!("fixture: {e}")));
    let dir = ws.bundle("bundle", Variant::Full).unwrap();
    let bundle = corral_runtime::load_bundle(&dir).unwrap();
    let root = ws.state_root("state").unwrap();

    let mut g = c.benchmark_group("throughput");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("corral_threads", |b| {
        b.iter(|| corral_threads(&bundle, &root))
    });
    g.bench_function("corral_serial", |b| {
        b.iter(|| corral_serial(&bundle, &root))
    });

    let mut clis = Vec::new();
    match cb::corral_binary() {
        Ok(program) => clis.push(Cli {
            name: "corral",
            program,
            hybrid_wrapper: false,
        }),
        Err(e) => cb::skip("throughput/corral_cli", &e),
    }
    for peer in cb::peers() {
        match peer {
            Ok(p) => clis.push(p),
            Err(e) => cb::skip(WHAT, &e),
        }
    }
    for cli in &clis {
        let root = ws.state_root(&format!("{}-state", cli.name)).unwrap();
        g.bench_function(format!("{}_cli", cli.name), |b| {
            b.iter(|| cli_concurrent(cli, &root, &dir))
        });
    }
    g.finish();

    drop(ws);
    cb::check_no_leaks(WHAT);
}

criterion_group! {
    name = benches;
    config = cb::criterion(10, Duration::from_secs(5));
    targets = bench_throughput
}
criterion_main!(benches);
