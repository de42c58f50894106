#!/usr/bin/env bash
# Runs the `run:` steps of workflows/review.yml's jobs, in order, on this machine against a platform
# checkout — what the workflow does, exercised for real without GitHub (docs/platform-check.md).
#
#   scripts/ci-local.sh <platform checkout> [--skip-job JOB]...
#
# The Postgres service container is replaced by the local PostgreSQL+pgvector `platform-check
# postgres` runs (a fresh database per job); actions/* steps get local stand-ins (scripts/ci-local.py
# says which, as it goes); steps that need GitHub itself are skipped and listed at the end.
# CI_LOCAL_BIN=<dir> uses binaries already built instead of building them.
# A local run is shorter than CI's: CI_LOCAL_DST_SEEDS (default 0..8), CI_LOCAL_DST_STEPS (100) and
# CI_LOCAL_ST_BUDGET (60 s) replace DST_SEEDS, DST_STEPS and the Schemathesis budget; printed below.
# Exit 0 when every job that ran succeeded, 1 otherwise, 2 on bad usage.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  echo "usage: scripts/ci-local.sh <platform checkout> [--skip-job JOB]..." >&2
  exit 2
fi
CHECKOUT=$(cd "$1" && pwd)
shift
SKIP_JOBS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-job) SKIP_JOBS+=("$2"); shift 2 ;;
    *) echo "ci-local: unknown argument $1" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${CI_LOCAL_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/ci-local.XXXXXX")}
mkdir -p "$STATE"
PC_CACHE=${DSF_PLATFORM_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dsf-harness/platform-check}
TOOLS_PY="$PC_CACHE/tools/bin/python"
if [ ! -x "$TOOLS_PY" ]; then
  bash "$ROOT/scripts/setup.sh"
fi
echo "ci-local: state in $STATE" >&2

# CI_LOCAL_BIN: a directory with already-built dst-sim, slop-detectors and platform-check.
if [ -n "${CI_LOCAL_BIN:-}" ]; then
  BIN=$CI_LOCAL_BIN
else
  echo "ci-local: building dst-sim, slop-detectors and platform-check (dev profile)" >&2
  (cd "$ROOT" && cargo build -q -p dst-sim -p slop-detectors -p platform-check)
  TARGET=$(cd "$ROOT" && cargo metadata -q --format-version 1 --no-deps \
    | "$TOOLS_PY" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  BIN="$TARGET/debug"
fi

# Each job's workspace is a fresh clone of the checkout (its committed state, like
# actions/checkout), made by ci-local.py at the job's start.

# The local PostgreSQL standing in for the service container.
PORT=$("$TOOLS_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/platform-check" postgres --port "$PORT" --log "$STATE/postgres.log" > "$STATE/postgres.url" &
PG_PID=$!
cleanup() { kill -TERM "$PG_PID" 2>/dev/null || true; wait "$PG_PID" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 600); do
  [ -s "$STATE/postgres.url" ] && break
  if ! kill -0 "$PG_PID" 2>/dev/null; then
    echo "ci-local: the local PostgreSQL did not start; last lines of $STATE/postgres.log:" >&2
    tail -n 15 "$STATE/postgres.log" >&2
    exit 1
  fi
  sleep 0.2
done
PSQLS=("$PC_CACHE"/tools/lib/python3*/site-packages/pgserver/pginstall/bin/psql)
PSQL=${PSQLS[0]}

# The harness-tools job resolves $HARNESS_REF in $HARNESS_REPO and restores harness-bin from the
# cache under that commit: point it at this repository and pre-seed that cache entry with the
# binaries just built (they include uncommitted changes of this working tree).
BRANCH=$(git -C "$ROOT" symbolic-ref --short HEAD)
SHA=$(git -C "$ROOT" rev-parse HEAD)
mkdir -p "$STATE/cache/harness-review-Linux-$SHA"
cp "$BIN/dst-sim" "$BIN/slop-detectors" "$BIN/platform-check" "$STATE/cache/harness-review-Linux-$SHA/"

SEEDS=${CI_LOCAL_DST_SEEDS:-0..8}
STEPS=${CI_LOCAL_DST_STEPS:-100}
BUDGET=${CI_LOCAL_ST_BUDGET:-60}
echo "ci-local: shorter than CI: DST_SEEDS=$SEEDS DST_STEPS=$STEPS ST_BUDGET=$BUDGET s" >&2

CONFIG=$("$TOOLS_PY" - "$ROOT" "$STATE" "$PORT" "$PSQL" "$SEEDS" "$STEPS" "$BUDGET" "$BRANCH" "$CHECKOUT" "${SKIP_JOBS[@]}" <<'PY'
import json, sys
root, state, port, psql, seeds, steps, budget, branch, checkout, *skip = sys.argv[1:]
print(json.dumps({
    "checkout": checkout,
    "workflow": f"{root}/workflows/review.yml",
    "workspace": f"{state}/workspace",
    "state": state,
    "db": {
        "psql": psql,
        "admin_url": f"postgresql://postgres@127.0.0.1:{port}/postgres",
        "name": "dsf",
        "port": port,
    },
    "overrides": {"DST_SEEDS": seeds, "DST_STEPS": steps},
    "vars": {"DSF_HARNESS_REPO": root, "DSF_HARNESS_REF": branch, "DSF_ST_BUDGET": budget},
    "skip_jobs": skip,
}))
PY
)
"$TOOLS_PY" "$ROOT/scripts/ci-local.py" "$CONFIG"
