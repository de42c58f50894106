#!/usr/bin/env bash
# make bench-verify: a 50-endpoint smoke list against the reference platform on loopback —
# verify-deployment's concurrent smoke step (one process) vs a sequential curl loop doing the same
# 50 status checks the way the platform team's bash script did. hyperfine, release build.
# Writes .bench/verify.md; copy the figures into docs/PERFORMANCE.md by hand, with machine and date.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; } >/dev/null
command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; } >/dev/null
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; } >/dev/null
cargo build --release --quiet --manifest-path "$here/Cargo.toml" -p reference-platform -p verify-deployment
bin="${CARGO_TARGET_DIR:-$here/target}/release"
work="$(mktemp -d)"
port="${BENCH_PORT:-18765}"
"$bin/reference-platform" --port "$port" >"$work/platform.log" 2>&1 &
platform_pid=$!
trap 'kill "$platform_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -fs "$base/health" >/dev/null && break; sleep 0.1; done

# 50 endpoints that answer 200 without a key
paths=("/health" "/api/health" "/api/feedback/summary")
for i in $(seq 1 47); do paths+=("/api/worlds?limit=$i"); done
for inflight in 8 50; do
  repo="$work/repo$inflight"
  git init -q -b main "$repo"
  git -C "$repo" -c user.name=b -c user.email=b@x commit -q --allow-empty -m x
  {
    echo "[verify]"
    echo "smoke_concurrency = $inflight"
    echo "[[environments]]"
    echo "name = \"local\""
    echo "backend_url = \"$base\""
    echo "ci = false"
    echo "logfire = false"
    echo "smoke = ["
    for p in "${paths[@]}"; do echo "  { path = \"$p\", expect_status = 200 },"; done
    echo "]"
  } >"$repo/harness.toml"
done
printf '%s\n' "${paths[@]}" >"$work/paths.txt"
cat >"$work/curl-loop.sh" <<SH
#!/usr/bin/env bash
fail=0
while read -r p; do
  code=\$(curl -s -o /dev/null -w '%{http_code}' "$base\$p")
  [ "\$code" = 200 ] || { echo "\$p -> \$code"; fail=1; }
done < "$work/paths.txt"
exit \$fail
SH
export HARNESS_MARKER_DIR="$work/markers" NO_COLOR=1
vd="$bin/verify-deployment local --skip backend --skip schema -C"
# one correctness pass before timing: both must see 50 green endpoints
$vd "$work/repo8" | grep -q "50 endpoint(s) answered as expected"
bash "$work/curl-loop.sh"
mkdir -p "$here/.bench"
hyperfine --warmup 3 --runs 30 --export-json "$here/.bench/verify.json" \
  -n "verify-deployment smoke, 50 endpoints, 8 in flight (default)" "$vd $work/repo8" \
  -n "verify-deployment smoke, 50 endpoints, 50 in flight" "$vd $work/repo50" \
  -n "sequential curl loop, 50 endpoints" "bash $work/curl-loop.sh"
echo
echo "| command | median [ms] | mean ± σ [ms] |"
echo "|---|---:|---:|"
jq -r '.results[] | "| \(.command) | \(.median*1000*100|round/100) | \(.mean*1000*100|round/100) ± \(.stddev*1000*100|round/100) |"' "$here/.bench/verify.json" | tee "$here/.bench/verify.md"
