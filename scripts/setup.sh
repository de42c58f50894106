#!/usr/bin/env bash
# Installs what the tests and the main job need beyond the Rust toolchain. Idempotent and quiet when
# everything is present. Each tool says why it is needed.
set -euo pipefail
need() { command -v "$1" >/dev/null 2>&1; }

# cargo-nextest: the test runner `make test` uses (ships on this project's machines; install if absent).
if ! need cargo-nextest; then
  echo "setup: installing cargo-nextest" >&2
  cargo install --locked cargo-nextest >&2
fi
