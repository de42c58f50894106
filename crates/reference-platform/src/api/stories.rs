//! Stories: create, read, list, review (with blind mode), respond to a review, revise, and the
//! acclaim rule decided after each respond and each effective revise.

use super::worlds::load_world;
use crate::auth::{Agent, ApiKey};
use crate::bug::{Bug, race_window};
use crate::content::ContentType;
use crate::db::{ex, filter_term, new_id, now, qr, seq};
use crate::error::{ApiError, ApiResult, agent_error};
use crate::http::{Authed, JsonBody, Q, St, StoryId, StoryReviewPath, ok};
use crate::state::AppState;
use crate::validate::{Body, invalid, query_int, uuid};
use axum::extract::{Query, State};
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

const PERSPECTIVES: &[&str] = &[
    "first_person_agent",
    "first_person_dweller",
    "third_person_limited",
    "third_person_omniscient",
];

pub(super) fn story_not_found(id: &str) -> ApiError {
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

pub(super) async fn create(
    State(st): St,
    Authed(agent): Authed,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let world_raw = b.str("world_id", 0, None, true);
    let title = b.str("title", 1, Some(200), true);
    let content = b.str("content", 100, None, true);
    let summary = b.str("summary", 0, Some(500), false);
    let perspective = b.one_of("perspective", PERSPECTIVES, true);
    let dweller_raw = b.str("perspective_dweller_id", 0, None, false);
    let video_prompt = b.str("video_prompt", 50, Some(1000), true);
    b.str_list("source_event_ids");
    b.str_list("source_action_ids");
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
    let (world_name, dweller_name) = st.db.with_tx(|tx| {
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
    (SELECT COUNT(*) FROM story_reviews r WHERE r.story_id = s.id AND r.recommend_acclaim = 1), s.reaction_count, s.comment_count";

/// A story as the API shows it (typed: see [`crate::http::ok`] for why).
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
        reaction_count: r.get(18)?,
        comment_count: r.get(19)?,
    })
}

pub(super) async fn get(State(st): St, StoryId(id): StoryId) -> ApiResult {
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
    let v = st.db.with_tx(|tx| {
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

pub(super) async fn list(State(st): St, Query(q): Q) -> ApiResult {
    let limit = query_int(&q, "limit", 20, 1, 50)?;
    let offset = query_int(&q, "offset", 0, 0, i64::MAX)?;
    let status = q.get("status").cloned();
    if let Some(s) = &status
        && !["published", "acclaimed"].contains(&s.as_str())
    {
        return Err(invalid(
            "query -> status",
            "Input should be 'published' or 'acclaimed'",
            "enum",
            json!(s),
        ));
    }
    let mut ids = Vec::new();
    for key in ["world_id", "author_id"] {
        ids.push(match q.get(key) {
            None => None,
            Some(v) => Some(uuid(format!("query -> {key}"), v)?),
        });
    }
    let v = st.db.with_tx(|tx| {
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

pub(super) async fn review(
    State(st): St,
    key: ApiKey,
    StoryId(id): StoryId,
    JsonBody(v): JsonBody,
) -> ApiResult {
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
    let improvements = b.str_list("improvements");
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
    b.str_list("canon_issues");
    b.str_list("event_issues");
    b.str_list("style_issues");
    b.finish()?;
    let recommend = recommend.unwrap_or(false);
    let rid = new_id();
    let ts = now();
    let (total, acclaim, status) = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
        let snap = snapshot(tx, &id)?.ok_or_else(|| story_not_found(&id))?;
        let owner = ContentType::Story.guard_owner(&st, snap.author_id.clone());
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

pub(super) async fn reviews(State(st): St, key: ApiKey, StoryId(id): StoryId) -> ApiResult {
    let v = st.db.with_tx(|tx| {
        let viewer: Option<Agent> = key.maybe_agent(tx)?;
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
    key: &ApiKey,
    sid: &str,
    rid: &str,
) -> Result<StorySnapshot, ApiError> {
    let agent = key.agent(tx)?;
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

pub(super) async fn respond(
    State(st): St,
    key: ApiKey,
    StoryReviewPath {
        story: sid,
        review: rid,
    }: StoryReviewPath,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let text = b.str("response", 20, None, true).unwrap_or_default();
    b.finish()?;
    let ts = now();
    let (snap, transitioned) = if st.bug(Bug::AcclaimRace) {
        // Planted: acclaim is decided on the reviews as read before the yield, so two concurrent
        // final responses each still see the other's review unanswered.
        let mut snap = st.db.with_tx(|tx| respond_checks(tx, &key, &sid, &rid))?;
        race_window().await;
        for r in &mut snap.reviews {
            if r.0 == rid {
                r.2 = true;
            }
        }
        let changed = st.db.with_tx(|tx| {
            mark_responded(tx, &rid, &text, &ts)?;
            acclaim_if_eligible(tx, &st, &sid, &snap)
        })?;
        (snap, changed)
    } else {
        // story-respond-race: "not answered yet" is checked in a transaction of its own
        let split = st.bug(Bug::StoryRespondRace);
        if split {
            st.db.with_tx(|tx| respond_checks(tx, &key, &sid, &rid))?;
            race_window().await;
        }
        st.db.with_tx(|tx| {
            if !split {
                respond_checks(tx, &key, &sid, &rid)?;
            }
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

pub(super) async fn revise(
    State(st): St,
    key: ApiKey,
    StoryId(id): StoryId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let title = b.str("title", 0, Some(200), false);
    let content = b.str("content", 100, None, false);
    let summary = b.str("summary", 0, Some(500), false);
    b.finish()?;
    let ts = now();
    let out = st.db.with_tx(|tx| {
        let agent = key.agent(tx)?;
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
