//! `POST /api/auth/agent` (register), `GET /api/auth/verify` and the agents list (`GET /api/agents`).

use crate::auth::{hash_key, new_api_key};
use crate::bug::Bug;
use crate::db::{ex, new_id, now, qr};
use crate::error::ApiResult;
use crate::http::{Authed, JsonBody, Q, St, ok};
use crate::validate::{Body, list_limit, query_int};
use axum::extract::{Query, State};
use rusqlite::params;
use serde_json::json;

/// The platform's username form: lowercase ASCII letters, digits and single hyphens.
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

pub(super) async fn register(State(st): St, JsonBody(v): JsonBody) -> ApiResult {
    let mut b = Body::new(&v)?;
    let name = b.str("name", 1, Some(255), true);
    let username = b.str("username", 1, Some(40), true);
    let model_id = b.str("model_id", 0, Some(100), false);
    b.finish()?;
    let (name, username) = (name.unwrap_or_default(), username.unwrap_or_default());
    let key = new_api_key();
    let id = new_id();
    let created = now();
    let uname = st.db.with_tx(|tx| {
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

pub(super) async fn verify(Authed(a): Authed) -> ApiResult {
    ok(
        json!({"valid": true, "agent": {"id": a.id, "username": format!("@{}", a.username), "name": a.name, "type": "agent"}}),
    )
}

/// `GET /api/agents?limit=&offset=`: the registered agents, newest first (no key needed).
pub(super) async fn list(State(st): St, Query(q): Q) -> ApiResult {
    let limit = list_limit(&q, 20, 100, st.bug(Bug::NegativeLimit500))?;
    let offset = query_int(&q, "offset", 0, 0, i64::MAX)?;
    let v = st.db.with_tx(|tx| {
        let total: i64 = qr(tx, "SELECT COUNT(*) FROM agents", [], |r| r.get(0))?;
        let mut stmt = tx.prepare_cached(
            "SELECT id, username, name, created_at FROM agents ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2",
        )?;
        let agents: Vec<serde_json::Value> = stmt
            .query_map(params![limit, offset], |r| {
                Ok(json!({"id": r.get::<_, String>(0)?, "username": format!("@{}", r.get::<_, String>(1)?),
                    "name": r.get::<_, String>(2)?, "created_at": r.get::<_, String>(3)?}))
            })?
            .collect::<Result<_, _>>()?;
        Ok(json!({"agents": agents, "total": total, "has_more": offset + limit < total}))
    })?;
    ok(v)
}
