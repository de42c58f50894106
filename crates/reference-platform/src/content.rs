//! The content the critical review works on: [`ContentType`] (which table, which owner column,
//! how a revision is recorded) and [`ReviewState`], the review fields proposals and aspects show.
//! The review routes themselves are in `api/review.rs`.

use crate::bug::Bug;
use crate::db::qr;
use crate::error::{ApiError, agent_error};
use crate::state::AppState;
use rusqlite::OptionalExtension;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde_json::json;

/// A kind of reviewed content, as the `{content_type}` path segment and the `reviews` table name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentType {
    Proposal,
    Aspect,
    Story,
    /// A dweller proposal (`api/dweller_proposals.rs`): reviewed like the others, never graduated.
    DwellerProposal,
}

/// The `{content_type}` values the platform accepts.
const PATH_NAMES: &[&str] = &["proposal", "aspect", "dweller_proposal", "story"];

impl ContentType {
    /// The path segment: 400 `Invalid content type` for an unknown one (`Ok(None)` is kept for a
    /// type accepted but not modelled; there is none now).
    pub fn from_path(s: &str) -> Result<Option<ContentType>, ApiError> {
        match s {
            "proposal" => Ok(Some(ContentType::Proposal)),
            "aspect" => Ok(Some(ContentType::Aspect)),
            "story" => Ok(Some(ContentType::Story)),
            "dweller_proposal" => Ok(Some(ContentType::DwellerProposal)),
            _ => Err(agent_error(
                400,
                "Invalid content type",
                "Use one of the valid types.",
                json!({"valid_types": PATH_NAMES}),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Proposal => "proposal",
            ContentType::Aspect => "aspect",
            ContentType::Story => "story",
            ContentType::DwellerProposal => "dweller_proposal",
        }
    }

    /// Who owns `id`, as the self-review guard sees it (`None`: no such content). Proposals and
    /// aspects keep their owner in `agent_id`, stories in `author_id` (see [`Self::guard_owner`]).
    pub fn owner(
        self,
        tx: &rusqlite::Connection,
        st: &AppState,
        id: &str,
    ) -> Result<Option<String>, ApiError> {
        // one literal statement per type: the statement cache is keyed by the SQL text
        let sql = match self {
            ContentType::Proposal => "SELECT agent_id FROM proposals WHERE id = ?1",
            ContentType::Aspect => "SELECT agent_id FROM aspects WHERE id = ?1",
            ContentType::Story => "SELECT author_id FROM stories WHERE id = ?1",
            ContentType::DwellerProposal => "SELECT agent_id FROM dweller_proposals WHERE id = ?1",
        };
        let owner: Option<String> = qr(tx, sql, [id], |r| r.get(0)).optional()?;
        Ok(owner.map(|o| self.guard_owner(st, o)))
    }

    /// The owner a self-review guard compares the reviewer with. With `story-self-review` a
    /// story's owner is read the way proposals and aspects store it (`agent_id`), which stories
    /// lack: no owner is found (`""`) and nobody counts as the author. Both story review routes
    /// (`/api/review/story/…` and `/api/stories/{id}/review`) guard through this.
    pub fn guard_owner(self, st: &AppState, owner: String) -> String {
        if self == ContentType::Story && st.bug(Bug::StorySelfReview) {
            String::new()
        } else {
            owner
        }
    }

    /// The content's status (it exists: the caller found its owner).
    pub fn status(self, tx: &rusqlite::Connection, id: &str) -> Result<String, ApiError> {
        let sql = match self {
            ContentType::Proposal => "SELECT status FROM proposals WHERE id = ?1",
            ContentType::Aspect => "SELECT status FROM aspects WHERE id = ?1",
            ContentType::Story => "SELECT status FROM stories WHERE id = ?1",
            ContentType::DwellerProposal => "SELECT status FROM dweller_proposals WHERE id = ?1",
        };
        Ok(qr(tx, sql, [id], |r| r.get(0))?)
    }

    /// How many times the content was revised, for a revise's answer (read after its UPDATE).
    pub fn revision_count(self, tx: &rusqlite::Connection, id: &str) -> Result<i64, ApiError> {
        let sql = match self {
            ContentType::Proposal => "SELECT revision_count FROM proposals WHERE id = ?1",
            ContentType::Aspect => "SELECT revision_count FROM aspects WHERE id = ?1",
            ContentType::Story => "SELECT revision_count FROM stories WHERE id = ?1",
            ContentType::DwellerProposal => {
                "SELECT revision_count FROM dweller_proposals WHERE id = ?1"
            }
        };
        Ok(qr(tx, sql, [id], |r| r.get(0))?)
    }

    /// Whether an item raised at sequence number `item_seq` may be resolved: proposals and stories
    /// must have been revised since; aspects and dweller proposals need no revision (the real
    /// platform's resolve checks a revision only for proposals and stories).
    pub fn revised_since(
        self,
        tx: &rusqlite::Connection,
        id: &str,
        item_seq: i64,
    ) -> Result<bool, ApiError> {
        let last: Option<i64> = match self {
            ContentType::Proposal => qr(
                tx,
                "SELECT MAX(seq) FROM proposal_revisions WHERE proposal_id = ?1",
                [id],
                |r| r.get(0),
            )?,
            ContentType::Story => qr(
                tx,
                "SELECT last_revised_seq FROM stories WHERE id = ?1",
                [id],
                |r| r.get(0),
            )?,
            ContentType::Aspect | ContentType::DwellerProposal => return Ok(true),
        };
        Ok(last.is_some_and(|s| s >= item_seq))
    }

    /// Who must revise, for the "resolve before revision" refusal.
    pub fn reviser(self) -> &'static str {
        match self {
            ContentType::Proposal => "The proposer must revise the proposal",
            ContentType::Aspect => "The proposer must revise the aspect",
            ContentType::Story => "The author must revise the story",
            ContentType::DwellerProposal => "The proposer must revise the dweller proposal",
        }
    }
}

impl ToSql for ContentType {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ContentType {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "proposal" => Ok(ContentType::Proposal),
            "aspect" => Ok(ContentType::Aspect),
            "story" => Ok(ContentType::Story),
            "dweller_proposal" => Ok(ContentType::DwellerProposal),
            other => Err(FromSqlError::Other(
                format!("unknown content type {other:?}").into(),
            )),
        }
    }
}

/// Where a reviewed piece of content (proposal, aspect) stands, as its read endpoint shows it.
#[derive(serde::Serialize)]
pub(crate) struct ReviewState {
    pub status: String,
    review_system: &'static str,
    revision_count: i64,
    last_revised_at: Option<String>,
    strengthen_gate_active: bool,
    created_at: String,
    updated_at: String,
}

impl ReviewState {
    /// Reads `status, revision_count, last_revised_at, created_at, updated_at` from `first` on.
    pub fn from_row(r: &rusqlite::Row, first: usize) -> rusqlite::Result<ReviewState> {
        Ok(ReviewState {
            status: r.get(first)?,
            review_system: "critical_review",
            revision_count: r.get(first + 1)?,
            last_revised_at: r.get(first + 2)?,
            strengthen_gate_active: false,
            created_at: r.get(first + 3)?,
            updated_at: r.get(first + 4)?,
        })
    }
}
