#!/usr/bin/env bash
# make demo: the deploy gate in a scratch repository, step by step (what docs/hooks.md shows by hand).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
export HARNESS_MARKER_DIR="$tmp/markers"
export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.com GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.com
git init -q --bare "$tmp/remote.git"
git init -q -b main "$tmp/demo"
cd "$tmp/demo"
git commit -q --allow-empty -m "first"
git remote add origin "$tmp/remote.git"
bash "$here/scripts/install-hooks.sh" "$tmp/demo"
step() { printf '\n== %s\n' "$*"; }
step "git push origin main"
git push -q origin main
sha=$(git rev-parse HEAD)
step "PostToolUse event for that push -> hook-post-push"
printf '{"hook_event_name":"PostToolUse","tool_name":"Bash","session_id":"demo","cwd":"%s","tool_input":{"command":"git push origin main"},"tool_response":{"stdout":"","stderr":""}}' "$PWD" \
  | .claude/bin/hook-post-push
stop=$(printf '{"hook_event_name":"Stop","session_id":"demo","cwd":"%s","stop_hook_active":false}' "$PWD")
step "Stop event -> hook-stop (expect a block)"
out=$(printf %s "$stop" | .claude/bin/hook-stop); echo "$out"
grep -q '"decision":"block"' <<<"$out" || { echo "demo: expected the gate to block" >&2; exit 1; }
step "harness-markers verify production --sha $sha (what verify-deployment writes on success)"
.claude/bin/harness-markers verify production --sha "$sha" --check demo
step "Stop event again -> hook-stop (expect no output: the session may end)"
out=$(printf %s "$stop" | .claude/bin/hook-stop); echo "${out:-<no output>}"
[ -z "$out" ] || { echo "demo: expected the gate to open" >&2; exit 1; }
echo; echo "demo: the gate blocked an unverified push and opened once that SHA was verified."
