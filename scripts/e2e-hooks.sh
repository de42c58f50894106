#!/usr/bin/env bash
# `make e2e-hooks`: our Claude Code hooks end to end inside the REAL Claude Code CLI.
#
#   scripts/e2e-hooks.sh                 install the pinned CLI if absent, build the hooks, play the sessions
#   scripts/e2e-hooks.sh --install-only  install the pinned CLI if absent; print the binary's path on stdout
#
# The CLI version is pinned (with integrity hashes) by crates/hooks-e2e/claude-code/package{,-lock}.json and
# installed with `npm ci --ignore-scripts` into a cache directory:
#   ${HOOKS_E2E_CACHE:-${CARGO_TARGET_DIR:-<repo>/target}/claude-code}/<version>/
# Nothing else is downloaded; the sessions talk only to a scripted Messages-API server on 127.0.0.1.
#
# Exit codes: 0 passed (or skipped: the CLI cannot be installed here, message on stderr),
#             1 a session failed, 3 --install-only could not install the CLI,
#             with HOOKS_E2E_REQUIRE=1 a skip is an error (exit 3) instead.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pin_dir="$root/crates/hooks-e2e/claude-code"
version="$(sed -n 's/.*"@anthropic-ai\/claude-code": *"\([^"]*\)".*/\1/p' "$pin_dir/package.json" | head -n1)"
cache_root="${HOOKS_E2E_CACHE:-${CARGO_TARGET_DIR:-$root/target}/claude-code}"
dest="$cache_root/$version"

# The native binary ships inside the platform package (@anthropic-ai/claude-code-<platform>); the wrapper's
# postinstall only copies it over a stub, so we skip install scripts and run the platform binary directly.
find_bin() {
  local f
  for f in "$dest"/node_modules/@anthropic-ai/claude-code-*/claude; do
    [[ -x "$f" ]] && { echo "$f"; return 0; }
  done
  return 1
}

# Runs inside $(install_cli): says why on stderr and fails the subshell; the caller decides skip vs error.
skip() {
  echo "e2e-hooks: SKIP: $*" >&2
  exit 3
}

install_cli() {
  if bin="$(find_bin)" && "$bin" --version 2>/dev/null | grep -qF "$version"; then
    echo "$bin"; return 0
  fi
  command -v npm >/dev/null 2>&1 || skip "npm is not installed, cannot install @anthropic-ai/claude-code@$version"
  mkdir -p "$cache_root"
  # Concurrent callers (nextest runs tests in parallel) serialize on a lock; the install goes to a
  # scratch directory first and is renamed into place whole, so a half-install is never used.
  exec 9>"$cache_root/.install.lock"
  flock -w 360 9 || skip "timed out waiting for another install of the CLI"
  if bin="$(find_bin)" && "$bin" --version 2>/dev/null | grep -qF "$version"; then
    echo "$bin"; return 0
  fi
  local tmp="$cache_root/.tmp-$version-$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  cp "$pin_dir/package.json" "$pin_dir/package-lock.json" "$tmp/"
  echo "e2e-hooks: installing @anthropic-ai/claude-code@$version into $dest" >&2
  if ! (cd "$tmp" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2); then
    rm -rf "$tmp"
    skip "npm ci of @anthropic-ai/claude-code@$version failed (no registry access?)"
  fi
  rm -rf "$dest" && mv "$tmp" "$dest"
  bin="$(find_bin)" || skip "no Claude Code native binary for this platform in $dest"
  "$bin" --version 2>/dev/null | grep -qF "$version" || skip "$bin does not run here or is not $version"
  echo "$bin"
}

install_only=0
[[ "${1:-}" == "--install-only" ]] && install_only=1
if ! bin="$(install_cli)"; then
  if [[ $install_only == 1 || "${HOOKS_E2E_REQUIRE:-}" == 1 ]]; then exit 3; fi
  echo "e2e-hooks: skipped (the Claude Code CLI cannot be installed here); set HOOKS_E2E_REQUIRE=1 to fail instead" >&2
  exit 0
fi
if [[ $install_only == 1 ]]; then echo "$bin"; exit 0; fi

echo "e2e-hooks: Claude Code $("$bin" --version) at $bin" >&2
cd "$root"
export HOOKS_E2E_CLAUDE_BIN="$bin" HOOKS_E2E_REQUIRE="${HOOKS_E2E_REQUIRE:-1}"
# Each test wires the hooks into its scratch repo with `make install-hooks PROJECT=<repo>`.
cargo nextest run -p hooks-e2e --no-fail-fast
