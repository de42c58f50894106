//! Worlds: `GET /api/worlds` and `/api/worlds/{id}`, and the world lookups the content in a world
//! (regions, dwellers, aspects, stories, events) checks against.

use crate::bug::Bug;
use crate::db::{filter_term, qr};
use crate::error::{ApiError, ApiResult, not_found};
use crate::http::{Q, St, WorldId, ok};
use crate::validate::query_int;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

/// A world as the API shows it, `None` if there is none.
fn world_json(tx: &rusqlite::Connection, id: &str) -> Result<Option<Value>, ApiError> {
    Ok(qr(tx,
            "SELECT id, name, premise, year_setting, causal_chain, scientific_basis, proposal_id, created_at, created_by,
                    w.dweller_count,
                    (SELECT canon_summary FROM world_canon c WHERE c.world_id = w.id),
                    (SELECT COUNT(*) FROM stories s WHERE s.world_id = w.id), w.reaction_counts, w.follower_count, w.comment_count
             FROM worlds w WHERE id = ?1",
            [id],
            |r| {
                let chain: String = r.get(4)?;
                Ok(json!({"id": r.get::<_, String>(0)?, "name": r.get::<_, String>(1)?, "premise": r.get::<_, String>(2)?,
                    "canon_summary": r.get::<_, Option<String>>(10)?.unwrap_or(r.get::<_, String>(2)?), "year_setting": r.get::<_, i64>(3)?,
                    "causal_chain": serde_json::from_str::<Value>(&chain).unwrap_or(Value::Null),
                    "scientific_basis": r.get::<_, String>(5)?, "proposal_id": r.get::<_, Option<String>>(6)?,
                    "created_at": r.get::<_, String>(7)?, "updated_at": r.get::<_, String>(7)?, "created_by": r.get::<_, String>(8)?,
                    "dweller_count": r.get::<_, i64>(9)?, "story_count": r.get::<_, i64>(11)?, "follower_count": r.get::<_, i64>(13)?, "comment_count": r.get::<_, i64>(14)?,
                    "reaction_counts": serde_json::from_str::<Value>(&r.get::<_, String>(12)?).unwrap_or(Value::Null)}))
            },
        )
        .optional()?)
}

pub(super) async fn list(State(st): St, Query(q): Q) -> ApiResult {
    let limit = query_int(&q, "limit", 20, 1, 50)?;
    let offset = match q.get("offset").map(|o| o.parse::<i64>()) {
        // the planted bug hands a negative offset on, and the database fails on it
        Some(Ok(o)) if o < 0 && st.bug(Bug::HostilePaging500) => {
            return Err(ApiError::Internal(format!("negative OFFSET {o}")));
        }
        _ => query_int(&q, "offset", 0, 0, i64::MAX)?,
    };
    let proposal = q.get("proposal_id").cloned();
    let v = st.db.with_tx(|tx| {
        let by_proposal = filter_term("proposal_id", 1, proposal.is_some());
        let total: i64 = qr(
            tx,
            &format!("SELECT COUNT(*) FROM worlds WHERE {by_proposal}"),
            [&proposal],
            |r| r.get(0),
        )?;
        let order = if q.get("sort").map(String::as_str) == Some("oldest") {
            "ASC"
        } else {
            "DESC"
        };
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT id FROM worlds WHERE {by_proposal} ORDER BY seq {order} LIMIT ?2 OFFSET ?3"
        ))?;
        let ids: Vec<String> = stmt
            .query_map(params![proposal, limit, offset], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let worlds: Vec<Value> = ids
            .iter()
            .map(|id| Ok(world_json(tx, id)?.unwrap_or(Value::Null)))
            .collect::<Result<_, ApiError>>()?;
        Ok(json!({"worlds": worlds, "total": total, "has_more": offset + limit < total}))
    })?;
    ok(v)
}

pub(super) async fn get(State(st): St, WorldId(id): WorldId) -> ApiResult {
    match st.db.with_tx(|tx| world_json(tx, &id))? {
        Some(w) => ok(json!({"world": w})),
        None => Ok((
            StatusCode::NOT_FOUND,
            axum::Json(json!({"detail": "World not found"})),
        )
            .into_response()),
    }
}

/// The world's name and year, or 404 `World not found`.
pub(super) fn world_name(tx: &rusqlite::Connection, wid: &str) -> Result<(String, i64), ApiError> {
    qr(
        tx,
        "SELECT name, year_setting FROM worlds WHERE id = ?1",
        [wid],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or_else(|| not_found("World"))
}

/// What content in a world is checked against.
pub(super) struct WorldRow {
    pub name: String,
    pub year_setting: i64,
    pub chain: Value,
}

pub(super) fn load_world(
    tx: &rusqlite::Connection,
    wid: &str,
) -> Result<Option<WorldRow>, ApiError> {
    Ok(qr(
        tx,
        "SELECT name, year_setting, causal_chain FROM worlds WHERE id = ?1",
        [wid],
        |r| {
            let chain: String = r.get(2)?;
            Ok(WorldRow {
                name: r.get(0)?,
                year_setting: r.get(1)?,
                chain: serde_json::from_str(&chain).unwrap_or(Value::Null),
            })
        },
    )
    .optional()?)
}

/// The years of the world's causal chain, in order.
pub(super) fn chain_years(chain: &Value) -> Vec<i64> {
    chain
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get("year").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default()
}
