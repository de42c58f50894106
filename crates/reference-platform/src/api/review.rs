//! The critical review of proposals, aspects and stories (`/api/review/…`): reviews and their
//! items, blind mode, progress, respond / resolve / reopen, and the graduation a final resolve
//! triggers (a proposal becomes a world, an aspect joins its world's canon).

use crate::auth::ApiKey;
use crate::bug::{Bug, race_window};
use crate::content::ContentType;
use crate::db::{ex, new_id, now, qr, seq};
use crate::error::{ApiError, ApiResult, agent_error, not_found};
use crate::http::{ItemId, JsonBody, ReviewPath, St, ok};
use crate::state::AppState;
use crate::validate::Body;
use axum::extract::State;
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

const CATEGORIES: &[&str] = &[
    "causal_gap",
    "scientific_issue",
    "actor_vagueness",
    "timeline",
    "internal_consistency",
    "other",
];

const SEVERITIES: &[&str] = &["critical", "important", "minor"];

/// The content under review and its owner: 400 for an unknown type, 404 `Content not found` when
/// there is no such content.
fn content_owner(
    tx: &rusqlite::Connection,
    st: &AppState,
    ctype: &str,
    id: &str,
) -> Result<(ContentType, String), ApiError> {
    let found = match ContentType::from_path(ctype)? {
        Some(ct) => ct.owner(tx, st, id)?.map(|owner| (ct, owner)),
        None => None,
    };
    found.ok_or_else(|| not_found("Content"))
}

/// The `feedback_items` of a new review (1 to 20) or of an addition to one (1 to `max` = 10), each
/// `{category, description, severity}`. Failures go into `b` with the item's position in the field
/// name.
fn feedback_items(b: &mut Body, max: usize) -> Vec<(String, String, String)> {
    let mut items = Vec::new();
    match b.raw("feedback_items") {
        None => b.push(
            "feedback_items",
            "Field required".into(),
            "missing",
            Value::Null,
        ),
        Some(Value::Array(arr)) if (1..=max).contains(&arr.len()) => {
            for (i, it) in arr.iter().enumerate() {
                match Body::new(it) {
                    Ok(mut ib) => {
                        let c = ib.one_of("category", CATEGORIES, true);
                        let d = ib.str("description", 10, Some(2000), true);
                        let s = ib.one_of("severity", SEVERITIES, true);
                        if let Err(ApiError::Validation(errs)) = ib.finish() {
                            for e in errs {
                                b.push(
                                    &format!(
                                        "feedback_items -> {i} -> {}",
                                        e.field.trim_start_matches("body -> ")
                                    ),
                                    e.message,
                                    e.kind,
                                    e.input,
                                );
                            }
                        } else {
                            items.push((
                                c.unwrap_or_default(),
                                d.unwrap_or_default(),
                                s.unwrap_or_default(),
                            ));
                        }
                    }
                    Err(_) => b.push(
                        &format!("feedback_items -> {i}"),
                        "Input should be a valid dictionary".into(),
                        "dict_type",
                        it.clone(),
                    ),
                }
            }
        }
        Some(other) => b.push(
            "feedback_items",
            format!("List should have 1 to {max} items"),
            "too_short",
            other.clone(),
        ),
    }
    items
}

pub(super) async fn post(
    State(st): St,
    key: ApiKey,
    ReviewPath { ctype, id }: ReviewPath,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let items = feedback_items(&mut b, 20);
    b.finish()?;
    let review_id = new_id();
    let out = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let (ct, owner) = content_owner(tx, &st, &ctype, &id)?;
        if owner == agent.id
            && !(ct == ContentType::Proposal && st.bug(Bug::SelfReview))
            && !(ct == ContentType::Story && st.bug(Bug::ReviewRouteSelfReview))
            && !(ct == ContentType::DwellerProposal && st.bug(Bug::DwellerProposalSelfReview))
        {
            return Err(agent_error(
                403,
                "You cannot review your own content",
                "Ask other agents to review it.",
                json!({"content_id": id}),
            ));
        }
        let dup: bool = qr(
            tx,
            "SELECT EXISTS(SELECT 1 FROM reviews WHERE content_type = ?1 AND content_id = ?2 AND reviewer_id = ?3)",
            params![ct, id, agent.id],
            |r| r.get(0),
        )?;
        if dup {
            return Err(agent_error(
                400,
                "You have already submitted a review for this content",
                "Add items to your existing review instead.",
                json!({}),
            ));
        }
        let ts = now();
        ex(
            tx,
            "INSERT INTO reviews (id, content_type, content_id, reviewer_id, created_at) VALUES (?1,?2,?3,?4,?5)",
            params![review_id, ct, id, agent.id, ts],
        )?;
        insert_items(tx, &review_id, &items, &ts)
    })?;
    ok(json!({"review_id": review_id, "message": "Review submitted.", "feedback_items": out}))
}

/// `POST /api/review/{type}/{id}/add-feedback`: a reviewer raises new items on their own review
/// (after a revision, or after graduation: the items are open, but an approved proposal stays
/// approved). 404 when the caller has no review of this content (the proposer never has one).
pub(super) async fn add_feedback(
    State(st): St,
    key: ApiKey,
    ReviewPath { ctype, id }: ReviewPath,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let items = feedback_items(&mut b, 10);
    b.finish()?;
    let (review_id, out) = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let (ct, _) = content_owner(tx, &st, &ctype, &id)?;
        let review: Option<String> = qr(
            tx,
            "SELECT id FROM reviews WHERE content_type = ?1 AND content_id = ?2 AND reviewer_id = ?3",
            params![ct, id, agent.id],
            |r| r.get(0),
        )
        .optional()?;
        let Some(review_id) = review else {
            return Err(agent_error(
                404,
                "You haven't submitted a review for this content yet",
                "Submit your review with POST /api/review/{type}/{id}/feedback first.",
                json!({"content_id": id}),
            ));
        };
        let out = insert_items(tx, &review_id, &items, &now())?;
        Ok((review_id, out))
    })?;
    ok(
        json!({"review_id": review_id, "message": format!("Added {} item(s) to your review.", out.len()), "new_items": out}),
    )
}

/// Inserts a review's new items, all open, and returns them as the answer lists them.
fn insert_items(
    tx: &rusqlite::Connection,
    review_id: &str,
    items: &[(String, String, String)],
    ts: &str,
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for (c, d, s) in items {
        let iid = new_id();
        ex(
            tx,
            "INSERT INTO review_items (id, review_id, category, description, severity, status, created_at, seq) VALUES (?1,?2,?3,?4,?5,'open',?6,?7)",
            params![iid, review_id, c, d, s, ts, seq()],
        )?;
        out.push(
            json!({"id": iid, "category": c, "severity": s, "description": d, "status": "open"}),
        );
    }
    Ok(out)
}

fn reviews_json(
    tx: &rusqlite::Connection,
    ct: ContentType,
    id: &str,
) -> Result<Vec<Value>, ApiError> {
    let mut stmt = tx.prepare_cached("SELECT id, reviewer_id, created_at FROM reviews WHERE content_type = ?1 AND content_id = ?2 ORDER BY created_at, rowid")?;
    let reviews: Vec<(String, String, String)> = stmt
        .query_map(params![ct, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (rid, reviewer, created) in reviews {
        let mut istmt = tx.prepare_cached("SELECT id, category, severity, description, status, created_at, resolution_note, resolved_at FROM review_items WHERE review_id = ?1 ORDER BY seq")?;
        let items: Vec<Value> = istmt
            .query_map([&rid], |r| {
                Ok(json!({"id": r.get::<_, String>(0)?, "category": r.get::<_, String>(1)?, "severity": r.get::<_, String>(2)?,
                    "description": r.get::<_, String>(3)?, "status": r.get::<_, String>(4)?, "created_at": r.get::<_, String>(5)?,
                    "resolution_note": r.get::<_, Option<String>>(6)?, "resolved_at": r.get::<_, Option<String>>(7)?}))
            })?
            .collect::<Result<_, _>>()?;
        let mut items = items;
        for it in &mut items {
            let iid = it["id"].as_str().unwrap_or_default().to_string();
            let mut rs = tx.prepare_cached("SELECT id, responder_id, response_text, created_at FROM item_responses WHERE item_id = ?1 ORDER BY created_at, rowid")?;
            let responses: Vec<Value> = rs
                .query_map([&iid], |r| Ok(json!({"id": r.get::<_, String>(0)?, "responder_id": r.get::<_, String>(1)?, "response_text": r.get::<_, String>(2)?, "created_at": r.get::<_, String>(3)?})))?
                .collect::<Result<_, _>>()?;
            it["responses"] = Value::Array(responses);
        }
        out.push(json!({"review_id": rid, "reviewer_id": reviewer, "created_at": created, "feedback_items": items}));
    }
    Ok(out)
}

pub(super) async fn list(
    State(st): St,
    key: ApiKey,
    ReviewPath { ctype, id }: ReviewPath,
) -> ApiResult {
    let v = st.db.with_tx(|tx| {
        let viewer = key.maybe_agent(tx)?;
        let (ct, owner) = content_owner(tx, &st, &ctype, &id)?;
        let reviews = reviews_json(tx, ct, &id)?;
        if let Some(a) = viewer {
            let reviewed = reviews.iter().any(|r| r["reviewer_id"] == json!(a.id));
            if a.id != owner && !reviewed {
                return Ok(
                    json!({"blind_mode": true, "message": "Submit your own review to see the others.", "reviews": []}),
                );
            }
        }
        Ok(json!({"blind_mode": false, "total_reviewers": reviews.len(), "reviews": reviews}))
    })?;
    ok(v)
}

/// How far the review of one piece of content is: reviewers and items by status.
struct Progress {
    pub reviewers: i64,
    pub open: i64,
    pub addressed: i64,
    pub resolved: i64,
    pub total: i64,
}

fn progress(tx: &rusqlite::Connection, ct: ContentType, id: &str) -> Result<Progress, ApiError> {
    Ok(qr(tx,
        "SELECT (SELECT COUNT(DISTINCT reviewer_id) FROM reviews WHERE content_type = ?1 AND content_id = ?2),
                COALESCE(SUM(i.status = 'open'), 0), COALESCE(SUM(i.status = 'addressed'), 0), COALESCE(SUM(i.status = 'resolved'), 0), COUNT(i.id)
         FROM reviews r JOIN review_items i ON i.review_id = r.id WHERE r.content_type = ?1 AND r.content_id = ?2",
        params![ct, id],
        |r| Ok(Progress { reviewers: r.get(0)?, open: r.get(1)?, addressed: r.get(2)?, resolved: r.get(3)?, total: r.get(4)? }),
    )?)
}

pub(super) async fn status(State(st): St, ReviewPath { ctype, id }: ReviewPath) -> ApiResult {
    let v = st.db.with_tx(|tx| {
        let (ct, _) = content_owner(tx, &st, &ctype, &id)?;
        let p = progress(tx, ct, &id)?;
        let status = ct.status(tx, &id)?;
        let can = p.reviewers >= 2 && p.open == 0 && p.addressed == 0 && status == "validating";
        Ok(
            json!({"content_type": ctype, "content_id": id, "reviewer_count": p.reviewers, "min_reviewers": 2,
            "feedback_items": {"total": p.total, "by_status": {"open": p.open, "addressed": p.addressed, "resolved": p.resolved, "disputed": 0}},
            "can_graduate": can, "graduation_status": status}),
        )
    })?;
    ok(v)
}

/// A review item with what it reviews.
struct ItemRow {
    id: String,
    reviewer_id: String,
    content_type: ContentType,
    content_id: String,
    seq: i64,
}

fn load_item(tx: &rusqlite::Connection, item: &str) -> Result<ItemRow, ApiError> {
    qr(tx,
        "SELECT i.id, r.reviewer_id, r.content_type, r.content_id, i.seq FROM review_items i JOIN reviews r ON r.id = i.review_id WHERE i.id = ?1",
        [item],
        |r| Ok(ItemRow { id: r.get(0)?, reviewer_id: r.get(1)?, content_type: r.get(2)?, content_id: r.get(3)?, seq: r.get(4)? }),
    )
    .optional()?
    .ok_or_else(|| not_found("Feedback item"))
}

pub(super) async fn respond(
    State(st): St,
    key: ApiKey,
    ItemId(item): ItemId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let text = b.str("response_text", 10, Some(2000), true);
    b.finish()?;
    let rid = new_id();
    st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let it = load_item(tx, &item)?;
        // only the owner of the reviewed content answers its feedback
        let owner = it
            .content_type
            .owner(tx, &st, &it.content_id)?
            .unwrap_or_default();
        if owner != agent.id && !st.bug(Bug::RespondAnyAgent) {
            return Err(agent_error(
                403,
                "Only the content's owner can respond to its feedback",
                "Ask the owner to respond.",
                json!({"item_id": it.id}),
            ));
        }
        ex(
            tx,
            "INSERT INTO item_responses (id, item_id, responder_id, response_text, created_at) VALUES (?1,?2,?3,?4,?5)",
            params![rid, it.id, agent.id, text, now()],
        )?;
        ex(
            tx,
            "UPDATE review_items SET status = 'addressed' WHERE id = ?1",
            [&it.id],
        )?;
        Ok(())
    })?;
    ok(
        json!({"response_id": rid, "item_id": item, "new_status": "addressed", "message": "Response recorded."}),
    )
}

/// Checks the resolve preconditions and marks the item resolved; returns the item.
fn resolve_checks(
    tx: &rusqlite::Connection,
    key: &ApiKey,
    item: &str,
    note: &Option<String>,
    ts: &str,
) -> Result<ItemRow, ApiError> {
    let agent = key.agent(tx)?;
    let it = load_item(tx, item)?;
    if it.reviewer_id != agent.id {
        return Err(agent_error(
            403,
            "Only the original reviewer can resolve this item",
            "Ask the reviewer who raised it.",
            json!({"item_id": it.id}),
        ));
    }
    if !it.content_type.revised_since(tx, &it.content_id, it.seq)? {
        return Err(agent_error(
            400,
            "Cannot resolve feedback before content has been revised",
            &format!("{} after this feedback first.", it.content_type.reviser()),
            json!({"item_id": it.id}),
        ));
    }
    ex(
        tx,
        "UPDATE review_items SET status = 'resolved', resolved_at = ?2, resolution_note = ?3 WHERE id = ?1",
        params![it.id, ts, note],
    )?;
    Ok(it)
}

/// Creates the world for an approved proposal and marks it approved (caller holds the transaction).
pub(super) fn graduate(
    tx: &rusqlite::Connection,
    st: &AppState,
    proposal_id: &str,
) -> Result<(String, String), ApiError> {
    let (name, premise, year, chain, basis, creator): (
        String,
        String,
        i64,
        String,
        String,
        String,
    ) = qr(
        tx,
        "SELECT name, premise, year_setting, causal_chain, scientific_basis, agent_id FROM proposals WHERE id = ?1",
        [proposal_id],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        },
    )?;
    let wid = new_id();
    ex(tx,
        "INSERT INTO worlds (id, name, premise, year_setting, causal_chain, scientific_basis, proposal_id, created_by, created_at, seq)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
        params![wid, name, premise, year, chain, basis, proposal_id, creator, now(), seq()],
    )?;
    let backlink: Option<&str> = if st.bug(Bug::WorldBacklinkNull) {
        None
    } else {
        Some(&wid)
    };
    ex(
        tx,
        "UPDATE proposals SET status = 'approved', resulting_world_id = ?2, updated_at = ?3 WHERE id = ?1",
        params![proposal_id, backlink, now()],
    )?;
    Ok((wid, name))
}

/// The graduation of an aspect into its world's canon: on the resolve that leaves a validating
/// aspect with ≥2 reviewers and no open or addressed item, as for proposals. (The real platform's
/// resolve graduates only proposals, so its aspects stay validating outside test mode.)
fn graduate_aspect_if_ready(
    tx: &rusqlite::Connection,
    aspect: &str,
) -> Result<Option<Value>, ApiError> {
    let p = progress(tx, ContentType::Aspect, aspect)?;
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

/// Whether a proposal may graduate now: validating, ≥2 reviewers, no open or addressed item.
fn can_graduate(tx: &rusqlite::Connection, proposal: &str) -> Result<bool, ApiError> {
    let p = progress(tx, ContentType::Proposal, proposal)?;
    let status: Option<String> = qr(
        tx,
        "SELECT status FROM proposals WHERE id = ?1",
        [proposal],
        |r| r.get(0),
    )
    .optional()?;
    Ok(status.as_deref() == Some("validating")
        && p.reviewers >= 2
        && p.open == 0
        && p.addressed == 0)
}

pub(super) async fn resolve(
    State(st): St,
    key: ApiKey,
    ItemId(item): ItemId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let note = b.str("resolution_note", 0, Some(500), false);
    b.finish()?;
    let ts = now();
    let graduation = if st.bug(Bug::GraduationRace) {
        // Planted: resolve, decide and create the world in three transactions, so two concurrent
        // final resolves can both see "ready" before either creates the world.
        let it = st
            .db
            .with_tx(|tx| resolve_checks(tx, &key, &item, &note, &ts))?;
        race_window().await;
        let ready = it.content_type == ContentType::Proposal
            && st.db.with_tx(|tx| can_graduate(tx, &it.content_id))?;
        if ready {
            race_window().await;
            Some(st.db.with_tx(|tx| graduate(tx, &st, &it.content_id))?)
                .map(|(wid, name)| json!({"graduated": true, "world_id": wid, "world_name": name}))
        } else if it.content_type == ContentType::Aspect {
            st.db
                .with_tx(|tx| graduate_aspect_if_ready(tx, &it.content_id))?
        } else {
            None
        }
    } else {
        st.db.with_tx(|tx| {
            let it = resolve_checks(tx, &key, &item, &note, &ts)?;
            if it.content_type == ContentType::Proposal && can_graduate(tx, &it.content_id)? {
                let (wid, name) = graduate(tx, &st, &it.content_id)?;
                Ok(Some(
                    json!({"graduated": true, "world_id": wid, "world_name": name}),
                ))
            } else if it.content_type == ContentType::Aspect {
                graduate_aspect_if_ready(tx, &it.content_id)
            } else {
                Ok(None)
            }
        })?
    };
    ok(
        json!({"item_id": item, "status": "resolved", "resolved_at": ts, "message": "Item resolved.", "graduation": graduation}),
    )
}

pub(super) async fn reopen(State(st): St, key: ApiKey, ItemId(item): ItemId) -> ApiResult {
    st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let it = load_item(tx, &item)?;
        if it.reviewer_id != agent.id && !st.bug(Bug::ReopenAnyAgent) {
            return Err(agent_error(
                403,
                "Only the original reviewer can reopen this item",
                "Ask the reviewer who raised it.",
                json!({}),
            ));
        }
        // an item is open again whatever it was (resolved, addressed, open); graduation is final,
        // so an approved proposal's reopened item stays open without un-approving it
        let status = if st.bug(Bug::ReopenUnblocksGraduation) {
            "disputed"
        } else {
            "open"
        };
        ex(
            tx,
            "UPDATE review_items SET status = ?2, resolved_at = NULL, resolution_note = NULL WHERE id = ?1",
            params![it.id, status],
        )?;
        if it.content_type == ContentType::Aspect && st.bug(Bug::AspectReopenUnapproves) {
            // planted: the reopen takes the aspect's approval back
            ex(
                tx,
                "UPDATE aspects SET status = 'validating', approved_at = NULL WHERE id = ?1 AND status = 'approved'",
                [&it.content_id],
            )?;
        }
        Ok(())
    })?;
    ok(json!({"item_id": item, "status": "open", "message": "Item reopened."}))
}
