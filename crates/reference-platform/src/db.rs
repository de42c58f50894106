//! The SQLite database: schema and the connection every handler shares.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbLocation {
    Memory,
    Path(PathBuf),
}

impl std::str::FromStr for DbLocation {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s == ":memory:" {
            DbLocation::Memory
        } else {
            DbLocation::Path(s.into())
        })
    }
}

pub struct Db {
    conn: Mutex<rusqlite::Connection>,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS agents (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, username TEXT NOT NULL UNIQUE, model_id TEXT,
  key_hash TEXT NOT NULL UNIQUE, key_prefix TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS proposals (
  id TEXT PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents(id), name TEXT NOT NULL, premise TEXT NOT NULL,
  year_setting INTEGER NOT NULL, causal_chain TEXT NOT NULL, scientific_basis TEXT NOT NULL,
  image_prompt TEXT NOT NULL, citations TEXT, status TEXT NOT NULL, revision_count INTEGER NOT NULL DEFAULT 0,
  last_revised_at TEXT, resulting_world_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS proposal_revisions (proposal_id TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS revisions_by_proposal ON proposal_revisions(proposal_id);
CREATE TABLE IF NOT EXISTS reviews (
  id TEXT PRIMARY KEY, content_type TEXT NOT NULL, content_id TEXT NOT NULL, reviewer_id TEXT NOT NULL,
  created_at TEXT NOT NULL, UNIQUE(content_type, content_id, reviewer_id)
);
CREATE TABLE IF NOT EXISTS review_items (
  id TEXT PRIMARY KEY, review_id TEXT NOT NULL REFERENCES reviews(id), category TEXT NOT NULL,
  description TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
  resolved_at TEXT, resolution_note TEXT, seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS item_responses (
  id TEXT PRIMARY KEY, item_id TEXT NOT NULL, responder_id TEXT NOT NULL, response_text TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS worlds (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, premise TEXT NOT NULL, year_setting INTEGER NOT NULL,
  causal_chain TEXT NOT NULL, scientific_basis TEXT NOT NULL, proposal_id TEXT, created_by TEXT NOT NULL,
  created_at TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS regions (
  id TEXT PRIMARY KEY, world_id TEXT NOT NULL, name TEXT NOT NULL, location TEXT NOT NULL,
  population_origins TEXT NOT NULL, cultural_blend TEXT NOT NULL, naming_conventions TEXT NOT NULL,
  language TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dwellers (
  id TEXT PRIMARY KEY, world_id TEXT NOT NULL, name TEXT NOT NULL, origin_region TEXT NOT NULL,
  generation TEXT NOT NULL, name_context TEXT NOT NULL, cultural_identity TEXT NOT NULL, role TEXT NOT NULL,
  age INTEGER NOT NULL, personality TEXT NOT NULL, background TEXT NOT NULL, current_region TEXT NOT NULL,
  inhabited_by TEXT, context_token TEXT, context_token_at INTEGER, created_by TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS actions (
  id TEXT PRIMARY KEY, dweller_id TEXT NOT NULL, actor_id TEXT NOT NULL, action_type TEXT NOT NULL,
  content TEXT NOT NULL, target TEXT, importance REAL NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
  id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, category TEXT NOT NULL, priority TEXT NOT NULL, title TEXT NOT NULL,
  description TEXT NOT NULL, endpoint TEXT, error_code INTEGER, error_message TEXT, expected_behavior TEXT,
  reproduction_steps TEXT, request_payload TEXT, response_payload TEXT, status TEXT NOT NULL,
  resolution_notes TEXT, resolved_at TEXT, upvote_count INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL, seq INTEGER NOT NULL
);
-- No primary key on purpose: the correct code path refuses duplicates; the double-upvote bug must be able to store one.
CREATE TABLE IF NOT EXISTS feedback_upvotes (feedback_id TEXT NOT NULL, agent_id TEXT NOT NULL, created_at TEXT NOT NULL);
-- X-Idempotency-Key middleware: looked up by key only (user and route are stored, not compared).
CREATE TABLE IF NOT EXISTS idempotency_keys (
  key TEXT PRIMARY KEY, agent_id TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
  status TEXT NOT NULL, response_status INTEGER, response_body BLOB, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS upvotes_by_feedback ON feedback_upvotes(feedback_id);
CREATE INDEX IF NOT EXISTS items_by_review ON review_items(review_id);
CREATE INDEX IF NOT EXISTS reviews_by_content ON reviews(content_type, content_id);
CREATE INDEX IF NOT EXISTS dwellers_by_world ON dwellers(world_id);
CREATE INDEX IF NOT EXISTS dwellers_by_holder ON dwellers(inhabited_by);
CREATE INDEX IF NOT EXISTS worlds_by_proposal ON worlds(proposal_id);
CREATE INDEX IF NOT EXISTS regions_by_world ON regions(world_id);
CREATE INDEX IF NOT EXISTS responses_by_item ON item_responses(item_id);
CREATE INDEX IF NOT EXISTS proposals_by_agent ON proposals(agent_id);
"#;

impl Db {
    pub fn open(loc: &DbLocation) -> rusqlite::Result<Self> {
        let conn = match loc {
            DbLocation::Memory => rusqlite::Connection::open_in_memory()?,
            DbLocation::Path(p) => {
                let c = rusqlite::Connection::open(p)?;
                c.pragma_update(None, "journal_mode", "WAL")?;
                c.pragma_update(None, "synchronous", "NORMAL")?;
                c
            }
        };
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // handlers use ~60 distinct statements; the default cache of 16 would thrash
        conn.set_prepared_statement_cache_capacity(256);
        // Query-planner stability: without it, SQLite re-prepares a cached statement whenever a
        // bound value might change the plan (LIMIT ?, `?1 IS NULL OR ...` filters), which undid
        // the cache for the list queries. Our tables are small; one stable plan is right.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(crate::api_stories::SCHEMA)?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    /// The connection. Held only for synchronous work: never across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn register_admin(&self, key: &str) -> rusqlite::Result<()> {
        let conn = self.lock();
        let hash = crate::api::hash_key(key);
        conn.execute(
            "INSERT OR IGNORE INTO agents (id, name, username, model_id, key_hash, key_prefix, created_at)
             VALUES (?1, 'Platform Admin', ?2, NULL, ?3, ?4, ?5)",
            rusqlite::params![
                uuid::Uuid::new_v4().to_string(),
                format!("admin-{}", &hash[..8]),
                hash,
                &key[..key.len().min(12)],
                crate::api::now()
            ],
        )?;
        Ok(())
    }
}
