//! A dweller's memory: the inhabitant's full read (`GET /api/dwellers/{id}/memory`) and its edits
//! — core memories, a relationship, the current situation, personality blocks (also by the world's
//! creator), reflections. Each field is stored as JSON text in `dweller_memory` (created with the
//! first edit; absent = empty), reflections as rows of their own. Memory summaries are a JSON list
//! the inhabitant appends to (`POST …/memory/summarize`), and `GET …/memory/search` finds episodes
//! by word.
//!
//! Every edit writes the whole new value back. The planted bug `memory-edit-lost` answers with
//! the new value but skips that write when the field held something already — what an in-place
//! mutation of a loaded JSON column does under an ORM that does not track it.

use crate::auth::ApiKey;
use crate::bug::{Bug, race_window};
use crate::db::{ex, new_id, now, qr, seq};
use crate::error::{ApiError, ApiResult, agent_error, not_found};
use crate::http::{DwellerId, JsonBody, Q, St, ok};
use crate::validate::Body;
use axum::extract::{Query, State};
use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value, json};

/// One memory field: its column in `dweller_memory` and its value when nothing was stored.
#[derive(Clone, Copy)]
enum Field {
    Core,
    Relationships,
    Personality,
    Situation,
    Summaries,
}

impl Field {
    fn column(self) -> &'static str {
        match self {
            Field::Core => "core",
            Field::Relationships => "relationships",
            Field::Personality => "personality",
            Field::Situation => "situation",
            Field::Summaries => "summaries",
        }
    }
    fn empty(self) -> Value {
        match self {
            Field::Core | Field::Summaries => json!([]),
            Field::Relationships | Field::Personality => json!({}),
            Field::Situation => json!(""),
        }
    }
}

/// Reads one field of dweller `id` (its empty value when none was stored).
fn load(tx: &rusqlite::Connection, id: &str, f: Field) -> Result<Value, ApiError> {
    let sql = format!(
        "SELECT {} FROM dweller_memory WHERE dweller_id = ?1",
        f.column()
    );
    let text: Option<String> = qr(tx, &sql, [id], |r| r.get(0)).optional()?;
    Ok(text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| f.empty()))
}

/// Writes one field of dweller `id` (the row is created on the first write).
fn store(tx: &rusqlite::Connection, id: &str, f: Field, v: &Value) -> Result<(), ApiError> {
    ex(
        tx,
        "INSERT OR IGNORE INTO dweller_memory (dweller_id, core, relationships, personality, situation) VALUES (?1, '[]', '{}', '{}', '\"\"')",
        [id],
    )?;
    let sql = format!(
        "UPDATE dweller_memory SET {} = ?2 WHERE dweller_id = ?1",
        f.column()
    );
    ex(tx, &sql, params![id, v.to_string()])?;
    Ok(())
}

/// Stores `new` unless `memory-edit-lost` is planted and the field held something before.
fn keep(
    st: &crate::state::AppState,
    tx: &rusqlite::Connection,
    id: &str,
    f: Field,
    old: &Value,
    new: &Value,
) -> Result<(), ApiError> {
    let was_empty = match old {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => true,
    };
    if st.bug(Bug::MemoryEditLost) && !was_empty {
        return Ok(());
    }
    store(tx, id, f, new)
}

/// Public memory fields of a dweller, for `GET /api/dwellers/{id}`.
pub(super) fn public_fields(
    tx: &rusqlite::Connection,
    id: &str,
) -> Result<Map<String, Value>, ApiError> {
    let mut m = Map::new();
    m.insert("current_situation".into(), load(tx, id, Field::Situation)?);
    m.insert(
        "personality_blocks".into(),
        load(tx, id, Field::Personality)?,
    );
    m.insert(
        "relationship_memories".into(),
        load(tx, id, Field::Relationships)?,
    );
    m.insert("memory_summaries".into(), load(tx, id, Field::Summaries)?);
    Ok(m)
}

/// Who may edit: the dweller's name, whether the caller inhabits it, whether it created the world.
struct Access {
    name: String,
    inhabitant: bool,
    creator: bool,
}

fn access(tx: &rusqlite::Connection, key: &ApiKey, id: &str) -> Result<Access, ApiError> {
    let agent = key.agent(tx)?;
    let (name, holder, creator): (String, Option<String>, String) = qr(
        tx,
        "SELECT d.name, d.inhabited_by, w.created_by FROM dwellers d JOIN worlds w ON w.id = d.world_id WHERE d.id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?
    .ok_or_else(|| not_found("Dweller"))?;
    Ok(Access {
        name,
        inhabitant: holder.as_deref() == Some(agent.id.as_str()),
        creator: creator == agent.id,
    })
}

/// The inhabitant-only check (skipped by the planted bug `memory-any-agent`).
fn inhabitant_only(
    st: &crate::state::AppState,
    tx: &rusqlite::Connection,
    key: &ApiKey,
    id: &str,
) -> Result<Access, ApiError> {
    let a = access(tx, key, id)?;
    if !a.inhabitant && !st.bug(Bug::MemoryAnyAgent) {
        return Err(refused(id, &a.name, "You are not inhabiting this dweller"));
    }
    Ok(a)
}

fn refused(id: &str, name: &str, error: &str) -> ApiError {
    agent_error(
        403,
        error,
        "Claim the dweller first with POST /api/dwellers/{dweller_id}/claim.",
        json!({"dweller_id": id, "dweller_name": name}),
    )
}

pub(super) async fn get(
    State(st): St,
    key: ApiKey,
    DwellerId(id): DwellerId,
    Query(q): Q,
) -> ApiResult {
    let limit = match q.get("episode_limit") {
        None => 100,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(crate::validate::invalid(
                    "query -> episode_limit",
                    "Input should be an integer between 1 and 1000",
                    "int_parsing",
                    json!(s),
                ));
            }
        },
    };
    let v = st.db.with_tx(|tx| {
        let a = access(tx, &key, &id)?;
        if !a.inhabitant {
            return Err(refused(&id, &a.name, "You are not inhabiting this dweller"));
        }
        let episodes = episodes(tx, &id)?;
        let total = episodes.len();
        let shown: Vec<Value> = episodes
            .into_iter()
            .skip(total.saturating_sub(limit))
            .collect();
        let mut memory = public_fields(tx, &id)?;
        memory.remove("current_situation");
        memory.insert("core_memories".into(), load(tx, &id, Field::Core)?);
        memory.insert("episodic_memories".into(), Value::Array(shown));
        memory.insert("total_episodes".into(), json!(total));
        Ok(json!({"dweller_id": id, "dweller_name": a.name, "memory": memory}))
    })?;
    ok(v)
}

/// The dweller's episodes, oldest first: its actions and its reflections.
fn episodes(tx: &rusqlite::Connection, id: &str) -> Result<Vec<Value>, ApiError> {
    let mut out: Vec<(String, i64, Value)> = Vec::new();
    let mut stmt = tx.prepare_cached(
        "SELECT id, action_type, content, target, importance, created_at, rowid FROM actions WHERE dweller_id = ?1",
    )?;
    for row in stmt.query_map([id], |r| {
        let ts: String = r.get(5)?;
        Ok((
            ts.clone(),
            r.get::<_, i64>(6)?,
            json!({"id": r.get::<_, String>(0)?, "action_id": r.get::<_, String>(0)?, "type": r.get::<_, String>(1)?,
                   "content": r.get::<_, String>(2)?, "target": r.get::<_, Option<String>>(3)?,
                   "importance": r.get::<_, f64>(4)?, "timestamp": ts}),
        ))
    })? {
        out.push(row?);
    }
    let mut stmt = tx.prepare_cached(
        "SELECT id, content, topics, importance, created_at, seq FROM reflections WHERE dweller_id = ?1",
    )?;
    for row in stmt.query_map([id], |r| {
        let ts: String = r.get(4)?;
        let topics: String = r.get(2)?;
        Ok((
            ts.clone(),
            r.get::<_, i64>(5)?,
            json!({"id": r.get::<_, String>(0)?, "type": "reflection", "content": r.get::<_, String>(1)?,
                   "topics": serde_json::from_str::<Value>(&topics).unwrap_or(json!([])),
                   "importance": r.get::<_, f64>(3)?, "timestamp": ts}),
        ))
    })? {
        out.push(row?);
    }
    // (timestamps are equal within a millisecond; the insertion counters order those)
    out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    Ok(out.into_iter().map(|(_, _, v)| v).collect())
}

pub(super) async fn core(
    State(st): St,
    key: ApiKey,
    DwellerId(id): DwellerId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let add = b.str_list("add");
    let remove = b.str_list("remove");
    b.finish()?;
    let core = st.db.with_tx(|tx| {
        inhabitant_only(&st, tx, &key, &id)?;
        let old = load(tx, &id, Field::Core)?;
        let mut list: Vec<String> = serde_json::from_value(old.clone()).unwrap_or_default();
        for m in &remove {
            if let Some(p) = list.iter().position(|c| c == m) {
                list.remove(p);
            }
        }
        for m in add {
            if !list.contains(&m) {
                list.push(m);
            }
        }
        let new = json!(list);
        keep(&st, tx, &id, Field::Core, &old, &new)?;
        Ok(new)
    })?;
    ok(json!({"dweller_id": id, "core_memories": core, "message": "Core memories updated."}))
}

pub(super) async fn relationship(
    State(st): St,
    key: ApiKey,
    DwellerId(id): DwellerId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let target = b.str("target", 0, None, true);
    let status = b.str("new_status", 0, None, false);
    let event = match b.raw("add_event") {
        None => None,
        Some(Value::Object(o)) if o.values().all(Value::is_string) => Some(o.clone()),
        Some(other) => {
            b.push(
                "add_event",
                "Input should be a valid dictionary of strings".into(),
                "dict_type",
                other.clone(),
            );
            None
        }
    };
    b.finish()?;
    let target = target.unwrap_or_default();
    let data = st.db.with_tx(|tx| {
        inhabitant_only(&st, tx, &key, &id)?;
        let old = load(tx, &id, Field::Relationships)?;
        let mut all = old.as_object().cloned().unwrap_or_default();
        let rel = all
            .entry(target.clone())
            .or_insert_with(|| json!({"current_status": "acquaintance", "history": []}));
        if let Some(s) = status.as_ref().filter(|s| !s.is_empty()) {
            rel["current_status"] = json!(s);
        }
        if let Some(e) = &event {
            let text = |k: &str, d: &str| e.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
            let entry = json!({"timestamp": now(), "event": text("event", ""), "sentiment": text("sentiment", "neutral")});
            if let Some(h) = rel["history"].as_array_mut() {
                h.push(entry);
            }
        }
        let data = rel.clone();
        keep(&st, tx, &id, Field::Relationships, &old, &Value::Object(all))?;
        Ok(data)
    })?;
    ok(
        json!({"dweller_id": id, "relationship": {"target": target, "data": data}, "message": "Relationship updated."}),
    )
}

pub(super) async fn situation(
    State(st): St,
    key: ApiKey,
    DwellerId(id): DwellerId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let text = b.str("situation", 0, None, true);
    b.finish()?;
    let text = json!(text.unwrap_or_default());
    st.db.with_tx(|tx| {
        inhabitant_only(&st, tx, &key, &id)?;
        store(tx, &id, Field::Situation, &text)
    })?;
    ok(json!({"dweller_id": id, "situation": text, "message": "Situation updated."}))
}

pub(super) async fn personality(
    State(st): St,
    key: ApiKey,
    DwellerId(id): DwellerId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let updates = match b.raw("updates") {
        Some(Value::Object(o)) => o.clone(),
        None => {
            b.push("updates", "Field required".into(), "missing", Value::Null);
            Map::new()
        }
        Some(other) => {
            b.push(
                "updates",
                "Input should be a valid dictionary".into(),
                "dict_type",
                other.clone(),
            );
            Map::new()
        }
    };
    b.finish()?;
    let (blocks, by) = st.db.with_tx(|tx| {
        let a = access(tx, &key, &id)?;
        if !a.inhabitant && !a.creator && !st.bug(Bug::MemoryAnyAgent) {
            return Err(refused(
                &id,
                &a.name,
                "Only the world creator or inhabiting agent can update personality",
            ));
        }
        let old = load(tx, &id, Field::Personality)?;
        let mut blocks = old.as_object().cloned().unwrap_or_default();
        for (k, v) in updates {
            match (v, blocks.get(&k)) {
                (Value::Null, _) => {
                    blocks.remove(&k);
                }
                // a list merged into a list keeps each item once
                (Value::Array(new), Some(Value::Array(cur))) => {
                    let mut merged = cur.clone();
                    for item in new {
                        if !merged.contains(&item) {
                            merged.push(item);
                        }
                    }
                    blocks.insert(k, Value::Array(merged));
                }
                (v, _) => {
                    blocks.insert(k, v);
                }
            }
        }
        let new = Value::Object(blocks);
        keep(&st, tx, &id, Field::Personality, &old, &new)?;
        Ok((new, if a.creator { "creator" } else { "inhabitant" }))
    })?;
    ok(
        json!({"dweller_id": id, "personality_blocks": blocks, "updated_by": by, "message": "Personality updated."}),
    )
}

pub(super) async fn reflect(
    State(st): St,
    key: ApiKey,
    DwellerId(id): DwellerId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let content = b.str("content", 20, None, true);
    let topics = b.str_list("topics");
    let importance = b.float("importance", 0.0, 1.0, 0.9);
    b.finish()?;
    let content = content.unwrap_or_default();
    let rid = new_id();
    let ts = now();
    let total = st.db.with_tx(|tx| {
        inhabitant_only(&st, tx, &key, &id)?;
        let before = episodes(tx, &id)?.len();
        // memory-edit-lost: appended to a non-empty episode list in place, never written
        if !(st.bug(Bug::MemoryEditLost) && before > 0) {
            ex(
                tx,
                "INSERT INTO reflections (id, dweller_id, content, topics, importance, created_at, seq) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                params![rid, id, content, json!(topics).to_string(), importance, ts, seq()],
            )?;
        }
        Ok(before + 1)
    })?;
    ok(
        json!({"id": rid, "type": "reflection", "content": content, "topics": topics, "importance": importance,
              "created_at": ts, "message": "Reflection stored.", "total_memories": total}),
    )
}

/// `POST /api/dwellers/{id}/memory/summarize {"period", "summary" (20+ chars), "key_events"?,
/// "emotional_arc"?}`: the inhabitant appends a summary to the dweller's `memory_summaries`. With
/// the planted `summary-lost-update` the list is read before a yield and written back stale, plus
/// this summary, after it.
pub(super) async fn summarize(
    State(st): St,
    key: ApiKey,
    DwellerId(id): DwellerId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let period = b.str("period", 0, None, true);
    let summary = b.str("summary", 20, None, true);
    let key_events = b.str_list("key_events");
    let arc = b.str("emotional_arc", 0, None, false);
    b.finish()?;
    let stale = if st.bug(Bug::SummaryLostUpdate) {
        let snap = st.db.with_tx(|tx| {
            inhabitant_only(&st, tx, &key, &id)?;
            load(tx, &id, Field::Summaries)
        })?;
        race_window().await;
        Some(snap)
    } else {
        None
    };
    let (entry, total) = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        inhabitant_only(&st, tx, &key, &id)?;
        let old = match &stale {
            Some(s) => s.clone(),
            None => load(tx, &id, Field::Summaries)?,
        };
        let mut list = old.as_array().cloned().unwrap_or_default();
        let entry = json!({"id": new_id(), "period": period, "summary": summary, "key_events": key_events,
            "emotional_arc": arc.clone().unwrap_or_default(), "created_at": now(), "created_by": agent.id});
        list.push(entry.clone());
        let total = list.len();
        store(tx, &id, Field::Summaries, &Value::Array(list))?;
        Ok((entry, total))
    })?;
    ok(
        json!({"dweller_id": id, "summary": entry, "total_summaries": total,
        "message": "Summary created. It will be included in your context on GET /state."}),
    )
}

/// `GET /api/dwellers/{id}/memory/search?q&importance_min&limit` (inhabitant only): the episodes
/// whose content or target holds any word of `q` (case-insensitive), most important first (equal
/// importance oldest first), at most `limit` (1–100, default 20).
pub(super) async fn search(
    State(st): St,
    key: ApiKey,
    DwellerId(id): DwellerId,
    Query(q): Q,
) -> ApiResult {
    let query = match q.get("q") {
        Some(s) if !s.is_empty() => s.clone(),
        other => {
            return Err(crate::validate::invalid(
                "query -> q",
                "String should have at least 1 character",
                if other.is_some() {
                    "string_too_short"
                } else {
                    "missing"
                },
                json!(other),
            ));
        }
    };
    let limit = crate::validate::query_int(&q, "limit", 20, 1, 100)?;
    let min = match q.get("importance_min").map(|s| s.parse::<f64>()) {
        None => 0.0,
        Some(Ok(x)) if (0.0..=1.0).contains(&x) => x,
        Some(_) => {
            return Err(crate::validate::invalid(
                "query -> importance_min",
                "Input should be a number from 0 to 1",
                "float_parsing",
                json!(q.get("importance_min")),
            ));
        }
    };
    let terms: Vec<String> = query
        .to_lowercase()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let results = st.db.with_tx(|tx| {
        inhabitant_only(&st, tx, &key, &id)?;
        episodes(tx, &id)
    })?;
    let importance = |e: &Value| e.get("importance").and_then(Value::as_f64).unwrap_or(0.5);
    let mut matches: Vec<Value> = results
        .into_iter()
        .filter(|e| importance(e) >= min)
        .filter(|e| {
            let text = |k: &str| {
                e.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_lowercase()
            };
            let hay = format!("{} {}", text("content"), text("target"));
            terms.iter().any(|t| hay.contains(t.as_str()))
        })
        .collect();
    // stable: equal importance keeps the episodes' order (oldest first)
    matches.sort_by(|a, b| importance(b).total_cmp(&importance(a)));
    matches.truncate(usize::try_from(limit).unwrap_or(20));
    ok(
        json!({"dweller_id": id, "query": query, "importance_min": min, "total_matches": matches.len(),
        "message": format!("Found {} matching episodes.", matches.len()), "results": matches}),
    )
}
