#!/bin/sh
# Runs every corral bench once (`cargo bench` at the workspace root) and
# prints ONE table of medians and ratios: corral against youki's
# libcontainer (in process), runc and crun (command line, throughput), the
# kernel floor, and the issue-6 targets. Run as root on the bench host:
#
#   benches/compare.sh              # full run (about 3-4 minutes once built)
#   benches/compare.sh --quick      # criterion's --quick, for a smoke test
#
# The command-line benches use the `release` corral binary (what ships),
# built first; set CORRAL_BIN to bench another one. The benches run at
# nice -20 (CORRAL_BENCH_NICE to change it) so that other work on the
# machine disturbs them less. Criterion's output for
# this run goes to a fresh directory (CRITERION_HOME), so a bench skipped
# in this run never shows an older result. The table is also written to
# target/bench-table.txt.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "compare.sh: needs root (namespaces, cgroups)" >&2
    exit 1
fi

target=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target=${target:-target}
work=$(mktemp -d /tmp/corral-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
export CRITERION_HOME="$work/criterion"

if [ -z "${CORRAL_BIN:-}" ]; then
    echo "== cargo build --release --bin corral" >&2
    if cargo build --release --bin corral >&2; then
        cp "$target/release/corral" "$work/corral"
        CORRAL_BIN="$work/corral"
        export CORRAL_BIN
    else
        echo "compare.sh: release build failed; the benches build their own corral" >&2
    fi
fi

# At nice -20 (every runtime and container inherits it): on a shared
# machine, other users' compiles then barely disturb the measurements.
# CORRAL_BENCH_NICE=0 turns this off.
nice="nice -n ${CORRAL_BENCH_NICE:--20}"
echo "== $nice cargo bench $*" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
{
    rc=0
    if [ $# -gt 0 ]; then $nice cargo bench -- "$@" || rc=$?; else $nice cargo bench || rc=$?; fi
    echo "$rc" >"$work/status"
} 2>&1 | tee "$work/bench.log" >&2
elapsed=$(( $(date +%s) - start ))
status=$(cat "$work/status" 2>/dev/null || echo 1)

# median (ns) of group/bench, or empty when it did not run
median() {
    f="$CRITERION_HOME/$1/new/estimates.json"
    [ -f "$f" ] || return 0
    sed -n 's/.*"median":{"confidence_interval":{[^}]*},"point_estimate":\([0-9.eE+-]*\).*/\1/p' "$f"
}

# One "key value" line per bench for awk.
{
    for b in start/corral_full start/corral_full_preloaded start/corral_no_netns \
        start/corral_no_seccomp start/corral_no_resources start/corral_no_cgroup_mount \
        start/corral_no_cgroup start/corral_minimal start/libcontainer_full \
        start/floor_namespaces_exec start/floor_namespaces_no_net_exec \
        start/floor_namespaces_cgroups_exec \
        start_after_idle/corral_full start_after_idle/corral_no_cgroup \
        start_after_idle/libcontainer_full \
        cli/corral_run cli/runc_run cli/crun_run cli/unshare_wrapper \
        throughput/corral_threads throughput/corral_serial throughput/corral_cli \
        throughput/runc_cli throughput/crun_cli boot/to_ready boot/shutdown; do
        echo "$b $(median "$b")"
    done
    # The interleaved breakdown of benches/start.rs: "name ns" lines.
    if [ -f "$CRITERION_HOME/breakdown/start.txt" ]; then
        sed 's|^|bd/|' "$CRITERION_HOME/breakdown/start.txt"
    fi
} >"$work/medians"

cat >"$work/table.awk" <<'AWK'
function ms(ns) { return sprintf("%.2f ms", ns / 1e6) }
function has(k) { return (k in m) && m[k] != "" }
function row(label, k, cmp) {
    if (!has(k)) { printf "  %-44s %12s  %s\n", label, "skipped", cmp; return }
    printf "  %-44s %12s  %s\n", label, ms(m[k]), cmp
}
function ratio(a, b, target, le,   r, verdict) {
    if (!has(a) || !has(b) || m[b] == 0) return ""
    r = m[a] / m[b]
    verdict = ""
    if (target != "") verdict = (le ? (r <= target) : (r >= target)) ? "  MET" : "  GAP"
    return sprintf("%.2fx%s", r, verdict)
}
function part(label, variant,   d, b) {
    b = "bd/" substr(variant, 7)
    if (!has("bd/corral_full") || !has(b)) { row(label, variant, ""); return }
    d = m["bd/corral_full"] - m[b]
    row(label, variant, sprintf("%6.2f ms interleaved, cost = full - this = %+.2f ms", m[b] / 1e6, d / 1e6))
}
{ m[$1] = $2 }
END {
    printf "\n%-46s %12s  %s\n", "bench", "median", "ratio (corral / peer) and target"
    print "in process: create+start+wait+delete of /bin/true, full `corral spec` config + pids/memory limits"
    row("corral-runtime, full default config", "start/corral_full", "")
    row("libcontainer 0.7 (youki), same bundle", "start/libcontainer_full",
        "corral/libcontainer " ratio("start/corral_full", "start/libcontainer_full", 0.3, 1) " (target <= 0.30x)")
    row("kernel floor: clone into 5 ns, exec, wait", "start/floor_namespaces_exec",
        "corral/floor " ratio("start/corral_full", "start/floor_namespaces_exec", 3, 1) " (target <= 3x)")
    row("kernel floor without the net namespace", "start/floor_namespaces_no_net_exec", "")
    row("kernel floor + mkdir/join/rmdir all cgroups", "start/floor_namespaces_cgroups_exec",
        "corral/floor " ratio("start/corral_full", "start/floor_namespaces_cgroups_exec", 3, 1) " (target <= 3x)")
    if (has("bd/corral_full")) {
        print "the same interleaved (60 rounds of one iteration of each, so load drift hits all alike)"
        row("corral-runtime, full default config", "bd/corral_full", "")
        row("libcontainer 0.7 (youki)", "bd/libcontainer_full",
            "corral/libcontainer " ratio("bd/corral_full", "bd/libcontainer_full", 0.3, 1) " (target <= 0.30x)")
        row("kernel floor", "bd/floor_namespaces_exec",
            "corral/floor " ratio("bd/corral_full", "bd/floor_namespaces_exec", 3, 1) " (target <= 3x)")
        if (has("bd/floor_namespaces_no_net_exec"))
            nn = sprintf("net namespace = %.2f ms", (m["bd/floor_namespaces_exec"] - m["bd/floor_namespaces_no_net_exec"]) / 1e6)
        row("kernel floor without the net namespace", "bd/floor_namespaces_no_net_exec", nn)
        row("kernel floor + mkdir/join/rmdir all cgroups", "bd/floor_namespaces_cgroups_exec",
            "corral/floor " ratio("bd/corral_full", "bd/floor_namespaces_cgroups_exec", 3, 1) " (target <= 3x)")
    }
    print "what each part costs: criterion median of the variant; interleaved median and full - variant"
    part("config.json already parsed", "start/corral_full_preloaded")
    part("no net namespace", "start/corral_no_netns")
    part("no seccomp", "start/corral_no_seccomp")
    part("no resources (cgroup still made)", "start/corral_no_resources")
    part("no /sys/fs/cgroup mount", "start/corral_no_cgroup_mount")
    part("no cgroup (create_without_cgroup)", "start/corral_no_cgroup")
    part("minimal: ns+mounts+pivot+exec only", "start/corral_minimal")
    print "one-off starts: 200 ms idle before each container (cgroup v1 join waits for an RCU grace period)"
    row("corral-runtime, full default config", "start_after_idle/corral_full", "")
    row("corral-runtime, no cgroup", "start_after_idle/corral_no_cgroup", "")
    row("libcontainer 0.7, full", "start_after_idle/libcontainer_full",
        "corral/libcontainer " ratio("start_after_idle/corral_full", "start_after_idle/libcontainer_full", 0.3, 1) " (target <= 0.30x)")
    print "command line: RUNTIME run of /bin/true as a whole process, same bundle"
    row("corral run (release binary)", "cli/corral_run", "")
    row("runc run", "cli/runc_run", "corral/runc " ratio("cli/corral_run", "cli/runc_run", "", 1))
    row("crun run (in unshare wrapper on hybrid host)", "cli/crun_run",
        "corral/crun " ratio("cli/corral_run", "cli/crun_run", 0.75, 1) " (target <= 0.75x)")
    row("unshare wrapper alone", "cli/unshare_wrapper", "")
    if (has("cli/crun_run") && has("cli/unshare_wrapper") && has("cli/corral_run")) {
        net = m["cli/crun_run"] - m["cli/unshare_wrapper"]
        r = m["cli/corral_run"] / net
        printf "  %-44s %12s  corral/crun %.2fx%s (target <= 0.75x)\n", "crun run, wrapper subtracted", ms(net), r, (r <= 0.75 ? "  MET" : "  GAP")
    }
    print "throughput: 50 containers started concurrently and waited for (time per 50; containers/s)"
    split("throughput/corral_threads throughput/corral_serial throughput/corral_cli throughput/runc_cli throughput/crun_cli", tk, " ")
    split("corral-runtime, 50 threads|corral-runtime, 1 thread: 50 creates, starts|50 x corral run|50 x runc run|50 x crun run (wrapped)", tl, "|")
    for (i = 1; i <= 5; i++) {
        k = tk[i]; cmp = ""
        if (has(k)) cmp = sprintf("%6.0f /s", 50e9 / m[k])
        if (i <= 3 && has(k) && has("throughput/crun_cli"))
            cmp = cmp sprintf("  vs crun %.2fx%s (target >= 2x)", m["throughput/crun_cli"] / m[k], (m["throughput/crun_cli"] / m[k] >= 2 ? "  MET" : "  GAP"))
        if (i <= 3 && has(k) && has("throughput/runc_cli"))
            cmp = cmp sprintf("  vs runc %.2fx", m["throughput/runc_cli"] / m[k])
        row(tl[i], k, cmp)
    }
    print "boot (sandbox mode, 5 services with dependencies and exec readiness)"
    row("corral boot to all services running", "boot/to_ready", "")
    row("corral ctl poweroff to exit", "boot/shutdown", "")
}
AWK

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo "corral benches, $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) cores, $cpu, kernel $(uname -r)"
    echo "peers: $(runc --version 2>/dev/null | head -1 || echo 'runc missing'); $(crun --version 2>/dev/null | head -1 || echo 'crun missing'); libcontainer 0.7 (crate)"
    echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) (the throughput benches run 50 processes at once); $nice cargo bench took ${elapsed}s (exit status $status)"
    awk -f "$work/table.awk" "$work/medians"
    echo
    if [ -n "${CORRAL_BIN:-}" ]; then
        echo "  release corral binary: $(stat -c %s "$CORRAL_BIN") bytes stripped (target < 8 MiB = 8388608)"
    fi
    grep -E "skipped:|LEFT BEHIND|left behind|FAILED|idle RSS" "$work/bench.log" | sort -u | sed 's/^/  /' || true
} | tee "$target/bench-table.txt"
exit "$status"
