//! Aspects, stories and world events against the reference platform over real HTTP: the contract
//! (paths, fields, status codes), the rules (self-review, once-only decisions, the acclaim
//! conditions, the 428 on unanswered reviews), bad input, and each sequential planted bug of this
//! area live when switched on and absent when off.

mod common;
use common::{on_and_off, platform};

use api_client::fixtures::{self, agent};
use api_client::vocab::ContentType;
use api_client::{Client, Method};
use reference_platform::Bug;
use serde_json::json;

/// Four agents (A proposes the world; B and C review it; D is a bystander) and a world.
async fn world(c: &Client) -> (Vec<Client>, Vec<String>, String) {
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for n in ["ada", "bo", "cy", "di"] {
        let (cl, id) = agent(c, n).await.unwrap();
        clients.push(cl);
        ids.push(id);
    }
    let (_, w) = fixtures::graduated_world(&clients[0], &clients[1], &clients[2], "Rafts")
        .await
        .unwrap();
    (clients, ids, w)
}

fn status(e: api_client::ApiError) -> Option<u16> {
    e.status()
}

#[tokio::test]
async fn an_aspect_graduates_into_the_canon_through_two_reviews() {
    let (p, c) = platform(&[]).await;
    let (ag, ids, w) = world(&c).await;
    let a = ag[0]
        .create_aspect(&w, &fixtures::aspect("Storm mesh"))
        .await
        .unwrap();
    assert_eq!(
        (a.status.as_str(), a.world_id.as_str()),
        ("draft", w.as_str())
    );
    assert_eq!(
        status(ag[1].submit_aspect(&a.id).await.unwrap_err()),
        Some(403)
    );
    assert_eq!(
        ag[0].submit_aspect(&a.id).await.unwrap().status,
        "validating"
    );
    assert_eq!(
        status(ag[0].submit_aspect(&a.id).await.unwrap_err()),
        Some(400)
    );
    // the proposer cannot review it; a reviewer reviews once
    let item = |d: &str| [fixtures::review_item(d)];
    let own = ag[0]
        .post_review("aspect", &a.id, &item("My own aspect is great"))
        .await;
    assert_eq!(status(own.unwrap_err()), Some(403));
    let i1 = ag[1]
        .post_review(
            ContentType::Aspect,
            &a.id,
            &item("Who pays for the radios?"),
        )
        .await
        .unwrap();
    let again = ag[1]
        .post_review("aspect", &a.id, &item("And the batteries?"))
        .await;
    assert_eq!(status(again.unwrap_err()), Some(400));
    let i2 = ag[2]
        .post_review("aspect", &a.id, &item("Radios fail in salt air."))
        .await
        .unwrap();
    // only the reviewer resolves; aspects need no revision first; the last resolve graduates
    let first = &i1.feedback_items[0].id;
    assert_eq!(
        status(ag[2].resolve_item(first, None).await.unwrap_err()),
        Some(403)
    );
    assert!(
        ag[1]
            .resolve_item(first, None)
            .await
            .unwrap()
            .graduation
            .is_none()
    );
    assert_eq!(c.get_aspect(&a.id).await.unwrap().status, "validating");
    assert!(c.world_canon(&w).await.unwrap().approved_aspects.is_empty());
    let last = ag[2]
        .resolve_item(&i2.feedback_items[0].id, None)
        .await
        .unwrap();
    assert_eq!(last.graduation.unwrap().world_id, w);
    let got = c.get_aspect(&a.id).await.unwrap();
    assert_eq!(got.status, "approved");
    assert_eq!(got.agent_id.as_deref(), Some(ids[0].as_str()));
    let canon = c.world_canon(&w).await.unwrap();
    assert_eq!(canon.approved_aspects.len(), 1);
    assert_eq!(canon.approved_aspects[0].id, a.id);
    // approved is final: no revision, no resubmission
    let rev = ag[0]
        .revise_aspect(&a.id, &json!({"title": "Storm mesh v2"}))
        .await;
    assert_eq!(status(rev.unwrap_err()), Some(400));
    assert_eq!(c.list_aspects(&w, Some("approved")).await.unwrap().total, 1);
    p.shutdown().await;
}

#[tokio::test]
async fn aspect_input_errors() {
    let (p, c) = platform(&[]).await;
    let (ag, _, w) = world(&c).await;
    let mut a = fixtures::aspect("ok title");
    a.content = json!({});
    assert_eq!(
        status(ag[0].create_aspect(&w, &a).await.unwrap_err()),
        Some(400)
    );
    a.content = json!({"x": 1});
    a.title = "ab".into();
    let e = ag[0].create_aspect(&w, &a).await.unwrap_err();
    assert_eq!(status(e), Some(422));
    a.title = "Event without entry".into();
    a.aspect_type = "event".into();
    assert_eq!(
        status(ag[0].create_aspect(&w, &a).await.unwrap_err()),
        Some(400)
    );
    let missing = "00000000-0000-4000-8000-000000000000";
    let r = ag[0]
        .create_aspect(missing, &fixtures::aspect("No world"))
        .await;
    assert_eq!(status(r.unwrap_err()), Some(404));
    let raw = c
        .send_raw(Method::GET, "/api/aspects/not-a-uuid", None)
        .await
        .unwrap();
    assert_eq!(raw.status, 422);
    let raw = c
        .send_raw(Method::GET, &format!("/api/aspects/{missing}"), None)
        .await
        .unwrap();
    assert_eq!(
        (raw.status, raw.body["detail"].as_str()),
        (404, Some("Aspect not found"))
    );
    p.shutdown().await;
}

#[tokio::test]
async fn a_story_is_acclaimed_exactly_when_its_conditions_hold() {
    let (p, c) = platform(&[]).await;
    let (ag, ids, w) = world(&c).await;
    let (s, [r1, r2]) = fixtures::reviewed_story(&ag[0], &ag[1], &ag[2], &w, "Valves")
        .await
        .unwrap();
    // the author cannot review it; a reviewer reviews once
    assert_eq!(
        status(
            ag[0]
                .review_story(&s, &fixtures::story_review(true))
                .await
                .unwrap_err()
        ),
        Some(403)
    );
    assert_eq!(
        status(
            ag[1]
                .review_story(&s, &fixtures::story_review(true))
                .await
                .unwrap_err()
        ),
        Some(409)
    );
    // unanswered reviews block the author's next story (428)
    let blocked = ag[0].create_story(&fixtures::story(&w, "Next")).await;
    assert_eq!(status(blocked.unwrap_err()), Some(428));
    // only the author answers, once
    let text = "Thanks, I tightened the valve scene.";
    assert_eq!(
        status(ag[3].respond_story_review(&s, &r1, text).await.unwrap_err()),
        Some(403)
    );
    let a1 = ag[0].respond_story_review(&s, &r1, text).await.unwrap();
    assert_eq!(a1.story_stats.status, "published");
    assert_eq!(
        status(ag[0].respond_story_review(&s, &r1, text).await.unwrap_err()),
        Some(409)
    );
    // both answered, two acclaim reviews, but no revision yet: not acclaimed
    let a2 = ag[0].respond_story_review(&s, &r2, text).await.unwrap();
    assert_eq!(
        (a2.story_stats.status.as_str(), a2.new_status),
        ("published", None)
    );
    let d = c.get_story(&s).await.unwrap();
    assert!(!d.acclaim_eligibility.unwrap().eligible);
    // an unchanged revision is not a revision
    let content = fixtures::story(&w, "x").content;
    let same = ag[0]
        .revise_story(&s, &json!({"content": content}))
        .await
        .unwrap();
    assert!(same.changes.is_empty());
    assert_eq!(c.get_story(&s).await.unwrap().story.status, "published");
    assert_eq!(
        status(
            ag[1]
                .revise_story(&s, &json!({"title": "Mine now"}))
                .await
                .unwrap_err()
        ),
        Some(403)
    );
    assert_eq!(
        status(ag[0].revise_story(&s, &json!({})).await.unwrap_err()),
        Some(400)
    );
    // a real revision completes the conditions
    let rev = ag[0]
        .revise_story(&s, &json!({"title": "Valves, revised"}))
        .await
        .unwrap();
    assert_eq!(
        (rev.changes, rev.new_status.as_deref()),
        (vec!["title".to_string()], Some("acclaimed"))
    );
    let d = c.get_story(&s).await.unwrap().story;
    assert_eq!(
        (
            d.status.as_str(),
            d.review_count,
            d.acclaim_count,
            d.revision_count
        ),
        ("acclaimed", Some(2), Some(2), Some(1))
    );
    assert_eq!(d.author_id.as_deref(), Some(ids[0].as_str()));
    // one-way: a later non-acclaim review leaves it acclaimed, and acclaimed stories do not block
    ag[3]
        .review_story(&s, &fixtures::story_review(false))
        .await
        .unwrap();
    assert_eq!(c.get_story(&s).await.unwrap().story.status, "acclaimed");
    ag[0]
        .create_story(&fixtures::story(&w, "Next"))
        .await
        .unwrap();
    // anonymous read-back sees every review; a non-author who has not reviewed sees the blind view
    let all = c.story_reviews(&s).await.unwrap();
    assert_eq!(all.reviews.len(), 3);
    assert!(all.reviews.iter().all(|r| r.reviewer_id != ids[0]));
    let (e, _) = agent(&c, "eve").await.unwrap();
    let blind = e.story_reviews(&s).await.unwrap();
    assert!(blind.reviews.is_empty() && blind.blind_review_notice.is_some());
    assert_eq!(
        c.list_stories(Some(&w), Some(&ids[0])).await.unwrap().count,
        2
    );
    p.shutdown().await;
}

#[tokio::test]
async fn story_input_errors() {
    let (p, c) = platform(&[]).await;
    let (ag, _, w) = world(&c).await;
    let missing = "00000000-0000-4000-8000-000000000000";
    let r = ag[0]
        .create_story(&fixtures::story(missing, "Nowhere"))
        .await;
    assert_eq!(status(r.unwrap_err()), Some(404));
    let mut s = fixtures::story(&w, "Dweller view");
    s.perspective = "first_person_dweller".into();
    assert_eq!(status(ag[0].create_story(&s).await.unwrap_err()), Some(422));
    s.perspective_dweller_id = Some(missing.into());
    assert_eq!(status(ag[0].create_story(&s).await.unwrap_err()), Some(404));
    let mut long = fixtures::story(&w, &"t".repeat(201));
    assert_eq!(
        status(ag[0].create_story(&long).await.unwrap_err()),
        Some(422)
    );
    long.title = "t".repeat(200);
    ag[0].create_story(&long).await.unwrap();
    let raw = c
        .send_raw(Method::POST, "/api/stories", Some(&json!("not an object")))
        .await
        .unwrap();
    assert_eq!(raw.status, 401, "auth comes first: {}", raw.text);
    let raw = ag[0]
        .send_raw(Method::POST, "/api/stories", Some(&json!("not an object")))
        .await
        .unwrap();
    assert_eq!(raw.status, 422);
    // nothing was left behind by the failed creates
    assert_eq!(c.list_stories(None, None).await.unwrap().count, 1);
    p.shutdown().await;
}

#[tokio::test]
async fn a_world_event_is_decided_once_and_never_by_its_proposer() {
    let (p, c) = platform(&[]).await;
    let (ag, ids, w) = world(&c).await;
    for bad in [2030, 2101] {
        let r = ag[3]
            .propose_event(&w, &fixtures::world_event("Too early or late", bad))
            .await;
        assert_eq!(status(r.unwrap_err()), Some(400), "year {bad}");
    }
    let e = ag[3]
        .propose_event(&w, &fixtures::world_event("The drill", 2060))
        .await
        .unwrap();
    assert_eq!(e.status, "pending");
    let canon =
        "The federations drill together every storm season; ballast is shared across districts.";
    assert_eq!(
        status(ag[3].approve_event(&e.id, canon).await.unwrap_err()),
        Some(400)
    );
    assert_eq!(
        status(
            ag[3]
                .reject_event(&e.id, "I changed my mind on this")
                .await
                .unwrap_err()
        ),
        Some(400)
    );
    assert_eq!(
        ag[1].approve_event(&e.id, canon).await.unwrap().status,
        "approved"
    );
    assert_eq!(
        status(ag[2].approve_event(&e.id, canon).await.unwrap_err()),
        Some(400)
    );
    assert_eq!(
        status(
            ag[2]
                .reject_event(&e.id, "Too late to reject it now")
                .await
                .unwrap_err()
        ),
        Some(400)
    );
    let got = c.get_event(&e.id).await.unwrap();
    assert_eq!(got.status, "approved");
    assert_eq!(got.approved_by.unwrap().id, ids[1]);
    assert_eq!(got.proposed_by.unwrap().id, ids[3]);
    assert_eq!(got.decisions.unwrap().len(), 1);
    // the approval rewrote the world's canon summary
    assert_eq!(
        c.world_canon(&w).await.unwrap().canon_summary.as_deref(),
        Some(canon)
    );
    let r = ag[3]
        .propose_event(&w, &fixtures::world_event("A second drill", 2070))
        .await
        .unwrap();
    ag[0]
        .reject_event(&r.id, "It contradicts the 2070 federation")
        .await
        .unwrap();
    let got = c.get_event(&r.id).await.unwrap();
    assert_eq!(
        (got.status.as_str(), got.rejected_by.unwrap().id),
        ("rejected", ids[0].clone())
    );
    assert_eq!(c.list_events(&w, Some("pending")).await.unwrap().total, 0);
    assert_eq!(c.list_events(&w, None).await.unwrap().total, 2);
    let raw = c
        .send_raw(
            Method::GET,
            &format!("/api/events/worlds/{w}/events?status=open"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(raw.status, 400);
    p.shutdown().await;
}

// ---------- the sequential planted bugs of this area, on and off ----------

#[tokio::test]
async fn story_self_review() {
    on_and_off(Bug::StorySelfReview, |c, _| async move {
        let (ag, _, w) = world(&c).await;
        let s = ag[0]
            .create_story(&fixtures::story(&w, "Mine"))
            .await
            .unwrap()
            .id;
        ag[0]
            .review_story(&s, &fixtures::story_review(true))
            .await
            .is_ok()
    })
    .await;
}

/// Only the critical-review route skips the author check; the story route still refuses.
#[tokio::test]
async fn review_route_self_review() {
    on_and_off(Bug::ReviewRouteSelfReview, |c, _| async move {
        let (ag, _, w) = world(&c).await;
        let s = ag[0]
            .create_story(&fixtures::story(&w, "Mine too"))
            .await
            .unwrap()
            .id;
        let story_route = ag[0].review_story(&s, &fixtures::story_review(true)).await;
        assert_eq!(story_route.unwrap_err().status(), Some(403));
        ag[0]
            .post_review(
                ContentType::Story,
                &s,
                &[fixtures::review_item("My own story is flawless.")],
            )
            .await
            .is_ok()
    })
    .await;
}

#[tokio::test]
async fn acclaim_without_revision() {
    on_and_off(Bug::AcclaimWithoutRevision, |c, _| async move {
        let (ag, _, w) = world(&c).await;
        let (s, [r1, r2]) = fixtures::reviewed_story(&ag[0], &ag[1], &ag[2], &w, "Early")
            .await
            .unwrap();
        let text = "Answered: the valves now hiss.";
        ag[0].respond_story_review(&s, &r1, text).await.unwrap();
        ag[0].respond_story_review(&s, &r2, text).await.unwrap();
        c.get_story(&s).await.unwrap().story.status == "acclaimed"
    })
    .await;
}

#[tokio::test]
async fn event_double_decision() {
    on_and_off(Bug::EventDoubleDecision, |c, _| async move {
        let (ag, _, w) = world(&c).await;
        let e = ag[3]
            .propose_event(&w, &fixtures::world_event("Twice", 2060))
            .await
            .unwrap()
            .id;
        ag[1]
            .approve_event(
                &e,
                "The drill happened and the canon records it for all districts now.",
            )
            .await
            .unwrap();
        ag[2]
            .reject_event(&e, "Rejecting it after approval")
            .await
            .is_ok()
    })
    .await;
}

#[tokio::test]
async fn event_self_approval() {
    on_and_off(Bug::EventSelfApproval, |c, _| async move {
        let (ag, _, w) = world(&c).await;
        let e = ag[3]
            .propose_event(&w, &fixtures::world_event("Mine alone", 2060))
            .await
            .unwrap()
            .id;
        ag[3]
            .approve_event(
                &e,
                "I approve my own event and rewrite the canon summary with it today.",
            )
            .await
            .is_ok()
    })
    .await;
}

#[tokio::test]
async fn aspect_status_backwards() {
    on_and_off(Bug::AspectStatusBackwards, |c, _| async move {
        let (ag, _, w) = world(&c).await;
        let a = ag[0]
            .create_aspect(&w, &fixtures::aspect("Mesh"))
            .await
            .unwrap()
            .id;
        ag[0].submit_aspect(&a).await.unwrap();
        for r in [&ag[1], &ag[2]] {
            let items = r
                .post_review(
                    "aspect",
                    &a,
                    &[fixtures::review_item("Radios fail in salt air.")],
                )
                .await
                .unwrap();
            r.resolve_item(&items.feedback_items[0].id, None)
                .await
                .unwrap();
        }
        assert_eq!(c.get_aspect(&a).await.unwrap().status, "approved");
        let _ = ag[0]
            .revise_aspect(&a, &json!({"title": "Mesh again"}))
            .await;
        c.get_aspect(&a).await.unwrap().status != "approved"
    })
    .await;
}

#[tokio::test]
async fn story_orphan_world() {
    on_and_off(Bug::StoryOrphanWorld, |c, _| async move {
        let (a, _) = agent(&c, "ada").await.unwrap();
        let missing = "00000000-0000-4000-8000-000000000000";
        a.create_story(&fixtures::story(missing, "Nowhere"))
            .await
            .is_ok()
    })
    .await;
}
