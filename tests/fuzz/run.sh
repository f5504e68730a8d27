#!/bin/sh
# Fuzz smoke run: every target for SECONDS (default 60) from the seeds and
# the regression inputs of past crashes; a crash fails the run and leaves
# its input in tests/fuzz/artifacts/TARGET/. Needs cargo-fuzz (installed
# here when missing) and uses the stable toolchain with RUSTC_BOOTSTRAP=1.
set -eu
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-60}
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
cargo fuzz build --fuzz-dir tests/fuzz -O
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in $(cargo fuzz list --fuzz-dir tests/fuzz); do
    mkdir -p "$work/$target"
    inputs="tests/fuzz/seeds/$target"
    [ -d "tests/fuzz/regressions/$target" ] && inputs="$inputs tests/fuzz/regressions/$target"
    echo "fuzz $target for ${SECONDS_PER_TARGET}s"
    # shellcheck disable=SC2086
    cargo fuzz run --fuzz-dir tests/fuzz -O "$target" "$work/$target" $inputs -- \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 2>&1 \
        | grep -E '^(Done|stat::number_of_executed_units|==[0-9]+== ERROR|SUMMARY)' || true
    if [ -n "$(ls -A "tests/fuzz/artifacts/$target" 2>/dev/null)" ]; then
        echo "fuzz target $target crashed: see tests/fuzz/artifacts/$target" >&2
        exit 1
    fi
done
