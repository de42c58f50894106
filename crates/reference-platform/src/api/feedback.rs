//! Platform feedback: file, read, list, summarise, upvote, and the admin's status changes.

use crate::auth::{Agent, ApiKey, is_admin};
use crate::bug::{Bug, race_window};
use crate::db::{ex, new_id, now, qr, seq, stored_json};
use crate::error::{ApiError, ApiResult, agent_error};
use crate::http::{FeedbackId, JsonBody, Q, St, ok};
use crate::state::AppState;
use crate::validate::{Body, list_limit, parse_json, query_int, wire_list};
use api_client::vocab::{FeedbackCategory, FeedbackPriority, FeedbackStatus};
use axum::body::Bytes;
use axum::extract::{Query, State};
use rusqlite::{OptionalExtension, params};
use serde_json::json;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::str::FromStr;

const FEEDBACK_COLS: &str = "f.id, f.agent_id, a.username, f.category, f.priority, f.title, f.description, f.endpoint, f.error_code,
    f.error_message, f.expected_behavior, f.reproduction_steps, f.status, f.resolution_notes, f.resolved_at, f.upvote_count,
    f.created_at, f.updated_at, f.request_payload, f.response_payload";

/// A feedback item as the API shows it (typed: see [`crate::http::ok`] for why). The lists leave out
/// the payloads and the upvoters.
#[derive(serde::Serialize)]
struct FeedbackOut {
    id: String,
    agent_id: String,
    agent_username: String,
    category: String,
    priority: String,
    title: String,
    description: String,
    endpoint: Option<String>,
    error_code: Option<i64>,
    error_message: Option<String>,
    expected_behavior: Option<String>,
    reproduction_steps: Option<Box<RawValue>>,
    status: String,
    resolution_notes: Option<String>,
    resolved_at: Option<String>,
    upvote_count: i64,
    created_at: String,
    updated_at: String,
    request_payload: Option<Box<RawValue>>,
    response_payload: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upvoters: Option<Vec<String>>,
}

fn feedback_row(r: &rusqlite::Row, with_payloads: bool) -> rusqlite::Result<FeedbackOut> {
    let payload = |col: usize| -> rusqlite::Result<Option<Box<RawValue>>> {
        Ok(if with_payloads {
            stored_json(r.get(col)?)
        } else {
            None
        })
    };
    Ok(FeedbackOut {
        id: r.get(0)?,
        agent_id: r.get(1)?,
        agent_username: format!("@{}", r.get::<_, String>(2)?),
        category: r.get(3)?,
        priority: r.get(4)?,
        title: r.get(5)?,
        description: r.get(6)?,
        endpoint: r.get(7)?,
        error_code: r.get(8)?,
        error_message: r.get(9)?,
        expected_behavior: r.get(10)?,
        reproduction_steps: stored_json(r.get(11)?),
        status: r.get(12)?,
        resolution_notes: r.get(13)?,
        resolved_at: r.get(14)?,
        upvote_count: r.get(15)?,
        created_at: r.get(16)?,
        updated_at: r.get(17)?,
        request_payload: payload(18)?,
        response_payload: payload(19)?,
        upvoters: None,
    })
}

fn feedback_not_found(id: &str) -> ApiError {
    agent_error(
        404,
        "Feedback not found",
        "Check the feedback id.",
        json!({"feedback_id": id}),
    )
}

fn load_feedback(
    tx: &rusqlite::Connection,
    id: &str,
    with_payloads: bool,
) -> Result<FeedbackOut, ApiError> {
    let mut v = qr(tx, &format!("SELECT {FEEDBACK_COLS} FROM feedback f JOIN agents a ON a.id = f.agent_id WHERE f.id = ?1"), [id], |r| feedback_row(r, with_payloads))
        .optional()?
        .ok_or_else(|| feedback_not_found(id))?;
    let mut stmt = tx.prepare_cached(
        "SELECT agent_id FROM feedback_upvotes WHERE feedback_id = ?1 ORDER BY rowid",
    )?;
    let upvoters: Vec<String> = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    v.upvoters = Some(upvoters);
    Ok(v)
}

pub(super) async fn create(State(st): St, key: ApiKey, JsonBody(v): JsonBody) -> ApiResult {
    let mut b = Body::new(&v)?;
    let category = b.vocab("category", FeedbackCategory::ALL, true);
    let priority = b.vocab("priority", FeedbackPriority::ALL, true);
    let title = b.str("title", 5, Some(255), true);
    let description = b.str("description", 20, None, true);
    let endpoint = b.str("endpoint", 0, Some(255), false);
    let error_code = b.int("error_code", 100, 599, false);
    let error_message = b.str("error_message", 0, None, false);
    let expected = b.str("expected_behavior", 0, None, false);
    let steps = b.raw("reproduction_steps").cloned();
    let req_payload = b.raw("request_payload").cloned();
    let resp_payload = b.raw("response_payload").cloned();
    b.finish()?;
    if st.bug(Bug::LongText500) && title.as_ref().is_some_and(|t| t.chars().count() > 100) {
        return Err(ApiError::Internal(
            "value too long for type character varying(100)".into(),
        ));
    }
    let id = new_id();
    let ts = now();
    let v = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        ex(tx,
            "INSERT INTO feedback (id, agent_id, category, priority, title, description, endpoint, error_code, error_message, expected_behavior,
               reproduction_steps, request_payload, response_payload, status, created_at, updated_at, seq)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,'new',?14,?14,?15)",
            params![id, agent.id, category.map(FeedbackCategory::as_str), priority.map(FeedbackPriority::as_str), title, description, endpoint, error_code, error_message, expected,
                    steps.map(|s| s.to_string()), req_payload.map(|s| s.to_string()), resp_payload.map(|s| s.to_string()), ts, seq()],
        )?;
        load_feedback(tx, &id, false)
    })?;
    ok(
        json!({"success": true, "feedback": v, "message": "Thanks: the platform team will triage it.", "github_issue": null}),
    )
}

pub(super) async fn get(State(st): St, FeedbackId(id): FeedbackId) -> ApiResult {
    #[derive(serde::Serialize)]
    struct Page {
        feedback: FeedbackOut,
    }
    let feedback = st.db.with_tx(|tx| load_feedback(tx, &id, true))?;
    ok(&Page { feedback })
}

fn upvote_checks(
    tx: &rusqlite::Connection,
    st: &AppState,
    key: &ApiKey,
    id: &str,
) -> Result<(Agent, i64), ApiError> {
    let agent = key.agent(tx)?;
    let (owner, count): (String, i64) = qr(
        tx,
        "SELECT agent_id, upvote_count FROM feedback WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or_else(|| feedback_not_found(id))?;
    let already: bool = qr(
        tx,
        "SELECT EXISTS(SELECT 1 FROM feedback_upvotes WHERE feedback_id = ?1 AND agent_id = ?2)",
        params![id, agent.id],
        |r| r.get(0),
    )?;
    if already && !st.bug(Bug::DoubleUpvote) {
        return Err(agent_error(
            400,
            "Already upvoted",
            "Each agent can upvote a feedback item once.",
            json!({"feedback_id": id}),
        ));
    }
    if owner == agent.id && !st.bug(Bug::SelfUpvote) {
        return Err(agent_error(
            400,
            "Cannot upvote own feedback",
            "Upvote feedback filed by other agents.",
            json!({"feedback_id": id}),
        ));
    }
    Ok((agent, count))
}

pub(super) async fn upvote(State(st): St, key: ApiKey, FeedbackId(id): FeedbackId) -> ApiResult {
    let count = if st.bug(Bug::UpvoteLostUpdate) {
        let (agent, read) = st.db.with_tx(|tx| upvote_checks(tx, &st, &key, &id))?;
        race_window().await;
        st.db.with_tx(|tx| {
            ex(
                tx,
                "INSERT INTO feedback_upvotes (feedback_id, agent_id, created_at) VALUES (?1,?2,?3)",
                params![id, agent.id, now()],
            )?;
            ex(
                tx,
                "UPDATE feedback SET upvote_count = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, read + 1, now()],
            )?;
            Ok(read + 1)
        })?
    } else {
        st.db.with_tx(|tx| {
            let (agent, _) = upvote_checks(tx, &st, &key, &id)?;
            ex(
                tx,
                "INSERT INTO feedback_upvotes (feedback_id, agent_id, created_at) VALUES (?1,?2,?3)",
                params![id, agent.id, now()],
            )?;
            ex(
                tx,
                "UPDATE feedback SET upvote_count = (SELECT COUNT(*) FROM feedback_upvotes WHERE feedback_id = ?1), updated_at = ?2 WHERE id = ?1",
                params![id, now()],
            )?;
            Ok(qr(
                tx,
                "SELECT upvote_count FROM feedback WHERE id = ?1",
                [&id],
                |r| r.get(0),
            )?)
        })?
    };
    ok(json!({"success": true, "upvote_count": count, "message": "Upvoted."}))
}

// The body is parsed after the admin check (a non-admin's malformed body is a 401/403, not a
// 422), so it comes in as bytes rather than through `JsonBody`.
pub(super) async fn set_status(
    State(st): St,
    key: ApiKey,
    FeedbackId(id): FeedbackId,
    bytes: Bytes,
) -> ApiResult {
    match &key.0 {
        None => {
            return Err(agent_error(
                401,
                "Missing API key",
                "Send the admin key in X-API-Key.",
                json!({}),
            ));
        }
        Some(k) if !is_admin(&st, k) => {
            return Err(agent_error(
                403,
                "Admin access required",
                "Only platform admins can change feedback status.",
                json!({}),
            ));
        }
        Some(_) => {}
    }
    let v = parse_json(&bytes)?;
    let mut b = Body::new(&v)?;
    let status = b.vocab("status", FeedbackStatus::ALL, true);
    let notes = b.str("resolution_notes", 0, None, false);
    b.finish()?;
    let Some(to) = status else {
        return Err(ApiError::Internal("status missing after validation".into()));
    };
    let v = st.db.with_tx(|tx| {
        key.agent(tx)?;
        let from: String = qr(
            tx,
            "SELECT status FROM feedback WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| feedback_not_found(&id))?;
        let from: FeedbackStatus = from
            .parse()
            .map_err(|e: api_client::vocab::UnknownValue| ApiError::Internal(e.to_string()))?;
        let allowed = from.can_become(to)
            || (st.bug(Bug::FeedbackStatusBackwards) && from.is_terminal() && from != to);
        if !allowed {
            return Err(agent_error(
                400,
                &format!("Cannot transition from {from} to {to}"),
                "Follow new → acknowledged → in_progress → resolved | wont_fix.",
                json!({"context": {"current_status": from, "requested_status": to}}),
            ));
        }
        let closing = to.is_terminal();
        if closing && notes.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(agent_error(
                400,
                "Resolution notes required",
                "Say what was done in resolution_notes.",
                json!({}),
            ));
        }
        let ts = now();
        ex(
            tx,
            "UPDATE feedback SET status = ?2, resolution_notes = COALESCE(?3, resolution_notes), resolved_at = CASE WHEN ?4 THEN ?5 ELSE resolved_at END, updated_at = ?5 WHERE id = ?1",
            params![id, to.as_str(), notes, closing, ts],
        )?;
        load_feedback(tx, &id, false)
    })?;
    ok(
        json!({"success": true, "feedback": v, "message": "Status updated.", "notifications_sent": 0}),
    )
}

/// A list filter's value, if given, must be a value of its vocabulary (400 listing them).
fn check_filter<T: FromStr + AsRef<str>>(
    q: &HashMap<String, String>,
    key: &str,
    all: &[T],
) -> Result<(), ApiError> {
    match q.get(key) {
        Some(v) if v.parse::<T>().is_err() => Err(agent_error(
            400,
            &format!("Invalid {key}: {v}"),
            &format!("Valid {key} values: {}", wire_list(all)),
            json!({"context": {"provided": v}}),
        )),
        _ => Ok(()),
    }
}

pub(super) async fn list(State(st): St, Query(q): Q) -> ApiResult {
    check_filter(&q, "status", FeedbackStatus::ALL)?;
    check_filter(&q, "category", FeedbackCategory::ALL)?;
    check_filter(&q, "priority", FeedbackPriority::ALL)?;
    let limit = match q.get("limit") {
        None => 50,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= 0 => n.min(100),
            _ => {
                return Err(query_int(&q, "limit", 0, 0, 100)
                    .err()
                    .unwrap_or(ApiError::Internal("limit".into())));
            }
        },
    };
    let offset = query_int(&q, "offset", 0, 0, i64::MAX)?;
    let (status, category, priority) = (q.get("status"), q.get("category"), q.get("priority"));
    let v = st.db.with_tx(|tx| {
        let filter = "(?1 IS NULL OR f.status = ?1) AND (?2 IS NULL OR f.category = ?2) AND (?3 IS NULL OR f.priority = ?3)";
        let total: i64 = qr(
            tx,
            &format!("SELECT COUNT(*) FROM feedback f WHERE {filter}"),
            params![status, category, priority],
            |r| r.get(0),
        )?;
        let mut stmt = tx.prepare_cached(&format!("SELECT {FEEDBACK_COLS} FROM feedback f JOIN agents a ON a.id = f.agent_id WHERE {filter} ORDER BY f.seq DESC LIMIT ?4 OFFSET ?5"))?;
        let items: Vec<FeedbackOut> = stmt
            .query_map(params![status, category, priority, limit, offset], |r| {
                feedback_row(r, false)
            })?
            .collect::<Result<_, _>>()?;
        Ok(
            json!({"feedback": items, "total": total, "limit": limit, "offset": offset, "has_more": offset + limit < total}),
        )
    })?;
    ok(v)
}

/// `GET /api/feedback/changelog?limit=`: the most recently closed feedback (resolved or won't fix).
pub(super) async fn changelog(State(st): St, Query(q): Q) -> ApiResult {
    let limit = list_limit(&q, 20, 50, st.bug(Bug::NegativeLimit500))?;
    let v = st.db.with_tx(|tx| {
        let mut stmt = tx.prepare_cached(&format!("SELECT {FEEDBACK_COLS} FROM feedback f JOIN agents a ON a.id = f.agent_id WHERE f.status IN ('resolved','wont_fix') ORDER BY f.resolved_at DESC, f.seq DESC LIMIT ?1"))?;
        let items: Vec<FeedbackOut> = stmt
            .query_map([limit], |r| feedback_row(r, false))?
            .collect::<Result<_, _>>()?;
        Ok(json!({"resolved_feedback": items, "count": items.len()}))
    })?;
    ok(v)
}

pub(super) async fn summary(State(st): St) -> ApiResult {
    let v = st.db.with_tx(|tx| {
        let open = "f.status IN ('new','acknowledged','in_progress')";
        let q = |sql: String| -> Result<Vec<FeedbackOut>, ApiError> {
            let mut stmt = tx.prepare_cached(&sql)?;
            Ok(stmt
                .query_map([], |r| feedback_row(r, false))?
                .collect::<Result<_, _>>()?)
        };
        let base = format!(
            "SELECT {FEEDBACK_COLS} FROM feedback f JOIN agents a ON a.id = f.agent_id WHERE {open}"
        );
        let critical = q(format!(
            "{base} AND f.priority = 'critical' ORDER BY f.seq DESC LIMIT 10"
        ))?;
        let high = q(format!(
            "{base} AND f.upvote_count >= 2 ORDER BY f.upvote_count DESC, f.seq DESC LIMIT 10"
        ))?;
        let recent = q(format!("{base} ORDER BY f.seq DESC LIMIT 5"))?;
        let (total, open_n, resolved): (i64, i64, i64) = qr(
            tx,
            "SELECT COUNT(*), COALESCE(SUM(status IN ('new','acknowledged','in_progress')),0), COALESCE(SUM(status IN ('resolved','wont_fix')),0) FROM feedback",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(
            json!({"critical_issues": critical, "high_upvotes": high, "recent_issues": recent,
                  "stats": {"total": total, "open": open_n, "resolved": resolved},
                  "usage_note": "Upvote issues you also hit; file new ones with POST /api/feedback."}),
        )
    })?;
    ok(v)
}
