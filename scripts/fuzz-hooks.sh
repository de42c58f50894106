#!/usr/bin/env bash
# make fuzz-hooks: a million seeded inputs through hook-post-push and hook-stop
# (crates/hook-post-push/examples/fuzz_hooks/): in-process on all cores, and every 100th input also
# through the two built binaries. Prints the count, the time, panics, invalid outputs and hangs;
# exit 0 only when all three are 0 (docs/PERFORMANCE.md, "Hooks fuzzed at scale").
#
# Its own target dir and a release build without LTO: the workspace's fat-LTO release profile would
# cost minutes the fuzzer does not need. Markers go to tmpfs when there is one.
# FUZZ_ARGS passes flags (--inputs N --seed S --threads T --cap-secs C --process-every K --only I).
# Bounded: each step of each input has a time cap inside the fuzzer (a hang is a failure, reported
# with the input), and the whole run is killed after FUZZ_TIMEOUT seconds (default 3600).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
export CARGO_TARGET_DIR=target/fuzz-hooks
cargo build --quiet --release --config profile.release.lto=false --config profile.release.codegen-units=16 \
  --config profile.release.debug=false -p hook-post-push -p hook-stop --bins --example fuzz_hooks
limit=${FUZZ_TIMEOUT:-3600}
rc=0
# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
timeout --kill-after=10 "$limit" "$CARGO_TARGET_DIR/release/examples/fuzz_hooks" \
  --bin-dir "$PWD/$CARGO_TARGET_DIR/release" ${FUZZ_ARGS:-} || rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "fuzz-hooks: FAIL: the run did not finish within ${limit} s (FUZZ_TIMEOUT)"
  exit 1
fi
exit "$rc"
