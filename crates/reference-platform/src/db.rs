//! The SQLite database: the schema (all of it, here), the one connection every handler shares,
//! the transaction every handler runs in (with the test-only fault hooks), the statement helpers
//! that go through the statement cache, and ids and clock.

use crate::error::{ApiError, agent_error};
use crate::faults::DbFaults;
use serde_json::json;
use serde_json::value::RawValue;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Where the database lives: `:memory:` or a file (WAL mode).
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

/// The shared connection and, with fault control on, the faults armed against its transactions.
pub struct Db {
    conn: Mutex<rusqlite::Connection>,
    faults: Option<DbFaults>,
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
  created_at TEXT NOT NULL, seq INTEGER NOT NULL, dweller_count INTEGER NOT NULL DEFAULT 0,
  reaction_counts TEXT NOT NULL DEFAULT '{"fire":0,"mind":0,"heart":0,"thinking":0}',
  follower_count INTEGER NOT NULL DEFAULT 0, comment_count INTEGER NOT NULL DEFAULT 0
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
  content TEXT NOT NULL, target TEXT, importance REAL NOT NULL, created_at TEXT NOT NULL,
  escalation_status TEXT NOT NULL DEFAULT 'eligible', confirmed_by TEXT, confirmed_at TEXT,
  confirmation_rationale TEXT, nomination_count INTEGER NOT NULL DEFAULT 0, nominated_at TEXT
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
-- a dweller's memory fields as JSON text (a row from its first edit on), and its reflections
CREATE TABLE IF NOT EXISTS dweller_memory (
  dweller_id TEXT PRIMARY KEY, core TEXT NOT NULL, relationships TEXT NOT NULL, personality TEXT NOT NULL, situation TEXT NOT NULL,
  summaries TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS reflections (
  id TEXT PRIMARY KEY, dweller_id TEXT NOT NULL, content TEXT NOT NULL, topics TEXT NOT NULL, importance REAL NOT NULL,
  created_at TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reflections_by_dweller ON reflections(dweller_id);
CREATE INDEX IF NOT EXISTS actions_by_dweller ON actions(dweller_id);
CREATE INDEX IF NOT EXISTS worlds_by_proposal ON worlds(proposal_id);
CREATE INDEX IF NOT EXISTS regions_by_world ON regions(world_id);
CREATE INDEX IF NOT EXISTS responses_by_item ON item_responses(item_id);
CREATE INDEX IF NOT EXISTS proposals_by_agent ON proposals(agent_id);
-- content in a world: aspects, stories, world events
CREATE TABLE IF NOT EXISTS world_canon (world_id TEXT PRIMARY KEY, canon_summary TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS aspects (
  id TEXT PRIMARY KEY, world_id TEXT NOT NULL, agent_id TEXT NOT NULL, aspect_type TEXT NOT NULL, title TEXT NOT NULL,
  premise TEXT NOT NULL, content TEXT NOT NULL, canon_justification TEXT NOT NULL, proposed_timeline_entry TEXT,
  inspired_by_actions TEXT NOT NULL, status TEXT NOT NULL, revision_count INTEGER NOT NULL DEFAULT 0,
  last_revised_at TEXT, approved_at TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS stories (
  id TEXT PRIMARY KEY, world_id TEXT NOT NULL, author_id TEXT NOT NULL, title TEXT NOT NULL, content TEXT NOT NULL,
  summary TEXT, perspective TEXT NOT NULL, perspective_dweller_id TEXT, video_prompt TEXT NOT NULL, status TEXT NOT NULL,
  revision_count INTEGER NOT NULL DEFAULT 0, last_revised_at TEXT, last_revised_seq INTEGER,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, seq INTEGER NOT NULL, reaction_count INTEGER NOT NULL DEFAULT 0,
  comment_count INTEGER NOT NULL DEFAULT 0
);
-- one reaction per agent and target (a story or a world); its kind changes in place (the counts are
-- stored on the target: a story's total, a world's per kind)
CREATE TABLE IF NOT EXISTS reactions (
  target_type TEXT NOT NULL, target_id TEXT NOT NULL, agent_id TEXT NOT NULL, kind TEXT NOT NULL,
  PRIMARY KEY (target_type, target_id, agent_id)
);
CREATE TABLE IF NOT EXISTS story_reviews (
  id TEXT PRIMARY KEY, story_id TEXT NOT NULL, reviewer_id TEXT NOT NULL, recommend_acclaim INTEGER NOT NULL,
  improvements TEXT NOT NULL, canon_notes TEXT NOT NULL, event_notes TEXT NOT NULL, style_notes TEXT NOT NULL,
  author_responded INTEGER NOT NULL DEFAULT 0, author_response TEXT, author_responded_at TEXT,
  created_at TEXT NOT NULL, seq INTEGER NOT NULL, UNIQUE(story_id, reviewer_id)
);
CREATE TABLE IF NOT EXISTS world_events (
  id TEXT PRIMARY KEY, world_id TEXT NOT NULL, proposed_by TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
  year_in_world INTEGER NOT NULL, affected_regions TEXT NOT NULL, canon_justification TEXT NOT NULL,
  origin_type TEXT NOT NULL, status TEXT NOT NULL, approved_by TEXT, approved_at TEXT, canon_update TEXT,
  rejected_by TEXT, rejection_reason TEXT, created_at TEXT NOT NULL, seq INTEGER NOT NULL,
  origin_action_id TEXT
);
-- every decision ever taken on an event (one per event on the correct platform)
CREATE TABLE IF NOT EXISTS event_decisions (
  event_id TEXT NOT NULL, decider_id TEXT NOT NULL, decision TEXT NOT NULL, created_at TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS aspects_by_world ON aspects(world_id);
CREATE INDEX IF NOT EXISTS stories_by_world ON stories(world_id);
CREATE INDEX IF NOT EXISTS stories_by_author ON stories(author_id);
CREATE INDEX IF NOT EXISTS story_reviews_by_story ON story_reviews(story_id);
CREATE INDEX IF NOT EXISTS events_by_world ON world_events(world_id);
CREATE INDEX IF NOT EXISTS events_by_origin_action ON world_events(origin_action_id);
CREATE INDEX IF NOT EXISTS decisions_by_event ON event_decisions(event_id);
-- revision suggestions for proposals and aspects, and their upvotes (no unique pair: the
-- once-only rule is the handler's, so a planted bug can skip it)
CREATE TABLE IF NOT EXISTS suggestions (
  id TEXT PRIMARY KEY, target_type TEXT NOT NULL, target_id TEXT NOT NULL, suggested_by TEXT NOT NULL, field TEXT NOT NULL,
  current_value TEXT, suggested_value TEXT NOT NULL, rationale TEXT NOT NULL, status TEXT NOT NULL, response_by TEXT,
  response_reason TEXT, deadline_ms INTEGER NOT NULL, created_at TEXT NOT NULL, resolved_at TEXT, seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS suggestions_by_target ON suggestions(target_id);
CREATE TABLE IF NOT EXISTS suggestion_upvotes (suggestion_id TEXT NOT NULL, agent_id TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS upvotes_by_suggestion ON suggestion_upvotes(suggestion_id);
-- dweller proposals (their critical review is in reviews/review_items, content type dweller_proposal)
CREATE TABLE IF NOT EXISTS dweller_proposals (
  id TEXT PRIMARY KEY, world_id TEXT NOT NULL, agent_id TEXT NOT NULL, name TEXT NOT NULL, origin_region TEXT NOT NULL,
  generation TEXT NOT NULL, name_context TEXT NOT NULL, cultural_identity TEXT NOT NULL, role TEXT NOT NULL, age INTEGER NOT NULL,
  personality TEXT NOT NULL, background TEXT NOT NULL, core_memories TEXT NOT NULL, personality_blocks TEXT NOT NULL,
  current_situation TEXT NOT NULL, status TEXT NOT NULL, revision_count INTEGER NOT NULL DEFAULT 0, last_revised_at TEXT,
  resulting_dweller_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dweller_proposals_by_agent ON dweller_proposals(agent_id);
-- follows of a world or an agent (no unique key: the once-per-agent rule is the handler's, so the
-- planted follow-twice-counts-twice can store a second one) and comments on a world or a story
CREATE TABLE IF NOT EXISTS follows (
  agent_id TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, created_at TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS follows_by_target ON follows(target_type, target_id);
CREATE INDEX IF NOT EXISTS follows_by_agent ON follows(agent_id);
CREATE TABLE IF NOT EXISTS comments (
  id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, content TEXT NOT NULL,
  created_at TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS comments_by_target ON comments(target_type, target_id);
"#;

impl Db {
    /// Opens the database and creates the schema. `fault_control` arms nothing by itself: it only
    /// makes [`Db::faults`] present, so `/api/test/db-faults` can arm stalls and failures.
    pub fn open(loc: &DbLocation, fault_control: bool) -> rusqlite::Result<Self> {
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
        Ok(Db {
            conn: Mutex::new(conn),
            faults: fault_control.then(DbFaults::default),
        })
    }

    /// The connection. Held only for synchronous work: never across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The test-only fault control, present only with `PlatformOptions::fault_control`.
    pub fn faults(&self) -> Option<&DbFaults> {
        self.faults.as_ref()
    }

    /// Runs `f` in one transaction on the shared connection.
    ///
    /// BEGIN/COMMIT/ROLLBACK go through the statement cache (rusqlite's `Transaction` re-parses them
    /// on every request, which was a measurable share of the simulator's CPU). A panic or an error in
    /// `f` rolls back, so the shared connection is never left inside a transaction. With fault
    /// control, an armed stall waits here before BEGIN (holding the connection) and an armed
    /// failure rolls back at commit and answers 503; a refused request (an error from `f`) never
    /// reaches commit, so it does not use up a fault.
    pub fn with_tx<T>(
        &self,
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
        let conn = self.lock();
        if let Some(faults) = &self.faults {
            faults.before_tx();
        }
        ex(&conn, "BEGIN", [])?;
        let mut open = Open(&conn, true);
        let out = f(&conn)?;
        if self.faults.as_ref().is_some_and(|f| f.fail_commit()) {
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
}

// ---------- statements ----------

/// `query_row` through the statement cache: handlers run the same few statements thousands of times.
pub(crate) fn qr<T, P: rusqlite::Params, F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>>(
    c: &rusqlite::Connection,
    sql: &str,
    p: P,
    f: F,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(p, f)
}

/// `execute` through the statement cache.
pub(crate) fn ex<P: rusqlite::Params>(
    c: &rusqlite::Connection,
    sql: &str,
    p: P,
) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(p)
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

/// A stored JSON column as it was written, or `null` if it is absent or (never expected) invalid.
pub(crate) fn stored_json(text: Option<String>) -> Option<Box<RawValue>> {
    text.and_then(|t| RawValue::from_string(t).ok())
}

// ---------- ids and clock ----------

static SEQ: AtomicU64 = AtomicU64::new(1);

/// A process-wide sequence number: orders events that share a millisecond.
pub(crate) fn seq() -> i64 {
    SEQ.fetch_add(1, Ordering::Relaxed) as i64
}

/// Now, as the platform writes timestamps (`+00:00`, not `Z`).
pub(crate) fn now() -> String {
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
