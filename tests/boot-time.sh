#!/bin/bash
# Boot-to-ready time and image size of corral beside a busybox-init
# baseline, measured the same way in the same run: QEMU (TCG unless
# ACCEL=kvm) is started with the same kernel, command line and machine;
# the clock runs from QEMU's start until every system service is ready
# (corral: the init's "ready" lines of udev, console, syslog, network and
# ntp; docker is not in this image) or until the baseline's rcS prints
# its mark after the same kind of work (mdev, syslogd + klogd, udhcpc,
# getty). RUNS boots of each (default 3); the table shows the median.
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
ACCEL=${ACCEL:-tcg}
out=target/boot-time
mkdir -p "$out"

CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --target x86_64-unknown-linux-gnu -p corral --bin corral >&2
corral=target/x86_64-unknown-linux-gnu/release/corral
"$corral" image build --out "$out/corral" --exclude docker >&2
"$corral" image build --out "$out/full" >&2
tests/boot-time/baseline.sh "$out/baseline" "$out/corral" >&2

# boot IMAGE_DIR LOG MARKS...: seconds from QEMU's start until every mark
# is in the serial output.
boot() {
    local dir=$1 log=$2
    shift 2
    : >"$log"
    local start now
    start=$(date +%s.%N)
    timeout -k 5 120 "$corral" image boot --image "$dir" --accel "$ACCEL" --append panic=-1 \
        </dev/null >"$log" 2>&1 &
    local pid=$!
    while :; do
        local all=1
        for m in "$@"; do grep -q -- "$m" "$log" || { all=0; break; }; done
        if [ $all = 1 ]; then
            now=$(date +%s.%N)
            break
        fi
        if ! kill -0 $pid 2>/dev/null; then
            echo "boot of $dir ended before it was ready; see $log" >&2
            exit 1
        fi
        sleep 0.05
    done
    pkill -KILL -P $pid 2>/dev/null || true
    kill -KILL $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    awk -v a="$now" -v b="$start" 'BEGIN { printf "%.3f\n", a - b }'
}

median() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }

corral_marks=("] udev: ready" "] console: ready" "] syslog: ready" "] network: ready" "] ntp: ready")
: >"$out/corral.times"
: >"$out/baseline.times"
for i in $(seq "$RUNS"); do
    boot "$out/corral" "$out/corral-$i.log" "${corral_marks[@]}" >>"$out/corral.times"
    boot "$out/baseline" "$out/baseline-$i.log" "BASELINE READY" >>"$out/baseline.times"
done
# PID 1's own view: the last system service's ready time, from its start.
init_ready=$(grep -h -o '^\[ *[0-9.]*\] \(udev\|console\|syslog\|network\|ntp\): ready' "$out"/corral-*.log |
    sed 's/^\[ *\([0-9.]*\)\].*/\1/' | sort -n | tail -1)
size() { stat -c %s "$1" | awk '{printf "%.1f MiB", $1 / 1048576}'; }
gz() { gzip -1 -c "$1" | wc -c | awk '{printf "%.1f MiB", $1 / 1048576}'; }

echo
echo "boot to ready (QEMU $ACCEL, $(nproc) host cores, median of $RUNS; seconds from QEMU's start)"
printf '%-34s %8s  %-12s %-12s\n' "image" "ready" "initramfs" "gzip -1"
printf '%-34s %8s  %-12s %-12s\n' "busybox init (baseline)" "$(median <"$out/baseline.times")" \
    "$(size "$out/baseline/initramfs.cpio")" "$(gz "$out/baseline/initramfs.cpio")"
printf '%-34s %8s  %-12s %-12s\n' "corral (system services)" "$(median <"$out/corral.times")" \
    "$(size "$out/corral/initramfs.cpio")" "$(gz "$out/corral/initramfs.cpio")"
printf '%-34s %8s  %-12s %-12s\n' "corral with docker (size only)" "-" \
    "$(size "$out/full/initramfs.cpio")" "$(gz "$out/full/initramfs.cpio")"
echo "corral's init: last system service ready ${init_ready}s after PID 1 started (worst run)"
