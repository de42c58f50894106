//! `POST /api/aspects/{id}/test-approve`: test mode's shortcut past the critical review. One call
//! gives an aspect a verdict: `approve` makes it approved and writes what its approval means into
//! the world (the caller's `updated_canon_summary` becomes the world's canon summary; an event
//! aspect's `approved_timeline_entry` goes into the world's causal chain in year order, a region
//! aspect's `content` becomes a region of the world under region create's rules), `reject`
//! rejects it, `strengthen` leaves it under review. Any agent may call it, the aspect's own
//! proposer too (as on the real platform: it exists for tests); with test mode off it answers 403.

use super::dwellers::{NewRegion, REGION_NAME_MAX, insert_region, region_names};
use super::worlds::{chain_years, load_world};
use crate::auth::ApiKey;
use crate::bug::Bug;
use crate::db::{ex, now, qr};
use crate::error::{ApiResult, agent_error, not_found, plain};
use crate::http::{AspectId, JsonBody, St, ok};
use crate::validate::Body;
use axum::extract::State;
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

/// The shortest canon summary an approval takes (characters).
const MIN_CANON_SUMMARY: usize = 50;

/// `chain` with `entry` inserted before the first step of a later year (at the end when none is
/// later), so the chain stays in year order.
fn insert_by_year(chain: &Value, entry: &Value) -> Value {
    let year = |v: &Value| v.get("year").and_then(Value::as_i64).unwrap_or(0);
    let mut steps = chain.as_array().cloned().unwrap_or_default();
    let at = steps
        .iter()
        .position(|s| year(s) > year(entry))
        .unwrap_or(steps.len());
    steps.insert(at, entry.clone());
    Value::Array(steps)
}

/// `content[key]` when it is a string, else empty (the region fields create requires, taken from a
/// free-form content).
fn text_of(content: &Value, key: &str) -> String {
    content
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// A region aspect's approval adds the region its `content` describes to world `wid`, held to
/// region create's rules: a string `name` of 1 to 100 characters that no region of the world has
/// in any letter case (400 otherwise, and the whole approval is rolled back). The other fields
/// come from the content where it has them, else empty. An empty content adds nothing, as on the
/// real platform (`aspect.content` falsy). The real approval appends the content as it is
/// (aspects.py:972-976), so a duplicate or nameless region gets in there; `unchecked` (the planted
/// bug) does the same here.
fn add_content_region(
    tx: &rusqlite::Connection,
    wid: &str,
    content: &Value,
    unchecked: bool,
) -> Result<(), crate::error::ApiError> {
    if content.as_object().is_none_or(|c| c.is_empty()) {
        return Ok(());
    }
    let name = content.get("name").and_then(Value::as_str);
    if !unchecked {
        let Some(name) = name.filter(|n| (1..=REGION_NAME_MAX).contains(&n.chars().count())) else {
            return Err(agent_error(
                400,
                "A region aspect's content needs a region name",
                &format!(
                    "Revise the aspect so its content has a \"name\" of 1 to {REGION_NAME_MAX} characters."
                ),
                json!({"name": content.get("name")}),
            ));
        };
        let existing = region_names(tx, wid)?;
        if existing.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(agent_error(
                400,
                &format!("Region '{name}' already exists"),
                "Revise the aspect's content to name a region the world does not have.",
                json!({"existing_regions": existing}),
            ));
        }
    }
    let origins: Vec<&str> = content
        .get("population_origins")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let region = NewRegion {
        name: name.unwrap_or("").to_string(),
        location: text_of(content, "location"),
        origins: json!(origins),
        blend: text_of(content, "cultural_blend"),
        naming: text_of(content, "naming_conventions"),
        language: text_of(content, "language"),
    };
    insert_region(tx, wid, &region)
}

pub(super) async fn test_approve(
    State(st): St,
    key: ApiKey,
    AspectId(id): AspectId,
    JsonBody(v): JsonBody,
) -> ApiResult {
    let mut b = Body::new(&v)?;
    let verdict = b
        .one_of("verdict", &["strengthen", "approve", "reject"], false)
        .unwrap_or_else(|| "approve".into());
    let summary = b.str("updated_canon_summary", 0, None, false);
    let entry = b.raw("approved_timeline_entry").cloned();
    if entry.as_ref().is_some_and(|e| !e.is_object()) {
        b.push(
            "approved_timeline_entry",
            "Input should be a valid dictionary".into(),
            "dict_type",
            entry.clone().unwrap_or_default(),
        );
    }
    b.finish()?;
    let out = st.db.with_tx(|tx| {
        key.agent(tx)?;
        st.require_test_mode()?;
        let (status, wid, aspect_type, proposed, content): (String, String, String, Option<String>, String) = qr(
            tx,
            "SELECT status, world_id, aspect_type, proposed_timeline_entry, content FROM aspects WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?
        .ok_or_else(|| not_found("Aspect"))?;
        if status != "validating" {
            return Err(plain(
                400,
                format!("Aspect must be in 'validating' status (currently: {status})"),
            ));
        }
        let event = aspect_type == "event";
        let mut out = json!({"aspect_id": id, "aspect_status": status, "verdict": verdict});
        match verdict.as_str() {
            "approve" => {
                let Some(summary) = summary
                    .as_ref()
                    .filter(|s| s.chars().count() >= MIN_CANON_SUMMARY)
                else {
                    return Err(agent_error(
                        400,
                        "Approve verdict requires updated_canon_summary (min 50 chars)",
                        "Write the new canon summary incorporating this aspect.",
                        json!({}),
                    ));
                };
                if event && proposed.is_some() && entry.is_none() {
                    return Err(agent_error(
                        400,
                        "Approving event aspect requires approved_timeline_entry",
                        "Include approved_timeline_entry with {year, event, reasoning}.",
                        json!({}),
                    ));
                }
                // the entry that goes into the chain holds what create holds a proposed one to: an
                // integer year inside the world's timeline, an event and its reasoning (the real
                // platform takes any object here, and a text year fails its year-ordered insert)
                if let Some(e) = entry.as_ref().filter(|_| event) {
                    let w = load_world(tx, &wid)?.ok_or_else(|| plain(404, "World not found"))?;
                    let first = chain_years(&w.chain).first().copied().unwrap_or(2026);
                    let year = e.get("year").and_then(Value::as_i64);
                    let texts = ["event", "reasoning"]
                        .iter()
                        .all(|k| e.get(*k).and_then(Value::as_str).is_some_and(|t| !t.is_empty()));
                    if !texts || year.is_none_or(|y| y < first || y > w.year_setting) {
                        return Err(agent_error(
                            400,
                            "Invalid approved_timeline_entry",
                            &format!(
                                "Send {{year, event, reasoning}} with an integer year from {first} to {}.",
                                w.year_setting
                            ),
                            json!({"approved_timeline_entry": e}),
                        ));
                    }
                }
                if aspect_type == "region" {
                    let content = serde_json::from_str(&content).unwrap_or(Value::Null);
                    // planted: the content goes in as it is, as the real approval appends it
                    let unchecked = st.bug(Bug::RegionAspectSkipsRegionRules);
                    add_content_region(tx, &wid, &content, unchecked)?;
                }
                let ts = now();
                ex(
                    tx,
                    "UPDATE aspects SET status = 'approved', approved_at = ?2, updated_at = ?2 WHERE id = ?1",
                    params![id, ts],
                )?;
                out["aspect_status"] = json!("approved");
                let timeline = event && entry.is_some();
                // planted: the approval answers as if it had written the world, and writes nothing
                if !st.bug(Bug::TestApproveSkipsCanon) {
                    ex(
                        tx,
                        "INSERT INTO world_canon (world_id, canon_summary, updated_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT(world_id) DO UPDATE SET canon_summary = excluded.canon_summary, updated_at = excluded.updated_at",
                        params![wid, summary, ts],
                    )?;
                    if let Some(e) = entry.as_ref().filter(|_| timeline) {
                        let chain: String =
                            qr(tx, "SELECT causal_chain FROM worlds WHERE id = ?1", [&wid], |r| {
                                r.get(0)
                            })?;
                        let chain = serde_json::from_str(&chain).unwrap_or(Value::Null);
                        ex(
                            tx,
                            "UPDATE worlds SET causal_chain = ?2 WHERE id = ?1",
                            params![wid, insert_by_year(&chain, e).to_string()],
                        )?;
                    }
                }
                out["world_updated"] = json!({"canon_summary_updated": true, "timeline_updated": timeline});
                if timeline {
                    out["world_updated"]["new_timeline_entry"] = entry.clone().unwrap_or_default();
                }
            }
            "reject" => {
                ex(
                    tx,
                    "UPDATE aspects SET status = 'rejected', updated_at = ?2 WHERE id = ?1",
                    params![id, now()],
                )?;
                out["aspect_status"] = json!("rejected");
            }
            _ => {} // strengthen: it stays under review
        }
        Ok(out)
    })?;
    ok(out)
}

#[cfg(test)]
mod tests {
    use super::insert_by_year;
    use serde_json::json;

    #[test]
    fn an_entry_goes_before_the_first_later_year() {
        let chain = json!([{"year": 2031}, {"year": 2060}, {"year": 2060}, {"year": 2090}]);
        let got = insert_by_year(&chain, &json!({"year": 2060, "event": "new"}));
        let years: Vec<_> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["year"].clone())
            .collect();
        assert_eq!(years, [2031, 2060, 2060, 2060, 2090]);
        assert_eq!(got[3]["event"], "new");
        let last = insert_by_year(&chain, &json!({"year": 2100}));
        assert_eq!(last[4]["year"], 2100);
        let first = insert_by_year(&json!([]), &json!({"year": 2040}));
        assert_eq!(first, json!([{"year": 2040}]));
    }
}
