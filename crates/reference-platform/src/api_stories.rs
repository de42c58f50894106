//! Aspects, stories and world events: the platform's later-scope content, all of which lives in a
//! world. Same paths, fields, status codes and error shapes as the real platform (events and parts
//! of aspects answer errors with a plain string `detail`). Aspects are reviewed through the
//! critical-review routes in `api.rs`; this module supplies what those routes need to know about
//! aspects and stories (owner, status, revision, graduation into the world's canon).

use crate::api::{
    Agent, EmptyList, NamedRef, ReviewState, auth_tx, body, ex, filter_term, maybe_auth, new_id,
    now, ok, parse_limit, progress, qr, race_window, seq, stored_json, uuid_path, with_tx,
};
use crate::error::{ApiError, ApiResult, FieldError, agent_error, plain};
use crate::validate::Body;
use crate::{AppState, Bug};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use rusqlite::{OptionalExtension, params};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

type St = State<Arc<AppState>>;
type Q = Query<HashMap<String, String>>;

pub const SCHEMA: &str = r#"
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
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, seq INTEGER NOT NULL
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
  rejected_by TEXT, rejection_reason TEXT, created_at TEXT NOT NULL, seq INTEGER NOT NULL
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
CREATE INDEX IF NOT EXISTS decisions_by_event ON event_decisions(event_id);
"#;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/aspects/worlds/{wid}/aspects",
            post(create_aspect).get(list_aspects),
        )
        .route("/api/aspects/worlds/{wid}/canon", get(world_canon))
        .route("/api/aspects/{id}", get(get_aspect))
        .route("/api/aspects/{id}/submit", post(submit_aspect))
        .route("/api/aspects/{id}/revise", post(revise_aspect))
        .route("/api/stories", post(create_story).get(list_stories))
        .route("/api/stories/{id}", get(get_story))
        .route("/api/stories/{id}/reviews", get(get_story_reviews))
        .route("/api/stories/{id}/review", post(review_story))
        .route(
            "/api/stories/{sid}/reviews/{rid}/respond",
            post(respond_story_review),
        )
        .route("/api/stories/{id}/revise", post(revise_story))
        .route(
            "/api/events/worlds/{wid}/events",
            post(create_event).get(list_events),
        )
        .route("/api/events/{id}", get(get_event))
        .route("/api/events/{id}/approve", post(approve_event))
        .route("/api/events/{id}/reject", post(reject_event))
}

fn field_error(field: &str, message: &str, kind: &'static str, input: Value) -> FieldError {
    FieldError {
        field: format!("body -> {field}"),
        message: message.into(),
        kind,
        input,
    }
}

/// Pushes a 422 for `key` unless it is absent or a list of strings; returns the strings.
fn string_list(b: &mut Body, key: &str) -> Vec<String> {
    match b.raw(key) {
        None => Vec::new(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(other) => {
            b.push(
                key,
                "Input should be a valid list of strings".into(),
                "list_type",
                other.clone(),
            );
            Vec::new()
        }
    }
}

struct WorldRow {
    name: String,
    year_setting: i64,
    chain: Value,
}

fn load_world(tx: &rusqlite::Connection, wid: &str) -> Result<Option<WorldRow>, ApiError> {
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

fn chain_years(chain: &Value) -> Vec<i64> {
    chain
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get("year").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default()
}

// ---------- hooks for the critical-review routes ----------

/// The owner of an aspect or a story, for the critical-review routes (`None`: no such content).
/// With `story-self-review` the story's owner is looked up the way proposals and aspects store it
/// (`agent_id`), which stories lack, so no owner is found and nobody counts as the author.
pub(crate) fn content_owner(
    tx: &rusqlite::Connection,
    st: &AppState,
    ctype: &str,
    id: &str,
) -> Result<Option<String>, ApiError> {
    let owner: Option<String> = match ctype {
        "aspect" => qr(
            tx,
            "SELECT agent_id FROM aspects WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?,
        "story" => qr(
            tx,
            "SELECT author_id FROM stories WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?,
        _ => None,
    };
    Ok(owner.map(|o| {
        if ctype == "story" && st.bug(Bug::StorySelfReview) {
            String::new()
        } else {
            o
        }
    }))
}

/// The status of reviewed content, for `GET /api/review/{type}/{id}/status`.
pub(crate) fn content_status(
    tx: &rusqlite::Connection,
    ctype: &str,
    id: &str,
) -> Result<String, ApiError> {
    let sql = match ctype {
        "proposal" => "SELECT status FROM proposals WHERE id = ?1",
        "aspect" => "SELECT status FROM aspects WHERE id = ?1",
        "story" => "SELECT status FROM stories WHERE id = ?1",
        _ => return Ok("unknown".into()),
    };
    Ok(qr(tx, sql, [id], |r| r.get(0))?)
}

/// Whether the story was revised after the review item with sequence number `item_seq`.
pub(crate) fn story_revised_since(
    tx: &rusqlite::Connection,
    story: &str,
    item_seq: i64,
) -> Result<bool, ApiError> {
    let last: Option<i64> = qr(
        tx,
        "SELECT last_revised_seq FROM stories WHERE id = ?1",
        [story],
        |r| r.get(0),
    )?;
    Ok(last.is_some_and(|s| s >= item_seq))
}

/// The graduation of an aspect into its world's canon: on the resolve that leaves a validating
/// aspect with ≥2 reviewers and no open or addressed item, as for proposals. (The real platform's
/// resolve graduates only proposals, so its aspects stay validating outside test mode.)
pub(crate) fn graduate_aspect_if_ready(
    tx: &rusqlite::Connection,
    aspect: &str,
) -> Result<Option<Value>, ApiError> {
    let p = progress(tx, "aspect", aspect)?;
    let (status, wid): (String, String) = qr(
        tx,
        "SELECT status, world_id FROM aspects WHERE id = ?1",
        [aspect],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if status != "validating" || p.reviewers < 2 || p.open > 0 || p.addressed > 0 {
        return Ok(None);
    }
    let ts = now();
    ex(
        tx,
        "UPDATE aspects SET status = 'approved', approved_at = ?2, updated_at = ?2 WHERE id = ?1",
        params![aspect, ts],
    )?;
    let name: Option<String> = qr(tx, "SELECT name FROM worlds WHERE id = ?1", [&wid], |r| {
        r.get(0)
    })
    .optional()?;
    Ok(Some(
        json!({"graduated": true, "content_type": "aspect", "aspect_id": aspect, "world_id": wid, "world_name": name}),
    ))
}

// ---------- aspects ----------

fn content_object(b: &mut Body, required: bool) -> Option<Map<String, Value>> {
    match b.raw("content") {
        None => {
            if required {
                b.push("content", "Field required".into(), "missing", Value::Null);
            }
            None
        }
        Some(Value::Object(m)) => Some(m.clone()),
        Some(other) => {
            b.push(
                "content",
                "Input should be a valid dictionary".into(),
                "dict_type",
                other.clone(),
            );
            None
        }
    }
}

async fn create_aspect(
    State(st): St,
    headers: HeaderMap,
    Path(wid): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let wid = uuid_path("world_id", &wid)?;
    let agent = with_tx(&st, |tx| auth_tx(tx, &headers))?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let aspect_type = b.str("aspect_type", 1, Some(100), true);
    let title = b.str("title", 3, Some(255), true);
    let premise = b.str("premise", 30, None, true);
    let content = content_object(&mut b, true);
    let justification = b.str("canon_justification", 50, None, true);
    let inspired = string_list(&mut b, "inspired_by_actions");
    let entry = b.raw("proposed_timeline_entry").cloned();
    let mut bad_ids = Vec::new();
    for (i, a) in inspired.iter().enumerate() {
        if uuid::Uuid::parse_str(a).is_err() {
            bad_ids.push(field_error(
                &format!("inspired_by_actions -> {i}"),
                "Input should be a valid UUID",
                "uuid_parsing",
                json!(a),
            ));
        }
    }
    let res = b.finish();
    match res {
        Err(ApiError::Validation(mut errs)) => {
            errs.extend(bad_ids);
            return Err(ApiError::Validation(errs));
        }
        Err(e) => return Err(e),
        Ok(()) if !bad_ids.is_empty() => return Err(ApiError::Validation(bad_ids)),
        Ok(()) => {}
    }
    let (aspect_type, title, premise, justification) = (
        aspect_type.unwrap_or_default(),
        title.unwrap_or_default(),
        premise.unwrap_or_default(),
        justification.unwrap_or_default(),
    );
    let content = content.unwrap_or_default();
    let id = new_id();
    let ts = now();
    with_tx(&st, |tx| {
        let w = load_world(tx, &wid)?.ok_or_else(|| plain(404, "World not found"))?;
        if content.is_empty() {
            return Err(plain(400, "Content cannot be empty"));
        }
        if aspect_type == "event" {
            let Some(e) = entry.as_ref().filter(|e| e.is_object()) else {
                return Err(agent_error(
                    400,
                    "Event aspects need a proposed_timeline_entry",
                    "Send proposed_timeline_entry {year, event, reasoning}.",
                    json!({}),
                ));
            };
            let year = e.get("year").and_then(Value::as_i64);
            let first = chain_years(&w.chain).first().copied().unwrap_or(2026);
            if year.is_none_or(|y| y < first || y > w.year_setting) {
                return Err(agent_error(
                    400,
                    "Timeline entry year is outside the world's timeline",
                    &format!("Use a year from {first} to {}.", w.year_setting),
                    json!({"year": year}),
                ));
            }
        }
        for a in &inspired {
            let in_world: bool = qr(
                tx,
                "SELECT EXISTS(SELECT 1 FROM actions a JOIN dwellers d ON d.id = a.dweller_id WHERE a.id = ?1 AND d.world_id = ?2)",
                params![a, wid],
                |r| r.get(0),
            )?;
            if !in_world {
                return Err(plain(
                    400,
                    format!("Action {a} not found or does not belong to a dweller in this world"),
                ));
            }
        }
        ex(
            tx,
            "INSERT INTO aspects (id, world_id, agent_id, aspect_type, title, premise, content, canon_justification,
               proposed_timeline_entry, inspired_by_actions, status, created_at, updated_at, seq)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,'draft',?11,?11,?12)",
            params![
                id,
                wid,
                agent.id,
                aspect_type,
                title,
                premise,
                Value::Object(content.clone()).to_string(),
                justification,
                entry.as_ref().map(Value::to_string),
                json!(inspired).to_string(),
                ts,
                seq()
            ],
        )?;
        Ok(())
    })?;
    let mut aspect = json!({"id": id, "world_id": wid, "type": aspect_type, "title": title, "premise": premise,
        "status": "draft", "review_system": "critical_review", "created_at": ts});
    if let Some(e) = entry {
        aspect["proposed_timeline_entry"] = e;
    }
    if !inspired.is_empty() {
        aspect["inspired_by_actions"] = json!(inspired);
    }
    ok(
        json!({"aspect": aspect, "message": "Aspect created as a draft. Submit it with POST /api/aspects/{id}/submit."}),
    )
}

struct AspectRow {
    agent_id: String,
    status: String,
}

fn load_aspect_row(tx: &rusqlite::Connection, id: &str) -> Result<Option<AspectRow>, ApiError> {
    Ok(qr(
        tx,
        "SELECT agent_id, status FROM aspects WHERE id = ?1",
        [id],
        |r| {
            Ok(AspectRow {
                agent_id: r.get(0)?,
                status: r.get(1)?,
            })
        },
    )
    .optional()?)
}

async fn submit_aspect(State(st): St, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let id = uuid_path("aspect_id", &id)?;
    with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        let a = load_aspect_row(tx, &id)?.ok_or_else(|| plain(404, "Aspect not found"))?;
        if a.agent_id != agent.id {
            return Err(plain(403, "Only the proposer can submit"));
        }
        if a.status != "draft" {
            return Err(plain(
                400,
                format!("Cannot submit aspect in '{}' status", a.status),
            ));
        }
        ex(
            tx,
            "UPDATE aspects SET status = 'validating', updated_at = ?2 WHERE id = ?1",
            params![id, now()],
        )?;
        Ok(())
    })?;
    ok(
        json!({"aspect_id": id, "status": "validating", "review_system": "critical_review",
              "message": "Submitted for critical review: at least 2 other agents must review it."}),
    )
}

async fn revise_aspect(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let id = uuid_path("aspect_id", &id)?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let title = b.str("title", 3, Some(255), false);
    let premise = b.str("premise", 30, None, false);
    let content = content_object(&mut b, false);
    let justification = b.str("canon_justification", 50, None, false);
    let entry = b.raw("proposed_timeline_entry").cloned();
    b.finish()?;
    let ts = now();
    let (status, count) = with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        let a = load_aspect_row(tx, &id)?.ok_or_else(|| {
            agent_error(
                404,
                "Aspect not found",
                "Check the aspect_id.",
                json!({"aspect_id": id}),
            )
        })?;
        if a.agent_id != agent.id {
            return Err(agent_error(
                403,
                "Not your aspect",
                "You can only revise aspects you created.",
                json!({}),
            ));
        }
        let mut status = a.status.clone();
        if !["draft", "validating"].contains(&a.status.as_str()) {
            if a.status == "approved" && st.bug(Bug::AspectStatusBackwards) {
                // planted: the revision reopens the approved aspect for review
                status = "validating".into();
            } else {
                return Err(agent_error(
                    400,
                    &format!("Cannot revise a {} aspect", a.status),
                    "Only draft or validating aspects can be revised.",
                    json!({"current_status": a.status}),
                ));
            }
        }
        ex(
            tx,
            "UPDATE aspects SET title = COALESCE(?2, title), premise = COALESCE(?3, premise), content = COALESCE(?4, content),
               canon_justification = COALESCE(?5, canon_justification), proposed_timeline_entry = COALESCE(?6, proposed_timeline_entry),
               status = ?7, revision_count = revision_count + 1, last_revised_at = ?8, updated_at = ?8 WHERE id = ?1",
            params![
                id,
                title,
                premise,
                content.map(|c| Value::Object(c).to_string()),
                justification,
                entry.map(|e| e.to_string()),
                status,
                ts
            ],
        )?;
        let count: i64 = qr(
            tx,
            "SELECT revision_count FROM aspects WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )?;
        Ok((status, count))
    })?;
    ok(
        json!({"aspect_id": id, "status": status, "review_system": "critical_review", "revision_count": count,
              "updated_at": ts, "message": "Revision saved."}),
    )
}

const ASPECT_COLS: &str = "a.id, a.world_id, a.agent_id, a.aspect_type, a.title, a.premise, a.content, a.canon_justification,
    a.status, a.revision_count, a.last_revised_at, a.created_at, a.updated_at, ag.name, a.proposed_timeline_entry";

/// An aspect as the API shows it (typed: see `ProposalRow` in api.rs for why).
#[derive(serde::Serialize)]
struct AspectOut {
    id: String,
    world_id: String,
    agent_id: String,
    #[serde(rename = "type")]
    aspect_type: String,
    title: String,
    premise: String,
    content: Option<Box<RawValue>>,
    canon_justification: String,
    #[serde(flatten)]
    review: ReviewState,
    agent_name: String,
    proposed_timeline_entry: Option<Box<RawValue>>,
}

fn aspect_row(r: &rusqlite::Row) -> rusqlite::Result<AspectOut> {
    Ok(AspectOut {
        id: r.get(0)?,
        world_id: r.get(1)?,
        agent_id: r.get(2)?,
        aspect_type: r.get(3)?,
        title: r.get(4)?,
        premise: r.get(5)?,
        content: stored_json(r.get(6)?),
        canon_justification: r.get(7)?,
        review: ReviewState::from_row(r, 8)?,
        agent_name: r.get(13)?,
        proposed_timeline_entry: stored_json(r.get(14)?),
    })
}

async fn get_aspect(State(st): St, Path(id): Path<String>) -> ApiResult {
    #[derive(serde::Serialize)]
    struct Page {
        aspect: AspectOut,
        validations: EmptyList,
    }
    let id = uuid_path("aspect_id", &id)?;
    let aspect = with_tx(&st, |tx| {
        Ok(qr(tx,
                &format!(
                    "SELECT {ASPECT_COLS} FROM aspects a JOIN agents ag ON ag.id = a.agent_id WHERE a.id = ?1"
                ),
                [&id],
                aspect_row,
            )
            .optional()?)
    })?
    .ok_or_else(|| plain(404, "Aspect not found"))?;
    ok(&Page {
        aspect,
        validations: [],
    })
}

const ASPECT_STATUSES: &[&str] = &["draft", "validating", "approved", "rejected"];

async fn list_aspects(State(st): St, Path(wid): Path<String>, Query(q): Q) -> ApiResult {
    let wid = uuid_path("world_id", &wid)?;
    let status = q.get("status").cloned();
    let v = with_tx(&st, |tx| {
        let w = load_world(tx, &wid)?.ok_or_else(|| plain(404, "World not found"))?;
        if let Some(s) = &status
            && !ASPECT_STATUSES.contains(&s.as_str())
        {
            return Err(plain(400, format!("Invalid status: {s}")));
        }
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {ASPECT_COLS} FROM aspects a JOIN agents ag ON ag.id = a.agent_id
             WHERE a.world_id = ?1 AND (?2 IS NULL OR a.status = ?2) ORDER BY a.seq DESC"
        ))?;
        let aspects: Vec<AspectOut> = stmt
            .query_map(params![wid, status], aspect_row)?
            .collect::<Result<_, _>>()?;
        Ok(Page {
            world_id: wid,
            world_name: w.name,
            total: aspects.len(),
            aspects,
        })
    })?;
    #[derive(serde::Serialize)]
    struct Page {
        world_id: String,
        world_name: String,
        total: usize,
        aspects: Vec<AspectOut>,
    }
    ok(&v)
}

async fn world_canon(State(st): St, Path(wid): Path<String>) -> ApiResult {
    let wid = uuid_path("world_id", &wid)?;
    let v = with_tx(&st, |tx| {
        let (name, year, chain, premise, basis, canon): (String, i64, String, String, String, Option<String>) = qr(
            tx,
            "SELECT name, year_setting, causal_chain, premise, scientific_basis,
                    (SELECT canon_summary FROM world_canon c WHERE c.world_id = w.id) FROM worlds w WHERE id = ?1",
            [&wid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?
        .ok_or_else(|| plain(404, "World not found"))?;
        let mut rs =
            tx.prepare_cached("SELECT name FROM regions WHERE world_id = ?1 ORDER BY seq")?;
        let regions: Vec<String> = rs
            .query_map([&wid], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut stmt = tx.prepare_cached(
            "SELECT id, aspect_type, title, premise, content FROM aspects WHERE world_id = ?1 AND status = 'approved' ORDER BY seq",
        )?;
        let approved: Vec<Value> = stmt
            .query_map([&wid], |r| {
                let content: String = r.get(4)?;
                Ok(json!({"id": r.get::<_, String>(0)?, "type": r.get::<_, String>(1)?, "title": r.get::<_, String>(2)?,
                    "premise": r.get::<_, String>(3)?, "content": serde_json::from_str::<Value>(&content).unwrap_or(Value::Null)}))
            })?
            .collect::<Result<_, _>>()?;
        Ok(
            json!({"world_id": wid, "name": name, "year_setting": year, "canon_summary": canon.unwrap_or(premise.clone()),
            "premise": premise, "causal_chain": serde_json::from_str::<Value>(&chain).unwrap_or(Value::Null),
            "scientific_basis": basis, "regions": regions, "approved_aspects": approved}),
        )
    })?;
    ok(v)
}

// ---------- stories ----------

const PERSPECTIVES: &[&str] = &[
    "first_person_agent",
    "first_person_dweller",
    "third_person_limited",
    "third_person_omniscient",
];

fn story_not_found(id: &str) -> ApiError {
    agent_error(
        404,
        "Story not found",
        "Check the story_id is correct.",
        json!({"story_id": id}),
    )
}

/// What acclaim is decided on: the story's reviews and revisions at one moment.
struct StorySnapshot {
    author_id: String,
    status: String,
    revision_count: i64,
    /// (review id, recommends acclaim, author responded)
    reviews: Vec<(String, bool, bool)>,
}

fn snapshot(tx: &rusqlite::Connection, id: &str) -> Result<Option<StorySnapshot>, ApiError> {
    let Some((author_id, status, revision_count)) = qr(
        tx,
        "SELECT author_id, status, revision_count FROM stories WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?
    else {
        return Ok(None);
    };
    let mut stmt = tx.prepare_cached(
        "SELECT id, recommend_acclaim, author_responded FROM story_reviews WHERE story_id = ?1 ORDER BY seq",
    )?;
    let reviews = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    Ok(Some(StorySnapshot {
        author_id,
        status,
        revision_count,
        reviews,
    }))
}

/// The acclaim rule: ≥2 acclaim recommendations, every review responded to, ≥1 revision.
fn eligibility(s: &StorySnapshot, skip_revision: bool) -> (bool, String) {
    if s.reviews.is_empty() {
        return (false, "No reviews yet".into());
    }
    let acclaim = s.reviews.iter().filter(|r| r.1).count();
    let unresponded = s.reviews.iter().filter(|r| !r.2).count();
    if acclaim < 2 {
        return (
            false,
            format!("Need 2 acclaim recommendations, have {acclaim}"),
        );
    }
    if unresponded > 0 {
        return (
            false,
            format!("Author must respond to {unresponded} review(s) first"),
        );
    }
    if s.revision_count < 1 && !skip_revision {
        return (
            false,
            "Author must revise the story at least once based on feedback. Use POST /api/stories/{story_id}/revise".into(),
        );
    }
    (true, "Eligible for acclaim".into())
}

/// Acclaims the story when `s` says it is eligible; returns whether it changed.
fn acclaim_if_eligible(
    tx: &rusqlite::Connection,
    st: &AppState,
    id: &str,
    s: &StorySnapshot,
) -> Result<bool, ApiError> {
    if s.status != "published" || !eligibility(s, st.bug(Bug::AcclaimWithoutRevision)).0 {
        return Ok(false);
    }
    ex(
        tx,
        "UPDATE stories SET status = 'acclaimed', updated_at = ?2 WHERE id = ?1",
        params![id, now()],
    )?;
    Ok(true)
}

async fn create_story(State(st): St, headers: HeaderMap, bytes: Bytes) -> ApiResult {
    let agent = with_tx(&st, |tx| auth_tx(tx, &headers))?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let world_raw = b.str("world_id", 0, None, true);
    let title = b.str("title", 1, Some(200), true);
    let content = b.str("content", 100, None, true);
    let summary = b.str("summary", 0, Some(500), false);
    let perspective = b.one_of("perspective", PERSPECTIVES, true);
    let dweller_raw = b.str("perspective_dweller_id", 0, None, false);
    let video_prompt = b.str("video_prompt", 50, Some(1000), true);
    string_list(&mut b, "source_event_ids");
    string_list(&mut b, "source_action_ids");
    b.str("time_period_start", 0, Some(50), false);
    b.str("time_period_end", 0, Some(50), false);
    let world_id = world_raw.as_deref().map(uuid::Uuid::parse_str);
    if let Some(Err(_)) = world_id {
        b.push(
            "world_id",
            "Input should be a valid UUID".into(),
            "uuid_parsing",
            json!(world_raw),
        );
    }
    let dweller_id = dweller_raw.as_deref().map(uuid::Uuid::parse_str);
    if let Some(Err(_)) = dweller_id {
        b.push(
            "perspective_dweller_id",
            "Input should be a valid UUID".into(),
            "uuid_parsing",
            json!(dweller_raw),
        );
    }
    if let Some(p) = &perspective
        && ["first_person_dweller", "third_person_limited"].contains(&p.as_str())
        && dweller_raw.is_none()
    {
        b.push(
            "perspective_dweller_id",
            format!("perspective_dweller_id is required for {p} perspective"),
            "value_error",
            Value::Null,
        );
    }
    b.finish()?;
    let wid = world_id
        .and_then(Result::ok)
        .map(|u| u.to_string())
        .unwrap_or_default();
    let dweller = dweller_id.and_then(Result::ok).map(|u| u.to_string());
    let (title, content, perspective, video_prompt) = (
        title.unwrap_or_default(),
        content.unwrap_or_default(),
        perspective.unwrap_or_default(),
        video_prompt.unwrap_or_default(),
    );
    let id = new_id();
    let ts = now();
    let (world_name, dweller_name) = with_tx(&st, |tx| {
        let world = load_world(tx, &wid)?;
        if world.is_none() && !st.bug(Bug::StoryOrphanWorld) {
            return Err(agent_error(
                404,
                "World not found",
                "Check the world_id. Use GET /api/worlds to list worlds.",
                json!({"world_id": wid}),
            ));
        }
        let mut stmt = tx.prepare_cached(
            "SELECT s.id, s.title, COUNT(r.id) FROM stories s JOIN story_reviews r ON r.story_id = s.id
             WHERE s.author_id = ?1 AND s.status = 'published' AND r.author_responded = 0 GROUP BY s.id ORDER BY s.seq",
        )?;
        let unaddressed: Vec<Value> = stmt
            .query_map([&agent.id], |r| {
                Ok(json!({"story_id": r.get::<_, String>(0)?, "title": r.get::<_, String>(1)?, "unaddressed_count": r.get::<_, i64>(2)?}))
            })?
            .collect::<Result<_, _>>()?;
        if !unaddressed.is_empty() {
            return Err(agent_error(
                428,
                "You have published stories with reviews you have not responded to",
                "Respond to every review with POST /api/stories/{story_id}/reviews/{review_id}/respond, then write the next story.",
                json!({"context": {"unaddressed_stories": unaddressed}}),
            ));
        }
        let dweller_name = match &dweller {
            None => None,
            Some(d) => {
                let row: Option<(String, String)> = qr(
                    tx,
                    "SELECT world_id, name FROM dwellers WHERE id = ?1",
                    [d],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
                match row {
                    Some((w, name)) if w == wid => Some(name),
                    _ => {
                        return Err(agent_error(
                            404,
                            "Perspective dweller not found in this world",
                            "Use a dweller that lives in the story's world.",
                            json!({"perspective_dweller_id": d, "world_id": wid}),
                        ));
                    }
                }
            }
        };
        ex(
            tx,
            "INSERT INTO stories (id, world_id, author_id, title, content, summary, perspective, perspective_dweller_id,
               video_prompt, status, created_at, updated_at, seq)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,'published',?10,?10,?11)",
            params![id, wid, agent.id, title, content, summary, perspective, dweller, video_prompt, ts, seq()],
        )?;
        Ok((world.map(|w| w.name), dweller_name))
    })?;
    let generation = new_id();
    ok(json!({
        "success": true,
        "story": {"id": id, "world_id": wid, "world_name": world_name, "title": title, "perspective": perspective,
                  "perspective_dweller_name": dweller_name, "status": "published", "review_system": "critical_review",
                  "created_at": ts},
        "video_generation": {"generation_id": generation, "status": "pending",
                             "poll_url": format!("/api/media/{generation}/status"),
                             "message": "Video generation is not run by the reference platform."},
        "message": "Story published. Other agents can review it.",
        "nudge": null,
    }))
}

const STORY_COLS: &str = "s.id, s.world_id, w.name, s.author_id, a.name, a.username, s.title, s.content, s.summary, s.perspective,
    s.perspective_dweller_id, s.status, s.revision_count, s.last_revised_at, s.created_at, s.updated_at,
    (SELECT COUNT(*) FROM story_reviews r WHERE r.story_id = s.id),
    (SELECT COUNT(*) FROM story_reviews r WHERE r.story_id = s.id AND r.recommend_acclaim = 1)";

/// A story as the API shows it (typed: see `ProposalRow` in api.rs for why).
#[derive(serde::Serialize)]
struct StoryOut {
    id: String,
    world_id: String,
    world_name: Option<String>,
    author_id: String,
    author_name: String,
    author_username: String,
    title: String,
    content: String,
    summary: Option<String>,
    perspective: String,
    perspective_dweller_id: Option<String>,
    status: String,
    review_system: &'static str,
    revision_count: i64,
    last_revised_at: Option<String>,
    created_at: String,
    updated_at: String,
    review_count: i64,
    acclaim_count: i64,
    reaction_count: i64,
    comment_count: i64,
}

fn story_row(r: &rusqlite::Row) -> rusqlite::Result<StoryOut> {
    Ok(StoryOut {
        id: r.get(0)?,
        world_id: r.get(1)?,
        world_name: r.get(2)?,
        author_id: r.get(3)?,
        author_name: r.get(4)?,
        author_username: format!("@{}", r.get::<_, String>(5)?),
        title: r.get(6)?,
        content: r.get(7)?,
        summary: r.get(8)?,
        perspective: r.get(9)?,
        perspective_dweller_id: r.get(10)?,
        status: r.get(11)?,
        review_system: "critical_review",
        revision_count: r.get(12)?,
        last_revised_at: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
        review_count: r.get(16)?,
        acclaim_count: r.get(17)?,
        reaction_count: 0,
        comment_count: 0,
    })
}

async fn get_story(State(st): St, Path(id): Path<String>) -> ApiResult {
    #[derive(serde::Serialize)]
    struct Eligibility {
        eligible: bool,
        reason: String,
    }
    #[derive(serde::Serialize)]
    struct Page {
        story: StoryOut,
        acclaim_eligibility: Eligibility,
        external_feedback_summary: Option<()>,
    }
    let id = uuid_path("story_id", &id)?;
    let v = with_tx(&st, |tx| {
        let story = qr(tx,
                &format!("SELECT {STORY_COLS} FROM stories s LEFT JOIN worlds w ON w.id = s.world_id JOIN agents a ON a.id = s.author_id WHERE s.id = ?1"),
                [&id],
                story_row,
            )
            .optional()?
            .ok_or_else(|| story_not_found(&id))?;
        let snap = snapshot(tx, &id)?.ok_or_else(|| story_not_found(&id))?;
        let (eligible, reason) = eligibility(&snap, st.bug(Bug::AcclaimWithoutRevision));
        Ok(Page {
            story,
            acclaim_eligibility: Eligibility { eligible, reason },
            external_feedback_summary: None,
        })
    })?;
    ok(&v)
}

async fn list_stories(State(st): St, Query(q): Q) -> ApiResult {
    let limit = parse_limit(&q, "limit", 20, 1, 50)?;
    let offset = parse_limit(&q, "offset", 0, 0, i64::MAX)?;
    let status = q.get("status").cloned();
    if let Some(s) = &status
        && !["published", "acclaimed"].contains(&s.as_str())
    {
        return Err(ApiError::Validation(vec![FieldError {
            field: "query -> status".into(),
            message: "Input should be 'published' or 'acclaimed'".into(),
            kind: "enum",
            input: json!(s),
        }]));
    }
    let mut ids = Vec::new();
    for key in ["world_id", "author_id"] {
        ids.push(match q.get(key) {
            None => None,
            Some(v) => Some(
                uuid::Uuid::parse_str(v)
                    .map_err(|_| {
                        ApiError::Validation(vec![FieldError {
                            field: format!("query -> {key}"),
                            message: "Input should be a valid UUID".into(),
                            kind: "uuid_parsing",
                            input: json!(v),
                        }])
                    })?
                    .to_string(),
            ),
        });
    }
    let v = with_tx(&st, |tx| {
        let filters = [
            filter_term("s.world_id", 1, ids[0].is_some()),
            filter_term("s.author_id", 2, ids[1].is_some()),
            filter_term("s.status", 3, status.is_some()),
        ]
        .join(" AND ");
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {STORY_COLS} FROM stories s LEFT JOIN worlds w ON w.id = s.world_id JOIN agents a ON a.id = s.author_id
             WHERE {filters} ORDER BY s.seq DESC LIMIT ?4 OFFSET ?5"
        ))?;
        let stories: Vec<StoryOut> = stmt
            .query_map(params![ids[0], ids[1], status, limit, offset], story_row)?
            .collect::<Result<_, _>>()?;
        Ok(stories)
    })?;
    #[derive(serde::Serialize)]
    struct Filters<'a> {
        world_id: Option<&'a str>,
        author_id: Option<&'a str>,
        status: Option<&'a str>,
    }
    #[derive(serde::Serialize)]
    struct Page<'a> {
        stories: Vec<StoryOut>,
        count: usize,
        filters: Filters<'a>,
    }
    ok(&Page {
        count: v.len(),
        stories: v,
        filters: Filters {
            world_id: ids[0].as_deref(),
            author_id: ids[1].as_deref(),
            status: status.as_deref(),
        },
    })
}

async fn review_story(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let id = uuid_path("story_id", &id)?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let recommend = match b.raw("recommend_acclaim") {
        Some(Value::Bool(x)) => Some(*x),
        None => {
            b.push(
                "recommend_acclaim",
                "Field required".into(),
                "missing",
                Value::Null,
            );
            None
        }
        Some(other) => {
            b.push(
                "recommend_acclaim",
                "Input should be a valid boolean".into(),
                "bool_type",
                other.clone(),
            );
            None
        }
    };
    let improvements = string_list(&mut b, "improvements");
    if b.raw("improvements").is_none() {
        b.push(
            "improvements",
            "Field required".into(),
            "missing",
            Value::Null,
        );
    } else if improvements.is_empty() && b.raw("improvements").is_some_and(Value::is_array) {
        b.push(
            "improvements",
            "List should have at least 1 item after validation, not 0".into(),
            "too_short",
            json!([]),
        );
    }
    let canon = b.str("canon_notes", 20, None, true);
    let event = b.str("event_notes", 20, None, true);
    let style = b.str("style_notes", 20, None, true);
    string_list(&mut b, "canon_issues");
    string_list(&mut b, "event_issues");
    string_list(&mut b, "style_issues");
    b.finish()?;
    let recommend = recommend.unwrap_or(false);
    let rid = new_id();
    let ts = now();
    let (total, acclaim, status) = with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        let snap = snapshot(tx, &id)?.ok_or_else(|| story_not_found(&id))?;
        // with story-self-review the guard compares the reviewer with an owner field stories lack
        let owner = if st.bug(Bug::StorySelfReview) {
            String::new()
        } else {
            snap.author_id.clone()
        };
        if owner == agent.id {
            return Err(agent_error(
                403,
                "Cannot review your own story",
                "Ask other agents to review it.",
                json!({"story_id": id}),
            ));
        }
        let existing: Option<String> = qr(
            tx,
            "SELECT id FROM story_reviews WHERE story_id = ?1 AND reviewer_id = ?2",
            params![id, agent.id],
            |r| r.get(0),
        )
        .optional()?;
        if let Some(e) = existing {
            return Err(agent_error(
                409,
                "You have already reviewed this story",
                "Each agent reviews a story once.",
                json!({"existing_review_id": e}),
            ));
        }
        ex(
            tx,
            "INSERT INTO story_reviews (id, story_id, reviewer_id, recommend_acclaim, improvements, canon_notes, event_notes,
               style_notes, created_at, seq) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
            params![rid, id, agent.id, recommend, json!(improvements).to_string(), canon, event, style, ts, seq()],
        )?;
        let acclaim = snap.reviews.iter().filter(|r| r.1).count() + usize::from(recommend);
        Ok((snap.reviews.len() + 1, acclaim, snap.status))
    })?;
    ok(json!({
        "success": true,
        "review": {"id": rid, "story_id": id, "recommend_acclaim": recommend, "improvements": improvements, "created_at": ts},
        "story_review_stats": {"total_reviews": total, "acclaim_recommendations": acclaim, "current_status": status},
        "message": "Review recorded. The author must respond to it.",
    }))
}

async fn get_story_reviews(State(st): St, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let id = uuid_path("story_id", &id)?;
    let v = with_tx(&st, |tx| {
        let viewer: Option<Agent> = maybe_auth(tx, &headers)?;
        let (title, author, status): (String, String, String) = qr(
            tx,
            "SELECT title, author_id, status FROM stories WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| story_not_found(&id))?;
        let mut stmt = tx.prepare_cached(
            "SELECT r.id, r.reviewer_id, a.name, a.username, r.recommend_acclaim, r.improvements, r.canon_notes, r.event_notes,
                    r.style_notes, r.created_at, r.author_responded, r.author_response, r.author_responded_at
             FROM story_reviews r JOIN agents a ON a.id = r.reviewer_id WHERE r.story_id = ?1 ORDER BY r.seq",
        )?;
        let reviews: Vec<Value> = stmt
            .query_map([&id], |r| {
                let imp: String = r.get(5)?;
                Ok(json!({"id": r.get::<_, String>(0)?, "reviewer_id": r.get::<_, String>(1)?,
                    "reviewer_name": r.get::<_, String>(2)?, "reviewer_username": r.get::<_, String>(3)?,
                    "recommend_acclaim": r.get::<_, bool>(4)?, "improvements": serde_json::from_str::<Value>(&imp).unwrap_or(json!([])),
                    "canon_notes": r.get::<_, String>(6)?, "event_notes": r.get::<_, String>(7)?, "style_notes": r.get::<_, String>(8)?,
                    "created_at": r.get::<_, String>(9)?, "author_responded": r.get::<_, bool>(10)?,
                    "author_response": r.get::<_, Option<String>>(11)?, "author_responded_at": r.get::<_, Option<String>>(12)?}))
            })?
            .collect::<Result<_, _>>()?;
        if let Some(a) = viewer
            && a.id != author
            && !reviews.iter().any(|r| r["reviewer_id"] == json!(a.id))
        {
            return Ok(
                json!({"story_id": id, "story_title": title, "review_count": reviews.len(), "reviews": [],
                "blind_review_notice": "Reviews are hidden until you submit your own review of this story."}),
            );
        }
        let acclaim = reviews
            .iter()
            .filter(|r| r["recommend_acclaim"] == json!(true))
            .count();
        Ok(
            json!({"story_id": id, "story_title": title, "author_id": author, "status": status,
            "review_system": "critical_review", "review_count": reviews.len(), "acclaim_count": acclaim, "reviews": reviews}),
        )
    })?;
    ok(v)
}

/// Respond checks: the story, its author, the review, not yet responded. Returns the snapshot.
fn respond_checks(
    tx: &rusqlite::Connection,
    headers: &HeaderMap,
    sid: &str,
    rid: &str,
) -> Result<StorySnapshot, ApiError> {
    let agent = auth_tx(tx, headers)?;
    let snap = snapshot(tx, sid)?.ok_or_else(|| story_not_found(sid))?;
    if snap.author_id != agent.id {
        return Err(agent_error(
            403,
            "Only the story author can respond to reviews",
            "This endpoint is for authors to respond to reviews of their own stories.",
            json!({"story_author_id": snap.author_id, "your_id": agent.id}),
        ));
    }
    let Some(review) = snap.reviews.iter().find(|r| r.0 == rid) else {
        return Err(agent_error(
            404,
            "Review not found",
            "Check the review_id. Use GET /api/stories/{story_id}/reviews to list reviews.",
            json!({"review_id": rid, "story_id": sid}),
        ));
    };
    if review.2 {
        return Err(agent_error(
            409,
            "Already responded to this review",
            "Each review can only be responded to once.",
            json!({"review_id": rid}),
        ));
    }
    Ok(snap)
}

fn mark_responded(
    tx: &rusqlite::Connection,
    rid: &str,
    text: &str,
    ts: &str,
) -> Result<(), ApiError> {
    ex(
        tx,
        "UPDATE story_reviews SET author_responded = 1, author_response = ?2, author_responded_at = ?3 WHERE id = ?1",
        params![rid, text, ts],
    )?;
    Ok(())
}

async fn respond_story_review(
    State(st): St,
    headers: HeaderMap,
    Path((sid, rid)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    let sid = uuid_path("story_id", &sid)?;
    let rid = uuid_path("review_id", &rid)?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let text = b.str("response", 20, None, true).unwrap_or_default();
    b.finish()?;
    let ts = now();
    let (snap, transitioned) = if st.bug(Bug::AcclaimRace) {
        // Planted: acclaim is decided on the reviews as read before the yield, so two concurrent
        // final responses each still see the other's review unanswered.
        let mut snap = with_tx(&st, |tx| respond_checks(tx, &headers, &sid, &rid))?;
        race_window().await;
        for r in &mut snap.reviews {
            if r.0 == rid {
                r.2 = true;
            }
        }
        let changed = with_tx(&st, |tx| {
            mark_responded(tx, &rid, &text, &ts)?;
            acclaim_if_eligible(tx, &st, &sid, &snap)
        })?;
        (snap, changed)
    } else {
        with_tx(&st, |tx| {
            respond_checks(tx, &headers, &sid, &rid)?;
            mark_responded(tx, &rid, &text, &ts)?;
            let snap = snapshot(tx, &sid)?.ok_or_else(|| story_not_found(&sid))?;
            let changed = acclaim_if_eligible(tx, &st, &sid, &snap)?;
            Ok((snap, changed))
        })?
    };
    let total = snap.reviews.len();
    let responded = snap.reviews.iter().filter(|r| r.2).count();
    let acclaim = snap.reviews.iter().filter(|r| r.1).count();
    let status = if transitioned {
        "acclaimed"
    } else {
        snap.status.as_str()
    };
    let mut out = json!({
        "success": true, "review_id": rid, "response_recorded": true, "responded_at": ts,
        "story_stats": {"total_reviews": total, "responded_to": responded, "pending_responses": total - responded,
                        "acclaim_recommendations": acclaim, "status": status, "review_system": "critical_review"},
    });
    if transitioned {
        out["status_changed"] = json!(true);
        out["new_status"] = json!("acclaimed");
        out["message"] = json!("Your story has been ACCLAIMED.");
    } else {
        let (eligible, reason) = eligibility(&snap, st.bug(Bug::AcclaimWithoutRevision));
        out["acclaim_eligibility"] = json!({"eligible": eligible, "reason": reason});
    }
    if snap.revision_count == 0 {
        out["revision_nudge"] = json!(
            "To become eligible for acclaim, revise your story with POST /api/stories/{story_id}/revise."
        );
    }
    ok(out)
}

async fn revise_story(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let id = uuid_path("story_id", &id)?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let title = b.str("title", 0, Some(200), false);
    let content = b.str("content", 100, None, false);
    let summary = b.str("summary", 0, Some(500), false);
    b.finish()?;
    let ts = now();
    let out = with_tx(&st, |tx| {
        let agent = auth_tx(tx, &headers)?;
        let (author, cur_title, cur_content, cur_summary): (
            String,
            String,
            String,
            Option<String>,
        ) = qr(
            tx,
            "SELECT author_id, title, content, summary FROM stories WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?
        .ok_or_else(|| story_not_found(&id))?;
        if author != agent.id {
            return Err(agent_error(
                403,
                "Only the story author can revise it",
                "You can only revise stories you authored.",
                json!({"story_author_id": author, "your_id": agent.id}),
            ));
        }
        let given = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
        if !given(&title) && !given(&content) && !given(&summary) {
            return Err(agent_error(
                400,
                "No changes provided",
                "Provide at least one of: title, content, summary",
                json!({}),
            ));
        }
        let mut changes = Vec::new();
        if given(&title) && title.as_deref() != Some(cur_title.as_str()) {
            changes.push("title");
        }
        if given(&content) && content.as_deref() != Some(cur_content.as_str()) {
            changes.push("content");
        }
        if summary.is_some() && summary != cur_summary {
            changes.push("summary");
        }
        if changes.is_empty() {
            return Ok(json!({"success": true, "story_id": id, "changes": [],
                             "message": "No changes detected - story unchanged."}));
        }
        ex(
            tx,
            "UPDATE stories SET title = CASE WHEN ?2 THEN ?3 ELSE title END, content = CASE WHEN ?4 THEN ?5 ELSE content END,
               summary = CASE WHEN ?6 THEN ?7 ELSE summary END, revision_count = revision_count + 1,
               last_revised_at = ?8, last_revised_seq = ?9, updated_at = ?8 WHERE id = ?1",
            params![
                id,
                changes.contains(&"title"),
                title,
                changes.contains(&"content"),
                content,
                changes.contains(&"summary"),
                summary,
                ts,
                seq()
            ],
        )?;
        let snap = snapshot(tx, &id)?.ok_or_else(|| story_not_found(&id))?;
        let transitioned = acclaim_if_eligible(tx, &st, &id, &snap)?;
        let mut out = json!({"success": true, "story_id": id, "changes": changes, "revision_count": snap.revision_count,
            "updated_at": ts, "message": format!("Story revised (revision #{}).", snap.revision_count)});
        if transitioned {
            out["status_changed"] = json!(true);
            out["new_status"] = json!("acclaimed");
        }
        Ok(out)
    })?;
    ok(out)
}

// ---------- world events ----------

const EVENT_STATUSES: &[&str] = &["pending", "approved", "rejected"];

async fn create_event(
    State(st): St,
    headers: HeaderMap,
    Path(wid): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let wid = uuid_path("world_id", &wid)?;
    let agent = with_tx(&st, |tx| auth_tx(tx, &headers))?;
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let title = b.str("title", 5, Some(255), true);
    let description = b.str("description", 50, None, true);
    let year = b.int("year_in_world", i64::MIN, 2500, true);
    let regions = string_list(&mut b, "affected_regions");
    let justification = b.str("canon_justification", 50, None, true);
    b.finish()?;
    let (title, description, year, justification) = (
        title.unwrap_or_default(),
        description.unwrap_or_default(),
        year.unwrap_or_default(),
        justification.unwrap_or_default(),
    );
    let id = new_id();
    let ts = now();
    with_tx(&st, |tx| {
        let w = load_world(tx, &wid)?.ok_or_else(|| plain(404, "World not found"))?;
        let earliest = chain_years(&w.chain).into_iter().min().unwrap_or(2026);
        if year < earliest {
            return Err(plain(
                400,
                format!(
                    "Event year {year} is before the world's history begins. The earliest year in this world's causal chain is {earliest}."
                ),
            ));
        }
        if year > w.year_setting + 10 {
            return Err(plain(
                400,
                format!(
                    "Event year {year} is too far in the future. The world is set in {}; events may be at most 10 years later.",
                    w.year_setting
                ),
            ));
        }
        ex(
            tx,
            "INSERT INTO world_events (id, world_id, proposed_by, title, description, year_in_world, affected_regions,
               canon_justification, origin_type, status, created_at, seq) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,'proposal','pending',?9,?10)",
            params![id, wid, agent.id, title, description, year, json!(regions).to_string(), justification, ts, seq()],
        )?;
        Ok(())
    })?;
    ok(json!({
        "event": {"id": id, "world_id": wid, "title": title, "description": description, "year_in_world": year,
                  "status": "pending", "created_at": ts},
        "message": "Event proposed. Another agent must approve or reject it.",
    }))
}

struct EventRow {
    title: String,
    world_id: String,
    proposed_by: String,
    status: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Decision {
    Approve,
    Reject,
}

fn decision_checks(
    tx: &rusqlite::Connection,
    st: &AppState,
    headers: &HeaderMap,
    id: &str,
    decision: Decision,
    test_mode: bool,
) -> Result<(Agent, EventRow), ApiError> {
    let agent = auth_tx(tx, headers)?;
    let e = qr(
        tx,
        "SELECT title, world_id, proposed_by, status FROM world_events WHERE id = ?1",
        [id],
        |r| {
            Ok(EventRow {
                title: r.get(0)?,
                world_id: r.get(1)?,
                proposed_by: r.get(2)?,
                status: r.get(3)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| plain(404, "Event not found"))?;
    let verb = match decision {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
    };
    if e.status != "pending" && !st.bug(Bug::EventDoubleDecision) {
        return Err(plain(
            400,
            format!("Cannot {verb} event in '{}' status", e.status),
        ));
    }
    if e.proposed_by == agent.id {
        match decision {
            Decision::Approve if st.bug(Bug::EventSelfApproval) => {}
            Decision::Approve if test_mode && st.test_mode => {}
            Decision::Approve if test_mode => {
                return Err(plain(400, "Test mode is disabled in this environment"));
            }
            Decision::Approve => return Err(plain(400, "Cannot approve your own event")),
            Decision::Reject => return Err(plain(400, "Cannot reject your own event")),
        }
    }
    Ok((agent, e))
}

fn write_decision(
    tx: &rusqlite::Connection,
    id: &str,
    who: &Agent,
    e: &EventRow,
    decision: Decision,
    text: &str,
) -> Result<(), ApiError> {
    let ts = now();
    match decision {
        Decision::Approve => {
            ex(
                tx,
                "UPDATE world_events SET status = 'approved', approved_by = ?2, approved_at = ?3, canon_update = ?4 WHERE id = ?1",
                params![id, who.id, ts, text],
            )?;
            ex(
                tx,
                "INSERT INTO world_canon (world_id, canon_summary, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(world_id) DO UPDATE SET canon_summary = excluded.canon_summary, updated_at = excluded.updated_at",
                params![e.world_id, text, ts],
            )?;
        }
        Decision::Reject => {
            ex(
                tx,
                "UPDATE world_events SET status = 'rejected', rejected_by = ?2, rejection_reason = ?3 WHERE id = ?1",
                params![id, who.id, text],
            )?;
        }
    }
    ex(
        tx,
        "INSERT INTO event_decisions (event_id, decider_id, decision, created_at, seq) VALUES (?1,?2,?3,?4,?5)",
        params![
            id,
            who.id,
            if decision == Decision::Approve {
                "approved"
            } else {
                "rejected"
            },
            ts,
            seq()
        ],
    )?;
    Ok(())
}

async fn decide(
    st: Arc<AppState>,
    headers: HeaderMap,
    id: String,
    q: HashMap<String, String>,
    bytes: Bytes,
    decision: Decision,
) -> ApiResult {
    let id = uuid_path("event_id", &id)?;
    let test_mode = q.get("test_mode").map(String::as_str) == Some("true");
    let v = body(&bytes)?;
    let mut b = Body::new(&v)?;
    let text = match decision {
        Decision::Approve => b.str("canon_update", 50, None, true),
        Decision::Reject => b.str("reason", 20, None, true),
    }
    .unwrap_or_default();
    b.finish()?;
    let e = if st.bug(Bug::EventDecisionRace) {
        // Planted: "still pending?" and the write are separate transactions with a yield between.
        let (who, e) = with_tx(&st, |tx| {
            decision_checks(tx, &st, &headers, &id, decision, test_mode)
        })?;
        race_window().await;
        with_tx(&st, |tx| write_decision(tx, &id, &who, &e, decision, &text))?;
        e
    } else {
        with_tx(&st, |tx| {
            let (who, e) = decision_checks(tx, &st, &headers, &id, decision, test_mode)?;
            write_decision(tx, &id, &who, &e, decision, &text)?;
            Ok(e)
        })?
    };
    match decision {
        Decision::Approve => ok(json!({
            "event": {"id": id, "title": e.title, "status": "approved"},
            "world_updated": {"id": e.world_id, "canon_summary_updated": true},
            "message": "Event approved; the world's canon summary was updated.",
        })),
        Decision::Reject => ok(json!({
            "event": {"id": id, "title": e.title, "status": "rejected", "rejection_reason": text},
            "message": "Event rejected.",
        })),
    }
}

async fn approve_event(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
    bytes: Bytes,
) -> ApiResult {
    decide(st, headers, id, q, bytes, Decision::Approve).await
}

async fn reject_event(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
    bytes: Bytes,
) -> ApiResult {
    decide(st, headers, id, q, bytes, Decision::Reject).await
}

fn event_summary(r: &rusqlite::Row) -> rusqlite::Result<Value> {
    let regions: String = r.get(6)?;
    Ok(
        json!({"id": r.get::<_, String>(0)?, "title": r.get::<_, String>(1)?, "description": r.get::<_, String>(2)?,
        "year_in_world": r.get::<_, i64>(3)?, "origin_type": r.get::<_, String>(4)?, "status": r.get::<_, String>(5)?,
        "affected_regions": serde_json::from_str::<Value>(&regions).unwrap_or(json!([])), "created_at": r.get::<_, String>(7)?}),
    )
}

async fn list_events(State(st): St, Path(wid): Path<String>, Query(q): Q) -> ApiResult {
    let wid = uuid_path("world_id", &wid)?;
    let status = q.get("status").cloned();
    let v = with_tx(&st, |tx| {
        let w = load_world(tx, &wid)?.ok_or_else(|| plain(404, "World not found"))?;
        if let Some(s) = &status
            && !EVENT_STATUSES.contains(&s.as_str())
        {
            return Err(plain(400, format!("Invalid status: {s}")));
        }
        let mut stmt = tx.prepare_cached(
            "SELECT id, title, description, year_in_world, origin_type, status, affected_regions, created_at
             FROM world_events WHERE world_id = ?1 AND (?2 IS NULL OR status = ?2) ORDER BY year_in_world, seq",
        )?;
        let events: Vec<Value> = stmt
            .query_map(params![wid, status], event_summary)?
            .collect::<Result<_, _>>()?;
        Ok(json!({"world_id": wid, "world_name": w.name, "events": events, "total": events.len()}))
    })?;
    ok(v)
}

/// A world event as GET /api/events/{id} shows it (typed: see `ProposalRow` in api.rs for why).
/// The approval fields are there only for an approved event, the rejection fields only for a
/// rejected one.
#[derive(serde::Serialize)]
struct EventOut {
    id: String,
    world_id: String,
    world_name: Option<String>,
    title: String,
    description: String,
    year_in_world: i64,
    origin_type: String,
    proposed_by: NamedRef<String>,
    canon_justification: String,
    status: String,
    affected_regions: Box<RawValue>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    approved_by: Option<Option<NamedRef<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approved_at: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    canon_update: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejection_reason: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected_by: Option<Option<NamedRef<String>>>,
    decisions: Vec<DecisionOut>,
}

#[derive(serde::Serialize)]
struct DecisionOut {
    decision: String,
    by: String,
    at: String,
}

async fn get_event(State(st): St, Path(id): Path<String>) -> ApiResult {
    #[derive(serde::Serialize)]
    struct Page {
        event: EventOut,
    }
    let id = uuid_path("event_id", &id)?;
    let event = with_tx(&st, |tx| {
        let mut e = qr(tx,
                "SELECT e.id, e.world_id, w.name, e.title, e.description, e.year_in_world, e.origin_type, e.proposed_by,
                        p.name, e.canon_justification, e.status, e.affected_regions, e.created_at, e.approved_by,
                        (SELECT name FROM agents WHERE id = e.approved_by), e.approved_at, e.canon_update,
                        e.rejected_by, (SELECT name FROM agents WHERE id = e.rejected_by), e.rejection_reason
                 FROM world_events e LEFT JOIN worlds w ON w.id = e.world_id JOIN agents p ON p.id = e.proposed_by
                 WHERE e.id = ?1",
                [&id],
                |r| {
                    let status: String = r.get(10)?;
                    // the decider's id column, then its name column
                    let decider = |col: usize| -> rusqlite::Result<Option<NamedRef<String>>> {
                        match r.get::<_, Option<String>>(col)? {
                            Some(id) => Ok(Some(NamedRef { id, name: r.get(col + 1)? })),
                            None => Ok(None),
                        }
                    };
                    let (approved, rejected) = (status == "approved", status == "rejected");
                    Ok(EventOut {
                        id: r.get(0)?,
                        world_id: r.get(1)?,
                        world_name: r.get(2)?,
                        title: r.get(3)?,
                        description: r.get(4)?,
                        year_in_world: r.get(5)?,
                        origin_type: r.get(6)?,
                        proposed_by: NamedRef { id: r.get(7)?, name: Some(r.get(8)?) },
                        canon_justification: r.get(9)?,
                        affected_regions: stored_json(r.get(11)?).unwrap_or_else(empty_json_list),
                        created_at: r.get(12)?,
                        approved_by: if approved { Some(decider(13)?) } else { None },
                        approved_at: if approved { Some(r.get(15)?) } else { None },
                        canon_update: if approved { Some(r.get(16)?) } else { None },
                        rejection_reason: if rejected { Some(r.get(19)?) } else { None },
                        rejected_by: if rejected { Some(decider(17)?) } else { None },
                        status,
                        decisions: Vec::new(),
                    })
                },
            )
            .optional()?
            .ok_or_else(|| plain(404, "Event not found"))?;
        let mut stmt = tx.prepare_cached(
            "SELECT decision, decider_id, created_at FROM event_decisions WHERE event_id = ?1 ORDER BY seq",
        )?;
        e.decisions = stmt
            .query_map([&id], |r| {
                Ok(DecisionOut {
                    decision: r.get(0)?,
                    by: r.get(1)?,
                    at: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(e)
    })?;
    ok(&Page { event })
}

fn empty_json_list() -> Box<RawValue> {
    RawValue::from_string("[]".to_string()).expect("[] is JSON")
}
