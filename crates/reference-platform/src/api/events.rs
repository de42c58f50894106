//! World events: propose, approve or reject (once, not by the proposer), read and list. An
//! approval rewrites the world's canon summary.

use super::worlds::{chain_years, load_world};
use crate::auth::{Agent, ApiKey};
use crate::bug::{Bug, race_window};
use crate::db::{ex, new_id, now, qr, seq, stored_json};
use crate::error::{ApiError, ApiResult, plain};
use crate::http::{Authed, EventId, JsonBody, NamedRef, Q, St, WorldId, ok};
use crate::state::AppState;
use crate::validate::Body;
use axum::extract::{Query, State};
use rusqlite::{OptionalExtension, params};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::HashMap;

const EVENT_STATUSES: &[&str] = &["pending", "approved", "rejected"];

pub(super) async fn create(
    State(st): St,
    WorldId(wid): WorldId,
    Authed(agent): Authed,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let title = b.str("title", 5, Some(255), true);
    let description = b.str("description", 50, None, true);
    let year = b.int("year_in_world", i64::MIN, 2500, true);
    let regions = b.str_list("affected_regions");
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
    st.db.with_tx(|tx| {
        check_event_year(tx, &wid, year)?;
        insert_event(
            tx,
            &NewEvent {
                id: &id,
                world_id: &wid,
                proposed_by: &agent.id,
                title: &title,
                description: &description,
                year,
                regions: &regions,
                justification: &justification,
                origin_action: None,
                created_at: &ts,
            },
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

/// The world `wid` exists and `year` lies in its span: not before the first year of its causal
/// chain, at most 10 years after its setting. Both ways to a world event (a proposal here, an
/// escalated action in actions.rs) hold to it.
pub(super) fn check_event_year(
    tx: &rusqlite::Connection,
    wid: &str,
    year: i64,
) -> Result<(), ApiError> {
    let w = load_world(tx, wid)?.ok_or_else(|| plain(404, "World not found"))?;
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
    Ok(())
}

/// A pending world event to store: proposed directly, or escalated from `origin_action`.
pub(super) struct NewEvent<'a> {
    pub id: &'a str,
    pub world_id: &'a str,
    pub proposed_by: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub year: i64,
    pub regions: &'a [String],
    pub justification: &'a str,
    pub origin_action: Option<&'a str>,
    pub created_at: &'a str,
}

pub(super) fn insert_event(tx: &rusqlite::Connection, e: &NewEvent) -> Result<(), ApiError> {
    let origin = if e.origin_action.is_some() {
        "escalation"
    } else {
        "proposal"
    };
    ex(
        tx,
        "INSERT INTO world_events (id, world_id, proposed_by, title, description, year_in_world, affected_regions,
           canon_justification, origin_type, origin_action_id, status, created_at, seq)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,'pending',?11,?12)",
        params![e.id, e.world_id, e.proposed_by, e.title, e.description, e.year,
                json!(e.regions).to_string(), e.justification, origin, e.origin_action,
                e.created_at, seq()],
    )?;
    Ok(())
}

fn decision_checks(
    tx: &rusqlite::Connection,
    st: &AppState,
    key: &ApiKey,
    id: &str,
    decision: Decision,
    test_mode: bool,
) -> Result<(Agent, EventRow), ApiError> {
    let agent = key.agent(tx)?;
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

/// Approve or reject: the checks, the decision and (for an approval) the canon update.
async fn decide(
    st: &AppState,
    key: ApiKey,
    id: String,
    q: &HashMap<String, String>,
    v: Value,
    decision: Decision,
) -> ApiResult {
    let test_mode = q.get("test_mode").map(String::as_str) == Some("true");
    let mut b = Body::new(&v)?;
    let text = match decision {
        Decision::Approve => b.str("canon_update", 50, None, true),
        Decision::Reject => b.str("reason", 20, None, true),
    }
    .unwrap_or_default();
    b.finish()?;
    let e = if st.bug(Bug::EventDecisionRace) {
        // Planted: "still pending?" and the write are separate transactions with a yield between.
        let (who, e) = st
            .db
            .with_tx(|tx| decision_checks(tx, st, &key, &id, decision, test_mode))?;
        race_window().await;
        st.db
            .with_tx(|tx| write_decision(tx, &id, &who, &e, decision, &text))?;
        e
    } else {
        st.db.with_tx(|tx| {
            let (who, e) = decision_checks(tx, st, &key, &id, decision, test_mode)?;
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

pub(super) async fn approve(
    State(st): St,
    key: ApiKey,
    EventId(id): EventId,
    Query(q): Q,
    JsonBody(v): JsonBody,
) -> ApiResult {
    decide(&st, key, id, &q, v, Decision::Approve).await
}

pub(super) async fn reject(
    State(st): St,
    key: ApiKey,
    EventId(id): EventId,
    Query(q): Q,
    JsonBody(v): JsonBody,
) -> ApiResult {
    decide(&st, key, id, &q, v, Decision::Reject).await
}

fn event_summary(r: &rusqlite::Row) -> rusqlite::Result<Value> {
    let regions: String = r.get(6)?;
    Ok(
        json!({"id": r.get::<_, String>(0)?, "title": r.get::<_, String>(1)?, "description": r.get::<_, String>(2)?,
        "year_in_world": r.get::<_, i64>(3)?, "origin_type": r.get::<_, String>(4)?, "status": r.get::<_, String>(5)?,
        "affected_regions": serde_json::from_str::<Value>(&regions).unwrap_or(json!([])), "created_at": r.get::<_, String>(7)?}),
    )
}

pub(super) async fn list(State(st): St, WorldId(wid): WorldId, Query(q): Q) -> ApiResult {
    let status = q.get("status").cloned();
    let v = st.db.with_tx(|tx| {
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

/// A world event as GET /api/events/{id} shows it (typed: see [`crate::http::ok`] for why).
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
    /// The dweller action an escalation event was made from (`POST /api/actions/{id}/escalate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    origin_action: Option<Value>,
}

#[derive(serde::Serialize)]
struct DecisionOut {
    decision: String,
    by: String,
    at: String,
}

pub(super) async fn get(State(st): St, EventId(id): EventId) -> ApiResult {
    #[derive(serde::Serialize)]
    struct Page {
        event: EventOut,
    }
    let event = st.db.with_tx(|tx| {
        let mut e = qr(tx,
                "SELECT e.id, e.world_id, w.name, e.title, e.description, e.year_in_world, e.origin_type, e.proposed_by,
                        p.name, e.canon_justification, e.status, e.affected_regions, e.created_at, e.approved_by,
                        (SELECT name FROM agents WHERE id = e.approved_by), e.approved_at, e.canon_update,
                        e.rejected_by, (SELECT name FROM agents WHERE id = e.rejected_by), e.rejection_reason,
                        a.id, a.action_type, a.content
                 FROM world_events e LEFT JOIN actions a ON a.id = e.origin_action_id LEFT JOIN worlds w ON w.id = e.world_id JOIN agents p ON p.id = e.proposed_by
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
                        origin_action: match r.get::<_, Option<String>>(20)? {
                            Some(aid) => Some(json!({"id": aid, "action_type": r.get::<_, String>(21)?,
                                                     "content": r.get::<_, String>(22)?})),
                            None => None,
                        },
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
