//! Dweller proposals (`/api/dweller-proposals/…`): any agent proposes a dweller for a world, the
//! owner submits it for the critical review (`review.rs`, content type `dweller_proposal`) and
//! revises it; read and list. As on the real platform, a dweller proposal whose review completes
//! stays `validating`: no route turns it into a dweller (`resulting_dweller_id` stays null).
//!
//! Revise holds a field to the bounds create holds it to (an empty name or role, a blocked name are
//! refused): planted bug `dweller-proposal-revise-skips-validation` is the real platform's revise,
//! which checks only what its own request model declares.

use super::worlds::load_world;
use crate::auth::ApiKey;
use crate::bug::Bug;
use crate::content::ContentType;
use crate::db::{ex, new_id, now, qr, seq};
use crate::error::{ApiError, ApiResult, agent_error, not_found};
use crate::http::{Authed, JsonBody, Q, St, WorldId, ok};
use crate::validate::{Body, invalid, query_int, uuid, uuid_path};
use axum::extract::{Path, Query, State};
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

/// Draft and validating dweller proposals one agent may have at once (the next create: 429).
const MAX_ACTIVE: i64 = 5;

/// Name parts refused as defaults a model reaches for (a few of the kind the real platform lists;
/// the harness sends one of them, `Kira Chen`).
const BLOCKED_NAME_PARTS: &[&str] = &[
    "kira", "chen", "nova", "zara", "kai", "nexus", "cipher", "echo", "orion", "patel", "nakamura",
];

const STATUSES: &[&str] = &["draft", "validating", "approved", "rejected"];

/// The 422 of a query parameter outside its closed set.
fn invalid_query(key: &str, got: &str) -> ApiError {
    invalid(
        format!("query -> {key}"),
        "Input should be one of the listed values",
        "enum",
        json!(got),
    )
}

/// The body fields of create (`required`) and revise (all optional). `lax`: the revise of planted
/// bug `dweller-proposal-revise-skips-validation`, where name and role may be empty.
struct Fields {
    name: Option<String>,
    origin_region: Option<String>,
    generation: Option<String>,
    name_context: Option<String>,
    cultural_identity: Option<String>,
    role: Option<String>,
    age: Option<i64>,
    personality: Option<String>,
    background: Option<String>,
    core_memories: Option<Value>,
    personality_blocks: Option<Value>,
    current_situation: Option<String>,
}

fn fields(v: &Value, required: bool, lax: bool) -> Result<Fields, ApiError> {
    let mut b = Body::new(v)?;
    let min = usize::from(!lax);
    let f = Fields {
        name: b.str("name", min, Some(100), required),
        origin_region: b.str("origin_region", 0, None, required),
        generation: b.str("generation", 0, None, required),
        name_context: b.str("name_context", 20, None, required),
        cultural_identity: b.str("cultural_identity", 20, None, required),
        role: b.str("role", min, None, required),
        age: b.int("age", 0, 200, required),
        personality: b.str("personality", 50, None, required),
        background: b.str("background", 50, None, required),
        core_memories: b
            .raw("core_memories")
            .is_some()
            .then(|| json!(b.str_list("core_memories"))),
        personality_blocks: match b.raw("personality_blocks") {
            None => None,
            Some(o @ Value::Object(_)) => Some(o.clone()),
            Some(other) => {
                b.push(
                    "personality_blocks",
                    "Input should be a valid dictionary".into(),
                    "dict_type",
                    other.clone(),
                );
                None
            }
        },
        current_situation: b.str("current_situation", 0, None, false),
    };
    b.finish()?;
    Ok(f)
}

/// 400 when a part of `name` is a blocked default name.
fn check_name(name: &str) -> Result<(), ApiError> {
    let hits: Vec<String> = name
        .to_lowercase()
        .split_whitespace()
        .map(|p| p.trim_matches(|c| c == '-' || c == '\'').to_string())
        .filter(|p| BLOCKED_NAME_PARTS.contains(&p.as_str()))
        .collect();
    if hits.is_empty() {
        return Ok(());
    }
    Err(agent_error(
        400,
        &format!("Name '{name}' rejected: it uses default name parts"),
        "Derive a name from the region's naming conventions and explain it in name_context.",
        json!({"matched": hits}),
    ))
}

/// The world's region of that name (case-insensitive, exact), or the 400 listing them.
fn region(tx: &rusqlite::Connection, wid: &str, wanted: &str) -> Result<String, ApiError> {
    let regions = super::dwellers::region_names(tx, wid)?;
    let w = wanted.to_lowercase();
    regions
        .iter()
        .find(|r| r.to_lowercase() == w)
        .cloned()
        .ok_or_else(|| {
            agent_error(
                400,
                &format!("Region '{wanted}' not found"),
                "Use GET /api/dwellers/worlds/{world_id}/regions to see the available regions.",
                json!({"available_regions": regions}),
            )
        })
}

pub(super) async fn create(
    State(st): St,
    WorldId(wid): WorldId,
    Authed(agent): Authed,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let f = fields(&v, true, false)?;
    let id = new_id();
    let ts = now();
    let name = f.name.clone().unwrap_or_default();
    let (world_name, origin) = st.db.with_tx(|tx| {
        let w = load_world(tx, &wid)?.ok_or_else(|| not_found("World"))?;
        let active: i64 = qr(
            tx,
            "SELECT COUNT(*) FROM dweller_proposals WHERE agent_id = ?1 AND status IN ('draft', 'validating')",
            [&agent.id],
            |r| r.get(0),
        )?;
        if active >= MAX_ACTIVE {
            return Err(agent_error(
                429,
                &format!("Maximum {MAX_ACTIVE} active dweller proposals allowed"),
                "Wait for your current dweller proposals to be decided before creating more.",
                json!({"current_active": active}),
            ));
        }
        let origin = region(tx, &wid, f.origin_region.as_deref().unwrap_or_default())?;
        check_name(&name)?;
        ex(
            tx,
            "INSERT INTO dweller_proposals (id, world_id, agent_id, name, origin_region, generation, name_context,
               cultural_identity, role, age, personality, background, core_memories, personality_blocks,
               current_situation, status, created_at, updated_at, seq)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,'draft',?16,?16,?17)",
            params![
                id,
                wid,
                agent.id,
                name,
                origin,
                f.generation,
                f.name_context,
                f.cultural_identity,
                f.role,
                f.age,
                f.personality,
                f.background,
                f.core_memories.unwrap_or(json!([])).to_string(),
                f.personality_blocks.unwrap_or(json!({})).to_string(),
                f.current_situation.unwrap_or_default(),
                ts,
                seq()
            ],
        )?;
        Ok((w.name, origin))
    })?;
    ok(
        json!({"id": id, "status": "draft", "world_id": wid, "world_name": world_name, "dweller_name": name,
        "origin_region": origin, "created_at": ts,
        "message": "Dweller proposal created. Submit it with POST /api/dweller-proposals/{id}/submit."}),
    )
}

/// Owner and status of a dweller proposal, or its 404.
fn owner_status(tx: &rusqlite::Connection, id: &str) -> Result<(String, String, String), ApiError> {
    qr(
        tx,
        "SELECT agent_id, status, world_id FROM dweller_proposals WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?
    .ok_or_else(|| not_found("Dweller proposal"))
}

fn not_yours(what: &str) -> ApiError {
    agent_error(
        403,
        "Not your proposal",
        &format!("You can only {what} dweller proposals you created."),
        json!({}),
    )
}

pub(super) async fn submit(State(st): St, key: ApiKey, Path(raw): Path<String>) -> ApiResult {
    let id = uuid_path("proposal_id", &raw)?;
    st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let (owner, status, _) = owner_status(tx, &id)?;
        if owner != agent.id {
            return Err(not_yours("submit"));
        }
        if status != "draft" {
            return Err(agent_error(
                400,
                &format!("Proposal is already {status}"),
                "Only draft proposals can be submitted.",
                json!({"current_status": status}),
            ));
        }
        ex(
            tx,
            "UPDATE dweller_proposals SET status = 'validating', updated_at = ?2 WHERE id = ?1",
            params![id, now()],
        )?;
        Ok(())
    })?;
    ok(
        json!({"id": id, "status": "validating", "message": "Dweller proposal submitted for review."}),
    )
}

pub(super) async fn revise(
    State(st): St,
    key: ApiKey,
    Path(raw): Path<String>,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let id = uuid_path("proposal_id", &raw)?;
    let lax = st.bug(Bug::DwellerProposalReviseSkipsValidation);
    let f = fields(&v, false, lax)?;
    let ts = now();
    let (status, count) = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let (owner, status, wid) = owner_status(tx, &id)?;
        if owner != agent.id {
            return Err(not_yours("revise"));
        }
        if status != "draft" && status != "validating" {
            return Err(agent_error(
                400,
                &format!("Cannot revise a {status} proposal"),
                "Only draft or validating proposals can be revised.",
                json!({"current_status": status}),
            ));
        }
        let origin = match f.origin_region.as_deref().filter(|r| !r.is_empty()) {
            Some(r) => Some(region(tx, &wid, r)?),
            None => None,
        };
        if let Some(name) = &f.name
            && !lax
        {
            check_name(name)?;
        }
        ex(
            tx,
            "UPDATE dweller_proposals SET name = COALESCE(?2, name), origin_region = COALESCE(?3, origin_region),
               generation = COALESCE(?4, generation), name_context = COALESCE(?5, name_context),
               cultural_identity = COALESCE(?6, cultural_identity), role = COALESCE(?7, role), age = COALESCE(?8, age),
               personality = COALESCE(?9, personality), background = COALESCE(?10, background),
               core_memories = COALESCE(?11, core_memories), personality_blocks = COALESCE(?12, personality_blocks),
               current_situation = COALESCE(?13, current_situation), revision_count = revision_count + 1,
               last_revised_at = ?14, updated_at = ?14 WHERE id = ?1",
            params![
                id,
                f.name,
                origin,
                f.generation,
                f.name_context,
                f.cultural_identity,
                f.role,
                f.age,
                f.personality,
                f.background,
                f.core_memories.map(|v| v.to_string()),
                f.personality_blocks.map(|v| v.to_string()),
                f.current_situation,
                ts
            ],
        )?;
        let count = ContentType::DwellerProposal.revision_count(tx, &id)?;
        Ok((status, count))
    })?;
    ok(
        json!({"id": id, "status": status, "revision_count": count, "updated_at": ts, "message": "Dweller proposal revised."}),
    )
}

const COLS: &str = "p.id, p.world_id, w.name, p.agent_id, p.name, p.origin_region, p.generation, p.name_context,
    p.cultural_identity, p.role, p.age, p.personality, p.background, p.core_memories, p.personality_blocks,
    p.current_situation, p.status, p.revision_count, p.last_revised_at, p.resulting_dweller_id, p.created_at, p.updated_at";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Value> {
    let parsed = |i: usize| -> rusqlite::Result<Value> {
        let s: String = r.get(i)?;
        Ok(serde_json::from_str(&s).unwrap_or(Value::Null))
    };
    Ok(json!({
        "id": r.get::<_, String>(0)?, "world_id": r.get::<_, String>(1)?, "world_name": r.get::<_, Option<String>>(2)?,
        "agent_id": r.get::<_, String>(3)?, "name": r.get::<_, String>(4)?, "origin_region": r.get::<_, String>(5)?,
        "generation": r.get::<_, String>(6)?, "name_context": r.get::<_, String>(7)?,
        "cultural_identity": r.get::<_, String>(8)?, "role": r.get::<_, String>(9)?, "age": r.get::<_, i64>(10)?,
        "personality": r.get::<_, String>(11)?, "background": r.get::<_, String>(12)?,
        "core_memories": parsed(13)?, "personality_blocks": parsed(14)?,
        "current_situation": r.get::<_, String>(15)?, "status": r.get::<_, String>(16)?,
        "revision_count": r.get::<_, i64>(17)?, "last_revised_at": r.get::<_, Option<String>>(18)?,
        "strengthen_gate_active": false, "resulting_dweller_id": r.get::<_, Option<String>>(19)?,
        "created_at": r.get::<_, String>(20)?, "updated_at": r.get::<_, String>(21)?,
    }))
}

pub(super) async fn get(State(st): St, Path(raw): Path<String>) -> ApiResult {
    let id = uuid_path("proposal_id", &raw)?;
    let p = st.db.with_tx(|tx| {
        Ok(qr(
            tx,
            &format!(
                "SELECT {COLS} FROM dweller_proposals p LEFT JOIN worlds w ON w.id = p.world_id WHERE p.id = ?1"
            ),
            [&id],
            row,
        )
        .optional()?)
    })?
    .ok_or_else(|| not_found("Dweller proposal"))?;
    ok(
        json!({"proposal": p, "region_context": null, "validations": [],
        "summary": {"total_validations": 0, "approve_count": 0, "strengthen_count": 0, "reject_count": 0}}),
    )
}

/// `GET /api/dweller-proposals`: newest first (or `sort=oldest`), filtered by `status` and
/// `world_id`, paged by `limit` (1–50) and `cursor` (the last id of the previous page; an unknown
/// one is ignored, a malformed one is a 422).
pub(super) async fn list(State(st): St, Query(q): Q) -> ApiResult {
    let status = q.get("status").cloned();
    if let Some(s) = &status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(invalid_query("status", s));
    }
    let world = q
        .get("world_id")
        .map(|w| uuid("query -> world_id", w))
        .transpose()?;
    let cursor = q
        .get("cursor")
        .map(|c| uuid("query -> cursor", c))
        .transpose()?;
    let oldest = match q.get("sort").map(String::as_str) {
        None | Some("recent") => false,
        Some("oldest") => true,
        Some(other) => return Err(invalid_query("sort", other)),
    };
    let limit = query_int(&q, "limit", 20, 1, 50)?;
    let items = st.db.with_tx(|tx| {
        let cursor_seq: Option<i64> = match &cursor {
            Some(c) => qr(tx, "SELECT seq FROM dweller_proposals WHERE id = ?1", [c], |r| {
                r.get(0)
            })
            .optional()?,
            None => None,
        };
        let sql = format!(
            "SELECT {COLS} FROM dweller_proposals p LEFT JOIN worlds w ON w.id = p.world_id
             WHERE (?1 IS NULL OR p.status = ?1) AND (?2 IS NULL OR p.world_id = ?2) AND (?3 IS NULL OR p.seq {} ?3)
             ORDER BY p.seq {} LIMIT ?4",
            if oldest { ">" } else { "<" },
            if oldest { "ASC" } else { "DESC" }
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![status, world, cursor_seq, limit + 1], row)?;
        Ok(rows.collect::<Result<Vec<Value>, _>>()?)
    })?;
    let more = items.len() as i64 > limit;
    let items: Vec<Value> = items.into_iter().take(limit as usize).collect();
    let next = if more {
        items
            .last()
            .and_then(|p| p["id"].as_str().map(str::to_string))
    } else {
        None
    };
    ok(json!({"items": items, "next_cursor": next}))
}
