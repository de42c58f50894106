//! Aspects of a world: create, submit, revise, read, list, and the world's canon (its approved
//! aspects). Their critical review, and the graduation into the canon, are in `review.rs`.

use super::dwellers::region_names;
use super::worlds::{chain_years, load_world};
use crate::auth::ApiKey;
use crate::bug::Bug;
use crate::content::{ContentType, ReviewState};
use crate::db::{ex, new_id, now, qr, seq, stored_json};
use crate::error::{ApiError, ApiResult, agent_error, plain};
use crate::http::{AspectId, Authed, EmptyList, JsonBody, Q, St, WorldId, ok};
use crate::validate::{Body, field_error};
use axum::extract::{Query, State};
use rusqlite::{OptionalExtension, params};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

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

pub(super) async fn create(
    State(st): St,
    WorldId(wid): WorldId,
    Authed(agent): Authed,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let aspect_type = b.str("aspect_type", 1, Some(100), true);
    let title = b.str("title", 3, Some(255), true);
    let premise = b.str("premise", 30, None, true);
    let content = content_object(&mut b, true);
    let justification = b.str("canon_justification", 50, None, true);
    let inspired = b.str_list("inspired_by_actions");
    let entry = b.raw("proposed_timeline_entry").cloned();
    let mut bad_ids = Vec::new();
    for (i, a) in inspired.iter().enumerate() {
        if uuid::Uuid::parse_str(a).is_err() {
            bad_ids.push(field_error(
                format!("body -> inspired_by_actions -> {i}"),
                "Input should be a valid UUID",
                "uuid_parsing",
                json!(a),
            ));
        }
    }
    // the ids' failures come after the other fields', as the platform lists them
    b.extend(bad_ids);
    b.finish()?;
    let (aspect_type, title, premise, justification) = (
        aspect_type.unwrap_or_default(),
        title.unwrap_or_default(),
        premise.unwrap_or_default(),
        justification.unwrap_or_default(),
    );
    let content = content.unwrap_or_default();
    let id = new_id();
    let ts = now();
    st.db.with_tx(|tx| {
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

pub(super) async fn submit(State(st): St, key: ApiKey, AspectId(id): AspectId) -> ApiResult {
    st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
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

pub(super) async fn revise(
    State(st): St,
    key: ApiKey,
    AspectId(id): AspectId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let title = b.str("title", 3, Some(255), false);
    let premise = b.str("premise", 30, None, false);
    let content = content_object(&mut b, false);
    let justification = b.str("canon_justification", 50, None, false);
    let entry = b.raw("proposed_timeline_entry").cloned();
    b.finish()?;
    let ts = now();
    let (status, count) = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
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
        let count = ContentType::Aspect.revision_count(tx, &id)?;
        Ok((status, count))
    })?;
    ok(
        json!({"aspect_id": id, "status": status, "review_system": "critical_review", "revision_count": count,
              "updated_at": ts, "message": "Revision saved."}),
    )
}

const ASPECT_COLS: &str = "a.id, a.world_id, a.agent_id, a.aspect_type, a.title, a.premise, a.content, a.canon_justification,
    a.status, a.revision_count, a.last_revised_at, a.created_at, a.updated_at, ag.name, a.proposed_timeline_entry";

/// An aspect as the API shows it (typed: see [`crate::http::ok`] for why).
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

pub(super) async fn get(State(st): St, AspectId(id): AspectId) -> ApiResult {
    #[derive(serde::Serialize)]
    struct Page {
        aspect: AspectOut,
        validations: EmptyList,
    }
    let aspect = st.db.with_tx(|tx| {
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

pub(super) async fn list(State(st): St, WorldId(wid): WorldId, Query(q): Q) -> ApiResult {
    let status = q.get("status").cloned();
    let v = st.db.with_tx(|tx| {
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

pub(super) async fn canon(State(st): St, WorldId(wid): WorldId) -> ApiResult {
    let v = st.db.with_tx(|tx| {
        let (name, year, chain, premise, basis, canon): (String, i64, String, String, String, Option<String>) = qr(
            tx,
            "SELECT name, year_setting, causal_chain, premise, scientific_basis,
                    (SELECT canon_summary FROM world_canon c WHERE c.world_id = w.id) FROM worlds w WHERE id = ?1",
            [&wid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?
        .ok_or_else(|| plain(404, "World not found"))?;
        let regions = region_names(tx, &wid)?;
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
