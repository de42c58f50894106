//! Publishing the report idempotently.
//!
//! 1. List open issues labelled [`LABEL`] (REST list, not search: no index lag; pull requests
//!    dropped) and take the newest whose body starts with [`report::MARKER`].
//! 2. None: create one issue with the report and the label. If GitHub dropped the label (a token
//!    without push access), that is an error: the next run could not find the issue and would open
//!    another.
//! 3. One: its current fingerprint is the one in the newest comment *by the issue's author* that
//!    carries one, else the one in its body. Comments by anyone else are ignored, so a stranger
//!    cannot forge "nothing changed". Same fingerprint → nothing is written. Different → one
//!    comment with the new report.

use crate::report;
use api_client::github::issues::{IssueFilter, NewIssue};
use api_client::github::{GitHub, GitHubError, RepoSlug};
use serde::Serialize;

/// The label of the triage issue.
pub const LABEL: &str = "feedback-triage";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Outcome {
    Created { number: u64, url: Option<String> },
    Commented { number: u64, url: Option<String> },
    Unchanged { number: u64, url: Option<String> },
}

impl Outcome {
    pub fn number(&self) -> u64 {
        match self {
            Outcome::Created { number, .. }
            | Outcome::Commented { number, .. }
            | Outcome::Unchanged { number, .. } => *number,
        }
    }

    pub fn url(&self) -> Option<&str> {
        match self {
            Outcome::Created { url, .. }
            | Outcome::Commented { url, .. }
            | Outcome::Unchanged { url, .. } => url.as_deref(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(
        "created issue #{number}, but GitHub dropped the `{LABEL}` label (the token needs push access to label issues); fix the token before the next run, or it cannot find this issue and opens another"
    )]
    LabelDropped { number: u64 },
}

pub async fn publish(
    gh: &GitHub,
    repo: &RepoSlug,
    title: &str,
    body: &str,
    fingerprint: &str,
) -> Result<Outcome, PublishError> {
    let open = gh
        .list_issues(
            repo,
            &IssueFilter {
                labels: vec![LABEL.into()],
                state: "open".into(),
            },
        )
        .await?;
    let existing = open
        .into_iter()
        .filter(|i| {
            i.body
                .as_deref()
                .is_some_and(|b| b.trim_start().starts_with(report::MARKER))
        })
        .max_by_key(|i| i.number);
    let Some(issue) = existing else {
        let created = gh
            .create_issue(
                repo,
                &NewIssue {
                    title: title.into(),
                    body: body.into(),
                    labels: vec![LABEL.into()],
                },
            )
            .await?;
        if !created.has_label(LABEL) {
            return Err(PublishError::LabelDropped {
                number: created.number,
            });
        }
        return Ok(Outcome::Created {
            number: created.number,
            url: created.html_url,
        });
    };
    let comments = gh.list_comments(repo, issue.number).await?;
    let author = issue.author();
    let from_comments = comments
        .iter()
        .rev()
        .filter(|c| author.is_some() && c.author() == author)
        .find_map(|c| c.body.as_deref().and_then(report::find_fingerprint));
    let current =
        from_comments.or_else(|| issue.body.as_deref().and_then(report::find_fingerprint));
    if current.as_deref() == Some(fingerprint) {
        return Ok(Outcome::Unchanged {
            number: issue.number,
            url: issue.html_url,
        });
    }
    let comment = gh.create_comment(repo, issue.number, body).await?;
    Ok(Outcome::Commented {
        number: issue.number,
        url: comment.html_url.or(issue.html_url),
    })
}
