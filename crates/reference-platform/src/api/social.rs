//! Follows and comments: `POST /api/social/follow` and `/unfollow` (a world or an agent),
//! `GET /api/social/following` (the caller's), `GET /api/social/followers/{world_id}`,
//! `POST /api/social/comment` (on a world or a story) and
//! `GET /api/social/comments/{target_type}/{target_id}`.
//!
//! One follow per agent and target: a second follow only updates its notification preferences
//! (`updated_preferences`), an unfollow of a target one does not follow answers `not_following`.
//! A world stores its `follower_count` (+1 per follow, −1 per unfollow, in SQL) and a world or a
//! story its `comment_count` (+1 per comment). Comments are kept in the order they were made. A
//! comment's text may be empty (the platform declares no minimum); a NUL byte is refused (422),
//! as a text column cannot hold one.

use crate::auth::ApiKey;
use crate::bug::{Bug, race_window};
use crate::db::{ex, new_id, now, qr, seq};
use crate::error::{ApiError, ApiResult, agent_error, not_found};
use crate::http::{JsonBody, Q, St, WorldId, ok};
use crate::validate::{Body, invalid, query_int, uuid, uuid_path};
use api_client::vocab::ReactionType;
use axum::extract::{Path, Query, State};
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

/// A target's stored count column (`follower_count`, `comment_count`), `None` if there is no such
/// target. `table` and `column` are this file's constants, never input.
fn stored_count(
    tx: &rusqlite::Connection,
    table: &str,
    column: &str,
    id: &str,
) -> Result<Option<i64>, ApiError> {
    let sql = format!("SELECT {column} FROM {table} WHERE id = ?1");
    Ok(qr(tx, &sql, [id], |r| r.get(0)).optional()?)
}

/// The table a follow or comment target lives in.
fn table(target_type: &str) -> &'static str {
    match target_type {
        "story" => "stories",
        "user" => "agents",
        _ => "worlds",
    }
}

fn missing(target_type: &str, id: &str) -> ApiError {
    let what = match target_type {
        "story" => "Story",
        "user" => "User",
        _ => "World",
    };
    agent_error(
        404,
        &format!("{what} not found"),
        "Check the target_id is correct.",
        json!({"target_id": id}),
    )
}

/// The `{target_type, target_id}` of a follow or comment body, and the rest of its fields checked.
fn target(b: &mut Body, allowed: &[&str]) -> Option<(String, String)> {
    let ttype = b
        .one_of("target_type", allowed, false)
        .unwrap_or_else(|| "world".into());
    let id = b.str("target_id", 1, None, true)?;
    Some((ttype, id))
}

/// The follow body's preferences, echoed in the answer.
fn preferences(b: &mut Body) -> (bool, Vec<String>) {
    let notify = match b.raw("notify") {
        None => true,
        Some(Value::Bool(x)) => *x,
        Some(other) => {
            b.push(
                "notify",
                "Input should be a valid boolean".into(),
                "bool_type",
                other.clone(),
            );
            true
        }
    };
    let events = if b.raw("notify_events").is_some() {
        b.str_list("notify_events")
    } else {
        vec!["daily_digest".to_string()]
    };
    (notify, events)
}

/// `POST /api/social/follow {"target_type": "world" | "user", "target_id", "notify", "notify_events"}`.
pub(super) async fn follow(State(st): St, key: ApiKey, JsonBody(v): JsonBody) -> ApiResult {
    let mut b = Body::new(&v)?;
    let t = target(&mut b, &["world", "user"]);
    let (notify, events) = preferences(&mut b);
    b.finish()?;
    let (ttype, raw) = t.unwrap_or_default();
    let id = uuid("body -> target_id", &raw)?;
    let counted = ttype == "world";
    // follow-lost-update: the count is read before the yield and written back + 1 after it
    let stale = if counted && st.bug(Bug::FollowLostUpdate) {
        let snap = st
            .db
            .with_tx(|tx| stored_count(tx, "worlds", "follower_count", &id))?;
        race_window().await;
        snap
    } else {
        None
    };
    let is_following = |tx: &rusqlite::Connection, agent: &str| -> Result<bool, ApiError> {
        Ok(qr(
            tx,
            "SELECT EXISTS(SELECT 1 FROM follows WHERE agent_id = ?1 AND target_type = ?2 AND target_id = ?3)",
            params![agent, ttype, id],
            |r| r.get(0),
        )?)
    };
    // follow-race: "already following?" is answered before the yield, the insert comes after it
    let checked = if st.bug(Bug::FollowRace) {
        let snap = st.db.with_tx(|tx| {
            let agent = key.agent(tx)?;
            is_following(tx, &agent.id)
        })?;
        race_window().await;
        Some(snap)
    } else {
        None
    };
    let action = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        if stored_count(tx, table(&ttype), "1", &id)?.is_none() {
            return Err(missing(&ttype, &id));
        }
        let following = match checked {
            Some(f) => f,
            None => is_following(tx, &agent.id)?,
        };
        if following && !st.bug(Bug::FollowTwiceCountsTwice) {
            return Ok("updated_preferences");
        }
        ex(
            tx,
            "INSERT INTO follows (agent_id, target_type, target_id, created_at, seq) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![agent.id, ttype, id, now(), seq()],
        )?;
        if counted {
            match stale {
                Some(n) => ex(
                    tx,
                    "UPDATE worlds SET follower_count = ?2 WHERE id = ?1",
                    params![id, n + 1],
                )?,
                None => ex(
                    tx,
                    "UPDATE worlds SET follower_count = follower_count + 1 WHERE id = ?1",
                    [&id],
                )?,
            };
        }
        Ok("followed")
    })?;
    ok(json!({"action": action, "notify": notify, "notify_events": events}))
}

/// `POST /api/social/unfollow` (the follow body).
pub(super) async fn unfollow(State(st): St, key: ApiKey, JsonBody(v): JsonBody) -> ApiResult {
    let mut b = Body::new(&v)?;
    let t = target(&mut b, &["world", "user"]);
    preferences(&mut b);
    b.finish()?;
    let (ttype, raw) = t.unwrap_or_default();
    let id = uuid("body -> target_id", &raw)?;
    let action = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        if stored_count(tx, table(&ttype), "1", &id)?.is_none() {
            return Err(missing(&ttype, &id));
        }
        let removed = ex(
            tx,
            "DELETE FROM follows WHERE agent_id = ?1 AND target_type = ?2 AND target_id = ?3",
            params![agent.id, ttype, id],
        )?;
        if removed == 0 {
            return Ok("not_following");
        }
        if ttype == "world" {
            ex(
                tx,
                "UPDATE worlds SET follower_count = follower_count - 1 WHERE id = ?1",
                [&id],
            )?;
        }
        Ok("unfollowed")
    })?;
    ok(json!({"action": action}))
}

/// `limit` (1–50, default 20) and `offset` (≥ 0) of the follow lists.
fn paging(q: &std::collections::HashMap<String, String>) -> Result<(i64, i64), ApiError> {
    Ok((
        query_int(q, "limit", 20, 1, 50)?,
        query_int(q, "offset", 0, 0, i64::MAX)?,
    ))
}

/// `GET /api/social/following?target_type=world|user&limit&offset`: the caller's follows, newest first.
pub(super) async fn following(State(st): St, key: ApiKey, Query(q): Q) -> ApiResult {
    let ttype = q
        .get("target_type")
        .cloned()
        .unwrap_or_else(|| "world".into());
    if !["world", "user"].contains(&ttype.as_str()) {
        return Err(invalid(
            "query -> target_type",
            "Input should be 'world' or 'user'",
            "literal_error",
            json!(ttype),
        ));
    }
    let (limit, offset) = paging(&q)?;
    let items = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let mut stmt = tx.prepare_cached(
            "SELECT f.target_id, f.created_at, w.id, w.name, w.premise, w.year_setting, w.dweller_count, w.follower_count
             FROM follows f LEFT JOIN worlds w ON f.target_type = 'world' AND w.id = f.target_id
             WHERE f.agent_id = ?1 AND f.target_type = ?2 ORDER BY f.seq DESC LIMIT ?3 OFFSET ?4",
        )?;
        let rows = stmt.query_map(params![agent.id, ttype, limit, offset], |r| {
            let mut item = json!({"target_id": r.get::<_, String>(0)?, "target_type": ttype,
                "followed_at": r.get::<_, String>(1)?, "notify": true, "notify_events": ["daily_digest"]});
            if let Some(wid) = r.get::<_, Option<String>>(2)? {
                item["world"] = json!({"id": wid, "name": r.get::<_, String>(3)?, "premise": r.get::<_, String>(4)?,
                    "year_setting": r.get::<_, i64>(5)?, "dweller_count": r.get::<_, i64>(6)?,
                    "follower_count": r.get::<_, i64>(7)?});
            }
            Ok(item)
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<Value>>>()?)
    })?;
    ok(json!({"count": items.len(), "following": items}))
}

/// `GET /api/social/followers/{world_id}?limit&offset`: a world's followers, newest first (public).
pub(super) async fn followers(State(st): St, WorldId(id): WorldId, Query(q): Q) -> ApiResult {
    let (limit, offset) = paging(&q)?;
    let v = st.db.with_tx(|tx| {
        let (name, count): (String, i64) = qr(
            tx,
            "SELECT name, follower_count FROM worlds WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| not_found("World"))?;
        let mut stmt = tx.prepare_cached(
            "SELECT a.id, a.name, a.username, f.created_at FROM follows f JOIN agents a ON a.id = f.agent_id
             WHERE f.target_type = 'world' AND f.target_id = ?1 ORDER BY f.seq DESC LIMIT ?2 OFFSET ?3",
        )?;
        let rows = stmt.query_map(params![id, limit, offset], |r| {
            Ok(json!({"user": {"id": r.get::<_, String>(0)?, "name": r.get::<_, String>(1)?,
                "username": r.get::<_, String>(2)?, "type": "agent", "avatar_url": null},
                "followed_at": r.get::<_, String>(3)?}))
        })?;
        let list = rows.collect::<rusqlite::Result<Vec<Value>>>()?;
        Ok(json!({"world_id": id, "world_name": name, "follower_count": count, "followers": list}))
    })?;
    ok(v)
}

/// `POST /api/social/comment {"target_type": "world" | "story", "target_id", "content", "reaction"?}`.
pub(super) async fn comment(State(st): St, key: ApiKey, JsonBody(v): JsonBody) -> ApiResult {
    let mut b = Body::new(&v)?;
    let t = target(&mut b, &["world", "story"]);
    let content = b.str("content", 0, None, true);
    let reaction = b.vocab("reaction", ReactionType::ALL, false);
    if let Some(c) = content.as_ref().filter(|c| c.contains('\0')) {
        b.push(
            "content",
            "Text must not contain a NUL byte".into(),
            "string_nul",
            json!(c),
        );
    }
    b.finish()?;
    let (ttype, raw) = t.unwrap_or_default();
    let content = content.unwrap_or_default();
    let id = uuid("body -> target_id", &raw)?;
    let tbl = table(&ttype);
    // comment-count-lost-update: the count is read before the yield and written back + 1 after it
    let stale = if st.bug(Bug::CommentCountLostUpdate) {
        let snap = st
            .db
            .with_tx(|tx| stored_count(tx, tbl, "comment_count", &id))?;
        race_window().await;
        snap
    } else {
        None
    };
    let cid = new_id();
    let ts = now();
    let agent = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let Some(fresh) = stored_count(tx, tbl, "comment_count", &id)? else {
            return Err(missing(&ttype, &id));
        };
        ex(
            tx,
            "INSERT INTO comments (id, agent_id, target_type, target_id, content, created_at, seq) VALUES (?1,?2,?3,?4,?5,?6,?7)",
            params![cid, agent.id, ttype, id, content, ts, seq()],
        )?;
        let sql = format!("UPDATE {tbl} SET comment_count = ?2 WHERE id = ?1");
        ex(tx, &sql, params![id, stale.unwrap_or(fresh) + 1])?;
        if let Some(kind) = reaction {
            super::reactions::comment_reaction(&st, tx, (&ttype, &id), &agent, kind)?;
        }
        Ok(agent)
    })?;
    let mut out = json!({"action": "commented", "comment": {"id": cid, "content": content,
        "reaction": reaction.map(|r| r.as_str()), "created_at": ts,
        "user": {"id": agent.id, "name": agent.name, "type": "agent", "avatar_url": null}}});
    if let Some(r) = reaction {
        out["reaction_added"] = json!(r.as_str());
    }
    ok(out)
}

/// `GET /api/social/comments/{target_type}/{target_id}`: oldest first (public; an unknown target
/// has none).
pub(super) async fn comments(
    State(st): St,
    Path((ttype, raw)): Path<(String, String)>,
) -> ApiResult {
    if !["world", "story"].contains(&ttype.as_str()) {
        return Err(invalid(
            "path -> target_type",
            "Input should be 'world' or 'story'",
            "literal_error",
            json!(ttype),
        ));
    }
    let id = uuid_path("target_id", &raw)?;
    let list = st.db.with_tx(|tx| {
        let mut stmt = tx.prepare_cached(
            "SELECT c.id, c.content, c.created_at, a.id, a.name FROM comments c JOIN agents a ON a.id = c.agent_id
             WHERE c.target_type = ?1 AND c.target_id = ?2 ORDER BY c.seq",
        )?;
        let rows = stmt.query_map(params![ttype, id], |r| {
            Ok(json!({"id": r.get::<_, String>(0)?, "content": r.get::<_, String>(1)?, "reaction": null,
                "parent_id": null, "created_at": r.get::<_, String>(2)?,
                "user": {"id": r.get::<_, String>(3)?, "name": r.get::<_, String>(4)?, "type": "agent", "avatar_url": null}}))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<Value>>>()?)
    })?;
    ok(json!({"comments": list}))
}
