//! The `X-Idempotency-Key` middleware for every POST/PUT/PATCH, with the platform's semantics:
//! a key needs an API key (400 without one), must be a UUID (400), and an unknown API key is 401;
//! a key belongs to the agent and the endpoint (method and path) that first used it: presented by
//! another agent or on another endpoint it is refused with 409 and nothing runs (the platform looks
//! keys up by key alone and replays across both — the `idempotency-key-unscoped` bug); the lookup
//! and the `in_progress` record are one step under the connection lock (the platform's
//! check-then-insert is the `idempotency-check-then-insert` bug); a completed key replays the stored status and body with
//! `x-idempotent-replay: true` without re-running the handler; a key still in progress is 409; a key
//! whose request failed with a 5xx may be retried and runs again. Without the header: pass-through.

use crate::auth::{optional_agent, presented_key};
use crate::bug::{Bug, race_window};
use crate::db::{ex, now, qr};
use crate::error::{ApiError, agent_error};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rusqlite::OptionalExtension;
use serde_json::json;
use std::sync::Arc;

const HEADER: &str = "x-idempotency-key";
/// Largest response body buffered for storage (the platform's bodies are far smaller); a larger one
/// fails the request with a 500 rather than being cut.
const MAX_STORED_BODY: usize = 64 * 1024 * 1024;

/// A stored key: status, response status, response body, agent, method, path.
type StoredKey = (String, Option<i64>, Option<Vec<u8>>, String, String, String);

enum Found {
    Replay(u16, Vec<u8>),
    InProgress,
    Run,
    /// The key was first used by another agent or on another endpoint.
    OtherRequest,
    /// `idempotency-check-then-insert`: the key was not found; it is recorded after a yield.
    InsertLater(String),
}

pub async fn layer(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let Some(api_key) = presented_key(req.headers()) else {
        return agent_error(
            400,
            "X-Idempotency-Key requires authentication",
            "Send your API key in X-API-Key together with X-Idempotency-Key.",
            json!({}),
        )
        .into_response();
    };
    let key = match raw.to_str().ok().map(str::trim).map(uuid::Uuid::parse_str) {
        Some(Ok(u)) => u.to_string(),
        _ => {
            return agent_error(
                400,
                "Invalid X-Idempotency-Key format",
                "Use a UUID, e.g. one from uuid4().",
                json!({}),
            )
            .into_response();
        }
    };
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let found = {
        let conn = st.db.lock();
        let agent = match optional_agent(&conn, &api_key) {
            Ok(Some(a)) => a,
            Ok(None) => {
                return agent_error(
                    401,
                    "Invalid API key",
                    "Register with POST /api/auth/agent and use the key it returns.",
                    json!({}),
                )
                .into_response();
            }
            Err(e) => return e.into_response(),
        };
        let row: rusqlite::Result<Option<StoredKey>> = qr(
            &conn,
            "SELECT status, response_status, response_body, agent_id, method, path FROM idempotency_keys WHERE key = ?1",
            [&key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional();
        let write = |sql: &str| {
            ex(
                &conn,
                sql,
                rusqlite::params![key, agent.id, method, path, now()],
            )
        };
        let unscoped = st.bug(Bug::IdempotencyKeyUnscoped);
        let res = match row {
            Ok(Some((_, _, _, a, m, p)))
                if !unscoped && (a != agent.id || m != method || p != path) =>
            {
                Ok(Found::OtherRequest)
            }
            Ok(Some((s, Some(code), Some(body), ..))) if s == "completed" => {
                Ok(Found::Replay(code as u16, body))
            }
            Ok(Some((s, ..))) if s == "in_progress" => Ok(Found::InProgress),
            Ok(None) if st.bug(Bug::IdempotencyCheckThenInsert) => {
                Ok(Found::InsertLater(agent.id.clone()))
            }
            Ok(Some(_)) => write(
                "UPDATE idempotency_keys SET status = 'in_progress', agent_id = ?2, method = ?3, path = ?4, created_at = ?5 WHERE key = ?1",
            )
            .map(|_| Found::Run),
            Ok(None) => write(
                "INSERT INTO idempotency_keys (key, agent_id, method, path, status, created_at) VALUES (?1, ?2, ?3, ?4, 'in_progress', ?5)",
            )
            .map(|_| Found::Run),
            Err(e) => Err(e),
        };
        match res {
            Ok(f) => f,
            Err(e) => return ApiError::from(e).into_response(),
        }
    };
    let found = match found {
        Found::InsertLater(agent_id) => {
            // planted: another request with this key may pass the lookup meanwhile, and the
            // insert below does not check that it won (the platform's ON CONFLICT DO NOTHING)
            race_window().await;
            let conn = st.db.lock();
            if let Err(e) = ex(
                &conn,
                "INSERT OR IGNORE INTO idempotency_keys (key, agent_id, method, path, status, created_at) VALUES (?1, ?2, ?3, ?4, 'in_progress', ?5)",
                rusqlite::params![key, agent_id, method, path, now()],
            ) {
                return ApiError::from(e).into_response();
            }
            Found::Run
        }
        f => f,
    };
    match found {
        Found::InsertLater(_) => ApiError::Internal("idempotency key not recorded".into()).into_response(),
        Found::OtherRequest => agent_error(
            409,
            "X-Idempotency-Key already used for another request",
            "A key belongs to the agent and the endpoint that first used it: use a fresh UUID for each new request.",
            json!({"idempotency_key": key}),
        )
        .into_response(),
        Found::Replay(code, body) => {
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
            let h = resp.headers_mut();
            h.insert("content-type", HeaderValue::from_static("application/json"));
            h.insert("x-idempotent-replay", HeaderValue::from_static("true"));
            resp
        }
        Found::InProgress => agent_error(
            409,
            "Request is being processed",
            "Wait for the first request with this X-Idempotency-Key to finish, then retry.",
            json!({"idempotency_key": key}),
        )
        .into_response(),
        Found::Run => run_and_store(&st, &key, req, next).await,
    }
}

/// Runs the request and stores its answer under `key` (failed on a 5xx or an answer too large to
/// keep, so a retry runs again instead of replaying an error).
async fn run_and_store(st: &AppState, key: &str, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let (parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_STORED_BODY).await {
        Ok(b) => b,
        Err(e) => {
            let conn = st.db.lock();
            let _ = ex(
                &conn,
                "UPDATE idempotency_keys SET status = 'failed' WHERE key = ?1",
                [key],
            );
            return ApiError::Internal(format!("response body: {e}")).into_response();
        }
    };
    let failed = parts.status.is_server_error();
    {
        let conn = st.db.lock();
        let _ = ex(
            &conn,
            "UPDATE idempotency_keys SET status = ?2, response_status = ?3, response_body = ?4 WHERE key = ?1",
            rusqlite::params![
                key,
                if failed { "failed" } else { "completed" },
                parts.status.as_u16() as i64,
                bytes.to_vec()
            ],
        );
    }
    Response::from_parts(parts, Body::from(bytes))
}
