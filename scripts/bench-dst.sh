#!/usr/bin/env bash
# make bench-dst: effective steps per second of dst-sim against the embedded reference platform,
# 200 seeds x 200 steps, with --jobs 1 and --jobs 2. Copy the figures into docs/PERFORMANCE.md.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --release --quiet --manifest-path "$here/Cargo.toml" -p dst-sim
bin="${CARGO_TARGET_DIR:-$here/target}/release/dst-sim"
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
echo "| run | jobs | seeds | steps | effective steps | wall s | effective steps/s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for faults in "" "--faults"; do
  for jobs in 1 2; do
    # shellcheck disable=SC2086
    "$bin" run --seeds 0..200 --steps 200 --jobs "$jobs" $faults --json --out "$out" >"$out/s.json"
    jq -r --arg j "$jobs" --arg f "${faults:-rules only}" '"| \($f) | \($j) | \(.seeds|length) | \(.steps) | \(.effective_steps) | \(.elapsed_seconds*10|round/10) | \(.effective_steps/.elapsed_seconds|round) |"' "$out/s.json"
  done
done
