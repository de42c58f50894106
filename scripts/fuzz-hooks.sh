#!/usr/bin/env bash
# make fuzz-hooks: a million seeded inputs through hook-post-push and hook-stop, in-process, on all
# cores (crates/hook-post-push/examples/fuzz_hooks.rs). Its own target dir and a release build without
# LTO: the workspace's fat-LTO release profile would cost minutes the fuzzer does not need.
# FUZZ_ARGS passes flags (--inputs N --seed S --threads T). Markers go to tmpfs when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
CARGO_TARGET_DIR=target/fuzz-hooks exec cargo run --quiet --release \
  --config profile.release.lto=false --config profile.release.codegen-units=16 \
  --config profile.release.debug=false \
  -p hook-post-push --example fuzz_hooks -- ${FUZZ_ARGS:-}
