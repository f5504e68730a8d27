#!/bin/sh
# Installs the Debian packages corral's tests, benches and demo use.
# Run as root on Debian 12 (bookworm). Safe to run again.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    busybox-static \
    procps \
    iproute2 \
    kmod \
    e2fsprogs \
    cpio \
    xz-utils \
    runc \
    crun \
    containerd \
    docker.io \
    podman \
    conmon \
    qemu-system-x86 \
    linux-image-amd64 \
    checkpolicy \
    secilc \
    semodule-utils \
    strace \
    chrony \
    tini \
    iptables \
    libseccomp-dev \
    g++ \
    >/dev/null
echo "host packages installed"
