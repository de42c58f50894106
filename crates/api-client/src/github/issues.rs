//! GitHub issues, comments and labels (used by triage-bot).
//!
//! - Listing uses `GET /repos/{o}/{r}/issues?labels=…&state=…` (core rate limit, no search-index lag)
//!   and drops pull requests, which that endpoint also returns (they carry a `pull_request` key).
//! - Labels, assignees and type are silently dropped by GitHub unless the token has push access;
//!   callers that need the label should check [`Issue::has_label`] on the answer.
//! - Issues disabled in a repository answer 410, which arrives as [`GitHubError::Http`].

use super::{GitHub, GitHubError, RepoSlug, query_escape};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A user as GitHub reports it on issues and comments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitHubUser {
    /// The login name.
    pub login: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
/// A label on an issue.
pub struct IssueLabel {
    /// The label's name.
    pub name: String,
}

/// One issue (or pull request, when `pull_request` is present). Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// The issue number.
    pub number: u64,
    /// Title.
    pub title: String,
    #[serde(default)]
    /// Body text.
    pub body: Option<String>,
    /// `open` or `closed`.
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    /// Its page on GitHub.
    pub html_url: Option<String>,
    #[serde(default)]
    /// Its labels.
    pub labels: Vec<IssueLabel>,
    #[serde(default)]
    /// Who wrote it.
    pub user: Option<GitHubUser>,
    #[serde(default)]
    /// When it was created (as sent).
    pub created_at: Option<String>,
    /// Present only on pull requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<Value>,
}

impl Issue {
    /// GitHub lists pull requests among issues; true for those.
    pub fn is_pull_request(&self) -> bool {
        self.pull_request.is_some()
    }

    /// True when the issue carries the label `name`.
    pub fn has_label(&self, name: &str) -> bool {
        self.labels
            .iter()
            .any(|l| l.name.eq_ignore_ascii_case(name))
    }

    /// The author's login, if GitHub names one.
    pub fn author(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.login.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
/// A comment on an issue.
pub struct IssueComment {
    /// The id.
    pub id: u64,
    #[serde(default)]
    /// Body text.
    pub body: Option<String>,
    #[serde(default)]
    /// Its page on GitHub.
    pub html_url: Option<String>,
    #[serde(default)]
    /// Who wrote it.
    pub user: Option<GitHubUser>,
    #[serde(default)]
    /// When it was created (as sent).
    pub created_at: Option<String>,
}

impl IssueComment {
    /// The author's login, if GitHub names one.
    pub fn author(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.login.as_str())
    }
}

/// Body of `POST /repos/{o}/{r}/issues`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewIssue {
    /// The title.
    pub title: String,
    /// Markdown body.
    pub body: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    /// Label names (created by GitHub if missing).
    pub labels: Vec<String>,
}

/// Body of `PATCH /repos/{o}/{r}/issues/{n}`: only the fields that are set change.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IssueUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    /// New title; `None` keeps it.
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// New body; `None` keeps it.
    pub body: Option<String>,
    /// `open` or `closed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Which issues [`GitHub::list_issues`] asks for.
#[derive(Debug, Clone)]
pub struct IssueFilter {
    /// Issues carrying every one of these labels.
    pub labels: Vec<String>,
    /// `open`, `closed` or `all`.
    pub state: String,
}

impl Default for IssueFilter {
    fn default() -> Self {
        IssueFilter {
            labels: Vec::new(),
            state: "open".into(),
        }
    }
}

fn repo_path(repo: &RepoSlug) -> String {
    format!(
        "/repos/{}/{}",
        query_escape(&repo.owner),
        query_escape(&repo.name)
    )
}

impl GitHub {
    /// Issues (never pull requests) matching `filter`, every page up to the page cap, newest first.
    pub async fn list_issues(
        &self,
        repo: &RepoSlug,
        filter: &IssueFilter,
    ) -> Result<Vec<Issue>, GitHubError> {
        let mut path = format!(
            "{}/issues?state={}&per_page=100",
            repo_path(repo),
            query_escape(&filter.state)
        );
        if !filter.labels.is_empty() {
            let labels: Vec<String> = filter.labels.iter().map(|l| query_escape(l)).collect();
            path.push_str(&format!("&labels={}", labels.join(",")));
        }
        let all: Vec<Issue> = self.get_all(&path, None).await?;
        Ok(all.into_iter().filter(|i| !i.is_pull_request()).collect())
    }

    /// One issue.
    pub async fn get_issue(&self, repo: &RepoSlug, number: u64) -> Result<Issue, GitHubError> {
        self.get(&format!("{}/issues/{number}", repo_path(repo)))
            .await
    }

    /// Opens an issue.
    pub async fn create_issue(
        &self,
        repo: &RepoSlug,
        issue: &NewIssue,
    ) -> Result<Issue, GitHubError> {
        self.post(&format!("{}/issues", repo_path(repo)), issue)
            .await
    }

    /// Changes an issue's title and/or body.
    pub async fn update_issue(
        &self,
        repo: &RepoSlug,
        number: u64,
        update: &IssueUpdate,
    ) -> Result<Issue, GitHubError> {
        self.patch(&format!("{}/issues/{number}", repo_path(repo)), update)
            .await
    }

    /// Every comment of an issue, oldest first, up to the page cap.
    pub async fn list_comments(
        &self,
        repo: &RepoSlug,
        number: u64,
    ) -> Result<Vec<IssueComment>, GitHubError> {
        self.get_all(
            &format!("{}/issues/{number}/comments?per_page=100", repo_path(repo)),
            None,
        )
        .await
    }

    /// Comments on an issue.
    pub async fn create_comment(
        &self,
        repo: &RepoSlug,
        number: u64,
        body: &str,
    ) -> Result<IssueComment, GitHubError> {
        self.post(
            &format!("{}/issues/{number}/comments", repo_path(repo)),
            &serde_json::json!({ "body": body }),
        )
        .await
    }

    /// Adds labels to an issue; returns the issue's labels afterwards.
    pub async fn add_labels(
        &self,
        repo: &RepoSlug,
        number: u64,
        labels: &[String],
    ) -> Result<Vec<IssueLabel>, GitHubError> {
        self.post(
            &format!("{}/issues/{number}/labels", repo_path(repo)),
            &serde_json::json!({ "labels": labels }),
        )
        .await
    }

    /// The permission (`admin`, `maintain`, `write`, `triage`, `read` or `none`) a user has on
    /// `repo`, from `GET /repos/{o}/{r}/collaborators/{user}/permission`.
    pub async fn collaborator_permission(
        &self,
        repo: &RepoSlug,
        user: &str,
    ) -> Result<String, GitHubError> {
        #[derive(Deserialize)]
        struct Permission {
            #[serde(default)]
            role_name: Option<String>,
            permission: String,
        }
        let p: Permission = self
            .get(&format!(
                "{}/collaborators/{}/permission",
                repo_path(repo),
                query_escape(user)
            ))
            .await?;
        Ok(p.role_name
            .filter(|r| !r.is_empty())
            .unwrap_or(p.permission))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_issue_and_recognises_pull_requests() {
        let v = serde_json::json!({
            "number": 12, "title": "t", "body": null, "state": "open",
            "labels": [{"name": "Feedback-Triage", "color": "ff0000"}],
            "user": {"login": "bot"}, "extra": 1
        });
        let i: Issue = serde_json::from_value(v).unwrap();
        assert!(i.has_label("feedback-triage"));
        assert!(!i.is_pull_request());
        assert_eq!(i.author(), Some("bot"));
        let pr: Issue = serde_json::from_value(serde_json::json!({
            "number": 13, "title": "pr", "pull_request": {"url": "x"}
        }))
        .unwrap();
        assert!(pr.is_pull_request());
    }

    #[test]
    fn new_issue_omits_empty_labels_and_update_omits_unset_fields() {
        let v = serde_json::to_value(NewIssue {
            title: "a".into(),
            body: "b".into(),
            labels: vec![],
        })
        .unwrap();
        assert!(v.get("labels").is_none());
        let u = serde_json::to_value(IssueUpdate {
            state: Some("closed".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(u, serde_json::json!({"state": "closed"}));
    }
}
