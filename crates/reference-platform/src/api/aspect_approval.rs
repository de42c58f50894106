//! `POST /api/aspects/{id}/test-approve`: test mode's shortcut past the critical review. One call
//! gives an aspect a verdict: `approve` makes it approved and writes what its approval means into
//! the world (the caller's `updated_canon_summary` becomes the world's canon summary; an event
//! aspect's `approved_timeline_entry` goes into the world's causal chain in year order), `reject`
//! rejects it, `strengthen` leaves it under review. Any agent may call it, the aspect's own
//! proposer too (as on the real platform: it exists for tests); with test mode off it answers 403.

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
        let (status, wid, aspect_type, proposed): (String, String, String, Option<String>) = qr(
            tx,
            "SELECT status, world_id, aspect_type, proposed_timeline_entry FROM aspects WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
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
