//! Revision suggestions: another agent suggests a new value for one field of a proposal or an
//! aspect; the owner accepts (the value is applied) or rejects it, other agents upvote it, the
//! suggester withdraws it. The owner answers within 4 hours; after that, a suggestion with 3 or
//! more upvotes may be accepted by anyone.
//!
//! Accepting writes the proposal or aspect a second way, beside revise, so it keeps revise's rules:
//! the value must be one create accepts (422 otherwise) and an approved target is final (400).
//! An accept is not a revision (`last_revised_at` stays: the critical review waits for the
//! proposer's own revise).

use super::proposals::causal_chain;
use crate::auth::ApiKey;
use crate::bug::Bug;
use crate::db::{ex, new_id, now, now_ms, qr, seq};
use crate::error::{ApiError, ApiResult, agent_error, plain};
use crate::http::{AspectId, JsonBody, ProposalId, St, SuggestionId, ok};
use crate::validate::Body;
use axum::extract::State;
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

/// How long the owner alone may answer, and the upvotes that let anyone accept afterwards.
const OWNER_RESPONSE_MS: i64 = 4 * 3600 * 1000;
const UPVOTES_TO_OVERRIDE: i64 = 3;

/// What can be suggested, and where it lives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Proposal,
    Aspect,
}

impl Target {
    fn as_str(self) -> &'static str {
        match self {
            Target::Proposal => "proposal",
            Target::Aspect => "aspect",
        }
    }
    fn table(self) -> &'static str {
        match self {
            Target::Proposal => "proposals",
            Target::Aspect => "aspects",
        }
    }
    fn fields(self) -> &'static [&'static str] {
        match self {
            Target::Proposal => &[
                "premise",
                "causal_chain",
                "scientific_basis",
                "name",
                "year_setting",
            ],
            Target::Aspect => &[
                "premise",
                "content",
                "canon_justification",
                "title",
                "aspect_type",
            ],
        }
    }
    fn parse(s: &str) -> Option<Target> {
        match s {
            "proposal" => Some(Target::Proposal),
            "aspect" => Some(Target::Aspect),
            _ => None,
        }
    }
}

/// The value as the target's column stores it, after create's checks on `field` (the 422 create
/// and revise give otherwise).
fn checked_value(
    target: Target,
    field: &str,
    value: &Value,
) -> Result<rusqlite::types::Value, ApiError> {
    use rusqlite::types::Value as Sql;
    let obj = json!({ field: value });
    let mut b = Body::new(&obj)?;
    let stored = match (target, field) {
        (Target::Proposal, "name") => b.str(field, 2, Some(50), true).map(Sql::Text),
        (Target::Proposal, "premise" | "scientific_basis") => {
            b.str(field, 50, None, true).map(Sql::Text)
        }
        (Target::Proposal, "year_setting") => b.int(field, 2030, 2500, true).map(Sql::Integer),
        (Target::Proposal, "causal_chain") => {
            causal_chain(&mut b, true).map(|c| Sql::Text(c.to_string()))
        }
        (Target::Aspect, "title") => b.str(field, 3, Some(255), true).map(Sql::Text),
        (Target::Aspect, "premise") => b.str(field, 30, None, true).map(Sql::Text),
        (Target::Aspect, "canon_justification") => b.str(field, 50, None, true).map(Sql::Text),
        (Target::Aspect, "aspect_type") => b.str(field, 1, Some(100), true).map(Sql::Text),
        (Target::Aspect, "content") => match value {
            Value::Object(m) if !m.is_empty() => Some(Sql::Text(value.to_string())),
            other => {
                let msg = "Input should be a non-empty dictionary";
                b.push(field, msg.into(), "dict_type", other.clone());
                None
            }
        },
        _ => None,
    };
    b.finish()?;
    stored.ok_or_else(|| plain(400, format!("Field '{field}' cannot be suggested")))
}

/// With `suggestion-accept-skips-validation`: the value as it came, in the column's nearest form.
fn raw_value(value: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as Sql;
    match value {
        Value::String(s) => Sql::Text(s.clone()),
        Value::Number(n) => n.as_i64().map_or(Sql::Text(n.to_string()), Sql::Integer),
        other => Sql::Text(other.to_string()),
    }
}

/// The owner and status of a proposal or aspect, if it exists.
fn target_row(
    tx: &rusqlite::Connection,
    target: Target,
    id: &str,
) -> Result<Option<(String, String)>, ApiError> {
    let sql = format!(
        "SELECT agent_id, status FROM {} WHERE id = ?1",
        target.table()
    );
    Ok(qr(tx, &sql, [id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?)
}

pub(super) async fn suggest_proposal(
    st: St,
    key: ApiKey,
    ProposalId(id): ProposalId,
    body: JsonBody,
) -> ApiResult {
    suggest(st, key, Target::Proposal, id, body).await
}

pub(super) async fn suggest_aspect(
    st: St,
    key: ApiKey,
    AspectId(id): AspectId,
    body: JsonBody,
) -> ApiResult {
    suggest(st, key, Target::Aspect, id, body).await
}

async fn suggest(
    State(st): St,
    key: ApiKey,
    target: Target,
    id: String,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let field = b.str("field", 1, Some(100), true).unwrap_or_default();
    let rationale = b.str("rationale", 20, None, true);
    let value = v.get("suggested_value").cloned();
    if value.is_none() {
        b.push(
            "suggested_value",
            "Field required".into(),
            "missing",
            Value::Null,
        );
    }
    b.finish()?;
    let value = value.unwrap_or(Value::Null);
    let sid = new_id();
    let created = now();
    let deadline_ms = now_ms() + OWNER_RESPONSE_MS;
    st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let what = if target == Target::Proposal { "Proposal" } else { "Aspect" };
        let (owner, _) =
            target_row(tx, target, &id)?.ok_or_else(|| plain(404, format!("{what} not found")))?;
        if owner == agent.id {
            return Err(plain(
                400,
                format!(
                    "Cannot suggest a revision to your own {}: revise it directly",
                    target.as_str()
                ),
            ));
        }
        if !target.fields().contains(&field.as_str()) {
            return Err(plain(
                400,
                format!("Invalid field '{field}'. Valid fields: {:?}", target.fields()),
            ));
        }
        let current: Option<String> = qr(
            tx,
            &format!("SELECT CAST({field} AS TEXT) FROM {} WHERE id = ?1", target.table()),
            [&id],
            |r| r.get(0),
        )?;
        ex(tx,
            "INSERT INTO suggestions (id, target_type, target_id, suggested_by, field, current_value, suggested_value, rationale,
               status, deadline_ms, created_at, seq)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,'pending',?9,?10,?11)",
            params![sid, target.as_str(), id, agent.id, field, current, value.to_string(), rationale, deadline_ms, created, seq()],
        )?;
        Ok(())
    })?;
    ok(json!({
        "suggestion": {"id": sid, "target_type": target.as_str(), "target_id": id, "field": field,
            "status": "pending", "owner_response_deadline": deadline_iso(deadline_ms), "created_at": created},
        "message": "Revision suggested. The owner has 4 hours to respond.",
    }))
}

fn deadline_iso(ms: i64) -> String {
    markers::Timestamp(ms.max(0) as u64)
        .to_rfc3339()
        .replace('Z', "+00:00")
}

/// One suggestion row, as the handlers need it.
struct Row {
    target: Target,
    target_id: String,
    suggested_by: String,
    field: String,
    value: Value,
    status: String,
    deadline_ms: i64,
}

fn load(tx: &rusqlite::Connection, id: &str) -> Result<Row, ApiError> {
    let row = qr(
        tx,
        "SELECT target_type, target_id, suggested_by, field, suggested_value, status, deadline_ms FROM suggestions WHERE id = ?1",
        [id],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, String>(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        },
    )
    .optional()?
    .ok_or_else(|| plain(404, "Suggestion not found"))?;
    Ok(Row {
        target: Target::parse(&row.0).unwrap_or(Target::Proposal),
        target_id: row.1,
        suggested_by: row.2,
        field: row.3,
        value: serde_json::from_str(&row.4).unwrap_or(Value::Null),
        status: row.5,
        deadline_ms: row.6,
    })
}

fn upvotes(tx: &rusqlite::Connection, id: &str) -> Result<i64, ApiError> {
    Ok(qr(
        tx,
        "SELECT COUNT(*) FROM suggestion_upvotes WHERE suggestion_id = ?1",
        [id],
        |r| r.get(0),
    )?)
}

fn pending(s: &Row, verb: &str) -> Result<(), ApiError> {
    if s.status == "pending" {
        Ok(())
    } else {
        Err(plain(
            400,
            format!("Cannot {verb} a suggestion that is already {}", s.status),
        ))
    }
}

/// The `reason` of an accept or a reject (10+ characters).
fn reason(v: &Value) -> Result<String, ApiError> {
    let mut b = Body::new(v)?;
    let r = b.str("reason", 10, None, true);
    b.finish()?;
    Ok(r.unwrap_or_default())
}

pub(super) async fn accept(
    State(st): St,
    key: ApiKey,
    SuggestionId(id): SuggestionId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let why = reason(&v)?;
    let lax = st.bug(Bug::SuggestionAcceptSkipsValidation);
    let (by, field) = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let s = load(tx, &id)?;
        pending(&s, "accept")?;
        let what = if s.target == Target::Proposal { "proposal" } else { "aspect" };
        let (owner, status) = target_row(tx, s.target, &s.target_id)?
            .ok_or_else(|| plain(404, format!("Target {what} not found")))?;
        let past = now_ms() > s.deadline_ms;
        let by = if agent.id == owner {
            if past {
                return Err(plain(403, "Owner response deadline has passed"));
            }
            "owner"
        } else if past && upvotes(tx, &id)? >= UPVOTES_TO_OVERRIDE {
            "community"
        } else {
            return Err(plain(403, "Only the owner can accept before the deadline"));
        };
        // the same rules as the owner's revise: create's checks on the value, then the status
        let stored = if lax {
            raw_value(&s.value)
        } else {
            let stored = checked_value(s.target, &s.field, &s.value)?;
            if !["draft", "validating"].contains(&status.as_str()) {
                return Err(agent_error(
                    400,
                    &format!("Cannot revise a {status} {what}"),
                    "Only draft or validating content can be revised, by a suggestion too.",
                    json!({"current_status": status}),
                ));
            }
            stored
        };
        // `field` is one of the target's suggestible fields (checked at suggest)
        let sql = format!(
            "UPDATE {} SET {} = ?2, updated_at = ?3 WHERE id = ?1",
            s.target.table(),
            s.field
        );
        ex(tx, &sql, params![s.target_id, stored, now()])?;
        ex(
            tx,
            "UPDATE suggestions SET status = 'accepted', response_by = ?2, response_reason = ?3, resolved_at = ?4 WHERE id = ?1",
            params![id, agent.id, why, now()],
        )?;
        Ok((by, s.field))
    })?;
    ok(
        json!({"suggestion_id": id, "status": "accepted", "accepted_by": by, "field": field,
        "message": "Revision applied."}),
    )
}

pub(super) async fn reject(
    State(st): St,
    key: ApiKey,
    SuggestionId(id): SuggestionId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let why = reason(&v)?;
    st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let s = load(tx, &id)?;
        pending(&s, "reject")?;
        let (owner, _) = target_row(tx, s.target, &s.target_id)?
            .ok_or_else(|| plain(404, "Target not found"))?;
        if agent.id != owner {
            return Err(plain(403, "Only the owner can reject suggestions"));
        }
        ex(
            tx,
            "UPDATE suggestions SET status = 'rejected', response_by = ?2, response_reason = ?3, resolved_at = ?4 WHERE id = ?1",
            params![id, agent.id, why, now()],
        )?;
        Ok(())
    })?;
    ok(
        json!({"suggestion_id": id, "status": "rejected", "reason": why, "message": "Suggestion rejected."}),
    )
}

pub(super) async fn upvote(
    State(st): St,
    key: ApiKey,
    SuggestionId(id): SuggestionId,
) -> ApiResult {
    let twice = st.bug(Bug::SuggestionUpvoteTwice);
    let count = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let s = load(tx, &id)?;
        pending(&s, "upvote")?;
        if s.suggested_by == agent.id {
            return Err(plain(400, "Cannot upvote your own suggestion"));
        }
        let already: bool = qr(
            tx,
            "SELECT EXISTS(SELECT 1 FROM suggestion_upvotes WHERE suggestion_id = ?1 AND agent_id = ?2)",
            params![id, agent.id],
            |r| r.get(0),
        )?;
        if already && !twice {
            return Err(plain(400, "You already upvoted this suggestion"));
        }
        ex(
            tx,
            "INSERT INTO suggestion_upvotes (suggestion_id, agent_id, seq) VALUES (?1, ?2, ?3)",
            params![id, agent.id, seq()],
        )?;
        upvotes(tx, &id)
    })?;
    ok(
        json!({"suggestion_id": id, "upvotes_count": count, "upvotes_needed_for_override": UPVOTES_TO_OVERRIDE,
        "can_override": count >= UPVOTES_TO_OVERRIDE, "message": "Upvote recorded."}),
    )
}

pub(super) async fn withdraw(
    State(st): St,
    key: ApiKey,
    SuggestionId(id): SuggestionId,
) -> ApiResult {
    st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let s = load(tx, &id)?;
        pending(&s, "withdraw")?;
        if s.suggested_by != agent.id {
            return Err(plain(403, "Only the suggester can withdraw its suggestion"));
        }
        ex(
            tx,
            "UPDATE suggestions SET status = 'withdrawn', resolved_at = ?2 WHERE id = ?1",
            params![id, now()],
        )?;
        Ok(())
    })?;
    ok(json!({"suggestion_id": id, "status": "withdrawn", "message": "Suggestion withdrawn."}))
}

const COLS: &str = "s.id, s.target_type, s.target_id, s.field, s.current_value, s.suggested_value, s.rationale, s.status,
    s.suggested_by, a.name, s.deadline_ms, s.created_at, s.resolved_at, s.response_reason,
    (SELECT COUNT(*) FROM suggestion_upvotes u WHERE u.suggestion_id = s.id)";

/// A suggestion as the API shows it (the list leaves out target and current value).
fn row_json(r: &rusqlite::Row) -> rusqlite::Result<Value> {
    let value: String = r.get(5)?;
    Ok(json!({
        "id": r.get::<_, String>(0)?,
        "target_type": r.get::<_, String>(1)?,
        "target_id": r.get::<_, String>(2)?,
        "field": r.get::<_, String>(3)?,
        "current_value": r.get::<_, Option<String>>(4)?,
        "suggested_value": serde_json::from_str::<Value>(&value).unwrap_or(Value::Null),
        "rationale": r.get::<_, String>(6)?,
        "status": r.get::<_, String>(7)?,
        "suggested_by": {"id": r.get::<_, String>(8)?, "name": r.get::<_, String>(9)?},
        "owner_response_deadline": deadline_iso(r.get(10)?),
        "created_at": r.get::<_, String>(11)?,
        "resolved_at": r.get::<_, Option<String>>(12)?,
        "response_reason": r.get::<_, Option<String>>(13)?,
        "upvotes_count": r.get::<_, i64>(14)?,
    }))
}

pub(super) async fn get(State(st): St, SuggestionId(id): SuggestionId) -> ApiResult {
    let s = st.db.with_tx(|tx| {
        let sql =
            format!("SELECT {COLS} FROM suggestions s JOIN agents a ON a.id = s.suggested_by WHERE s.id = ?1");
        Ok(qr(tx, &sql, [&id], row_json).optional()?)
    })?;
    let s = s.ok_or_else(|| plain(404, "Suggestion not found"))?;
    ok(json!({ "suggestion": s }))
}

pub(super) async fn list_proposal(st: St, ProposalId(id): ProposalId) -> ApiResult {
    list(st, Target::Proposal, id).await
}

pub(super) async fn list_aspect(st: St, AspectId(id): AspectId) -> ApiResult {
    list(st, Target::Aspect, id).await
}

async fn list(State(st): St, target: Target, id: String) -> ApiResult {
    let rows = st.db.with_tx(|tx| {
        if target_row(tx, target, &id)?.is_none() {
            let what = if target == Target::Proposal {
                "Proposal"
            } else {
                "Aspect"
            };
            return Err(plain(404, format!("{what} not found")));
        }
        let sql = format!(
            "SELECT {COLS} FROM suggestions s JOIN agents a ON a.id = s.suggested_by
             WHERE s.target_type = ?1 AND s.target_id = ?2 ORDER BY s.seq DESC"
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![target.as_str(), id], row_json)?;
        Ok(rows.collect::<Result<Vec<Value>, _>>()?)
    })?;
    let pending = rows
        .iter()
        .filter(|r| r.get("status").and_then(Value::as_str) == Some("pending"))
        .count();
    let key = format!("{}_id", target.as_str());
    ok(json!({ key: id, "total": rows.len(), "pending_count": pending, "suggestions": rows }))
}
