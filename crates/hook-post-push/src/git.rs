//! Facts about the repository a push ran in, from `git` and (optionally) `gh`.
//!
//! Behind a trait so the decision logic is tested against fixed facts, and against real
//! repositories in the integration tests.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What `gh pr view` says about the merged PR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrInfo {
    pub base_branch: String,
    pub merge_sha: Option<String>,
}

pub trait GitFacts {
    /// Current branch of the repository at `dir` (None when detached or not a repo).
    fn current_branch(&self, dir: &Path) -> Option<String>;
    /// Branch name of the current branch's upstream (`origin/main` → `main`).
    fn upstream_branch(&self, dir: &Path) -> Option<String>;
    /// Full SHA of `rev` in the repository at `dir`.
    fn rev_parse(&self, dir: &Path, rev: &str) -> Option<String>;
    /// `None` when `gh` is unavailable or could not answer.
    fn pr_view(&self, dir: &Path, selector: Option<&str>, repo: Option<&str>) -> Option<PrInfo>;
}

/// Runs the real `git` and `gh` binaries.
pub struct SystemGit;

fn run(cmd: &mut Command, limit: Duration) -> Option<String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GH_PROMPT_DISABLED", "1")
        .spawn()
        .ok()?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let out = child.wait_with_output().ok()?;
                if !status.success() {
                    return None;
                }
                let s = String::from_utf8(out.stdout).ok()?;
                let s = s.trim();
                return (!s.is_empty()).then(|| s.to_string());
            }
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    run(
        Command::new("git").arg("-C").arg(dir).args(args),
        Duration::from_secs(5),
    )
}

impl GitFacts for SystemGit {
    fn current_branch(&self, dir: &Path) -> Option<String> {
        git(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"])
    }

    fn upstream_branch(&self, dir: &Path) -> Option<String> {
        let up = git(
            dir,
            &[
                "rev-parse",
                "--abbrev-ref",
                "--symbolic-full-name",
                "@{upstream}",
            ],
        )?;
        // "origin/main" → "main"; a remote name never contains '/', a branch may.
        up.split_once('/').map(|(_, b)| b.to_string())
    }

    fn rev_parse(&self, dir: &Path, rev: &str) -> Option<String> {
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

    fn pr_view(&self, dir: &Path, selector: Option<&str>, repo: Option<&str>) -> Option<PrInfo> {
        let mut cmd = Command::new("gh");
        cmd.current_dir(dir).args(["pr", "view"]);
        if let Some(s) = selector {
            cmd.arg(s);
        }
        if let Some(r) = repo {
            cmd.args(["--repo", r]);
        }
        cmd.args(["--json", "baseRefName,mergeCommit"]);
        let out = run(&mut cmd, Duration::from_secs(15))?;
        let v: serde_json::Value = serde_json::from_str(&out).ok()?;
        Some(PrInfo {
            base_branch: v.get("baseRefName")?.as_str()?.to_string(),
            merge_sha: v
                .get("mergeCommit")
                .and_then(|m| m.get("oid"))
                .and_then(|o| o.as_str())
                .map(str::to_string),
        })
    }
}
