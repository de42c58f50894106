#!/usr/bin/env bash
# make bench-hooks: median wall time per invocation of each hook vs the bash+jq equivalent and vs a
# bare process start, with hyperfine. Writes the median table to .bench/hooks.md; copy the figures into
# docs/PERFORMANCE.md by hand, with the machine and date.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; } >/dev/null
command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; } >/dev/null
cargo build --release --quiet --manifest-path "$here/Cargo.toml" -p hook-post-push -p hook-stop
bin="${CARGO_TARGET_DIR:-$here/target}/release"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
git init -q -b main "$work/repo"
git -C "$work/repo" -c user.name=b -c user.email=b@x commit -q --allow-empty -m x
export HARNESS_MARKER_DIR="$work/markers"
noop=$(jq -nc --arg d "$work/repo" '{hook_event_name:"PostToolUse",tool_name:"Bash",cwd:$d,tool_input:{command:"ls -la && cargo test"},tool_response:{stdout:"",stderr:""}}')
push=$(jq -nc --arg d "$work/repo" '{hook_event_name:"PostToolUse",tool_name:"Bash",cwd:$d,tool_input:{command:"git push origin main"},tool_response:{stdout:"",stderr:""}}')
stop=$(jq -nc --arg d "$work/repo" '{hook_event_name:"Stop",cwd:$d,stop_hook_active:false}')
printf %s "$noop" >"$work/noop.json"; printf %s "$push" >"$work/push.json"; printf %s "$stop" >"$work/stop.json"
mkdir -p "$here/.bench"
hyperfine --warmup 20 --runs 300 --export-json "$here/.bench/hooks.json" \
  -n "bare process (true)" "/bin/true < $work/noop.json" \
  -n "hook-post-push, no-op Bash call" "$bin/hook-post-push < $work/noop.json" \
  -n "hook-post-push, git push" "$bin/hook-post-push < $work/push.json" \
  -n "hook-stop, nothing pending" "$bin/hook-stop < $work/stop.json" \
  -n "bash+jq post-push, no-op" "bash $here/scripts/bench-hooks/post-push.sh < $work/noop.json" \
  -n "bash+jq post-push, git push" "bash $here/scripts/bench-hooks/post-push.sh < $work/push.json" \
  -n "bash+jq stop, nothing pending" "bash $here/scripts/bench-hooks/stop.sh < $work/stop.json"
echo
echo "| command | median [ms] | mean ± σ [ms] |"
echo "|---|---:|---:|"
jq -r '.results[] | "| \(.command) | \(.median*1000*100|round/100) | \(.mean*1000*100|round/100) ± \(.stddev*1000*100|round/100) |"' "$here/.bench/hooks.json" | tee "$here/.bench/hooks.md"
