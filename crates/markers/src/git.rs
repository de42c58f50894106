//! Git facts, read by spawning `git` — shared by the hooks and verify-deployment.
//!
//! `git` knows worktrees, packed refs and config, so asking it beats parsing `.git` by hand. Every
//! call runs with no terminal prompt, stdin closed and a time bound, so a hook never hangs a session.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one git query may take before it is killed.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(5);

/// Runs `cmd` (no prompts, stdin closed, stderr dropped) for at most `limit`. `Ok(Some(stdout))`,
/// trimmed, when it succeeded and printed something; `Ok(None)` when it failed, printed nothing or
/// non-UTF-8, or ran out of time; `Err` when it could not be started.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> std::io::Result<Option<String>> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GH_PROMPT_DISABLED", "1")
        .spawn()?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let Ok(out) = child.wait_with_output() else {
                    return Ok(None);
                };
                if !status.success() {
                    return Ok(None);
                }
                let Ok(s) = String::from_utf8(out.stdout) else {
                    return Ok(None);
                };
                let s = s.trim();
                return Ok((!s.is_empty()).then(|| s.to_string()));
            }
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
        }
    }
}

/// `git -C dir args…`, bounded by [`DEFAULT_LIMIT`].
pub fn git(dir: &Path, args: &[&str]) -> std::io::Result<Option<String>> {
    run_bounded(
        Command::new("git").arg("-C").arg(dir).args(args),
        DEFAULT_LIMIT,
    )
}

/// The checked-out branch; `None` on a detached HEAD or outside a repository.
pub fn current_branch(dir: &Path) -> std::io::Result<Option<String>> {
    git(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"])
}

/// The full SHA of a commit-ish, if git knows it (a rev starting with `-` is never passed on).
pub fn resolve_commit(dir: &Path, rev: &str) -> std::io::Result<Option<String>> {
    if rev.starts_with('-') {
        return Ok(None);
    }
    git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
}
