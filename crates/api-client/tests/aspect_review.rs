//! An aspect's critical review after its first round (reopen, add-feedback, the review status)
//! and test mode's approval (`POST /api/aspects/{id}/test-approve`) on the reference platform,
//! over real HTTP on loopback: who may call each and what it answers, what an approval writes into
//! the world (a region aspect's region under region create's rules), and the three planted bugs
//! of these routes, each live when switched on and absent when off.

mod common;
use common::post;

use api_client::fixtures::{self, agent};
use api_client::{Client, ClientConfig, Method};
use reference_platform::{Bug, PlatformOptions, RunningPlatform};
use serde_json::{Value, json};

/// The platform (with `bugs`, test mode as given), four agents and a graduated world.
async fn setup_with(
    bugs: &[Bug],
    test_mode: bool,
) -> (RunningPlatform, Client, Vec<Client>, String) {
    let p = reference_platform::start(PlatformOptions {
        bugs: bugs.to_vec(),
        test_mode,
        ..Default::default()
    })
    .await
    .unwrap();
    let c = Client::new(ClientConfig::new(&p.base_url)).unwrap();
    let mut ag = Vec::new();
    for n in ["ada", "bo", "cy", "di"] {
        ag.push(agent(&c, n).await.unwrap().0);
    }
    let (_, w) = fixtures::graduated_world(&ag[0], &ag[1], &ag[2], "Rafts")
        .await
        .unwrap();
    (p, c, ag, w)
}

async fn setup(bugs: &[Bug]) -> (RunningPlatform, Client, Vec<Client>, String) {
    setup_with(bugs, true).await
}

/// A validating aspect of `owner` in `w` (an event aspect with its proposed entry when `event`).
async fn validating(owner: &Client, w: &str, event: bool) -> String {
    let mut a = fixtures::aspect("Storm mesh");
    if event {
        a.aspect_type = "event".into();
        a.proposed_timeline_entry = Some(api_client::CausalStep {
            year: 2060,
            event: "The storm mesh goes live".into(),
            reasoning: "Storms.".into(),
        });
    }
    let id = owner.create_aspect(w, &a).await.unwrap().id;
    owner.submit_aspect(&id).await.unwrap();
    id
}

/// `by` test-approves aspect `a` with a summary of `len` characters (and `entry`): the answer.
async fn approve(by: &Client, a: &str, len: usize, entry: Option<Value>) -> (u16, Value) {
    let mut body = json!({"verdict": "approve", "updated_canon_summary": "c".repeat(len)});
    if let Some(e) = entry {
        body["approved_timeline_entry"] = e;
    }
    let r = post(by, &format!("/api/aspects/{a}/test-approve"), body).await;
    (r.status, r.body)
}

async fn get(c: &Client, path: &str) -> Value {
    let r = c.send_raw(Method::GET, path, None).await.unwrap();
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.body
}

async fn aspect_status(c: &Client, a: &str) -> String {
    get(c, &format!("/api/aspects/{a}")).await["aspect"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The event entries of world `w`'s causal chain that say `event`.
async fn timeline_entries(c: &Client, w: &str, event: &str) -> usize {
    get(c, &format!("/api/aspects/worlds/{w}/canon")).await["causal_chain"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["event"] == event)
        .count()
}

#[tokio::test]
async fn test_approve_approves_a_validating_aspect_into_the_canon_and_the_timeline() {
    let (p, c, ag, w) = setup(&[]).await;
    let health = get(&c, "/api/platform/health").await;
    assert_eq!(health["configuration"]["test_mode_enabled"], true);
    let nil = "00000000-0000-0000-0000-000000000000";
    assert_eq!(approve(&ag[1], nil, 60, None).await.0, 404);
    // a draft is refused; so is a summary under 50 characters, and an event aspect without its entry
    let draft = ag[0]
        .create_aspect(&w, &fixtures::aspect("Draft mesh"))
        .await
        .unwrap()
        .id;
    assert_eq!(approve(&ag[1], &draft, 60, None).await.0, 400);
    let ev = validating(&ag[0], &w, true).await;
    assert_eq!(approve(&ag[1], &ev, 49, None).await.0, 400);
    let entry =
        json!({"year": 2060, "event": "The storm mesh goes live", "reasoning": "As proposed."});
    assert_eq!(approve(&ag[1], &ev, 60, None).await.0, 400);
    // the entry holds what create holds a proposed one to: an integer year in the world's timeline
    for year in [json!("abc"), json!(1999)] {
        let bad =
            json!({"year": year, "event": "The storm mesh goes live", "reasoning": "As proposed."});
        assert_eq!(approve(&ag[1], &ev, 60, Some(bad)).await.0, 400);
    }
    assert_eq!(aspect_status(&c, &ev).await, "validating");
    // the approval: approved, listed in the canon, the summary is the world's, the entry in its chain
    let (s, body) = approve(&ag[1], &ev, 50, Some(entry.clone())).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["aspect_status"], "approved");
    assert_eq!(body["world_updated"]["timeline_updated"], true);
    assert_eq!(aspect_status(&c, &ev).await, "approved");
    let canon = get(&c, &format!("/api/aspects/worlds/{w}/canon")).await;
    assert_eq!(canon["canon_summary"], "c".repeat(50));
    assert!(
        canon["approved_aspects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == ev)
    );
    assert_eq!(
        timeline_entries(&c, &w, "The storm mesh goes live").await,
        1
    );
    // approved is final here: a second approval is refused and adds no second entry
    assert_eq!(approve(&ag[2], &ev, 60, Some(entry.clone())).await.0, 400);
    assert_eq!(
        timeline_entries(&c, &w, "The storm mesh goes live").await,
        1
    );
    // any agent may approve, the proposer too; a non-event aspect's entry stays out of the timeline
    let tech = validating(&ag[0], &w, false).await;
    let other = json!({"year": 2061, "event": "Not an event", "reasoning": "A technology."});
    let (s, body) = approve(&ag[0], &tech, 60, Some(other)).await;
    assert_eq!(
        (s, &body["world_updated"]["timeline_updated"]),
        (200, &json!(false))
    );
    assert_eq!(timeline_entries(&c, &w, "Not an event").await, 0);
    p.shutdown().await;
}

#[tokio::test]
async fn test_approve_is_refused_with_test_mode_off() {
    let (p, c, ag, w) = setup_with(&[], false).await;
    let health = get(&c, "/api/platform/health").await;
    assert_eq!(health["configuration"]["test_mode_enabled"], false);
    let a = validating(&ag[0], &w, false).await;
    assert_eq!(approve(&ag[1], &a, 60, None).await.0, 403);
    assert_eq!(aspect_status(&c, &a).await, "validating");
    p.shutdown().await;
}

#[tokio::test]
async fn an_aspects_items_are_reopened_by_their_reviewer_and_added_to_by_reviewers_only() {
    let (p, c, ag, w) = setup(&[]).await;
    let a = validating(&ag[0], &w, false).await;
    let review = |n: usize| json!({"feedback_items": (0..n).map(|_| json!({"category": "other", "description": "The mesh needs a power budget.", "severity": "minor"})).collect::<Vec<_>>()});
    let r = post(
        &ag[1],
        &format!("/api/review/aspect/{a}/feedback"),
        review(1),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let item = r.body["feedback_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let verb = |v: &str| format!("/api/review/feedback-item/{item}/{v}");
    assert_eq!(post(&ag[1], &verb("resolve"), json!({})).await.status, 200);
    // reopen: only its reviewer (403 for the proposer and a bystander)
    assert_eq!(post(&ag[0], &verb("reopen"), json!({})).await.status, 403);
    assert_eq!(post(&ag[3], &verb("reopen"), json!({})).await.status, 403);
    assert_eq!(post(&ag[1], &verb("reopen"), json!({})).await.status, 200);
    // add-feedback: only on one's own review (404 for the proposer), at most 10 items (422)
    let add = format!("/api/review/aspect/{a}/add-feedback");
    assert_eq!(post(&ag[0], &add, review(1)).await.status, 404);
    assert_eq!(post(&ag[1], &add, review(11)).await.status, 422);
    assert_eq!(post(&ag[1], &add, review(2)).await.status, 200);
    let st = get(&c, &format!("/api/review/aspect/{a}/status")).await;
    assert_eq!(st["reviewer_count"], 1);
    assert_eq!(st["feedback_items"]["by_status"]["open"], 3);
    assert_eq!(st["feedback_items"]["total"], 3);
    assert_eq!(st["can_graduate"], false);
    p.shutdown().await;
}

/// An aspect approved through its review (two reviewers, every item resolved), then one of its
/// items reopened by its reviewer: whether the aspect is still approved.
async fn stays_approved_after_a_reopen(bugs: &[Bug]) -> bool {
    let (p, c, ag, w) = setup(bugs).await;
    let a = validating(&ag[0], &w, false).await;
    let mut items = Vec::new();
    for r in [1, 2] {
        let body = json!({"feedback_items": [{"category": "other", "description": "The mesh needs a power budget.", "severity": "minor"}]});
        let res = post(&ag[r], &format!("/api/review/aspect/{a}/feedback"), body).await;
        items.push((
            r,
            res.body["feedback_items"][0]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        ));
    }
    for (r, it) in &items {
        let path = format!("/api/review/feedback-item/{it}/resolve");
        assert_eq!(post(&ag[*r], &path, json!({})).await.status, 200);
    }
    assert_eq!(aspect_status(&c, &a).await, "approved");
    let (r, it) = &items[0];
    let path = format!("/api/review/feedback-item/{it}/reopen");
    assert_eq!(post(&ag[*r], &path, json!({})).await.status, 200);
    let approved = aspect_status(&c, &a).await == "approved";
    p.shutdown().await;
    approved
}

#[tokio::test]
async fn aspect_reopen_unapproves() {
    assert!(stays_approved_after_a_reopen(&[]).await);
    assert!(!stays_approved_after_a_reopen(&[Bug::AspectReopenUnapproves]).await);
}

/// A test-approve of an event aspect: whether the world then has its summary and its entry.
async fn approval_written(bugs: &[Bug]) -> bool {
    let (p, c, ag, w) = setup(bugs).await;
    let a = validating(&ag[0], &w, true).await;
    let entry =
        json!({"year": 2060, "event": "The storm mesh goes live", "reasoning": "As proposed."});
    let (s, body) = approve(&ag[1], &a, 60, Some(entry)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["world_updated"]["canon_summary_updated"], true);
    let canon = get(&c, &format!("/api/aspects/worlds/{w}/canon")).await;
    let written = canon["canon_summary"] == "c".repeat(60)
        && timeline_entries(&c, &w, "The storm mesh goes live").await == 1;
    p.shutdown().await;
    written
}

#[tokio::test]
async fn test_approve_skips_canon() {
    assert!(approval_written(&[]).await);
    assert!(!approval_written(&[Bug::TestApproveSkipsCanon]).await);
}

/// A validating region aspect of `owner` in `w` whose content is `content`.
async fn validating_region(owner: &Client, w: &str, content: Value) -> String {
    let mut a = fixtures::aspect("Leeward shelf");
    a.aspect_type = "region".into();
    a.content = content;
    let id = owner.create_aspect(w, &a).await.unwrap().id;
    owner.submit_aspect(&id).await.unwrap();
    id
}

/// In a world with region "Kelp Shelf", region aspects whose content names a new region, the
/// existing one in capitals, and none are test-approved: each approval's status and the aspect's
/// status after it, and the region names the world then lists.
async fn region_approvals(bugs: &[Bug]) -> (Vec<(u16, String)>, Vec<String>) {
    let (p, c, ag, w) = setup(bugs).await;
    ag[1]
        .create_region(&w, &fixtures::region("Kelp Shelf"))
        .await
        .unwrap();
    let mut outcomes = Vec::new();
    for content in [
        json!({"name": "Ballast Row", "location": "The leeward shelf", "naming_conventions": "Berth names."}),
        json!({"name": "KELP SHELF", "location": "The same shelf"}),
        json!({"location": "Somewhere without a name"}),
    ] {
        let a = validating_region(&ag[0], &w, content).await;
        let (s, _) = approve(&ag[1], &a, 60, None).await;
        outcomes.push((s, aspect_status(&c, &a).await));
    }
    let list = get(&c, &format!("/api/dwellers/worlds/{w}/regions")).await;
    let names = list["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap_or("").to_string())
        .collect();
    p.shutdown().await;
    (outcomes, names)
}

#[tokio::test]
async fn region_aspect_skips_region_rules() {
    let approved = (200, "approved".to_string());
    let refused = (400, "validating".to_string());
    let (outcomes, names) = region_approvals(&[]).await;
    assert_eq!(outcomes, [approved.clone(), refused.clone(), refused]);
    assert_eq!(names, ["Kelp Shelf", "Ballast Row"]);
    let (outcomes, names) = region_approvals(&[Bug::RegionAspectSkipsRegionRules]).await;
    assert_eq!(outcomes, [approved.clone(), approved.clone(), approved]);
    assert_eq!(names, ["Kelp Shelf", "Ballast Row", "KELP SHELF", ""]);
}
