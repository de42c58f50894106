#!/usr/bin/env bash
# The comparison baseline for `make bench-hooks`: the same PostToolUse job done the way the platform
# team's hook did it (bash + jq + grep). Written for the benchmark only; it has their detection gaps.
input=$(cat)
cmd=$(jq -r '.tool_input.command // empty' <<<"$input")
cwd=$(jq -r '.cwd // empty' <<<"$input")
case "$cmd" in *"git push"*|*"gh pr merge"*) ;; *) exit 0 ;; esac
branch=$(git -C "$cwd" rev-parse --abbrev-ref HEAD 2>/dev/null)
case "$branch" in main|master) env=production ;; staging) env=staging ;; *) exit 0 ;; esac
sha=$(git -C "$cwd" rev-parse HEAD)
dir="${HARNESS_MARKER_DIR:-$HOME/.local/state/dsf-harness}/bash-$(printf %s "$cwd" | sha256sum | cut -c1-16)"
mkdir -p -m 700 "$dir"
jq -n --arg b "$branch" --arg e "$env" --arg s "$sha" '{branch:$b,environment:$e,sha:$s}' >"$dir/push-pending.json"
jq -n --arg c "Run verify-deployment $env --sha $sha" '{hookSpecificOutput:{hookEventName:"PostToolUse",additionalContext:$c}}'
