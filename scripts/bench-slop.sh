#!/usr/bin/env bash
# make bench-slop: slop-detectors vs semgrep (equivalent rules, scripts/bench-slop/semgrep.yml) on a
# generated ~50k-line FastAPI project, plus slop-detectors alone on any extra directories given as
# arguments (e.g. a real backend checkout). Wall-clock medians by hyperfine; lines/s from the medians.
# semgrep is installed from PyPI into target/bench-slop/venv here, never in the test path.
# Copy the printed table into docs/PERFORMANCE.md.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$here/target/bench-slop"
mkdir -p "$work"
SEMGREP_VERSION="${SEMGREP_VERSION:-1.185.0}"
LINES="${LINES:-50000}"

command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; } >/dev/null
command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; } >/dev/null
if [ ! -x "$work/venv/bin/semgrep" ]; then
  echo "bench-slop: installing semgrep $SEMGREP_VERSION from PyPI into $work/venv" >&2
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q "semgrep==$SEMGREP_VERSION" >&2
fi
cargo build --release --quiet --manifest-path "$here/Cargo.toml" -p slop-detectors
bin="${CARGO_TARGET_DIR:-$here/target}/release/slop-detectors"
semgrep="$work/venv/bin/semgrep"

# Outside the repository: semgrep skips files its git repository ignores (target/ is ignored).
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
corpus="$tmp/corpus"
python3 "$here/scripts/bench-slop/gen_corpus.py" "$corpus" "$LINES" >&2
lines=$(find "$corpus" -name '*.py' -print0 | xargs -0 cat | wc -l)

echo "machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg), $(rustc --version)"
echo "corpus: $lines lines of Python in $(find "$corpus" -name '*.py' | wc -l) files"
echo
echo "findings per rule (same corpus):"
echo "| rule | slop-detectors | semgrep |"
echo "|---|---:|---:|"
"$bin" "$corpus" --no-baseline --json 2>/dev/null | jq -r '.[].rule' | sort | uniq -c >"$work/ours.txt" || true
"$semgrep" scan --config "$here/scripts/bench-slop/semgrep.yml" --metrics=off --disable-version-check -q --json "$corpus" 2>/dev/null \
  | jq -r '.results[].check_id | split(".") | last' | sort | uniq -c >"$work/theirs.txt" || true
for rule in selectinload agent-error raw-sql enum-case response-model; do
  ours=$(awk -v r="$rule" '$2==r{print $1}' "$work/ours.txt"); theirs=$(awk -v r="$rule" '$2==r{print $1}' "$work/theirs.txt")
  echo "| $rule | ${ours:-0} | ${theirs:-0} |"
done
echo

hyperfine --warmup 3 --runs "${RUNS:-20}" -i --export-json "$work/ours.json" \
  -n "slop-detectors (2 threads)" "$bin $corpus --no-baseline --json -o /dev/null" \
  -n "slop-detectors (1 thread)" "RAYON_NUM_THREADS=1 $bin $corpus --no-baseline --json -o /dev/null" >&2
hyperfine --warmup 1 --runs "${SEMGREP_RUNS:-3}" -i --export-json "$work/semgrep.json" \
  -n "semgrep $SEMGREP_VERSION (4 rules)" "$semgrep scan --config $here/scripts/bench-slop/semgrep.yml --metrics=off --disable-version-check -q --json -o /dev/null $corpus" >&2

echo "| command | median ms | user+sys CPU ms | lines/s |"
echo "|---|---:|---:|---:|"
for f in "$work/ours.json" "$work/semgrep.json"; do
  jq -r --argjson lines "$lines" '.results[] | "| \(.command) | \(.median*1000|round) | \(((.user+.system)*1000)|round) | \(($lines/.median)|round) |"' "$f"
done

# Extra directories (real code): slop-detectors only.
for dir in "$@"; do
  dl=$(find "$dir" -name '*.py' -not -path '*/.venv/*' -print0 | xargs -0 cat | wc -l)
  hyperfine --warmup 3 --runs "${RUNS:-20}" -i --export-json "$work/extra.json" \
    -n "slop-detectors $(basename "$dir")" "$bin $dir --no-baseline --json -o /dev/null" >&2
  jq -r --argjson lines "$dl" '.results[] | "| \(.command) (\($lines) lines incl. tests) | \(.median*1000|round) | \(((.user+.system)*1000)|round) | \(($lines/.median)|round) |"' "$work/extra.json"
  "$bin" "$dir" --no-baseline 2>/dev/null | tail -2 || true   # exit 1 = findings, expected
done
