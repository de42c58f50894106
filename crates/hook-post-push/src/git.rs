//! Facts about the repository a push ran in, from `git` and (optionally) `gh`.
//!
//! Behind a trait so the decision logic is tested against fixed facts, and against real
//! repositories in the integration tests.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

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
    markers::git::run_bounded(cmd, limit).ok().flatten()
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    markers::git::git(dir, args).ok().flatten()
}

impl GitFacts for SystemGit {
    fn current_branch(&self, dir: &Path) -> Option<String> {
        markers::git::current_branch(dir).ok().flatten()
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
        markers::git::resolve_commit(dir, rev).ok().flatten()
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
