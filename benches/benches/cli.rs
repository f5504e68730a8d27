//! The command line against the peers: `RUNTIME --root R run -b BUNDLE ID`
//! of /bin/true as a whole process (exec of the runtime, create, start,
//! wait, delete), on the same bundle (the full default config of
//! `corral spec` + pids and memory limits).
//!
//! - `cli/corral_run`: the release `corral` binary (see
//!   `corral_benches::corral_binary`).
//! - `cli/runc_run`, `cli/crun_run`: Debian's runc and crun, each skipped
//!   with a message when not installed. crun 1.8 refuses the hybrid cgroup
//!   layout, so on such a host it runs as
//!   `unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec crun ...'`;
//!   `cli/unshare_wrapper` measures that wrapper alone (exec'ing
//!   /bin/true) so that its cost can be subtracted.
//!
//! 20 samples over 3 s each (flat sampling), 0.5 s warm-up.

// A bench harness, not a library: a broken fixture ends the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use corral_benches::{self as cb, Cli, Variant};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

const WHAT: &str = "cli";

fn run_once(cli: &Cli, root: &Path, bundle: &Path) {
    let id = cb::unique_id(cli.name);
    if let Err(e) = cb::run_ok(cli.run_command(root, bundle, &id)) {
        cb::fatal(e);
    }
}

fn bench_cli(c: &mut Criterion) {
    if cb::skip_unless_root(WHAT) {
        return;
    }
    let ws = cb::Workspace::new("cli").unwrap_or_else(|e| cb::fatal(format!("fixture: {e}")));
    let bundle = ws.bundle("bundle", Variant::Full).unwrap();
    let mut runtimes: Vec<Cli> = Vec::new();
    match cb::corral_binary() {
        Ok(program) => runtimes.push(Cli {
            name: "corral",
            program,
            hybrid_wrapper: false,
        }),
        Err(e) => cb::skip("cli/corral_run", &e),
    }
    for peer in cb::peers() {
        match peer {
            Ok(p) => runtimes.push(p),
            Err(e) => cb::skip(WHAT, &e),
        }
    }

    let mut g = c.benchmark_group("cli");
    g.sampling_mode(SamplingMode::Flat);
    for rt in &runtimes {
        let root: PathBuf = ws.state_root(&format!("{}-state", rt.name)).unwrap();
        if rt.hybrid_wrapper {
            eprintln!(
                "cli/{}_run: hybrid cgroups: runs inside `unshare -m` without /sys/fs/cgroup/unified \
                 (cli/unshare_wrapper is that wrapper's cost)",
                rt.name
            );
        }
        g.bench_function(format!("{}_run", rt.name), |b| {
            b.iter(|| run_once(rt, &root, &bundle))
        });
    }
    if runtimes.iter().any(|r| r.hybrid_wrapper) {
        g.bench_function("unshare_wrapper", |b| {
            b.iter(|| {
                if let Err(e) = cb::run_ok(cb::wrapper_only_command()) {
                    cb::fatal(e);
                }
            })
        });
    }
    g.finish();

    drop(ws);
    cb::check_no_leaks(WHAT);
}

criterion_group! {
    name = benches;
    config = cb::criterion(20, Duration::from_secs(3));
    targets = bench_cli
}
criterion_main!(benches);
