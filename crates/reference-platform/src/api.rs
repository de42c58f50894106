//! HTTP routes and handlers. Every handler does its reads and writes inside one SQLite transaction
//! while holding the connection (never across an `.await`), except the planted race bugs.

use crate::error::{ApiError, ApiResult, agent_error, not_found};
use crate::validate::{Body, parse_json};
use crate::{AppState, Bug};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rusqlite::{OptionalExtension, params};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

type St = State<Arc<AppState>>;
type Q = Query<HashMap<String, String>>;

pub fn router(state: Arc<AppState>) -> Router {
    let mut r = Router::new();
    if state.faults.is_some() {
        r = r.route(
            "/api/test/db-faults",
            post(arm_db_faults).get(db_fault_counts),
        );
    }
    r = r
        .route("/health", get(health))
        .route("/api/health", get(health))
        .route("/api/auth/agent", post(register_agent))
        .route("/api/auth/verify", get(verify_key))
        .route("/api/proposals", post(create_proposal).get(list_proposals))
        .route("/api/proposals/{id}", get(get_proposal))
        .route("/api/proposals/{id}/submit", post(submit_proposal))
        .route("/api/proposals/{id}/revise", post(revise_proposal))
        .route("/api/proposals/{id}/test-approve", post(test_approve))
        .route(
            "/api/review/{ctype}/{id}/feedback",
            post(post_review).get(get_reviews),
        )
        .route("/api/review/{ctype}/{id}/status", get(review_status))
        .route(
            "/api/review/feedback-item/{item}/respond",
            post(respond_item),
        )
        .route(
            "/api/review/feedback-item/{item}/resolve",
            post(resolve_item),
        )
        .route("/api/review/feedback-item/{item}/reopen", post(reopen_item))
        .route("/api/worlds", get(list_worlds))
        .route("/api/worlds/{id}", get(get_world))
        .route(
            "/api/dwellers/worlds/{wid}/regions",
            post(create_region).get(list_regions),
        )
        .route(
            "/api/dwellers/worlds/{wid}/dwellers",
            post(create_dweller).get(list_dwellers),
        )
        .route("/api/dwellers/{id}", get(get_dweller))
        .route("/api/dwellers/{id}/claim", post(claim_dweller))
        .route("/api/dwellers/{id}/release", post(release_dweller))
        .route("/api/dwellers/{id}/act/context", post(act_context))
        .route("/api/dwellers/{id}/act", post(act))
        .route("/api/feedback", post(create_feedback))
        .route("/api/feedback/summary", get(feedback_summary))
        .route("/api/feedback/list", get(list_feedback))
        .route("/api/feedback/{id}", get(get_feedback))
        .route("/api/feedback/{id}/upvote", post(upvote_feedback))
        .route(
            "/api/feedback/{id}/status",
            axum::routing::patch(set_feedback_status),
        )
        .merge(crate::api_stories::routes())
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"detail": "Not Found"})),
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::layer,
        ));
    if state.faults.is_some() {
        r = r.layer(axum::middleware::from_fn(crate::faults::scope_layer));
    }
    r.with_state(state)
}

// ---------- test-only database faults ----------

fn require_admin(st: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match presented_key(headers) {
        Some(k) if hash_key(&k) == st.admin_key_hash => Ok(()),
        _ => Err(agent_error(
            403,
            "Admin key required",
            "Send the platform's admin key in X-API-Key.",
            json!({}),
        )),
    }
}

fn fault_counts(f: &crate::faults::DbFaults) -> Value {
    let a = f.armed();
    json!({
        "failed": f.failed.load(Ordering::Relaxed),
        "stalled": f.stalled.load(Ordering::Relaxed),
        "armed": {"fail_next": a.fail_next, "stall_next": a.stall_next, "stall_ms": a.stall_ms},
    })
}

async fn arm_db_faults(State(st): St, headers: HeaderMap, bytes: Bytes) -> ApiResult {
    require_admin(&st, &headers)?;
    let Some(faults) = &st.faults else {
        return Err(not_found("Route"));
    };
    let v = body(&bytes)?;
    const KNOWN: [&str; 4] = ["fail_next", "stall_next", "stall_ms", "scope"];
    if let Some(unknown) = v
        .as_object()
        .and_then(|o| o.keys().find(|k| !KNOWN.contains(&k.as_str())))
    {
        return Err(agent_error(
            422,
            &format!("Unknown field {unknown:?}"),
            "Send only fail_next, stall_next, stall_ms and scope.",
            json!({}),
        ));
    }
    let mut b = Body::new(&v)?;
    let fail_next = b.int("fail_next", 0, 1_000, false).unwrap_or(0) as u32;
    let stall_next = b.int("stall_next", 0, 1_000, false).unwrap_or(0) as u32;
    let stall_ms = b.int("stall_ms", 0, 5_000, false).unwrap_or(0) as u64;
    let scope = b.str("scope", 1, Some(200), false);
    b.finish()?;
    if (fail_next > 0 || stall_next > 0) && scope.is_none() {
        return Err(agent_error(
            422,
            "A fault needs a scope",
            "Send scope: the X-DST-Fault-Scope value of the requests the fault may hit.",
            json!({}),
        ));
    }
    faults.arm(crate::faults::Armed {
        fail_next,
        stall_next,
        stall_ms,
        scope: scope.unwrap_or_default(),
    });
    ok(fault_counts(faults))
}

async fn db_fault_counts(State(st): St, headers: HeaderMap) -> ApiResult {
    require_admin(&st, &headers)?;
    match &st.faults {
        Some(f) => ok(fault_counts(f)),
        None => Err(not_found("Route")),
    }
}

// ---------- helpers ----------

static SEQ: AtomicU64 = AtomicU64::new(1);

/// A process-wide sequence number: orders events that share a millisecond.
pub(crate) fn seq() -> i64 {
    SEQ.fetch_add(1, Ordering::Relaxed) as i64
}

pub fn now() -> String {
    markers::Timestamp::now()
        .to_rfc3339()
        .replace('Z', "+00:00")
}

pub(crate) fn now_ms() -> i64 {
    markers::Timestamp::now().0 as i64
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn new_api_key() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    format!(
        "dsf_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn hash_key(key: &str) -> String {
    // every authenticated request hashes its key: hex by table, not a `format!` per byte
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = sha2::Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// `query_row` through the statement cache: handlers run the same few statements thousands of times.
pub(crate) fn qr<T, P: rusqlite::Params, F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>>(
    c: &rusqlite::Connection,
    sql: &str,
    p: P,
    f: F,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(p, f)
}

/// One optional list filter as SQL: `col = ?n` when the filter is given, else `?n IS NULL` (true,
/// the parameter is bound to NULL). Each combination of filters is its own statement text, so
/// SQLite can use the column's index; the single-text form `(?n IS NULL OR col = ?n)` always scans.
pub(crate) fn filter_term(col: &str, n: usize, present: bool) -> String {
    if present {
        format!("{col} = ?{n}")
    } else {
        format!("?{n} IS NULL")
    }
}

/// `execute` through the statement cache.
pub(crate) fn ex<P: rusqlite::Params>(
    c: &rusqlite::Connection,
    sql: &str,
    p: P,
) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(p)
}

/// 200 with `v` as JSON: a `json!` value, or a typed response serialized straight from its type.
pub(crate) fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok((StatusCode::OK, axum::Json(v)).into_response())
}

pub(crate) fn uuid_path(field: &str, s: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(s)
        .map(|u| u.to_string())
        .map_err(|_| {
            ApiError::Validation(vec![crate::error::FieldError {
                field: format!("path -> {field}"),
                message: "Input should be a valid UUID".into(),
                kind: "uuid_parsing",
                input: json!(s),
            }])
        })
}

#[derive(Clone)]
pub(crate) struct Agent {
    pub id: String,
    pub name: String,
    pub username: String,
}

pub(crate) fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(k.trim().to_string());
    }
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|k| k.trim().to_string())
}

pub(crate) fn auth_tx(tx: &rusqlite::Connection, headers: &HeaderMap) -> Result<Agent, ApiError> {
    let Some(key) = presented_key(headers) else {
        return Err(agent_error(
            401,
            "Missing API key",
            "Send your key in the X-API-Key header.",
            json!({}),
        ));
    };
    optional_agent(tx, &key)?.ok_or_else(|| {
        agent_error(
            401,
            "Invalid or revoked API key",
            "Register with POST /api/auth/agent and use the key it returns.",
            json!({"key_prefix": &key.chars().take(8).collect::<String>()}),
        )
    })
}

pub(crate) fn optional_agent(
    conn: &rusqlite::Connection,
    key: &str,
) -> Result<Option<Agent>, ApiError> {
    Ok(qr(
        conn,
        "SELECT id, name, username FROM agents WHERE key_hash = ?1",
        [hash_key(key)],
        |r| {
            Ok(Agent {
                id: r.get(0)?,
                name: r.get(1)?,
                username: r.get(2)?,
            })
        },
    )
    .optional()?)
}

pub(crate) fn maybe_auth(
    conn: &rusqlite::Connection,
    headers: &HeaderMap,
) -> Result<Option<Agent>, ApiError> {
    match presented_key(headers) {
        None => Ok(None),
        Some(_) => auth_tx(conn, headers).map(Some),
    }
}

/// Runs `f` in one transaction on the shared connection.
///
/// BEGIN/COMMIT/ROLLBACK go through the statement cache (rusqlite's `Transaction` re-parses them
/// on every request, which was a measurable share of the simulator's CPU). A panic or an error in
/// `f` rolls back, so the shared connection is never left inside a transaction.
pub(crate) fn with_tx<T>(
    st: &AppState,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    struct Open<'c>(&'c rusqlite::Connection, bool);
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            if self.1 {
                let _ = ex(self.0, "ROLLBACK", []);
            }
        }
    }
    let conn = st.db.lock();
    if let Some(faults) = &st.faults {
        faults.before_tx();
    }
    ex(&conn, "BEGIN", [])?;
    let mut open = Open(&conn, true);
    let out = f(&conn)?;
    if st.faults.as_ref().is_some_and(|f| f.fail_commit()) {
        drop(open); // rolls back: a failed request leaves nothing behind
        return Err(agent_error(
            503,
            "Database unavailable",
            "Retry the request; nothing was changed.",
            json!({"fault": "injected"}),
        ));
    }
    ex(&conn, "COMMIT", [])?;
    open.1 = false;
    Ok(out)
}

/// A pause between check and write, used only by planted race bugs.
pub(crate) async fn race_window() {
    tokio::task::yield_now().await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
}

pub(crate) fn body(bytes: &Bytes) -> Result<Value, ApiError> {
    parse_json(bytes)
}

// ---------- health ----------

async fn health(State(st): St) -> Response {
    let mut v = json!({
        "status": "healthy",
        "deployment_status": "stable",
        "schema": {"is_current": true, "current_version": "ref-0001", "expected_version": "ref-0001",
                   "message": "Schema is current (reference platform, created at start)."},
    });
    if let Some(c) = &st.commit {
        v["deployed_commit"] = json!(c);
    }
    (StatusCode::OK, axum::Json(v)).into_response()
}

// ---------- auth ----------

fn normalize_username(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        let c = if c == ' ' || c == '_' { '-' } else { c };
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            if c == '-' && out.ends_with('-') {
                continue;
            }
            out.push(c);
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "agent".into() } else { out }
}

async fn register_agent(State(st): St, bytes: Bytes) -> ApiResult {
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let name = b.str("name", 1, Some(255), true);
    let username = b.str("username", 1, Some(40), true);
    let model_id = b.str("model_id", 0, Some(100), false);
    b.finish()?;
    let (name, username) = (name.unwrap_or_default(), username.unwrap_or_default());
    let key = new_api_key();
    let id = new_id();
    let created = now();
    let uname = with_tx(&st, |tx| {
        let base = normalize_username(&username);
        let mut candidate = base.clone();
        for attempt in 0..20u32 {
            let taken: bool = qr(
                tx,
                "SELECT EXISTS(SELECT 1 FROM agents WHERE username = ?1)",
                [&candidate],
                |r| r.get(0),
            )?;
            if !taken {
                break;
            }
            let n = (uuid::Uuid::new_v4().as_u128() % 10_000) as u32;
            candidate = if attempt < 10 {
                format!("{base}-{n:04}")
            } else {
                format!("{base}-{:06}", n * 97 % 1_000_000)
            };
        }
        ex(
            tx,
            "INSERT INTO agents (id, name, username, model_id, key_hash, key_prefix, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7)",
            params![
                id,
                name,
                candidate,
                model_id,
                hash_key(&key),
                &key[..12],
                created
            ],
        )?;
        Ok(candidate)
    })?;
    ok(json!({
        "success": true,
        "agent": {"id": id, "username": format!("@{uname}"), "name": name, "model_id": model_id, "type": "agent",
                  "profile_url": format!("/agents/@{uname}"), "created_at": created, "platform_notifications": true},
        "api_key": {"key": key, "prefix": &key[..12], "note": "Save this key now: it is shown once."},
        "warning": null,
    }))
}

async fn verify_key(State(st): St, headers: HeaderMap) -> ApiResult {
    let a = with_tx(&st, |tx| auth_tx(tx, &headers))?;
    ok(
        json!({"valid": true, "agent": {"id": a.id, "username": format!("@{}", a.username), "name": a.name, "type": "agent"}}),
    )
}

// ---------- proposals ----------

fn causal_chain(b: &mut Body, required: bool) -> Option<Value> {
    let raw = match b.raw("causal_chain") {
        None => {
            if required {
                b.push(
                    "causal_chain",
                    "Field required".into(),
                    "missing",
                    Value::Null,
                );
            }
            return None;
        }
        Some(v) => v.clone(),
    };
    let Some(items) = raw.as_array() else {
        b.push(
            "causal_chain",
            "Input should be a valid list".into(),
            "list_type",
            raw.clone(),
        );
        return None;
    };
    if items.len() < 3 {
        b.push(
            "causal_chain",
            "List should have at least 3 items".into(),
            "too_short",
            raw.clone(),
        );
        return None;
    }
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let year = it.get("year").and_then(Value::as_i64);
        let event = it.get("event").and_then(Value::as_str).map(str::to_string);
        let reasoning = it
            .get("reasoning")
            .and_then(Value::as_str)
            .map(str::to_string);
        match year {
            Some(y) if y >= 2026 => {}
            _ => b.push(
                &format!("causal_chain -> {i} -> year"),
                "Input should be greater than or equal to 2026".into(),
                "greater_than_equal",
                it.get("year").cloned().unwrap_or(Value::Null),
            ),
        }
        if event.as_ref().is_none_or(|e| e.chars().count() < 10) {
            b.push(
                &format!("causal_chain -> {i} -> event"),
                "String should have at least 10 characters".into(),
                "string_too_short",
                it.get("event").cloned().unwrap_or(Value::Null),
            );
        }
        if reasoning.as_ref().is_none_or(|e| e.chars().count() < 10) {
            b.push(
                &format!("causal_chain -> {i} -> reasoning"),
                "String should have at least 10 characters".into(),
                "string_too_short",
                it.get("reasoning").cloned().unwrap_or(Value::Null),
            );
        }
        out.push(json!({"year": year, "event": event, "reasoning": reasoning}));
    }
    Some(Value::Array(out))
}

async fn create_proposal(State(st): St, headers: HeaderMap, bytes: Bytes) -> ApiResult {
    let agent = with_tx(&st, |tx| auth_tx(tx, &headers))?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let name = b.str("name", 2, Some(50), true);
    let premise = b.str("premise", 50, None, true);
    let year = b.int("year_setting", 2030, 2500, true);
    let chain = causal_chain(&mut b, true);
    let basis = b.str("scientific_basis", 50, None, true);
    let image = b.str("image_prompt", 30, Some(1000), true);
    b.finish()?;
    let id = new_id();
    let created = now();
    with_tx(&st, |tx| {
        let active: i64 = qr(
            tx,
            "SELECT COUNT(*) FROM proposals WHERE agent_id = ?1 AND status IN ('draft','validating')",
            [&agent.id],
            |r| r.get(0),
        )?;
        if active >= 3 {
            return Err(agent_error(
                429,
                "Maximum 3 active proposals allowed",
                "Submit or finish an existing proposal first.",
                json!({"current_active": active, "max_active": 3}),
            ));
        }
        ex(tx,
            "INSERT INTO proposals (id, agent_id, name, premise, year_setting, causal_chain, scientific_basis, image_prompt, status, created_at, updated_at, seq)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,'draft',?9,?9,?10)",
            params![id, agent.id, name, premise, year, chain.map(|c| c.to_string()), basis, image, created, seq()],
        )?;
        Ok(())
    })?;
    ok(
        json!({"id": id, "status": "draft", "review_system": "critical_review", "created_at": created,
              "message": "Proposal created as a draft. Submit it with POST /api/proposals/{id}/submit."}),
    )
}

/// A proposal as the API shows it (`proposal` in GET /api/proposals/{id}, an item of the list).
///
/// The read endpoints the simulator calls after nearly every step answer with typed structs rather
/// than `json!` maps: serializing a struct skips allocating a map, its keys and its values per
/// response (docs/PERFORMANCE.md). Stored JSON columns go out as they were stored ([`RawValue`]).
#[derive(serde::Serialize)]
struct ProposalRow {
    id: String,
    agent_id: String,
    name: String,
    premise: String,
    year_setting: i64,
    causal_chain: Option<Box<RawValue>>,
    scientific_basis: String,
    citations: Option<Box<RawValue>>,
    #[serde(flatten)]
    review: ReviewState,
    resulting_world_id: Option<String>,
    agent_name: String,
    image_prompt: String,
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
    pub(crate) fn from_row(r: &rusqlite::Row, first: usize) -> rusqlite::Result<ReviewState> {
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

/// A stored JSON column as it was written, or `null` if it is absent or (never expected) invalid.
pub(crate) fn stored_json(text: Option<String>) -> Option<Box<RawValue>> {
    text.and_then(|t| RawValue::from_string(t).ok())
}

fn load_proposal(conn: &rusqlite::Connection, id: &str) -> Result<Option<ProposalRow>, ApiError> {
    Ok(qr(conn,
            "SELECT p.id, p.agent_id, p.name, p.premise, p.year_setting, p.causal_chain, p.scientific_basis, p.citations,
                    p.status, p.revision_count, p.last_revised_at, p.created_at, p.updated_at, p.resulting_world_id,
                    a.name, p.image_prompt
             FROM proposals p JOIN agents a ON a.id = p.agent_id WHERE p.id = ?1",
            [id],
            |r| {
                Ok(ProposalRow {
                    id: r.get(0)?,
                    agent_id: r.get(1)?,
                    name: r.get(2)?,
                    premise: r.get(3)?,
                    year_setting: r.get(4)?,
                    causal_chain: stored_json(r.get(5)?),
                    scientific_basis: r.get(6)?,
                    citations: stored_json(r.get(7)?),
                    review: ReviewState::from_row(r, 8)?,
                    resulting_world_id: r.get(13)?,
                    agent_name: r.get(14)?,
                    image_prompt: r.get(15)?,
                })
            },
        )
        .optional()?)
}

/// `{"id": …, "name": …}`: who a read endpoint names as author or decider.
#[derive(serde::Serialize)]
pub(crate) struct NamedRef<S> {
    pub id: S,
    pub name: Option<S>,
}

/// An empty JSON array or object field, without allocating one.
pub(crate) type EmptyList = [(); 0];
#[derive(serde::Serialize)]
pub(crate) struct EmptyObject {}

async fn get_proposal(State(st): St, Path(id): Path<String>) -> ApiResult {
    #[derive(serde::Serialize)]
    struct Page<'a> {
        proposal: &'a ProposalRow,
        agent: NamedRef<&'a str>,
        validations: EmptyList,
        summary: EmptyObject,
        blind_mode: bool,
    }
    let id = uuid_path("proposal_id", &id)?;
    let p = with_tx(&st, |tx| load_proposal(tx, &id))?.ok_or_else(|| not_found("Proposal"))?;
    ok(&Page {
        proposal: &p,
        agent: NamedRef {
            id: &p.agent_id,
            name: Some(&p.agent_name),
        },
        validations: [],
        summary: EmptyObject {},
        blind_mode: false,
    })
}

async fn list_proposals(State(st): St, Query(q): Q) -> ApiResult {
    let status = q.get("status").cloned();
    if let Some(s) = &status
        && !["draft", "validating", "approved", "rejected"].contains(&s.as_str())
    {
        return Err(ApiError::Validation(vec![crate::error::FieldError {
            field: "query -> status".into(),
            message: "Input should be 'draft', 'validating', 'approved' or 'rejected'".into(),
            kind: "enum",
            input: json!(s),
        }]));
    }
    let limit = parse_limit(&q, "limit", 20, 1, 50)?;
    let oldest = q.get("sort").map(String::as_str) == Some("oldest");
    let cursor_seq: Option<i64> = match q.get("cursor") {
        Some(c) => with_tx(&st, |tx| {
            Ok(qr(tx, "SELECT seq FROM proposals WHERE id = ?1", [c], |r| {
                r.get(0)
            })
            .optional()?)
        })?,
        None => None,
    };
    let ids: Vec<String> = with_tx(&st, |tx| {
        let sql = format!(
            "SELECT id FROM proposals WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR seq {} ?2) ORDER BY seq {} LIMIT ?3",
            if oldest { ">" } else { "<" },
            if oldest { "ASC" } else { "DESC" }
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![status, cursor_seq, limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    })?;
    // a proposal deleted between the two reads shows as null
    let items: Vec<Option<ProposalRow>> = with_tx(&st, |tx| {
        ids.iter().map(|id| load_proposal(tx, id)).collect()
    })?;
    let next = if items.len() as i64 == limit {
        ids.last().cloned()
    } else {
        None
    };
    #[derive(serde::Serialize)]
    struct Page {
        items: Vec<Option<ProposalRow>>,
        next_cursor: Option<String>,
    }
    ok(&Page {
        items,
        next_cursor: next,
    })
}

pub(crate) fn parse_limit(
    q: &HashMap<String, String>,
    key: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    match q.get(key) {
        None => Ok(default),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::Validation(vec![crate::error::FieldError {
                field: format!("query -> {key}"),
                message: format!("Input should be an integer from {min} to {max}"),
                kind: "int_parsing",
                input: json!(s),
            }])),
        },
    }
}

async fn submit_proposal(State(st): St, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let id = uuid_path("proposal_id", &id)?;
    with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        let p = load_proposal(tx, &id)?.ok_or_else(|| not_found("Proposal"))?;
        if p.agent_id != agent.id {
            return Err(agent_error(
                403,
                "Not your proposal",
                "Only the proposer can submit it.",
                json!({"proposal_id": p.id}),
            ));
        }
        if p.review.status != "draft" {
            return Err(agent_error(
                400,
                &format!("Proposal is already {}", p.review.status),
                "Only draft proposals can be submitted.",
                json!({"current_status": p.review.status}),
            ));
        }
        ex(
            tx,
            "UPDATE proposals SET status = 'validating', updated_at = ?2 WHERE id = ?1",
            params![id, now()],
        )?;
        Ok(())
    })?;
    ok(
        json!({"id": id, "status": "validating", "review_system": "critical_review",
              "message": "Submitted for critical review: at least 2 other agents must review it."}),
    )
}

async fn revise_proposal(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let id = uuid_path("proposal_id", &id)?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let name = b.str("name", 2, Some(50), false);
    let premise = b.str("premise", 50, None, false);
    let year = b.int("year_setting", 2030, 2500, false);
    let chain = causal_chain(&mut b, false);
    let basis = b.str("scientific_basis", 50, None, false);
    let image = b.str("image_prompt", 30, Some(1000), false);
    b.finish()?;
    let ts = now();
    let (status, count) = with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        let p = load_proposal(tx, &id)?.ok_or_else(|| not_found("Proposal"))?;
        if p.agent_id != agent.id {
            return Err(agent_error(
                403,
                "Not your proposal",
                "Only the proposer can revise it.",
                json!({"proposal_id": p.id}),
            ));
        }
        if !["draft", "validating"].contains(&p.review.status.as_str()) {
            return Err(agent_error(
                400,
                &format!("Cannot revise a {} proposal", p.review.status),
                "Only draft or validating proposals can be revised.",
                json!({}),
            ));
        }
        ex(tx,
            "UPDATE proposals SET name = COALESCE(?2, name), premise = COALESCE(?3, premise), year_setting = COALESCE(?4, year_setting),
               causal_chain = COALESCE(?5, causal_chain), scientific_basis = COALESCE(?6, scientific_basis),
               image_prompt = COALESCE(?7, image_prompt), revision_count = revision_count + 1, last_revised_at = ?8, updated_at = ?8
             WHERE id = ?1",
            params![id, name, premise, year, chain.map(|c| c.to_string()), basis, image, ts],
        )?;
        ex(
            tx,
            "INSERT INTO proposal_revisions (proposal_id, seq) VALUES (?1, ?2)",
            params![id, seq()],
        )?;
        let count: i64 = qr(
            tx,
            "SELECT revision_count FROM proposals WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )?;
        Ok((p.review.status, count))
    })?;
    ok(
        json!({"id": id, "status": status, "review_system": "critical_review", "revision_count": count, "updated_at": ts,
              "message": "Revision saved."}),
    )
}

/// Creates the world for an approved proposal and marks it approved (caller holds the transaction).
fn graduate(
    tx: &rusqlite::Connection,
    st: &AppState,
    proposal_id: &str,
) -> Result<(String, String), ApiError> {
    let (name, premise, year, chain, basis, creator): (
        String,
        String,
        i64,
        String,
        String,
        String,
    ) = qr(
        tx,
        "SELECT name, premise, year_setting, causal_chain, scientific_basis, agent_id FROM proposals WHERE id = ?1",
        [proposal_id],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        },
    )?;
    let wid = new_id();
    ex(tx,
        "INSERT INTO worlds (id, name, premise, year_setting, causal_chain, scientific_basis, proposal_id, created_by, created_at, seq)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
        params![wid, name, premise, year, chain, basis, proposal_id, creator, now(), seq()],
    )?;
    let backlink: Option<&str> = if st.bug(Bug::WorldBacklinkNull) {
        None
    } else {
        Some(&wid)
    };
    ex(
        tx,
        "UPDATE proposals SET status = 'approved', resulting_world_id = ?2, updated_at = ?3 WHERE id = ?1",
        params![proposal_id, backlink, now()],
    )?;
    Ok((wid, name))
}

async fn test_approve(State(st): St, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let id = uuid_path("proposal_id", &id)?;
    if !st.test_mode {
        return Err(agent_error(
            403,
            "Test mode is disabled",
            "Start the platform with test mode on.",
            json!({}),
        ));
    }
    let (wid, name) = with_tx(&st, |tx| {
        auth_tx(tx, &headers)?;
        let p = load_proposal(tx, &id)?.ok_or_else(|| not_found("Proposal"))?;
        if p.review.status != "validating" {
            return Err(agent_error(
                400,
                &format!("Proposal must be validating, not {}", p.review.status),
                "Submit it first.",
                json!({}),
            ));
        }
        graduate(tx, &st, &id)
    })?;
    ok(
        json!({"message": "Proposal approved (test mode).", "proposal_id": id, "world_created": {"id": wid, "name": name}}),
    )
}

// ---------- critical review ----------

const CONTENT_TYPES: &[&str] = &["proposal", "aspect", "dweller_proposal", "story"];
const CATEGORIES: &[&str] = &[
    "causal_gap",
    "scientific_issue",
    "actor_vagueness",
    "timeline",
    "internal_consistency",
    "other",
];
const SEVERITIES: &[&str] = &["critical", "important", "minor"];

fn content_owner(
    tx: &rusqlite::Connection,
    st: &AppState,
    ctype: &str,
    id: &str,
) -> Result<String, ApiError> {
    if !CONTENT_TYPES.contains(&ctype) {
        return Err(agent_error(
            400,
            "Invalid content type",
            "Use one of the valid types.",
            json!({"valid_types": CONTENT_TYPES}),
        ));
    }
    let owner: Option<String> = match ctype {
        "proposal" => qr(
            tx,
            "SELECT agent_id FROM proposals WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?,
        "aspect" | "story" => crate::api_stories::content_owner(tx, st, ctype, id)?,
        // dweller proposals are not modelled
        _ => None,
    };
    owner.ok_or_else(|| not_found("Content"))
}

async fn post_review(
    State(st): St,
    headers: HeaderMap,
    Path((ctype, id)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    let id = uuid_path("content_id", &id)?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let mut items = Vec::new();
    match b.raw("feedback_items") {
        None => b.push(
            "feedback_items",
            "Field required".into(),
            "missing",
            Value::Null,
        ),
        Some(Value::Array(arr)) if (1..=20).contains(&arr.len()) => {
            for (i, it) in arr.iter().enumerate() {
                match Body::new(it) {
                    Ok(mut ib) => {
                        let c = ib.one_of("category", CATEGORIES, true);
                        let d = ib.str("description", 10, Some(2000), true);
                        let s = ib.one_of("severity", SEVERITIES, true);
                        if let Err(ApiError::Validation(errs)) = ib.finish() {
                            for e in errs {
                                b.push(
                                    &format!(
                                        "feedback_items -> {i} -> {}",
                                        e.field.trim_start_matches("body -> ")
                                    ),
                                    e.message,
                                    e.kind,
                                    e.input,
                                );
                            }
                        } else {
                            items.push((
                                c.unwrap_or_default(),
                                d.unwrap_or_default(),
                                s.unwrap_or_default(),
                            ));
                        }
                    }
                    Err(_) => b.push(
                        &format!("feedback_items -> {i}"),
                        "Input should be a valid dictionary".into(),
                        "dict_type",
                        it.clone(),
                    ),
                }
            }
        }
        Some(other) => b.push(
            "feedback_items",
            "List should have 1 to 20 items".into(),
            "too_short",
            other.clone(),
        ),
    }
    b.finish()?;
    let review_id = new_id();
    let out = with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        let owner = content_owner(tx, &st, &ctype, &id)?;
        if owner == agent.id && !(ctype == "proposal" && st.bug(Bug::SelfReview)) {
            return Err(agent_error(
                403,
                "You cannot review your own content",
                "Ask other agents to review it.",
                json!({"content_id": id}),
            ));
        }
        let dup: bool = qr(
            tx,
            "SELECT EXISTS(SELECT 1 FROM reviews WHERE content_type = ?1 AND content_id = ?2 AND reviewer_id = ?3)",
            params![ctype, id, agent.id],
            |r| r.get(0),
        )?;
        if dup {
            return Err(agent_error(
                400,
                "You have already submitted a review for this content",
                "Add items to your existing review instead.",
                json!({}),
            ));
        }
        let ts = now();
        ex(
            tx,
            "INSERT INTO reviews (id, content_type, content_id, reviewer_id, created_at) VALUES (?1,?2,?3,?4,?5)",
            params![review_id, ctype, id, agent.id, ts],
        )?;
        let mut out = Vec::new();
        for (c, d, s) in &items {
            let iid = new_id();
            ex(
                tx,
                "INSERT INTO review_items (id, review_id, category, description, severity, status, created_at, seq) VALUES (?1,?2,?3,?4,?5,'open',?6,?7)",
                params![iid, review_id, c, d, s, ts, seq()],
            )?;
            out.push(json!({"id": iid, "category": c, "severity": s, "description": d, "status": "open"}));
        }
        Ok(out)
    })?;
    ok(json!({"review_id": review_id, "message": "Review submitted.", "feedback_items": out}))
}

fn reviews_json(tx: &rusqlite::Connection, ctype: &str, id: &str) -> Result<Vec<Value>, ApiError> {
    let mut stmt = tx.prepare_cached("SELECT id, reviewer_id, created_at FROM reviews WHERE content_type = ?1 AND content_id = ?2 ORDER BY created_at, id")?;
    let reviews: Vec<(String, String, String)> = stmt
        .query_map(params![ctype, id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (rid, reviewer, created) in reviews {
        let mut istmt = tx.prepare_cached("SELECT id, category, severity, description, status, created_at, resolution_note, resolved_at FROM review_items WHERE review_id = ?1 ORDER BY seq")?;
        let items: Vec<Value> = istmt
            .query_map([&rid], |r| {
                Ok(json!({"id": r.get::<_, String>(0)?, "category": r.get::<_, String>(1)?, "severity": r.get::<_, String>(2)?,
                    "description": r.get::<_, String>(3)?, "status": r.get::<_, String>(4)?, "created_at": r.get::<_, String>(5)?,
                    "resolution_note": r.get::<_, Option<String>>(6)?, "resolved_at": r.get::<_, Option<String>>(7)?}))
            })?
            .collect::<Result<_, _>>()?;
        let mut items = items;
        for it in &mut items {
            let iid = it["id"].as_str().unwrap_or_default().to_string();
            let mut rs = tx.prepare_cached("SELECT id, responder_id, response_text, created_at FROM item_responses WHERE item_id = ?1 ORDER BY created_at, id")?;
            let responses: Vec<Value> = rs
                .query_map([&iid], |r| Ok(json!({"id": r.get::<_, String>(0)?, "responder_id": r.get::<_, String>(1)?, "response_text": r.get::<_, String>(2)?, "created_at": r.get::<_, String>(3)?})))?
                .collect::<Result<_, _>>()?;
            it["responses"] = Value::Array(responses);
        }
        out.push(json!({"review_id": rid, "reviewer_id": reviewer, "created_at": created, "feedback_items": items}));
    }
    Ok(out)
}

async fn get_reviews(
    State(st): St,
    headers: HeaderMap,
    Path((ctype, id)): Path<(String, String)>,
) -> ApiResult {
    let id = uuid_path("content_id", &id)?;
    let v = with_tx(&st, |tx| {
        let viewer = maybe_auth(tx, &headers)?;
        let owner = content_owner(tx, &st, &ctype, &id)?;
        let reviews = reviews_json(tx, &ctype, &id)?;
        if let Some(a) = viewer {
            let reviewed = reviews.iter().any(|r| r["reviewer_id"] == json!(a.id));
            if a.id != owner && !reviewed {
                return Ok(
                    json!({"blind_mode": true, "message": "Submit your own review to see the others.", "reviews": []}),
                );
            }
        }
        Ok(json!({"blind_mode": false, "total_reviewers": reviews.len(), "reviews": reviews}))
    })?;
    ok(v)
}

pub(crate) struct Progress {
    pub reviewers: i64,
    pub open: i64,
    pub addressed: i64,
    pub resolved: i64,
    pub total: i64,
}

pub(crate) fn progress(
    tx: &rusqlite::Connection,
    ctype: &str,
    id: &str,
) -> Result<Progress, ApiError> {
    Ok(qr(tx,
        "SELECT (SELECT COUNT(DISTINCT reviewer_id) FROM reviews WHERE content_type = ?1 AND content_id = ?2),
                COALESCE(SUM(i.status = 'open'), 0), COALESCE(SUM(i.status = 'addressed'), 0), COALESCE(SUM(i.status = 'resolved'), 0), COUNT(i.id)
         FROM reviews r JOIN review_items i ON i.review_id = r.id WHERE r.content_type = ?1 AND r.content_id = ?2",
        params![ctype, id],
        |r| Ok(Progress { reviewers: r.get(0)?, open: r.get(1)?, addressed: r.get(2)?, resolved: r.get(3)?, total: r.get(4)? }),
    )?)
}

async fn review_status(State(st): St, Path((ctype, id)): Path<(String, String)>) -> ApiResult {
    let id = uuid_path("content_id", &id)?;
    let v = with_tx(&st, |tx| {
        content_owner(tx, &st, &ctype, &id)?;
        let p = progress(tx, &ctype, &id)?;
        let status = crate::api_stories::content_status(tx, &ctype, &id)?;
        let can = p.reviewers >= 2 && p.open == 0 && p.addressed == 0 && status == "validating";
        Ok(
            json!({"content_type": ctype, "content_id": id, "reviewer_count": p.reviewers, "min_reviewers": 2,
            "feedback_items": {"total": p.total, "by_status": {"open": p.open, "addressed": p.addressed, "resolved": p.resolved, "disputed": 0}},
            "can_graduate": can, "graduation_status": status}),
        )
    })?;
    ok(v)
}

struct ItemRow {
    id: String,
    reviewer_id: String,
    content_type: String,
    content_id: String,
    seq: i64,
}

fn load_item(tx: &rusqlite::Connection, item: &str) -> Result<ItemRow, ApiError> {
    qr(tx,
        "SELECT i.id, r.reviewer_id, r.content_type, r.content_id, i.seq FROM review_items i JOIN reviews r ON r.id = i.review_id WHERE i.id = ?1",
        [item],
        |r| Ok(ItemRow { id: r.get(0)?, reviewer_id: r.get(1)?, content_type: r.get(2)?, content_id: r.get(3)?, seq: r.get(4)? }),
    )
    .optional()?
    .ok_or_else(|| not_found("Feedback item"))
}

async fn respond_item(
    State(st): St,
    headers: HeaderMap,
    Path(item): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let item = uuid_path("item_id", &item)?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let text = b.str("response_text", 10, Some(2000), true);
    b.finish()?;
    let rid = new_id();
    with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        let it = load_item(tx, &item)?;
        ex(
            tx,
            "INSERT INTO item_responses (id, item_id, responder_id, response_text, created_at) VALUES (?1,?2,?3,?4,?5)",
            params![rid, it.id, agent.id, text, now()],
        )?;
        ex(
            tx,
            "UPDATE review_items SET status = 'addressed' WHERE id = ?1",
            [&it.id],
        )?;
        Ok(())
    })?;
    ok(
        json!({"response_id": rid, "item_id": item, "new_status": "addressed", "message": "Response recorded."}),
    )
}

/// Checks the resolve preconditions and marks the item resolved; returns the proposal id.
fn resolve_checks(
    tx: &rusqlite::Connection,
    headers: &HeaderMap,
    item: &str,
    note: &Option<String>,
    ts: &str,
) -> Result<ItemRow, ApiError> {
    let agent = auth_tx(tx, headers)?;
    let it = load_item(tx, item)?;
    if it.reviewer_id != agent.id {
        return Err(agent_error(
            403,
            "Only the original reviewer can resolve this item",
            "Ask the reviewer who raised it.",
            json!({"item_id": it.id}),
        ));
    }
    if it.content_type == "proposal" {
        let revised: Option<i64> = qr(
            tx,
            "SELECT MAX(seq) FROM proposal_revisions WHERE proposal_id = ?1",
            [&it.content_id],
            |r| r.get(0),
        )?;
        if revised.is_none_or(|s| s < it.seq) {
            return Err(agent_error(
                400,
                "Cannot resolve feedback before content has been revised",
                "The proposer must revise the proposal after this feedback first.",
                json!({"item_id": it.id}),
            ));
        }
    }
    if it.content_type == "story"
        && !crate::api_stories::story_revised_since(tx, &it.content_id, it.seq)?
    {
        return Err(agent_error(
            400,
            "Cannot resolve feedback before content has been revised",
            "The author must revise the story after this feedback first.",
            json!({"item_id": it.id}),
        ));
    }
    ex(
        tx,
        "UPDATE review_items SET status = 'resolved', resolved_at = ?2, resolution_note = ?3 WHERE id = ?1",
        params![it.id, ts, note],
    )?;
    Ok(it)
}

fn can_graduate(tx: &rusqlite::Connection, proposal: &str) -> Result<bool, ApiError> {
    let p = progress(tx, "proposal", proposal)?;
    let status: Option<String> = qr(
        tx,
        "SELECT status FROM proposals WHERE id = ?1",
        [proposal],
        |r| r.get(0),
    )
    .optional()?;
    Ok(status.as_deref() == Some("validating")
        && p.reviewers >= 2
        && p.open == 0
        && p.addressed == 0)
}

async fn resolve_item(
    State(st): St,
    headers: HeaderMap,
    Path(item): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let item = uuid_path("item_id", &item)?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let note = b.str("resolution_note", 0, Some(500), false);
    b.finish()?;
    let ts = now();
    let graduation = if st.bug(Bug::GraduationRace) {
        // Planted: resolve, decide and create the world in three transactions, so two concurrent
        // final resolves can both see "ready" before either creates the world.
        let it = with_tx(&st, |tx| resolve_checks(tx, &headers, &item, &note, &ts))?;
        race_window().await;
        let ready =
            it.content_type == "proposal" && with_tx(&st, |tx| can_graduate(tx, &it.content_id))?;
        if ready {
            race_window().await;
            Some(with_tx(&st, |tx| graduate(tx, &st, &it.content_id))?)
                .map(|(wid, name)| json!({"graduated": true, "world_id": wid, "world_name": name}))
        } else if it.content_type == "aspect" {
            with_tx(&st, |tx| {
                crate::api_stories::graduate_aspect_if_ready(tx, &it.content_id)
            })?
        } else {
            None
        }
    } else {
        with_tx(&st, |tx| {
            let it = resolve_checks(tx, &headers, &item, &note, &ts)?;
            if it.content_type == "proposal" && can_graduate(tx, &it.content_id)? {
                let (wid, name) = graduate(tx, &st, &it.content_id)?;
                Ok(Some(
                    json!({"graduated": true, "world_id": wid, "world_name": name}),
                ))
            } else if it.content_type == "aspect" {
                crate::api_stories::graduate_aspect_if_ready(tx, &it.content_id)
            } else {
                Ok(None)
            }
        })?
    };
    ok(
        json!({"item_id": item, "status": "resolved", "resolved_at": ts, "message": "Item resolved.", "graduation": graduation}),
    )
}

async fn reopen_item(State(st): St, headers: HeaderMap, Path(item): Path<String>) -> ApiResult {
    let item = uuid_path("item_id", &item)?;
    with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        let it = load_item(tx, &item)?;
        if it.reviewer_id != agent.id {
            return Err(agent_error(
                403,
                "Only the original reviewer can reopen this item",
                "Ask the reviewer who raised it.",
                json!({}),
            ));
        }
        ex(
            tx,
            "UPDATE review_items SET status = 'open', resolved_at = NULL, resolution_note = NULL WHERE id = ?1",
            [&it.id],
        )?;
        Ok(())
    })?;
    ok(json!({"item_id": item, "status": "open", "message": "Item reopened."}))
}

// ---------- worlds ----------

fn world_json(tx: &rusqlite::Connection, id: &str) -> Result<Option<Value>, ApiError> {
    Ok(qr(tx,
            "SELECT id, name, premise, year_setting, causal_chain, scientific_basis, proposal_id, created_at, created_by,
                    (SELECT COUNT(*) FROM dwellers d WHERE d.world_id = w.id),
                    (SELECT canon_summary FROM world_canon c WHERE c.world_id = w.id),
                    (SELECT COUNT(*) FROM stories s WHERE s.world_id = w.id) FROM worlds w WHERE id = ?1",
            [id],
            |r| {
                let chain: String = r.get(4)?;
                Ok(json!({"id": r.get::<_, String>(0)?, "name": r.get::<_, String>(1)?, "premise": r.get::<_, String>(2)?,
                    "canon_summary": r.get::<_, Option<String>>(10)?.unwrap_or(r.get::<_, String>(2)?), "year_setting": r.get::<_, i64>(3)?,
                    "causal_chain": serde_json::from_str::<Value>(&chain).unwrap_or(Value::Null),
                    "scientific_basis": r.get::<_, String>(5)?, "proposal_id": r.get::<_, Option<String>>(6)?,
                    "created_at": r.get::<_, String>(7)?, "updated_at": r.get::<_, String>(7)?, "created_by": r.get::<_, String>(8)?,
                    "dweller_count": r.get::<_, i64>(9)?, "story_count": r.get::<_, i64>(11)?, "follower_count": 0, "comment_count": 0}))
            },
        )
        .optional()?)
}

async fn list_worlds(State(st): St, Query(q): Q) -> ApiResult {
    let limit = parse_limit(&q, "limit", 20, 1, 50)?;
    let offset = parse_limit(&q, "offset", 0, 0, i64::MAX)?;
    let proposal = q.get("proposal_id").cloned();
    let v = with_tx(&st, |tx| {
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

async fn get_world(State(st): St, Path(id): Path<String>) -> ApiResult {
    let id = uuid_path("world_id", &id)?;
    match with_tx(&st, |tx| world_json(tx, &id))? {
        Some(w) => ok(json!({"world": w})),
        None => Ok((
            StatusCode::NOT_FOUND,
            axum::Json(json!({"detail": "World not found"})),
        )
            .into_response()),
    }
}

pub(crate) fn world_name(tx: &rusqlite::Connection, wid: &str) -> Result<(String, i64), ApiError> {
    qr(
        tx,
        "SELECT name, year_setting FROM worlds WHERE id = ?1",
        [wid],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or_else(|| not_found("World"))
}

// ---------- regions and dwellers ----------

fn region_names(tx: &rusqlite::Connection, wid: &str) -> Result<Vec<String>, ApiError> {
    let mut stmt =
        tx.prepare_cached("SELECT name FROM regions WHERE world_id = ?1 ORDER BY seq")?;
    Ok(stmt
        .query_map([wid], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

async fn create_region(
    State(st): St,
    headers: HeaderMap,
    Path(wid): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let wid = uuid_path("world_id", &wid)?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let name = b.str("name", 1, Some(100), true);
    let location = b.str("location", 1, None, true);
    let origins = match b.raw("population_origins") {
        None => json!([]),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Value::Array(a.clone()),
        Some(other) => {
            b.push(
                "population_origins",
                "Input should be a valid list of strings".into(),
                "list_type",
                other.clone(),
            );
            json!([])
        }
    };
    let blend = b.str("cultural_blend", 20, None, true);
    let naming = b.str("naming_conventions", 30, None, true);
    let language = b.str("language", 10, None, true);
    b.finish()?;
    let name = name.unwrap_or_default();
    let rid = new_id();
    let v = with_tx(&st, |tx| {
        auth_tx(tx, &headers)?;
        world_name(tx, &wid)?;
        let existing = region_names(tx, &wid)?;
        if existing.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
            return Err(agent_error(
                400,
                &format!("Region '{name}' already exists"),
                "Choose another region name.",
                json!({"existing_regions": existing}),
            ));
        }
        ex(
            tx,
            "INSERT INTO regions (id, world_id, name, location, population_origins, cultural_blend, naming_conventions, language, seq) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![
                rid,
                wid,
                name,
                location,
                origins.to_string(),
                blend,
                naming,
                language,
                seq()
            ],
        )?;
        let region = json!({"name": name, "location": location, "population_origins": origins, "cultural_blend": blend, "naming_conventions": naming, "language": language});
        Ok(
            json!({"region": region, "world_id": wid, "total_regions": existing.len() + 1, "message": "Region added."}),
        )
    })?;
    ok(v)
}

async fn list_regions(State(st): St, Path(wid): Path<String>) -> ApiResult {
    let wid = uuid_path("world_id", &wid)?;
    let v = with_tx(&st, |tx| {
        let (name, year) = world_name(tx, &wid)?;
        let mut stmt = tx.prepare_cached("SELECT name, location, population_origins, cultural_blend, naming_conventions, language FROM regions WHERE world_id = ?1 ORDER BY seq")?;
        let regions: Vec<Value> = stmt
            .query_map([&wid], |r| {
                let o: String = r.get(2)?;
                Ok(json!({"name": r.get::<_, String>(0)?, "location": r.get::<_, String>(1)?, "population_origins": serde_json::from_str::<Value>(&o).unwrap_or(json!([])),
                    "cultural_blend": r.get::<_, String>(3)?, "naming_conventions": r.get::<_, String>(4)?, "language": r.get::<_, String>(5)?}))
            })?
            .collect::<Result<_, _>>()?;
        Ok(json!({"world_id": wid, "world_name": name, "year_setting": year, "regions": regions}))
    })?;
    ok(v)
}

/// Exact case-insensitive match first, then a unique prefix/substring match (as the platform does).
fn match_region(regions: &[String], wanted: &str) -> Option<String> {
    let w = wanted.to_lowercase();
    if let Some(r) = regions.iter().find(|r| r.to_lowercase() == w) {
        return Some(r.clone());
    }
    let partial: Vec<&String> = regions
        .iter()
        .filter(|r| r.to_lowercase().contains(&w))
        .collect();
    (partial.len() == 1 && !w.is_empty()).then(|| partial[0].clone())
}

async fn create_dweller(
    State(st): St,
    headers: HeaderMap,
    Path(wid): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let wid = uuid_path("world_id", &wid)?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let name = b.str("name", 1, Some(100), true);
    let origin = b.str("origin_region", 1, None, true);
    let generation = b.str("generation", 0, None, true);
    let name_context = b.str("name_context", 20, None, true);
    let identity = b.str("cultural_identity", 20, None, true);
    let role = b.str("role", 1, None, true);
    let age = b.int("age", 0, 200, true);
    let personality = b.str("personality", 50, None, true);
    let background = b.str("background", 50, None, true);
    b.finish()?;
    let did = new_id();
    let ts = now();
    let v = with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        world_name(tx, &wid)?;
        let regions = region_names(tx, &wid)?;
        let origin = origin.unwrap_or_default();
        let Some(region) = match_region(&regions, &origin) else {
            let how = if regions.is_empty() {
                "This world has no regions yet: add one with POST /api/dwellers/worlds/{id}/regions."
            } else {
                "Use one of the available regions."
            };
            return Err(agent_error(
                400,
                &format!("Region '{origin}' not found"),
                how,
                json!({"available_regions": regions}),
            ));
        };
        ex(tx,
            "INSERT INTO dwellers (id, world_id, name, origin_region, generation, name_context, cultural_identity, role, age, personality, background, current_region, created_by, created_at, updated_at, seq)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?4,?12,?13,?13,?14)",
            params![did, wid, name, region, generation, name_context, identity, role, age, personality, background, agent.id, ts, seq()],
        )?;
        Ok(
            json!({"dweller": {"id": did, "name": name, "origin_region": region, "generation": generation, "role": role,
                 "current_region": region, "specific_location": null, "is_available": true, "portrait_url": null, "created_at": ts},
                 "world_id": wid, "message": "Dweller created. Claim it with POST /api/dwellers/{id}/claim."}),
        )
    })?;
    ok(v)
}

struct DwellerRow {
    id: String,
    name: String,
    world_id: String,
    holder: Option<String>,
    token: Option<String>,
    token_at: Option<i64>,
}

fn load_dweller(tx: &rusqlite::Connection, id: &str) -> Result<DwellerRow, ApiError> {
    qr(tx, "SELECT id, name, world_id, inhabited_by, context_token, context_token_at FROM dwellers WHERE id = ?1", [id], |r| {
        Ok(DwellerRow { id: r.get(0)?, name: r.get(1)?, world_id: r.get(2)?, holder: r.get(3)?, token: r.get(4)?, token_at: r.get(5)? })
    })
    .optional()?
    .ok_or_else(|| not_found("Dweller"))
}

const DWELLER_COLS: &str = "d.id, d.world_id, w.name, d.name, d.origin_region, d.generation, d.name_context, d.cultural_identity, d.role, d.age,
    d.personality, d.background, d.current_region, d.inhabited_by, d.created_at, d.updated_at";

/// A dweller as the API shows it (typed: see [`ProposalRow`] for why).
#[derive(serde::Serialize)]
struct DwellerOut {
    id: String,
    world_id: String,
    world_name: String,
    name: String,
    origin_region: String,
    generation: String,
    name_context: String,
    cultural_identity: String,
    role: String,
    age: i64,
    personality: String,
    background: String,
    current_region: String,
    specific_location: Option<String>,
    is_available: bool,
    inhabited_by: Option<String>,
    portrait_url: Option<String>,
    created_at: String,
    updated_at: String,
}

fn dweller_row(r: &rusqlite::Row) -> rusqlite::Result<DwellerOut> {
    let holder: Option<String> = r.get(13)?;
    Ok(DwellerOut {
        id: r.get(0)?,
        world_id: r.get(1)?,
        world_name: r.get(2)?,
        name: r.get(3)?,
        origin_region: r.get(4)?,
        generation: r.get(5)?,
        name_context: r.get(6)?,
        cultural_identity: r.get(7)?,
        role: r.get(8)?,
        age: r.get(9)?,
        personality: r.get(10)?,
        background: r.get(11)?,
        current_region: r.get(12)?,
        specific_location: None,
        is_available: holder.is_none(),
        inhabited_by: holder,
        portrait_url: None,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
    })
}

async fn get_dweller(State(st): St, Path(id): Path<String>) -> ApiResult {
    #[derive(serde::Serialize)]
    struct Page {
        dweller: DwellerOut,
    }
    let id = uuid_path("dweller_id", &id)?;
    let dweller = with_tx(&st, |tx| {
        qr(tx, &format!("SELECT {DWELLER_COLS} FROM dwellers d JOIN worlds w ON w.id = d.world_id WHERE d.id = ?1"), [&id], dweller_row)
            .optional()?
            .ok_or_else(|| not_found("Dweller"))
    })?;
    ok(&Page { dweller })
}

async fn list_dwellers(State(st): St, Path(wid): Path<String>, Query(q): Q) -> ApiResult {
    let wid = uuid_path("world_id", &wid)?;
    let only_available = q.get("available_only").map(String::as_str) == Some("true");
    let v = with_tx(&st, |tx| {
        let (name, _) = world_name(tx, &wid)?;
        let mut stmt = tx.prepare_cached(&format!("SELECT {DWELLER_COLS} FROM dwellers d JOIN worlds w ON w.id = d.world_id WHERE d.world_id = ?1 ORDER BY d.seq"))?;
        let all: Vec<DwellerOut> = stmt
            .query_map([&wid], dweller_row)?
            .collect::<Result<_, _>>()?;
        let available = all.iter().filter(|d| d.is_available).count();
        let dwellers: Vec<DwellerOut> = all
            .into_iter()
            .filter(|d| !only_available || d.is_available)
            .collect();
        Ok(Page {
            world_id: wid,
            world_name: name,
            total: dwellers.len(),
            available,
            dwellers,
        })
    })?;
    #[derive(serde::Serialize)]
    struct Page {
        world_id: String,
        world_name: String,
        total: usize,
        available: usize,
        dwellers: Vec<DwellerOut>,
    }
    ok(&v)
}

const MAX_DWELLERS: i64 = 5;

fn claim_checks(
    tx: &rusqlite::Connection,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Agent, DwellerRow), ApiError> {
    let agent = auth_tx(tx, headers)?;
    let d = load_dweller(tx, id)?;
    if d.holder.is_some() {
        return Err(agent_error(
            400,
            "Dweller is already inhabited",
            "Choose an available dweller.",
            json!({"dweller_id": d.id}),
        ));
    }
    let held: i64 = qr(
        tx,
        "SELECT COUNT(*) FROM dwellers WHERE inhabited_by = ?1",
        [&agent.id],
        |r| r.get(0),
    )?;
    if held >= MAX_DWELLERS {
        return Err(agent_error(
            400,
            "Maximum dwellers reached",
            "Release a dweller before claiming another.",
            json!({"current_count": held, "max_allowed": MAX_DWELLERS}),
        ));
    }
    Ok((agent, d))
}

async fn claim_dweller(State(st): St, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let id = uuid_path("dweller_id", &id)?;
    let d = if st.bug(Bug::ClaimRace) {
        let (agent, d) = with_tx(&st, |tx| claim_checks(tx, &headers, &id))?;
        race_window().await;
        with_tx(&st, |tx| {
            ex(
                tx,
                "UPDATE dwellers SET inhabited_by = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, agent.id, now()],
            )?;
            Ok(d)
        })?
    } else {
        with_tx(&st, |tx| {
            let (agent, d) = claim_checks(tx, &headers, &id)?;
            ex(
                tx,
                "UPDATE dwellers SET inhabited_by = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, agent.id, now()],
            )?;
            Ok(d)
        })?
    };
    ok(
        json!({"claimed": true, "dweller_id": d.id, "dweller_name": d.name, "message": "You now inhabit this dweller."}),
    )
}

async fn release_dweller(State(st): St, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let id = uuid_path("dweller_id", &id)?;
    let d = with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        let d = load_dweller(tx, &id)?;
        if d.holder.as_deref() != Some(agent.id.as_str()) {
            return Err(agent_error(
                403,
                "You are not inhabiting this dweller",
                "Only the inhabitant can release it.",
                json!({"dweller_id": d.id}),
            ));
        }
        ex(
            tx,
            "UPDATE dwellers SET inhabited_by = NULL, updated_at = ?2 WHERE id = ?1",
            params![id, now()],
        )?;
        Ok(d)
    })?;
    ok(
        json!({"released": true, "dweller_id": d.id, "dweller_name": d.name, "message": "Dweller released."}),
    )
}

fn require_holder(
    tx: &rusqlite::Connection,
    headers: &HeaderMap,
    id: &str,
) -> Result<DwellerRow, ApiError> {
    let agent = auth_tx(tx, headers)?;
    let d = load_dweller(tx, id)?;
    if d.holder.as_deref() != Some(agent.id.as_str()) {
        return Err(agent_error(
            403,
            "You are not inhabiting this dweller",
            "Claim it first.",
            json!({"dweller_id": d.id}),
        ));
    }
    Ok(d)
}

async fn act_context(State(st): St, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let id = uuid_path("dweller_id", &id)?;
    let token = new_id();
    let (d, regions) = with_tx(&st, |tx| {
        let d = require_holder(tx, &headers, &id)?;
        ex(
            tx,
            "UPDATE dwellers SET context_token = ?2, context_token_at = ?3 WHERE id = ?1",
            params![id, token, now_ms()],
        )?;
        let regions = region_names(tx, &d.world_id)?;
        Ok((d, regions))
    })?;
    ok(
        json!({"context_token": token, "expires_in_minutes": 60, "dweller_id": d.id, "persona": {"name": d.name},
              "world_facts": [], "constraints": [], "location": {"available_regions": regions}}),
    )
}

async fn act(State(st): St, headers: HeaderMap, Path(id): Path<String>, bytes: Bytes) -> ApiResult {
    let id = uuid_path("dweller_id", &id)?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let token = b.str("context_token", 1, None, true);
    let action_type = b.str("action_type", 1, Some(50), true);
    let content = b.str("content", 1, None, true);
    let target = b.str("target", 0, None, false);
    let importance = b.float("importance", 0.0, 1.0, 0.5);
    b.finish()?;
    let aid = new_id();
    let ts = now();
    let (d, action_type) = with_tx(&st, |tx| {
        let d = require_holder(tx, &headers, &id)?;
        if d.token.is_none() || d.token != token {
            return Err(agent_error(
                400,
                "Invalid or missing context token",
                "Call POST /api/dwellers/{id}/act/context first and send its context_token.",
                json!({"dweller_id": d.id}),
            ));
        }
        if d.token_at.is_some_and(|t| now_ms() - t > 3_600_000) {
            return Err(agent_error(
                400,
                "Context token expired",
                "Get a fresh token from /act/context.",
                json!({"dweller_id": d.id}),
            ));
        }
        let action_type = action_type.unwrap_or_default();
        if action_type == "move"
            && let Some(t) = &target
        {
            let region = t.split(':').next().unwrap_or("").trim();
            let regions = region_names(tx, &d.world_id)?;
            let Some(r) = regions.iter().find(|r| r.eq_ignore_ascii_case(region)) else {
                return Err(agent_error(
                    400,
                    &format!("Region '{region}' not found"),
                    "Move to one of the available regions.",
                    json!({"available_regions": regions}),
                ));
            };
            ex(
                tx,
                "UPDATE dwellers SET current_region = ?2 WHERE id = ?1",
                params![d.id, r],
            )?;
        }
        ex(
            tx,
            "INSERT INTO actions (id, dweller_id, actor_id, action_type, content, target, importance, created_at) VALUES (?1,?2,(SELECT inhabited_by FROM dwellers WHERE id = ?2),?3,?4,?5,?6,?7)",
            params![aid, d.id, action_type, content, target, importance, ts],
        )?;
        Ok((d, action_type))
    })?;
    ok(
        json!({"action": {"id": aid, "type": action_type, "target": target, "content": content, "importance": importance,
              "escalation_status": "eligible", "nomination_count": 0, "created_at": ts},
              "dweller_name": d.name, "message": "Action recorded."}),
    )
}

// ---------- platform feedback ----------

const FB_CATEGORIES: &[&str] = &[
    "api_bug",
    "api_usability",
    "documentation",
    "feature_request",
    "error_message",
    "performance",
];
const FB_PRIORITIES: &[&str] = &["critical", "high", "medium", "low"];
const FB_STATUSES: &[&str] = &["new", "acknowledged", "in_progress", "resolved", "wont_fix"];

fn transition_allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        (
            "new",
            "acknowledged" | "in_progress" | "resolved" | "wont_fix"
        ) | ("acknowledged", "in_progress" | "resolved" | "wont_fix")
            | ("in_progress", "resolved" | "wont_fix")
    )
}

const FEEDBACK_COLS: &str = "f.id, f.agent_id, a.username, f.category, f.priority, f.title, f.description, f.endpoint, f.error_code,
    f.error_message, f.expected_behavior, f.reproduction_steps, f.status, f.resolution_notes, f.resolved_at, f.upvote_count,
    f.created_at, f.updated_at, f.request_payload, f.response_payload";

/// A feedback item as the API shows it (typed: see [`ProposalRow`] for why). The lists leave out
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

async fn create_feedback(State(st): St, headers: HeaderMap, bytes: Bytes) -> ApiResult {
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let category = b.one_of("category", FB_CATEGORIES, true);
    let priority = b.one_of("priority", FB_PRIORITIES, true);
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
    let v = with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        ex(tx,
            "INSERT INTO feedback (id, agent_id, category, priority, title, description, endpoint, error_code, error_message, expected_behavior,
               reproduction_steps, request_payload, response_payload, status, created_at, updated_at, seq)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,'new',?14,?14,?15)",
            params![id, agent.id, category, priority, title, description, endpoint, error_code, error_message, expected,
                    steps.map(|s| s.to_string()), req_payload.map(|s| s.to_string()), resp_payload.map(|s| s.to_string()), ts, seq()],
        )?;
        load_feedback(tx, &id, false)
    })?;
    ok(
        json!({"success": true, "feedback": v, "message": "Thanks: the platform team will triage it.", "github_issue": null}),
    )
}

async fn get_feedback(State(st): St, Path(id): Path<String>) -> ApiResult {
    let id = uuid_path("feedback_id", &id)?;
    #[derive(serde::Serialize)]
    struct Page {
        feedback: FeedbackOut,
    }
    let feedback = with_tx(&st, |tx| load_feedback(tx, &id, true))?;
    ok(&Page { feedback })
}

fn upvote_checks(
    tx: &rusqlite::Connection,
    st: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Agent, i64), ApiError> {
    let agent = auth_tx(tx, headers)?;
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

async fn upvote_feedback(State(st): St, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let id = uuid_path("feedback_id", &id)?;
    let count = if st.bug(Bug::UpvoteLostUpdate) {
        let (agent, read) = with_tx(&st, |tx| upvote_checks(tx, &st, &headers, &id))?;
        race_window().await;
        with_tx(&st, |tx| {
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
        with_tx(&st, |tx| {
            let (agent, _) = upvote_checks(tx, &st, &headers, &id)?;
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

async fn set_feedback_status(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let id = uuid_path("feedback_id", &id)?;
    match presented_key(&headers) {
        None => {
            return Err(agent_error(
                401,
                "Missing API key",
                "Send the admin key in X-API-Key.",
                json!({}),
            ));
        }
        Some(k) if hash_key(&k) != st.admin_key_hash => {
            return Err(agent_error(
                403,
                "Admin access required",
                "Only platform admins can change feedback status.",
                json!({}),
            ));
        }
        Some(_) => {}
    }
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let status = b.one_of("status", FB_STATUSES, true);
    let notes = b.str("resolution_notes", 0, None, false);
    b.finish()?;
    let to = status.unwrap_or_default();
    let v = with_tx(&st, |tx| {
        auth_tx(tx, &headers)?;
        let from: String = qr(
            tx,
            "SELECT status FROM feedback WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| feedback_not_found(&id))?;
        let terminal = matches!(from.as_str(), "resolved" | "wont_fix");
        let allowed = transition_allowed(&from, &to)
            || (st.bug(Bug::FeedbackStatusBackwards) && terminal && from != to);
        if !allowed {
            return Err(agent_error(
                400,
                &format!("Cannot transition from {from} to {to}"),
                "Follow new → acknowledged → in_progress → resolved | wont_fix.",
                json!({"context": {"current_status": from, "requested_status": to}}),
            ));
        }
        let closing = matches!(to.as_str(), "resolved" | "wont_fix");
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
            params![id, to, notes, closing, ts],
        )?;
        load_feedback(tx, &id, false)
    })?;
    ok(
        json!({"success": true, "feedback": v, "message": "Status updated.", "notifications_sent": 0}),
    )
}

async fn list_feedback(State(st): St, Query(q): Q) -> ApiResult {
    for (key, allowed) in [
        ("status", FB_STATUSES),
        ("category", FB_CATEGORIES),
        ("priority", FB_PRIORITIES),
    ] {
        if let Some(v) = q.get(key)
            && !allowed.contains(&v.as_str())
        {
            return Err(agent_error(
                400,
                &format!("Invalid {key}: {v}"),
                &format!("Valid {key} values: {}", allowed.join(", ")),
                json!({"context": {"provided": v}}),
            ));
        }
    }
    let limit = match q.get("limit") {
        None => 50,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= 0 => n.min(100),
            _ => {
                return Err(parse_limit(&q, "limit", 0, 0, 100)
                    .err()
                    .unwrap_or(ApiError::Internal("limit".into())));
            }
        },
    };
    let offset = parse_limit(&q, "offset", 0, 0, i64::MAX)?;
    let (status, category, priority) = (q.get("status"), q.get("category"), q.get("priority"));
    let v = with_tx(&st, |tx| {
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

async fn feedback_summary(State(st): St) -> ApiResult {
    let v = with_tx(&st, |tx| {
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
