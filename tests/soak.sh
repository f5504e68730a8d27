#!/bin/sh
# The long leak soak: 5,000 create/start/kill/delete cycles (with failing
# and killed-runtime cycles mixed in). Run as root.
set -eu
cd "$(dirname "$0")/.."
CORRAL_SOAK_CYCLES=${CORRAL_SOAK_CYCLES:-5000} exec cargo test -p corral --release --test soak -- --nocapture
