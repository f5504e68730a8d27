#!/bin/sh
# The demo: builds corral statically (it is PID 1 of the image), builds the
# image for the host's Debian kernel (target/image: vmlinuz, initramfs.cpio,
# cmdline) and boots it in QEMU with the serial console on this terminal:
# the boot log shows each service's status, then a root shell.
# In the guest: `corral ctl status`, `docker info`, `corral ctl poweroff`.
# Ctrl-A X leaves QEMU at any time. Extra arguments go to `image boot`
# (e.g. --accel kvm, --memory 4096).
set -eu
cd "$(dirname "$0")/.."
CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --target x86_64-unknown-linux-gnu -p corral --bin corral
corral=target/x86_64-unknown-linux-gnu/release/corral
"$corral" image build --out target/image
exec "$corral" image boot --image target/image "$@"
