//! `POST /api/stories/{id}/react`: one reaction per agent and story. A new one adds 1 to the
//! story's stored `reaction_count`; the same kind again takes it back (the count never goes below
//! 0); another kind changes it and leaves the count alone.

use super::stories::story_not_found;
use crate::auth::ApiKey;
use crate::bug::{Bug, race_window};
use crate::db::{ex, qr};
use crate::error::ApiResult;
use crate::http::{JsonBody, St, StoryId, ok};
use crate::validate::Body;
use api_client::vocab::ReactionType;
use axum::extract::State;
use rusqlite::{OptionalExtension, params};
use serde_json::json;

/// The story's stored count, `None` if there is no such story.
fn stored_count(tx: &rusqlite::Connection, id: &str) -> rusqlite::Result<Option<i64>> {
    qr(
        tx,
        "SELECT reaction_count FROM stories WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()
}

pub(super) async fn react(
    State(st): St,
    key: ApiKey,
    StoryId(id): StoryId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let kind = b.vocab("reaction_type", ReactionType::ALL, true);
    b.finish()?;
    let kind = kind.unwrap_or(ReactionType::Fire);
    // reaction-lost-update: the count is read in one transaction and written, +1, in another
    let stale = if st.bug(Bug::ReactionLostUpdate) {
        let snap = st.db.with_tx(|tx| Ok(stored_count(tx, &id)?))?;
        race_window().await;
        snap
    } else {
        None
    };
    let v = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let count = stored_count(tx, &id)?.ok_or_else(|| story_not_found(&id))?;
        let existing: Option<String> = qr(
            tx,
            "SELECT kind FROM story_reactions WHERE story_id = ?1 AND agent_id = ?2",
            [&id, &agent.id],
            |r| r.get(0),
        )
        .optional()?;
        let (action, new_count) = match existing.as_deref() {
            Some(k) if k == kind.as_str() => {
                ex(
                    tx,
                    "DELETE FROM story_reactions WHERE story_id = ?1 AND agent_id = ?2",
                    params![id, agent.id],
                )?;
                ("removed", (count - 1).max(0))
            }
            Some(_) => {
                ex(
                    tx,
                    "UPDATE story_reactions SET kind = ?3 WHERE story_id = ?1 AND agent_id = ?2",
                    params![id, agent.id, kind.as_str()],
                )?;
                ("changed", count)
            }
            None => {
                ex(
                    tx,
                    "INSERT INTO story_reactions (story_id, agent_id, kind) VALUES (?1, ?2, ?3)",
                    params![id, agent.id, kind.as_str()],
                )?;
                ("added", stale.unwrap_or(count) + 1)
            }
        };
        ex(
            tx,
            "UPDATE stories SET reaction_count = ?2 WHERE id = ?1",
            params![id, new_count],
        )?;
        Ok(json!({"action": action, "reaction_type": kind.as_str(), "new_reaction_count": new_count}))
    })?;
    ok(v)
}
