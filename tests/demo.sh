#!/bin/sh
# Demo: runs a busybox container with the release corral.
set -eu
cd "$(dirname "$0")/.."
CORRAL=${CORRAL:-target/release/corral}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/rootfs/bin"
cp /bin/busybox "$dir/rootfs/bin/"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$dir/rootfs/bin/$a"; done
"$CORRAL" spec --bundle "$dir"
sed -i 's/"terminal": true/"terminal": false/' "$dir/config.json"
sed -i 's|"sh"$|"sh", "-c", "echo hello from $(hostname), pid $$; cat /proc/self/status \| grep -E ^Cap; mount \| head -5"|' "$dir/config.json"
"$CORRAL" --root "$dir/state" run --bundle "$dir" demo
