#!/usr/bin/env bash
# Baseline Stop hook in bash + jq (see post-push.sh).
input=$(cat)
cwd=$(jq -r '.cwd // empty' <<<"$input")
dir="${HARNESS_MARKER_DIR:-$HOME/.local/state/dsf-harness}/bash-$(printf %s "$cwd" | sha256sum | cut -c1-16)"
[ -f "$dir/push-pending.json" ] || exit 0
sha=$(jq -r .sha "$dir/push-pending.json")
if [ -f "$dir/deploy-verified.json" ] && [ "$(jq -r .sha "$dir/deploy-verified.json")" = "$sha" ]; then
  rm -f "$dir"/*.json; exit 0
fi
jq -n --arg r "Deploy not verified: run verify-deployment --sha $sha" '{decision:"block",reason:$r}'
