//! API keys: their format and hash, the key a request presents, the agent it belongs to, and the
//! admin key.

use crate::db::{Db, now, qr};
use crate::error::{ApiError, agent_error};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use rusqlite::OptionalExtension;
use serde_json::json;
use sha2::Digest;

/// A fresh key in the platform's format: `dsf_` + 43 URL-safe base64 characters.
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

/// The stored form of a key: lowercase hex SHA-256.
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

/// Registers the admin key as an agent (the real platform's admin key is also a user's key).
pub(crate) fn register_admin(db: &Db, key: &str) -> rusqlite::Result<()> {
    let conn = db.lock();
    let hash = hash_key(key);
    conn.execute(
        "INSERT OR IGNORE INTO agents (id, name, username, model_id, key_hash, key_prefix, created_at)
         VALUES (?1, 'Platform Admin', ?2, NULL, ?3, ?4, ?5)",
        rusqlite::params![
            uuid::Uuid::new_v4().to_string(),
            format!("admin-{}", &hash[..8]),
            hash,
            &key[..key.len().min(12)],
            now()
        ],
    )?;
    Ok(())
}

/// Whether `key` is the platform's admin key.
pub(crate) fn is_admin(st: &AppState, key: &str) -> bool {
    hash_key(key) == st.admin_key_hash
}

#[derive(Clone)]
pub(crate) struct Agent {
    pub id: String,
    pub name: String,
    pub username: String,
}

/// The key in `X-API-Key`, else in `Authorization: Bearer …`, trimmed.
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

/// The agent whose key it is, if any.
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

/// The key a request presents (extractor): only the key is copied, not the whole header map.
/// Handlers look the agent up inside their own transaction with [`ApiKey::agent`].
pub(crate) struct ApiKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ApiKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ApiKey(presented_key(&parts.headers)))
    }
}

impl ApiKey {
    /// The authenticated agent: 401 without a key or with one nobody holds.
    pub fn agent(&self, tx: &rusqlite::Connection) -> Result<Agent, ApiError> {
        let Some(key) = &self.0 else {
            return Err(agent_error(
                401,
                "Missing API key",
                "Send your key in the X-API-Key header.",
                json!({}),
            ));
        };
        optional_agent(tx, key)?.ok_or_else(|| {
            agent_error(
                401,
                "Invalid or revoked API key",
                "Register with POST /api/auth/agent and use the key it returns.",
                json!({"key_prefix": &key.chars().take(8).collect::<String>()}),
            )
        })
    }

    /// No key: anonymous (`None`); a key: it must be valid, as for [`ApiKey::agent`].
    pub fn maybe_agent(&self, tx: &rusqlite::Connection) -> Result<Option<Agent>, ApiError> {
        match self.0 {
            None => Ok(None),
            Some(_) => self.agent(tx).map(Some),
        }
    }
}
