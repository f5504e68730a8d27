#!/bin/sh
# Measures the resident memory of PID 1 in sandbox mode, idle with a few
# busybox services running. Run as root:
#   tests/init/rss.sh [CORRAL_BINARY] [SERVICES]
# (default: target/release/corral, 6 services; SETTLE seconds of idle
# before measuring, default 8 — the init trims its text 5 s after boot). Prints VmRSS, RssAnon,
# RssFile, Pss and Private_Dirty of the sandbox's init in kB. RssFile is
# mostly the binary's text, mapped 64 KiB at a time around each page used
# (the kernel's fault-around) and shared with every corral process.
set -eu
CORRAL=$(realpath "${1:-target/release/corral}")
N=${2:-6}
BUSYBOX=$(command -v busybox)
ROOT=$(mktemp -d /tmp/corral-rss.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT

mkdir -p "$ROOT/srv/busybox/bin" "$ROOT/usr/bin" "$ROOT/etc/corral"
cp "$CORRAL" "$ROOT/usr/bin/corral"
cp "$BUSYBOX" "$ROOT/srv/busybox/bin/busybox"
for a in sh sleep echo; do ln -s busybox "$ROOT/srv/busybox/bin/$a"; done
mkdir -p "$ROOT/srv/busybox/proc" "$ROOT/srv/busybox/dev" "$ROOT/srv/busybox/sys" "$ROOT/srv/busybox/tmp"

i=1
while [ "$i" -le "$N" ]; do
    dir="$ROOT/usr/lib/corral/services/svc$i"
    mkdir -p "$dir"
    "$CORRAL" spec --bundle "$dir"
    python3 - "$dir/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["root"]["path"] = "/srv/busybox"
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "trap 'exit 0' TERM; echo up; while :; do sleep 1; done"]
json.dump(c, open(p, "w"))
PY
    printf '[stop]\ntimeout_secs = 3\n' > "$dir/service.toml"
    i=$((i + 1))
done

"$CORRAL" boot --root "$ROOT" > "$ROOT/console" 2>&1 &
BOOT=$!
SOCK="$ROOT/run/corral/corral.sock"
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
sleep "${SETTLE:-8}"
INIT=$(cat "/proc/$BOOT/task/$BOOT/children" | awk '{print $1}')
"$CORRAL" ctl --socket "$SOCK" status
grep -E '^(VmRSS|RssAnon|RssFile|VmHWM|Threads)' "/proc/$INIT/status"
grep -E '^(Pss|Private_Dirty):' "/proc/$INIT/smaps_rollup"
"$CORRAL" ctl --socket "$SOCK" poweroff
wait "$BOOT"
