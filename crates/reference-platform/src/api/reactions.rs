//! Reactions: `POST /api/stories/{id}/react` and `POST /api/social/react` (a story or a world).
//!
//! One reaction per agent and target. On a story the stored `reaction_count` is a total: a new
//! reaction adds 1, the same kind again takes it back (never below 0), another kind changes it and
//! leaves the count alone. On a world the stored `reaction_counts` are per kind: a new reaction
//! adds 1 to its kind, the same kind again takes 1 back, another kind moves 1 from the old kind to
//! the new. Both routes reach the same story reactions; they differ only in the answer (the story
//! route says `changed` and gives the new count, the social route says `updated`).

use super::stories::story_not_found;
use crate::auth::{Agent, ApiKey};
use crate::bug::{Bug, race_window};
use crate::db::{ex, qr};
use crate::error::{ApiError, ApiResult, not_found};
use crate::http::{JsonBody, St, StoryId, ok};
use crate::validate::{Body, uuid};
use api_client::vocab::ReactionType;
use axum::extract::State;
use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value, json};

/// What a reaction did to the agent's reaction on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Added,
    /// From the kind it had.
    Changed(ReactionType),
    Removed,
}

/// The kind of `agent`'s reaction on the target, if it has one.
fn existing_kind(
    tx: &rusqlite::Connection,
    (ttype, tid): (&str, &str),
    agent: &Agent,
) -> Result<Option<String>, ApiError> {
    Ok(qr(
        tx,
        "SELECT kind FROM reactions WHERE target_type = ?1 AND target_id = ?2 AND agent_id = ?3",
        [ttype, tid, &agent.id],
        |r| r.get(0),
    )
    .optional()?)
}

/// Records `agent`'s reaction of `kind` on the target (adding, changing or removing it).
fn toggle(
    tx: &rusqlite::Connection,
    target: (&str, &str),
    agent: &Agent,
    kind: ReactionType,
) -> Result<Change, ApiError> {
    let (ttype, tid) = target;
    let existing = existing_kind(tx, target, agent)?;
    let old = existing
        .as_deref()
        .and_then(|k| k.parse::<ReactionType>().ok());
    Ok(match old {
        Some(k) if k == kind => {
            ex(
                tx,
                "DELETE FROM reactions WHERE target_type = ?1 AND target_id = ?2 AND agent_id = ?3",
                params![ttype, tid, agent.id],
            )?;
            Change::Removed
        }
        Some(k) => {
            ex(
                tx,
                "UPDATE reactions SET kind = ?4 WHERE target_type = ?1 AND target_id = ?2 AND agent_id = ?3",
                params![ttype, tid, agent.id, kind.as_str()],
            )?;
            Change::Changed(k)
        }
        None => {
            ex(
                tx,
                "INSERT INTO reactions (target_type, target_id, agent_id, kind) VALUES (?1, ?2, ?3, ?4)",
                params![ttype, tid, agent.id, kind.as_str()],
            )?;
            Change::Added
        }
    })
}

/// The story's stored count, `None` if there is no such story.
fn story_count(tx: &rusqlite::Connection, id: &str) -> rusqlite::Result<Option<i64>> {
    qr(
        tx,
        "SELECT reaction_count FROM stories WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()
}

/// The world's stored per-kind counts, `None` if there is no such world.
fn world_counts(
    tx: &rusqlite::Connection,
    id: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    let text: Option<String> = qr(
        tx,
        "SELECT reaction_counts FROM worlds WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()?;
    Ok(text.map(|t| match serde_json::from_str::<Value>(&t) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }))
}

/// A story reaction; with the planted `reaction-lost-update`, an added reaction writes the count
/// read before the yield, + 1. A change of kind through the social route takes 1 from the total
/// (floored at 0) and adds 1 back, as the real platform's does: the same total unless it was 0.
async fn react_story(
    st: &crate::state::AppState,
    key: &ApiKey,
    id: &str,
    kind: ReactionType,
    social: bool,
) -> Result<(Change, i64), ApiError> {
    let stale = if st.bug(Bug::ReactionLostUpdate) {
        let snap = st.db.with_tx(|tx| Ok(story_count(tx, id)?))?;
        race_window().await;
        snap
    } else {
        None
    };
    st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let count = story_count(tx, id)?.ok_or_else(|| story_not_found(id))?;
        let change = toggle(tx, ("story", id), &agent, kind)?;
        let new_count = match change {
            Change::Removed => (count - 1).max(0),
            Change::Changed(_) if social => (count - 1).max(0) + 1,
            Change::Changed(_) => count,
            Change::Added => stale.unwrap_or(count) + 1,
        };
        ex(
            tx,
            "UPDATE stories SET reaction_count = ?2 WHERE id = ?1",
            params![id, new_count],
        )?;
        Ok((change, new_count))
    })
}

/// A world reaction; with the planted `world-reaction-lost-update`, the counts written are the ones
/// read before the yield, changed by this reaction alone.
async fn react_world(
    st: &crate::state::AppState,
    key: &ApiKey,
    id: &str,
    kind: ReactionType,
) -> Result<Change, ApiError> {
    let stale = if st.bug(Bug::WorldReactionLostUpdate) {
        let snap = st.db.with_tx(|tx| world_counts(tx, id))?;
        race_window().await;
        snap
    } else {
        None
    };
    st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let fresh = world_counts(tx, id)?.ok_or_else(|| not_found("World"))?;
        let mut counts = stale.clone().unwrap_or(fresh);
        let change = toggle(tx, ("world", id), &agent, kind)?;
        let mut bump = |k: ReactionType, delta: i64| {
            let n = counts.get(k.as_str()).and_then(Value::as_i64).unwrap_or(0);
            counts.insert(k.as_str().to_string(), json!((n + delta).max(0)));
        };
        match change {
            Change::Added => bump(kind, 1),
            Change::Removed => bump(kind, -1),
            Change::Changed(old) => {
                bump(old, -1);
                bump(kind, 1);
            }
        }
        ex(
            tx,
            "UPDATE worlds SET reaction_counts = ?2 WHERE id = ?1",
            params![id, Value::Object(counts).to_string()],
        )?;
        Ok(change)
    })
}

/// A comment's reaction (`POST /api/social/comment` with a `reaction`; `ttype` is `story` or
/// `world` and the target exists): the agent's reaction to the target when it has none there (a
/// reaction and 1 more on the count, as a new reaction through the react routes), nothing when it
/// has one (a comment never takes a reaction back or changes its kind). With the planted
/// `comment-reaction-counts-again` every comment's reaction adds 1 to the count and none is kept
/// as the agent's, as the real platform's comment handler does (api/social.py:488-496).
pub(super) fn comment_reaction(
    st: &crate::state::AppState,
    tx: &rusqlite::Connection,
    target: (&str, &str),
    agent: &Agent,
    kind: ReactionType,
) -> Result<(), ApiError> {
    let (ttype, id) = target;
    if !st.bug(Bug::CommentReactionCountsAgain) {
        if existing_kind(tx, target, agent)?.is_some() {
            return Ok(());
        }
        toggle(tx, target, agent, kind)?;
    }
    if ttype == "story" {
        ex(
            tx,
            "UPDATE stories SET reaction_count = reaction_count + 1 WHERE id = ?1",
            [id],
        )?;
    } else {
        let mut counts = world_counts(tx, id)?.unwrap_or_default();
        let n = counts
            .get(kind.as_str())
            .and_then(Value::as_i64)
            .unwrap_or(0);
        counts.insert(kind.as_str().to_string(), json!(n + 1));
        ex(
            tx,
            "UPDATE worlds SET reaction_counts = ?2 WHERE id = ?1",
            params![id, Value::Object(counts).to_string()],
        )?;
    }
    Ok(())
}

/// `POST /api/stories/{id}/react {"reaction_type"}`.
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
    let (change, count) = react_story(&st, &key, &id, kind, false).await?;
    let action = match change {
        Change::Added => "added",
        Change::Changed(_) => "changed",
        Change::Removed => "removed",
    };
    ok(json!({"action": action, "reaction_type": kind.as_str(), "new_reaction_count": count}))
}

/// `POST /api/social/react {"target_type": "world" | "story", "target_id", "reaction_type"}`.
pub(super) async fn social_react(State(st): St, key: ApiKey, JsonBody(v): JsonBody) -> ApiResult {
    let mut b = Body::new(&v)?;
    let target_type = b.one_of("target_type", &["world", "story"], false);
    let target = b.str("target_id", 1, None, true);
    let kind = b.vocab("reaction_type", ReactionType::ALL, true);
    b.finish()?;
    let target = uuid("body -> target_id", &target.unwrap_or_default())?;
    let kind = kind.unwrap_or(ReactionType::Fire);
    let change = if target_type.as_deref() == Some("story") {
        react_story(&st, &key, &target, kind, true).await?.0
    } else {
        react_world(&st, &key, &target, kind).await?
    };
    let action = match change {
        Change::Added => "added",
        Change::Changed(_) => "updated",
        Change::Removed => "removed",
    };
    ok(json!({"action": action, "reaction_type": kind.as_str()}))
}
