#!/usr/bin/env bash
# make install-hooks PROJECT=<dir>: build the hooks, copy them into <dir>/.claude/bin, and merge
# hooks/settings.json into <dir>/.claude/settings.json (idempotent; the user's other hooks are kept).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
project="${1:-}"
if [ -z "$project" ]; then
  echo "usage: make install-hooks PROJECT=/path/to/your/repo" >&2
  exit 2
fi
if [ ! -d "$project" ]; then
  echo "install-hooks: $project is not a directory" >&2
  exit 2
fi
project="$(cd "$project" && pwd)"
cargo build --release --quiet --manifest-path "$here/Cargo.toml" -p hook-post-push -p hook-stop -p markers
target="${CARGO_TARGET_DIR:-$here/target}/release"
mkdir -p "$project/.claude/bin"
for bin in hook-post-push hook-stop harness-markers; do
  install -m 0755 "$target/$bin" "$project/.claude/bin/$bin"
done
"$target/harness-markers" --project "$project" merge-settings --from "$here/hooks/settings.json"
echo "installed: $project/.claude/bin/{hook-post-push,hook-stop,harness-markers}" >&2
echo "next: paste docs/claude-md-snippet.md into $project/CLAUDE.md" >&2
