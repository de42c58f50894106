//! Git facts, read by spawning `git` (verify-deployment runs once per deploy, so a few
//! milliseconds per call do not matter, and `git` knows worktrees, packed refs and config).

use std::path::Path;

/// Runs `git -C dir args…` (bounded, no prompt: `markers::git`); `Ok(None)` when git ran and
/// failed (e.g. no such ref), `Err` when git could not be started.
fn git(dir: &Path, args: &[&str]) -> Result<Option<String>, String> {
    markers::git::git(dir, args).map_err(|e| format!("cannot run git: {e}"))
}

/// The URL of the `origin` remote (never `upstream` or any other remote).
pub fn origin_url(dir: &Path) -> Result<Option<String>, String> {
    git(dir, &["remote", "get-url", "origin"])
}

/// The checked-out branch; `None` on a detached HEAD.
pub fn current_branch(dir: &Path) -> Result<Option<String>, String> {
    markers::git::current_branch(dir).map_err(|e| format!("cannot run git: {e}"))
}

/// The full SHA of a commit-ish, if git knows it.
pub fn resolve_commit(dir: &Path, rev: &str) -> Result<Option<String>, String> {
    markers::git::resolve_commit(dir, rev).map_err(|e| format!("cannot run git: {e}"))
}

/// The remote-tracking tip `origin/<branch>` (updated by the push itself; no network call).
pub fn remote_tip(dir: &Path, branch: &str) -> Result<Option<String>, String> {
    resolve_commit(dir, &format!("refs/remotes/origin/{branch}"))
}

/// True for 7 to 40 hex digits.
pub fn looks_like_sha(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// True for a full 40-hex SHA-1.
pub fn is_full_sha(s: &str) -> bool {
    s.len() == 40 && looks_like_sha(s)
}

/// The first 7 characters, for messages.
pub fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}
