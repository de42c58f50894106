//! GitHub Actions workflow runs for a commit (used by verify-deployment).
//!
//! `GET /repos/{owner}/{repo}/actions/runs?head_sha=…` lists every run GitHub started for a commit.
//! The caller decides what counts (verify-deployment drops pull_request-event runs and anything
//! whose `head_sha` is not exactly the commit, in case a server ignores the filter).

use super::{GitHub, GitHubError, RepoSlug, query_escape};
use serde::{Deserialize, Serialize};

/// One workflow run, as far as verify-deployment needs it. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRun {
    /// The run's id.
    pub id: u64,
    #[serde(default)]
    /// The workflow's name.
    pub name: Option<String>,
    #[serde(default)]
    /// The workflow a re-run shares with the run it repeats.
    pub workflow_id: Option<u64>,
    /// The commit the run is for.
    pub head_sha: String,
    #[serde(default)]
    /// The branch it ran on.
    pub head_branch: Option<String>,
    /// `push`, `pull_request`, `workflow_dispatch`, …
    #[serde(default)]
    pub event: String,
    /// `requested`, `queued`, `pending`, `waiting`, `in_progress`, `completed`.
    #[serde(default)]
    pub status: Option<String>,
    /// Set once `completed`: `success`, `failure`, `cancelled`, `skipped`, `neutral`, `timed_out`,
    /// `action_required`, `stale`, `startup_failure`.
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    /// The run's page.
    pub html_url: Option<String>,
    #[serde(default)]
    /// 1 for the first attempt, more for re-runs.
    pub run_attempt: Option<u32>,
    /// RFC 3339, e.g. `2026-11-24T01:02:03Z`.
    #[serde(default)]
    pub created_at: Option<String>,
}

impl WorkflowRun {
    /// True once GitHub reports `completed`.
    pub fn is_completed(&self) -> bool {
        self.status.as_deref() == Some("completed")
    }

    /// `name` or, when absent, `run <id>`.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("run {}", self.id))
    }
}

impl GitHub {
    /// Every workflow run of `repo` for commit `sha` (all events, all pages up to the page cap).
    /// `sha` should be the full 40-hex SHA: GitHub matches `head_sha` exactly.
    pub async fn workflow_runs_for_sha(
        &self,
        repo: &RepoSlug,
        sha: &str,
    ) -> Result<Vec<WorkflowRun>, GitHubError> {
        let path = format!(
            "/repos/{}/{}/actions/runs?head_sha={}&per_page=100&exclude_pull_requests=true",
            query_escape(&repo.owner),
            query_escape(&repo.name),
            query_escape(sha.trim())
        );
        self.get_all(&path, Some("workflow_runs")).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_run_and_ignores_unknown_fields() {
        let v = serde_json::json!({
            "id": 7, "name": "CI", "workflow_id": 3, "head_sha": "abc", "head_branch": "main",
            "event": "push", "status": "completed", "conclusion": "success",
            "html_url": "https://github.com/o/r/actions/runs/7", "run_attempt": 2,
            "created_at": "2026-11-24T01:02:03Z", "pull_requests": [], "actor": {"login": "x"}
        });
        let r: WorkflowRun = serde_json::from_value(v).unwrap();
        assert!(r.is_completed());
        assert_eq!(r.label(), "CI");
        assert_eq!(r.conclusion.as_deref(), Some("success"));
        let bare: WorkflowRun =
            serde_json::from_value(serde_json::json!({"id": 9, "head_sha": "abc"})).unwrap();
        assert!(!bare.is_completed());
        assert_eq!(bare.label(), "run 9");
    }
}
