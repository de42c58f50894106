//! Proposals: create, read, list, submit, revise and test-approve. Their critical review and the
//! graduation into a world are in `review.rs`.

use super::review::graduate;
use crate::auth::ApiKey;
use crate::bug::Bug;
use crate::content::{ContentType, ReviewState};
use crate::db::{ex, new_id, now, qr, seq, stored_json};
use crate::error::{ApiError, ApiResult, agent_error, not_found};
use crate::http::{Authed, EmptyList, EmptyObject, JsonBody, NamedRef, ProposalId, Q, St, ok};
use crate::validate::{Body, invalid, query_int};
use axum::extract::{Query, State};
use rusqlite::{OptionalExtension, params};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// With `nul-byte-500`: a text field holding a NUL byte fails as the database's insert would.
fn nul_byte_check(st: &crate::state::AppState, v: &Value) -> Result<(), ApiError> {
    let has_nul = v.as_object().is_some_and(|o| {
        o.values()
            .any(|f| f.as_str().is_some_and(|s| s.contains('\0')))
    });
    if has_nul && st.bug(Bug::NulByte500) {
        return Err(ApiError::Internal("invalid byte sequence: 0x00".into()));
    }
    Ok(())
}

/// The `causal_chain` field: at least 3 steps, each `{year ≥ 2026, event, reasoning}` (10+ chars).
pub(super) fn causal_chain(b: &mut Body, required: bool) -> Option<Value> {
    let raw = match b.raw("causal_chain") {
        None => {
            if required {
                b.push(
                    "causal_chain",
                    "Field required".into(),
                    "missing",
                    Value::Null,
                );
            }
            return None;
        }
        Some(v) => v.clone(),
    };
    let Some(items) = raw.as_array() else {
        b.push(
            "causal_chain",
            "Input should be a valid list".into(),
            "list_type",
            raw.clone(),
        );
        return None;
    };
    if items.len() < 3 {
        b.push(
            "causal_chain",
            "List should have at least 3 items".into(),
            "too_short",
            raw.clone(),
        );
        return None;
    }
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let year = it.get("year").and_then(Value::as_i64);
        let event = it.get("event").and_then(Value::as_str).map(str::to_string);
        let reasoning = it
            .get("reasoning")
            .and_then(Value::as_str)
            .map(str::to_string);
        match year {
            Some(y) if y >= 2026 => {}
            _ => b.push(
                &format!("causal_chain -> {i} -> year"),
                "Input should be greater than or equal to 2026".into(),
                "greater_than_equal",
                it.get("year").cloned().unwrap_or(Value::Null),
            ),
        }
        for (field, text) in [("event", &event), ("reasoning", &reasoning)] {
            if text.as_ref().is_none_or(|t| t.chars().count() < 10) {
                b.push(
                    &format!("causal_chain -> {i} -> {field}"),
                    "String should have at least 10 characters".into(),
                    "string_too_short",
                    it.get(field).cloned().unwrap_or(Value::Null),
                );
            }
        }
        out.push(json!({"year": year, "event": event, "reasoning": reasoning}));
    }
    Some(Value::Array(out))
}

pub(super) async fn create(
    State(st): St,
    Authed(agent): Authed,
    JsonBody(v): JsonBody,
) -> ApiResult {
    nul_byte_check(&st, &v)?;
    let mut b = Body::new(&v)?;
    let name = b.str("name", 2, Some(50), true);
    let premise = b.str("premise", 50, None, true);
    let year = b.int("year_setting", 2030, 2500, true);
    let chain = causal_chain(&mut b, true);
    let basis = b.str("scientific_basis", 50, None, true);
    let image = b.str("image_prompt", 30, Some(1000), true);
    b.finish()?;
    let id = new_id();
    let created = now();
    st.db.with_tx(|tx| {
        let active: i64 = qr(
            tx,
            "SELECT COUNT(*) FROM proposals WHERE agent_id = ?1 AND status IN ('draft','validating')",
            [&agent.id],
            |r| r.get(0),
        )?;
        if active >= 3 {
            return Err(agent_error(
                429,
                "Maximum 3 active proposals allowed",
                "Submit or finish an existing proposal first.",
                json!({"current_active": active, "max_active": 3}),
            ));
        }
        ex(tx,
            "INSERT INTO proposals (id, agent_id, name, premise, year_setting, causal_chain, scientific_basis, image_prompt, status, created_at, updated_at, seq)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,'draft',?9,?9,?10)",
            params![id, agent.id, name, premise, year, chain.map(|c| c.to_string()), basis, image, created, seq()],
        )?;
        Ok(())
    })?;
    ok(
        json!({"id": id, "status": "draft", "review_system": "critical_review", "created_at": created,
              "message": "Proposal created as a draft. Submit it with POST /api/proposals/{id}/submit."}),
    )
}

/// A proposal as the API shows it (`proposal` in GET /api/proposals/{id}, an item of the list).
/// Typed, like every response the simulator reads after nearly every step (see [`ok`]).
#[derive(serde::Serialize)]
struct ProposalRow {
    id: String,
    agent_id: String,
    name: String,
    premise: String,
    year_setting: i64,
    causal_chain: Option<Box<RawValue>>,
    scientific_basis: String,
    citations: Option<Box<RawValue>>,
    #[serde(flatten)]
    review: ReviewState,
    resulting_world_id: Option<String>,
    agent_name: String,
    image_prompt: String,
}

fn load_proposal(conn: &rusqlite::Connection, id: &str) -> Result<Option<ProposalRow>, ApiError> {
    Ok(qr(conn,
            "SELECT p.id, p.agent_id, p.name, p.premise, p.year_setting, p.causal_chain, p.scientific_basis, p.citations,
                    p.status, p.revision_count, p.last_revised_at, p.created_at, p.updated_at, p.resulting_world_id,
                    a.name, p.image_prompt
             FROM proposals p JOIN agents a ON a.id = p.agent_id WHERE p.id = ?1",
            [id],
            |r| {
                Ok(ProposalRow {
                    id: r.get(0)?,
                    agent_id: r.get(1)?,
                    name: r.get(2)?,
                    premise: r.get(3)?,
                    year_setting: r.get(4)?,
                    causal_chain: stored_json(r.get(5)?),
                    scientific_basis: r.get(6)?,
                    citations: stored_json(r.get(7)?),
                    review: ReviewState::from_row(r, 8)?,
                    resulting_world_id: r.get(13)?,
                    agent_name: r.get(14)?,
                    image_prompt: r.get(15)?,
                })
            },
        )
        .optional()?)
}

pub(super) async fn get(State(st): St, ProposalId(id): ProposalId) -> ApiResult {
    #[derive(serde::Serialize)]
    struct Page<'a> {
        proposal: &'a ProposalRow,
        agent: NamedRef<&'a str>,
        validations: EmptyList,
        summary: EmptyObject,
        blind_mode: bool,
    }
    let p = st
        .db
        .with_tx(|tx| load_proposal(tx, &id))?
        .ok_or_else(|| not_found("Proposal"))?;
    ok(&Page {
        proposal: &p,
        agent: NamedRef {
            id: &p.agent_id,
            name: Some(&p.agent_name),
        },
        validations: [],
        summary: EmptyObject {},
        blind_mode: false,
    })
}

pub(super) async fn list(State(st): St, Query(q): Q) -> ApiResult {
    let status = q.get("status").cloned();
    if let Some(s) = &status
        && !["draft", "validating", "approved", "rejected"].contains(&s.as_str())
    {
        return Err(invalid(
            "query -> status",
            "Input should be 'draft', 'validating', 'approved' or 'rejected'",
            "enum",
            json!(s),
        ));
    }
    let limit = query_int(&q, "limit", 20, 1, 50)?;
    let oldest = q.get("sort").map(String::as_str) == Some("oldest");
    let cursor_seq: Option<i64> = match q.get("cursor") {
        Some(c) => st.db.with_tx(|tx| {
            Ok(qr(tx, "SELECT seq FROM proposals WHERE id = ?1", [c], |r| {
                r.get(0)
            })
            .optional()?)
        })?,
        None => None,
    };
    let ids: Vec<String> = st.db.with_tx(|tx| {
        let sql = format!(
            "SELECT id FROM proposals WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR seq {} ?2) ORDER BY seq {} LIMIT ?3",
            if oldest { ">" } else { "<" },
            if oldest { "ASC" } else { "DESC" }
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![status, cursor_seq, limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    })?;
    // a proposal deleted between the two reads shows as null
    let items: Vec<Option<ProposalRow>> = st
        .db
        .with_tx(|tx| ids.iter().map(|id| load_proposal(tx, id)).collect())?;
    let next = if items.len() as i64 == limit {
        ids.last().cloned()
    } else {
        None
    };
    #[derive(serde::Serialize)]
    struct Page {
        items: Vec<Option<ProposalRow>>,
        next_cursor: Option<String>,
    }
    ok(&Page {
        items,
        next_cursor: next,
    })
}

pub(super) async fn submit(State(st): St, key: ApiKey, ProposalId(id): ProposalId) -> ApiResult {
    st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let p = load_proposal(tx, &id)?.ok_or_else(|| not_found("Proposal"))?;
        if p.agent_id != agent.id {
            return Err(agent_error(
                403,
                "Not your proposal",
                "Only the proposer can submit it.",
                json!({"proposal_id": p.id}),
            ));
        }
        if p.review.status != "draft" {
            return Err(agent_error(
                400,
                &format!("Proposal is already {}", p.review.status),
                "Only draft proposals can be submitted.",
                json!({"current_status": p.review.status}),
            ));
        }
        ex(
            tx,
            "UPDATE proposals SET status = 'validating', updated_at = ?2 WHERE id = ?1",
            params![id, now()],
        )?;
        Ok(())
    })?;
    ok(
        json!({"id": id, "status": "validating", "review_system": "critical_review",
              "message": "Submitted for critical review: at least 2 other agents must review it."}),
    )
}

pub(super) async fn revise(
    State(st): St,
    key: ApiKey,
    ProposalId(id): ProposalId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    nul_byte_check(&st, &v)?;
    let mut b = Body::new(&v)?;
    // the planted bug checks only the fields' types, not create's bounds
    let lax = st.bug(Bug::ReviseSkipsValidation);
    let bound = |lo: usize, hi: Option<usize>| if lax { (0, None) } else { (lo, hi) };
    let ((n0, n1), (p0, p1)) = (bound(2, Some(50)), bound(50, None));
    let ((s0, s1), (i0, i1)) = (bound(50, None), bound(30, Some(1000)));
    let name = b.str("name", n0, n1, false);
    let premise = b.str("premise", p0, p1, false);
    let year = b.int("year_setting", 2030, 2500, false);
    let chain = match b.raw("causal_chain") {
        Some(c @ Value::Array(_)) if lax => Some(c.clone()),
        _ => causal_chain(&mut b, false),
    };
    let basis = b.str("scientific_basis", s0, s1, false);
    let image = b.str("image_prompt", i0, i1, false);
    b.finish()?;
    let ts = now();
    let (status, count) = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let p = load_proposal(tx, &id)?.ok_or_else(|| not_found("Proposal"))?;
        if p.agent_id != agent.id {
            return Err(agent_error(
                403,
                "Not your proposal",
                "Only the proposer can revise it.",
                json!({"proposal_id": p.id}),
            ));
        }
        if !["draft", "validating"].contains(&p.review.status.as_str()) {
            return Err(agent_error(
                400,
                &format!("Cannot revise a {} proposal", p.review.status),
                "Only draft or validating proposals can be revised.",
                json!({}),
            ));
        }
        ex(tx,
            "UPDATE proposals SET name = COALESCE(?2, name), premise = COALESCE(?3, premise), year_setting = COALESCE(?4, year_setting),
               causal_chain = COALESCE(?5, causal_chain), scientific_basis = COALESCE(?6, scientific_basis),
               image_prompt = COALESCE(?7, image_prompt), revision_count = revision_count + 1, last_revised_at = ?8, updated_at = ?8
             WHERE id = ?1",
            params![id, name, premise, year, chain.map(|c| c.to_string()), basis, image, ts],
        )?;
        ex(
            tx,
            "INSERT INTO proposal_revisions (proposal_id, seq) VALUES (?1, ?2)",
            params![id, seq()],
        )?;
        let count = ContentType::Proposal.revision_count(tx, &id)?;
        Ok((p.review.status, count))
    })?;
    ok(
        json!({"id": id, "status": status, "review_system": "critical_review", "revision_count": count, "updated_at": ts,
              "message": "Revision saved."}),
    )
}

pub(super) async fn test_approve(
    State(st): St,
    key: ApiKey,
    ProposalId(id): ProposalId,
) -> ApiResult {
    st.require_test_mode()?;
    let (wid, name) = st.db.with_tx(|tx| {
        key.agent(tx)?;
        let p = load_proposal(tx, &id)?.ok_or_else(|| not_found("Proposal"))?;
        if p.review.status != "validating" {
            return Err(agent_error(
                400,
                &format!("Proposal must be validating, not {}", p.review.status),
                "Submit it first.",
                json!({}),
            ));
        }
        graduate(tx, &st, &id)
    })?;
    ok(
        json!({"message": "Proposal approved (test mode).", "proposal_id": id, "world_created": {"id": wid, "name": name}}),
    )
}
