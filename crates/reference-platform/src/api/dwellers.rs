//! Regions and dwellers of a world: create and list regions, create, read, list, claim and release
//! dwellers, and the two-phase act (`/act/context` for a token, then `/act`).

use super::worlds::world_name;
use crate::auth::{Agent, ApiKey};
use crate::bug::{Bug, race_window};
use crate::db::{ex, new_id, now, now_ms, qr, seq};
use crate::error::{ApiError, ApiResult, agent_error, not_found};
use crate::http::{DwellerId, JsonBody, Q, St, WorldId, ok};
use crate::validate::Body;
use axum::extract::{Query, State};
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

/// The world's region names, oldest first.
pub(super) fn region_names(tx: &rusqlite::Connection, wid: &str) -> Result<Vec<String>, ApiError> {
    let mut stmt =
        tx.prepare_cached("SELECT name FROM regions WHERE world_id = ?1 ORDER BY seq")?;
    Ok(stmt
        .query_map([wid], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// The longest region name create takes (characters).
pub(super) const REGION_NAME_MAX: usize = 100;

/// One region of a world, as create stores it.
pub(super) struct NewRegion {
    pub name: String,
    pub location: String,
    pub origins: Value,
    pub blend: String,
    pub naming: String,
    pub language: String,
}

impl NewRegion {
    /// The region as the create answer and the list show it.
    fn json(&self) -> Value {
        json!({"name": self.name, "location": self.location, "population_origins": self.origins,
            "cultural_blend": self.blend, "naming_conventions": self.naming, "language": self.language})
    }
}

/// Stores `r` as world `wid`'s newest region. No checks: the caller held it to create's rules
/// (region create, and a region aspect's approval: `aspect_approval.rs`).
pub(super) fn insert_region(
    tx: &rusqlite::Connection,
    wid: &str,
    r: &NewRegion,
) -> Result<(), ApiError> {
    ex(
        tx,
        "INSERT INTO regions (id, world_id, name, location, population_origins, cultural_blend, naming_conventions, language, seq) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
        params![
            new_id(),
            wid,
            r.name,
            r.location,
            r.origins.to_string(),
            r.blend,
            r.naming,
            r.language,
            seq()
        ],
    )?;
    Ok(())
}

pub(super) async fn create_region(
    State(st): St,
    key: ApiKey,
    WorldId(wid): WorldId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let name = b.str("name", 1, Some(REGION_NAME_MAX), true);
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
    let region = NewRegion {
        name: name.unwrap_or_default(),
        location: location.unwrap_or_default(),
        origins,
        blend: blend.unwrap_or_default(),
        naming: naming.unwrap_or_default(),
        language: language.unwrap_or_default(),
    };
    let name = region.name.clone();
    // region-lost-update: the list is read in one transaction and written back, stale, in another
    let stale = if st.bug(Bug::RegionLostUpdate) {
        let snap = st.db.with_tx(|tx| region_names(tx, &wid))?;
        race_window().await;
        Some(snap)
    } else {
        None
    };
    let v = st.db.with_tx(|tx| {
        key.agent(tx)?;
        world_name(tx, &wid)?;
        let existing = match &stale {
            Some(snap) => {
                write_back_regions(tx, &wid, snap)?;
                snap.clone()
            }
            None => region_names(tx, &wid)?,
        };
        if existing.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
            return Err(agent_error(
                400,
                &format!("Region '{name}' already exists"),
                "Choose another region name.",
                json!({"existing_regions": existing}),
            ));
        }
        insert_region(tx, &wid, &region)?;
        Ok(
            json!({"region": region.json(), "world_id": wid, "total_regions": existing.len() + 1, "message": "Region added."}),
        )
    })?;
    ok(v)
}

/// Writes `list` back as the world's whole region list (regions added since it was read are lost),
/// as `world.regions = stale + [new]` does; only the `region-lost-update` bug calls it.
fn write_back_regions(
    tx: &rusqlite::Connection,
    wid: &str,
    list: &[String],
) -> Result<(), ApiError> {
    for name in region_names(tx, wid)? {
        if !list.contains(&name) {
            ex(
                tx,
                "DELETE FROM regions WHERE world_id = ?1 AND name = ?2",
                params![wid, name],
            )?;
        }
    }
    Ok(())
}

pub(super) async fn list_regions(State(st): St, WorldId(wid): WorldId) -> ApiResult {
    let v = st.db.with_tx(|tx| {
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

/// The world's stored dweller count, `None` if there is no such world.
fn stored_dweller_count(tx: &rusqlite::Connection, wid: &str) -> Result<Option<i64>, ApiError> {
    Ok(qr(
        tx,
        "SELECT dweller_count FROM worlds WHERE id = ?1",
        [wid],
        |r| r.get(0),
    )
    .optional()?)
}

pub(super) async fn create(
    State(st): St,
    key: ApiKey,
    WorldId(wid): WorldId,
    JsonBody(v): JsonBody,
) -> ApiResult {
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
    // dweller-count-lost-update: the world's count is read in one transaction and written, +1,
    // in another
    let stale = if st.bug(Bug::DwellerCountLostUpdate) {
        let snap = st.db.with_tx(|tx| stored_dweller_count(tx, &wid))?;
        race_window().await;
        snap
    } else {
        None
    };
    let v = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
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
        let count = match stale {
            Some(c) => c,
            None => stored_dweller_count(tx, &wid)?.unwrap_or(0),
        };
        ex(
            tx,
            "UPDATE worlds SET dweller_count = ?2 WHERE id = ?1",
            params![wid, count + 1],
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

/// A dweller as the API shows it (typed: see [`crate::http::ok`] for why).
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
    /// `current_situation`, `personality_blocks`, `relationship_memories` (the single read only).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    memory: Option<serde_json::Map<String, Value>>,
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
        memory: None,
    })
}

pub(super) async fn get(State(st): St, DwellerId(id): DwellerId) -> ApiResult {
    #[derive(serde::Serialize)]
    struct Page {
        dweller: DwellerOut,
    }
    let dweller = st.db.with_tx(|tx| {
        let mut d = qr(tx, &format!("SELECT {DWELLER_COLS} FROM dwellers d JOIN worlds w ON w.id = d.world_id WHERE d.id = ?1"), [&id], dweller_row)
            .optional()?
            .ok_or_else(|| not_found("Dweller"))?;
        d.memory = Some(super::memory::public_fields(tx, &id)?);
        Ok(d)
    })?;
    ok(&Page { dweller })
}

pub(super) async fn list(State(st): St, WorldId(wid): WorldId, Query(q): Q) -> ApiResult {
    let only_available = q.get("available_only").map(String::as_str) == Some("true");
    let v = st.db.with_tx(|tx| {
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
    key: &ApiKey,
    id: &str,
) -> Result<(Agent, DwellerRow), ApiError> {
    let agent = key.agent(tx)?;
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

pub(super) async fn claim(State(st): St, key: ApiKey, DwellerId(id): DwellerId) -> ApiResult {
    let d = if st.bug(Bug::ClaimRace) {
        let (agent, d) = st.db.with_tx(|tx| claim_checks(tx, &key, &id))?;
        race_window().await;
        st.db.with_tx(|tx| {
            ex(
                tx,
                "UPDATE dwellers SET inhabited_by = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, agent.id, now()],
            )?;
            Ok(d)
        })?
    } else {
        st.db.with_tx(|tx| {
            let (agent, d) = claim_checks(tx, &key, &id)?;
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

pub(super) async fn release(State(st): St, key: ApiKey, DwellerId(id): DwellerId) -> ApiResult {
    let d = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
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
    key: &ApiKey,
    id: &str,
) -> Result<DwellerRow, ApiError> {
    let agent = key.agent(tx)?;
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

pub(super) async fn act_context(State(st): St, key: ApiKey, DwellerId(id): DwellerId) -> ApiResult {
    let token = new_id();
    let (d, regions) = st.db.with_tx(|tx| {
        let d = require_holder(tx, &key, &id)?;
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

pub(super) async fn act(
    State(st): St,
    key: ApiKey,
    DwellerId(id): DwellerId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let token = b.str("context_token", 1, None, true);
    let action_type = b.str("action_type", 1, Some(50), true);
    let content = b.str("content", 1, None, true);
    let target = b.str("target", 0, None, false);
    let importance = b.float("importance", 0.0, 1.0, 0.5);
    b.finish()?;
    let aid = new_id();
    let ts = now();
    let (d, action_type) = st.db.with_tx(|tx| {
        let d = require_holder(tx, &key, &id)?;
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
