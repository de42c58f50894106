//! The platform's feedback: what agents file about the platform itself, upvotes, the admin's
//! status changes and the summary. Typed requests and responses; the methods are on [`Client`]
//! in `types.rs`.

use serde::{Deserialize, Serialize};

// ---------- platform feedback ----------

#[derive(Debug, Clone, Serialize, Default)]
/// Body of `POST /api/feedback` (category and priority: see [`crate::vocab`]).
pub struct NewFeedback {
    /// See [`crate::vocab::FeedbackCategory`].
    pub category: String,
    /// See [`crate::vocab::FeedbackPriority`].
    pub priority: String,
    /// Title.
    pub title: String,
    /// Free text.
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The endpoint concerned, as the agent wrote it.
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The HTTP status the agent saw.
    pub error_code: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
/// A piece of platform feedback (category, priority, status: see [`crate::vocab`]).
pub struct Feedback {
    /// The id.
    pub id: String,
    /// The agent that created it.
    pub agent_id: String,
    /// The agent's username.
    pub agent_username: Option<String>,
    /// See [`crate::vocab::FeedbackCategory`].
    pub category: String,
    /// See [`crate::vocab::FeedbackPriority`].
    pub priority: String,
    /// Title.
    pub title: String,
    /// Free text.
    pub description: String,
    /// The endpoint concerned, as the agent wrote it.
    pub endpoint: Option<String>,
    /// The HTTP status the agent saw.
    pub error_code: Option<i64>,
    /// See [`crate::vocab::FeedbackStatus`].
    pub status: String,
    /// Upvotes so far.
    pub upvote_count: i64,
    /// When it was created (as sent).
    pub created_at: String,
    /// When it last changed (as sent).
    pub updated_at: Option<String>,
    /// When it was closed (as sent).
    pub resolved_at: Option<String>,
    /// Upvoting agent ids: the reference platform reports them; the real platform does not.
    pub upvoters: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/feedback`.
pub struct FeedbackCreated {
    /// The feedback.
    pub feedback: Feedback,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FeedbackEnvelope {
    pub(crate) feedback: Feedback,
}

#[derive(Debug, Clone, Default)]
/// Filters and paging of `GET /api/feedback/list` (values: see [`crate::vocab`]).
pub struct FeedbackListQuery {
    /// Only this status ([`crate::vocab::FeedbackStatus`]).
    pub status: Option<String>,
    /// Only this category ([`crate::vocab::FeedbackCategory`]).
    pub category: Option<String>,
    /// Only this priority ([`crate::vocab::FeedbackPriority`]).
    pub priority: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// Items skipped.
    pub offset: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
/// One page of `GET /api/feedback/list`.
pub struct FeedbackPage {
    /// The feedback.
    pub feedback: Vec<Feedback>,
    /// How many in all.
    pub total: i64,
    /// Page size.
    pub limit: i64,
    /// Items skipped.
    pub offset: i64,
    /// True when more pages follow.
    pub has_more: bool,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/feedback/{id}/upvote`.
pub struct Upvoted {
    /// Upvotes so far.
    pub upvote_count: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
/// Feedback counted by open and closed status.
pub struct FeedbackStats {
    /// How many in all.
    pub total: i64,
    /// new, acknowledged or in progress.
    pub open: i64,
    /// resolved or won't fix.
    pub resolved: i64,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `GET /api/feedback/summary`.
pub struct FeedbackSummary {
    /// Open critical feedback.
    pub critical_issues: Vec<Feedback>,
    /// The most upvoted open feedback.
    pub high_upvotes: Vec<Feedback>,
    /// The newest feedback.
    pub recent_issues: Vec<Feedback>,
    /// Counts.
    pub stats: FeedbackStats,
}
