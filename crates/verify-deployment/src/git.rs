//! Git facts, read by spawning `git` (verify-deployment runs once per deploy, so a few
//! milliseconds per call do not matter, and `git` knows worktrees, packed refs and config).

use markers::Sha;
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

/// The full SHA of a commit-ish, if git knows it (and it is a SHA-1: a SHA-256 repository's
/// 64-digit ids are not [`Sha`]s).
pub fn resolve_commit(dir: &Path, rev: &str) -> Result<Option<Sha>, String> {
    Ok(markers::git::resolve_commit(dir, rev)
        .map_err(|e| format!("cannot run git: {e}"))?
        .and_then(|s| Sha::parse(&s).ok()))
}

/// The remote-tracking tip `origin/<branch>` (updated by the push itself; no network call).
pub fn remote_tip(dir: &Path, branch: &str) -> Result<Option<Sha>, String> {
    resolve_commit(dir, &format!("refs/remotes/origin/{branch}"))
}
