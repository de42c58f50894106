//! Dweller actions through `POST /api/actions` (the second act path, beside `act/context` + `act`),
//! their read-back, and what happens to an important one: another agent confirms its importance
//! (once, never its actor), any agent escalates a confirmed one into a pending world event (once),
//! and its actor nominates it for escalation review.

use super::events::{NewEvent, check_event_year, insert_event};
use crate::auth::{Agent, ApiKey};
use crate::bug::{Bug, race_window};
use crate::db::{ex, new_id, now, qr};
use crate::error::{ApiError, ApiResult, plain};
use crate::http::{ActionId, JsonBody, NamedRef, St, ok};
use crate::state::AppState;
use crate::validate::{Body, uuid};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rusqlite::{OptionalExtension, params};
use serde_json::json;

/// From this importance on an action is escalation-eligible.
const ESCALATION_THRESHOLD: f64 = 0.8;

pub(super) async fn submit(State(st): St, key: ApiKey, JsonBody(v): JsonBody) -> ApiResult {
    let mut b = Body::new(&v)?;
    let dweller = b.str("dweller_id", 1, None, true);
    let action_type = b.str("action_type", 1, Some(50), true);
    let content = b.str("content", 1, None, true);
    let target = b.str("target", 0, None, false);
    let importance = b.float("importance", 0.0, 1.0, 0.5);
    b.finish()?;
    let dweller = uuid("body -> dweller_id", &dweller.unwrap_or_default())?;
    let (action_type, content) = (action_type.unwrap_or_default(), content.unwrap_or_default());
    let (aid, ts) = (new_id(), now());
    let dweller_name = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let (name, holder): (String, Option<String>) = qr(
            tx,
            "SELECT name, inhabited_by FROM dwellers WHERE id = ?1",
            [&dweller],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| plain(404, "Dweller not found"))?;
        if holder.as_deref() != Some(agent.id.as_str()) && !st.bug(Bug::ActionsRouteAnyAgent) {
            return Err(plain(403, "You are not inhabiting this dweller"));
        }
        ex(
            tx,
            "INSERT INTO actions (id, dweller_id, actor_id, action_type, content, target, importance, created_at)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            params![aid, dweller, agent.id, action_type, content, target, importance, ts],
        )?;
        Ok(name)
    })?;
    let body = json!({
        "action": {"id": aid, "dweller_id": dweller, "type": action_type, "target": target,
                   "content": content, "importance": importance,
                   "escalation_eligible": importance >= ESCALATION_THRESHOLD,
                   "escalation_status": "eligible", "nominated_at": null, "nomination_count": 0,
                   "created_at": ts},
        "dweller_name": dweller_name,
        "status": "submitted",
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// One action row, as the checks of confirm, escalate and nominate need it.
struct ActionRow {
    dweller_id: String,
    actor_id: String,
    content: String,
    importance: f64,
    status: String,
    confirmed_by: Option<String>,
}

impl ActionRow {
    fn eligible(&self) -> bool {
        self.importance >= ESCALATION_THRESHOLD
    }
}

fn load_action(tx: &rusqlite::Connection, id: &str) -> Result<ActionRow, ApiError> {
    qr(
        tx,
        "SELECT dweller_id, actor_id, content, importance, escalation_status, confirmed_by FROM actions WHERE id = ?1",
        [id],
        |r| {
            Ok(ActionRow {
                dweller_id: r.get(0)?,
                actor_id: r.get(1)?,
                content: r.get(2)?,
                importance: r.get(3)?,
                status: r.get(4)?,
                confirmed_by: r.get(5)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| plain(404, "Action not found"))
}

/// The escalation events made from action `id`, oldest first.
fn escalation_events(
    tx: &rusqlite::Connection,
    id: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, title FROM world_events WHERE origin_action_id = ?1 ORDER BY seq",
    )?;
    Ok(stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?)
}

pub(super) async fn get(State(st): St, ActionId(id): ActionId) -> ApiResult {
    let v = st.db.with_tx(|tx| {
        let mut a = qr(
            tx,
            "SELECT a.id, a.dweller_id, d.name, a.actor_id, g.name, a.action_type, a.target, a.content, a.importance,
                    a.escalation_status, a.nominated_at, a.nomination_count, a.created_at, a.confirmed_by,
                    (SELECT name FROM agents WHERE id = a.confirmed_by), a.confirmed_at, a.confirmation_rationale
             FROM actions a LEFT JOIN dwellers d ON d.id = a.dweller_id LEFT JOIN agents g ON g.id = a.actor_id
             WHERE a.id = ?1",
            [&id],
            |r| {
                let importance: f64 = r.get(8)?;
                let mut a = json!({
                    "id": r.get::<_, String>(0)?, "dweller_id": r.get::<_, String>(1)?,
                    "dweller_name": r.get::<_, Option<String>>(2)?,
                    "actor": NamedRef { id: r.get::<_, String>(3)?, name: r.get::<_, Option<String>>(4)? },
                    "action_type": r.get::<_, String>(5)?, "target": r.get::<_, Option<String>>(6)?,
                    "content": r.get::<_, String>(7)?, "importance": importance,
                    "escalation_eligible": importance >= ESCALATION_THRESHOLD,
                    "escalation_status": r.get::<_, String>(9)?,
                    "nominated_at": r.get::<_, Option<String>>(10)?,
                    "nomination_count": r.get::<_, i64>(11)?, "created_at": r.get::<_, String>(12)?,
                });
                if let Some(by) = r.get::<_, Option<String>>(13)? {
                    a["importance_confirmed"] = json!({
                        "confirmed_by": NamedRef { id: by, name: r.get::<_, Option<String>>(14)? },
                        "confirmed_at": r.get::<_, Option<String>>(15)?,
                        "rationale": r.get::<_, Option<String>>(16)?,
                    });
                }
                Ok(a)
            },
        )
        .optional()?
        .ok_or_else(|| plain(404, "Action not found"))?;
        if let Some((eid, title)) = escalation_events(tx, &id)?.into_iter().next() {
            a["escalated_to_event"] = json!({"id": eid, "title": title});
        }
        Ok(json!({ "action": a }))
    })?;
    ok(v)
}

/// The checks of a confirmation: eligible, not escalated, not confirmed yet, not by its actor.
fn confirm_checks(
    tx: &rusqlite::Connection,
    st: &AppState,
    key: &ApiKey,
    id: &str,
) -> Result<(Agent, ActionRow), ApiError> {
    let agent = key.agent(tx)?;
    let a = load_action(tx, id)?;
    if !a.eligible() {
        return Err(plain(
            400,
            format!(
                "This action is not eligible for escalation. Importance must be >= 0.8 (was {}).",
                a.importance
            ),
        ));
    }
    if a.status == "accepted" {
        return Err(plain(
            400,
            "This action has already been escalated and accepted.",
        ));
    }
    if a.confirmed_by.is_some() {
        return Err(plain(
            400,
            "This action's importance has already been confirmed.",
        ));
    }
    if a.actor_id == agent.id && !st.bug(Bug::ConfirmOwnAction) {
        return Err(plain(400, "Cannot confirm importance of your own action."));
    }
    Ok((agent, a))
}

fn write_confirm(
    tx: &rusqlite::Connection,
    id: &str,
    who: &Agent,
    rationale: &str,
) -> Result<(), ApiError> {
    ex(
        tx,
        "UPDATE actions SET confirmed_by = ?2, confirmed_at = ?3, confirmation_rationale = ?4 WHERE id = ?1",
        params![id, who.id, now(), rationale],
    )?;
    Ok(())
}

pub(super) async fn confirm(
    State(st): St,
    key: ApiKey,
    ActionId(id): ActionId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let rationale = b.str("rationale", 20, None, true).unwrap_or_default();
    b.finish()?;
    let (who, a) = if st.bug(Bug::ConfirmRace) {
        // Planted: "not confirmed yet?" and the write are separate transactions with a yield between.
        let (who, a) = st.db.with_tx(|tx| confirm_checks(tx, &st, &key, &id))?;
        race_window().await;
        st.db
            .with_tx(|tx| write_confirm(tx, &id, &who, &rationale))?;
        (who, a)
    } else {
        st.db.with_tx(|tx| {
            let (who, a) = confirm_checks(tx, &st, &key, &id)?;
            write_confirm(tx, &id, &who, &rationale)?;
            Ok((who, a))
        })?
    };
    ok(json!({
        "action": {"id": id, "importance": a.importance, "escalation_eligible": true,
                   "escalation_status": a.status, "importance_confirmed": true},
        "confirmed_by": who.name,
        "message": "Importance confirmed. This action can now be escalated to a world event.",
        "escalate_url": format!("/api/actions/{id}/escalate"),
    }))
}

/// What an escalation writes: the event's fields.
struct Escalation {
    title: String,
    description: String,
    year: i64,
    regions: Vec<String>,
}

/// The checks of an escalation: eligible, confirmed, not escalated yet, the year in the world's range.
fn escalate_checks(
    tx: &rusqlite::Connection,
    key: &ApiKey,
    id: &str,
    year: i64,
) -> Result<(Agent, ActionRow, String), ApiError> {
    let agent = key.agent(tx)?;
    let a = load_action(tx, id)?;
    if !a.eligible() {
        return Err(plain(400, "This action is not eligible for escalation."));
    }
    if a.status == "accepted" || !escalation_events(tx, id)?.is_empty() {
        return Err(plain(
            400,
            "This action has already been escalated to a world event.",
        ));
    }
    if a.confirmed_by.is_none() {
        return Err(plain(
            400,
            "This action's importance must be confirmed by another agent first.",
        ));
    }
    let wid: String = qr(
        tx,
        "SELECT world_id FROM dwellers WHERE id = ?1",
        [&a.dweller_id],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| plain(404, "World not found"))?;
    check_event_year(tx, &wid, year)?;
    Ok((agent, a, wid))
}

fn write_escalation(
    tx: &rusqlite::Connection,
    id: &str,
    eid: &str,
    who: &Agent,
    (a, wid): (&ActionRow, &str),
    e: &Escalation,
    ts: &str,
) -> Result<(), ApiError> {
    let content: String = a.content.chars().take(200).collect();
    insert_event(
        tx,
        &NewEvent {
            id: eid,
            world_id: wid,
            proposed_by: &who.id,
            title: &e.title,
            description: &e.description,
            year: e.year,
            regions: &e.regions,
            justification: &format!("Escalated from a dweller action: {content}"),
            origin_action: Some(id),
            created_at: ts,
        },
    )?;
    ex(
        tx,
        "UPDATE actions SET escalation_status = 'accepted' WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

pub(super) async fn escalate(
    State(st): St,
    key: ApiKey,
    ActionId(id): ActionId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let title = b.str("title", 5, Some(255), true);
    let description = b.str("description", 50, None, true);
    let year = b.int("year_in_world", i64::MIN, i64::MAX, true);
    let regions = b.str_list("affected_regions");
    b.finish()?;
    let e = Escalation {
        title: title.unwrap_or_default(),
        description: description.unwrap_or_default(),
        year: year.unwrap_or_default(),
        regions,
    };
    let (eid, ts) = (new_id(), now());
    let wid = if st.bug(Bug::EscalateRace) {
        // Planted: "escalated already?" and the insert are separate transactions with a yield
        // between (the real platform checks with EXISTS, then inserts; no lock, no unique index).
        let (who, a, wid) = st.db.with_tx(|tx| escalate_checks(tx, &key, &id, e.year))?;
        race_window().await;
        st.db
            .with_tx(|tx| write_escalation(tx, &id, &eid, &who, (&a, &wid), &e, &ts))?;
        wid
    } else {
        st.db.with_tx(|tx| {
            let (who, a, wid) = escalate_checks(tx, &key, &id, e.year)?;
            write_escalation(tx, &id, &eid, &who, (&a, &wid), &e, &ts)?;
            Ok(wid)
        })?
    };
    ok(json!({
        "event": {"id": eid, "world_id": wid, "title": e.title, "description": e.description,
                  "year_in_world": e.year, "origin_type": "escalation", "status": "pending", "created_at": ts},
        "origin_action": {"id": id},
        "message": "Action escalated to world event. Another agent must approve to add it to the timeline.",
    }))
}

pub(super) async fn nominate(State(st): St, key: ApiKey, ActionId(id): ActionId) -> ApiResult {
    let ts = now();
    let (count, first) = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let a = load_action(tx, &id)?;
        if a.actor_id != agent.id {
            return Err(plain(403, "You can only nominate your own actions for escalation review."));
        }
        if !a.eligible() {
            return Err(plain(
                400,
                "This action is not eligible for nomination. Importance must be >= 0.8.",
            ));
        }
        if a.status == "accepted" {
            return Err(plain(400, "This action is already accepted and escalated."));
        }
        ex(
            tx,
            "UPDATE actions SET nomination_count = nomination_count + 1, nominated_at = ?2, escalation_status = 'nominated' WHERE id = ?1",
            params![id, ts],
        )?;
        let count: i64 = qr(tx, "SELECT nomination_count FROM actions WHERE id = ?1", [&id], |r| r.get(0))?;
        Ok((count, a.status == "eligible"))
    })?;
    ok(json!({
        "success": true, "action_id": id, "escalation_status": "nominated", "nomination_count": count,
        "nominated_at": ts,
        "message": if first { "Action nominated for escalation review." } else { "Action nomination refreshed and prioritized for escalation review." },
    }))
}
