//! Each planted bug of the reference platform is live when switched on and absent when off, shown
//! with a direct call or a two-request race released together.

mod common;
use common::on_and_off;

use api_client::fixtures::{self, agent};
use api_client::{Client, Method};
use reference_platform::Bug;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_race() {
    on_and_off(Bug::ClaimRace, |c, _| async move {
        let (a, _) = agent(&c, "a").await.unwrap();
        let (b, _) = agent(&c, "b").await.unwrap();
        let (x, _) = agent(&c, "x").await.unwrap();
        let (y, _) = agent(&c, "y").await.unwrap();
        let (_, w) = fixtures::graduated_world(&a, &b, &x, "Claim race")
            .await
            .unwrap();
        a.create_region(&w, &fixtures::region("Kelp Ward"))
            .await
            .unwrap();
        let d = a
            .create_dweller(&w, &fixtures::dweller("Sari", "Kelp Ward"))
            .await
            .unwrap()
            .id;
        let (r1, r2) = tokio::join!(x.claim_dweller(&d), y.claim_dweller(&d));
        let winners = [r1.is_ok(), r2.is_ok()].iter().filter(|ok| **ok).count();
        assert!(winners >= 1);
        winners == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graduation_race() {
    on_and_off(Bug::GraduationRace, |c, _| async move {
        let (a, _) = agent(&c, "a").await.unwrap();
        let (b, _) = agent(&c, "b").await.unwrap();
        let (x, _) = agent(&c, "x").await.unwrap();
        let (p, [i1, i2]) = fixtures::reviewed_proposal(&a, &b, &x, "Graduation race")
            .await
            .unwrap();
        let (r1, r2) = tokio::join!(b.resolve_item(&i1, None), x.resolve_item(&i2, None));
        r1.unwrap();
        r2.unwrap();
        let worlds = c.worlds_by_proposal(&p).await.unwrap();
        assert!(
            !worlds.is_empty(),
            "the proposal must graduate once both items are resolved"
        );
        worlds.len() > 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upvote_lost_update() {
    on_and_off(Bug::UpvoteLostUpdate, |c, _| async move {
        let (a, _) = agent(&c, "a").await.unwrap();
        let (b, _) = agent(&c, "b").await.unwrap();
        let (x, _) = agent(&c, "x").await.unwrap();
        let f = a
            .create_feedback(&fixtures::feedback("Lost upvotes"))
            .await
            .unwrap()
            .id;
        let (r1, r2) = tokio::join!(b.upvote_feedback(&f), x.upvote_feedback(&f));
        r1.unwrap();
        r2.unwrap();
        let fb = c.get_feedback(&f).await.unwrap();
        assert_eq!(fb.upvoters.as_ref().unwrap().len(), 2);
        fb.upvote_count != 2
    })
    .await;
}

#[tokio::test]
async fn double_upvote() {
    on_and_off(Bug::DoubleUpvote, |c, _| async move {
        let (a, _) = agent(&c, "a").await.unwrap();
        let (b, _) = agent(&c, "b").await.unwrap();
        let f = a
            .create_feedback(&fixtures::feedback("Double upvote"))
            .await
            .unwrap()
            .id;
        b.upvote_feedback(&f).await.unwrap();
        match b.upvote_feedback(&f).await {
            Ok(_) => true,
            Err(e) => {
                assert_eq!(e.status(), Some(400), "{e}");
                false
            }
        }
    })
    .await;
}

#[tokio::test]
async fn self_upvote() {
    on_and_off(Bug::SelfUpvote, |c, _| async move {
        let (a, _) = agent(&c, "a").await.unwrap();
        let f = a
            .create_feedback(&fixtures::feedback("Self upvote"))
            .await
            .unwrap()
            .id;
        match a.upvote_feedback(&f).await {
            Ok(_) => true,
            Err(e) => {
                assert_eq!(e.status(), Some(400));
                false
            }
        }
    })
    .await;
}

#[tokio::test]
async fn self_review() {
    on_and_off(Bug::SelfReview, |c, _| async move {
        let (a, _) = agent(&c, "a").await.unwrap();
        let p = a
            .create_proposal(&fixtures::proposal("Self review"))
            .await
            .unwrap()
            .id;
        a.submit_proposal(&p).await.unwrap();
        match a
            .post_review(
                "proposal",
                &p,
                &[fixtures::review_item("My own proposal is perfect.")],
            )
            .await
        {
            Ok(_) => true,
            Err(e) => {
                assert_eq!(e.status(), Some(403));
                false
            }
        }
    })
    .await;
}

#[tokio::test]
async fn feedback_status_backwards() {
    on_and_off(Bug::FeedbackStatusBackwards, |c, admin| async move {
        let (a, _) = agent(&c, "a").await.unwrap();
        let admin = c.with_api_key(&admin);
        let f = a
            .create_feedback(&fixtures::feedback("Terminal state"))
            .await
            .unwrap()
            .id;
        admin
            .set_feedback_status(&f, "resolved", Some("fixed in 1.2"))
            .await
            .unwrap();
        match admin.set_feedback_status(&f, "acknowledged", None).await {
            Ok(fb) => fb.status == "acknowledged",
            Err(e) => {
                assert_eq!(e.status(), Some(400));
                false
            }
        }
    })
    .await;
}

#[tokio::test]
async fn long_text_500() {
    on_and_off(Bug::LongText500, |c, _| async move {
        let (a, _) = agent(&c, "a").await.unwrap();
        let title = "t".repeat(150); // the API allows 255
        match a.create_feedback(&fixtures::feedback(&title)).await {
            Ok(fb) => {
                assert_eq!(fb.title.len(), 150);
                false
            }
            Err(e) => e.status() == Some(500),
        }
    })
    .await;
}

#[tokio::test]
async fn world_backlink_null() {
    on_and_off(Bug::WorldBacklinkNull, |c, _| async move {
        let (a, _) = agent(&c, "a").await.unwrap();
        let (b, _) = agent(&c, "b").await.unwrap();
        let (x, _) = agent(&c, "x").await.unwrap();
        let (p, w) = fixtures::graduated_world(&a, &b, &x, "Backlink")
            .await
            .unwrap();
        let proposal = c.get_proposal(&p).await.unwrap();
        assert_eq!(proposal.status, "approved");
        assert_eq!(
            c.get_world(&w).await.unwrap().proposal_id.as_deref(),
            Some(p.as_str())
        );
        proposal.resulting_world_id.as_deref() != Some(w.as_str())
    })
    .await;
}

/// A draft proposal of a fresh agent: (its client, the proposal id).
async fn draft(c: &Client, name: &str) -> (Client, String) {
    let (a, _) = agent(c, name).await.unwrap();
    let p = a
        .create_proposal(&fixtures::proposal(name))
        .await
        .unwrap()
        .id;
    (a, p)
}

#[tokio::test]
async fn respond_any_agent() {
    on_and_off(Bug::RespondAnyAgent, |c, _| async move {
        let (a, p) = draft(&c, "owner").await;
        a.submit_proposal(&p).await.unwrap();
        let (b, _) = agent(&c, "reviewer").await.unwrap();
        let (x, _) = agent(&c, "bystander").await.unwrap();
        let review = b
            .post_review(
                "proposal",
                &p,
                &[fixtures::review_item("The causal chain skips a step.")],
            )
            .await
            .unwrap();
        let path = format!(
            "/api/review/feedback-item/{}/respond",
            review.feedback_items[0].id
        );
        let body = json!({"response_text": "Not mine to answer, but here goes."});
        let mut accepted = 0;
        for who in [&b, &x] {
            let r = who
                .send_raw(Method::POST, &path, Some(&body))
                .await
                .unwrap();
            if r.status == 200 {
                accepted += 1;
            } else {
                assert_eq!(r.status, 403);
            }
        }
        // the proposer itself is always allowed
        let r = a.send_raw(Method::POST, &path, Some(&body)).await.unwrap();
        assert_eq!(r.status, 200);
        accepted == 2
    })
    .await;
}

#[tokio::test]
async fn revise_skips_validation() {
    on_and_off(Bug::ReviseSkipsValidation, |c, _| async move {
        let (a, p) = draft(&c, "reviser").await;
        let path = format!("/api/proposals/{p}/revise");
        let mut accepted = 0;
        // each value is one that create rejects with 422
        for body in [
            json!({"name": ""}),
            json!({"name": "n".repeat(51)}),
            json!({"premise": "too short"}),
        ] {
            let r = a.send_raw(Method::POST, &path, Some(&body)).await.unwrap();
            if r.status == 200 {
                accepted += 1;
            } else {
                assert_eq!(r.status, 422);
            }
        }
        assert!(accepted == 0 || accepted == 3, "{accepted}");
        accepted == 3
    })
    .await;
}

#[tokio::test]
async fn negative_limit_500() {
    on_and_off(Bug::NegativeLimit500, |c, _| async move {
        let mut five_hundreds = 0;
        for path in ["/api/agents?limit=-1", "/api/feedback/changelog?limit=-1"] {
            let r = c.send_raw(Method::GET, path, None).await.unwrap();
            if r.status == 500 {
                five_hundreds += 1;
            } else {
                assert_eq!(r.status, 422, "{path}: {}", r.text);
            }
        }
        // in bounds, both lists answer either way
        for path in [
            "/api/agents?limit=5&offset=0",
            "/api/feedback/changelog?limit=5",
        ] {
            let r = c.send_raw(Method::GET, path, None).await.unwrap();
            assert_eq!(r.status, 200, "{path}: {}", r.text);
        }
        assert!(five_hundreds == 0 || five_hundreds == 2, "{five_hundreds}");
        five_hundreds == 2
    })
    .await;
}

#[tokio::test]
async fn hostile_paging_500() {
    on_and_off(Bug::HostilePaging500, |c, _| async move {
        let r = c
            .send_raw(Method::GET, "/api/worlds?offset=-1", None)
            .await
            .unwrap();
        if r.status != 500 {
            assert_eq!(r.status, 422);
        }
        // the other hostile values stay 422 either way
        for q in ["offset=100000000000000000000", "limit=abc", "limit=0"] {
            let r = c
                .send_raw(Method::GET, &format!("/api/worlds?{q}"), None)
                .await
                .unwrap();
            assert_eq!(r.status, 422, "{q}");
        }
        r.status == 500
    })
    .await;
}

#[tokio::test]
async fn nul_byte_500() {
    on_and_off(Bug::NulByte500, |c, _| async move {
        let (a, p) = draft(&c, "nul").await;
        let path = format!("/api/proposals/{p}/revise");
        let body = json!({"name": "Nul \u{0} name"});
        let r = a.send_raw(Method::POST, &path, Some(&body)).await.unwrap();
        if r.status != 500 {
            assert_eq!(r.status, 200);
        }
        r.status == 500
    })
    .await;
}

/// A feedback item reopened by `who`: the status it answered with.
async fn reopen(who: &Client, item: &str) -> u16 {
    let path = format!("/api/review/feedback-item/{item}/reopen");
    who.send_raw(Method::POST, &path, Some(&json!({})))
        .await
        .unwrap()
        .status
}

#[tokio::test]
async fn reopen_any_agent() {
    on_and_off(Bug::ReopenAnyAgent, |c, _| async move {
        let (a, _) = agent(&c, "owner").await.unwrap();
        let (b, _) = agent(&c, "reviewer").await.unwrap();
        let (x, _) = agent(&c, "other-reviewer").await.unwrap();
        let (_, [i1, _]) = fixtures::reviewed_proposal(&a, &b, &x, "Reopen rights")
            .await
            .unwrap();
        // the proposer and the other reviewer try to reopen b's item
        let mut accepted = 0;
        for who in [&a, &x] {
            match reopen(who, &i1).await {
                200 => accepted += 1,
                s => assert_eq!(s, 403),
            }
        }
        // the item's own reviewer is always allowed
        assert_eq!(reopen(&b, &i1).await, 200);
        accepted == 2
    })
    .await;
}

#[tokio::test]
async fn reopen_unblocks_graduation() {
    on_and_off(Bug::ReopenUnblocksGraduation, |c, _| async move {
        let (a, _) = agent(&c, "owner").await.unwrap();
        let (b, _) = agent(&c, "reviewer").await.unwrap();
        let (x, _) = agent(&c, "other-reviewer").await.unwrap();
        let (_, [i1, i2]) = fixtures::reviewed_proposal(&a, &b, &x, "Reopened gate")
            .await
            .unwrap();
        b.resolve_item(&i1, None).await.unwrap();
        assert_eq!(reopen(&b, &i1).await, 200);
        // i1 is open again: resolving the other item must not graduate the proposal
        let last = x.resolve_item(&i2, None).await.unwrap();
        last.graduation.is_some()
    })
    .await;
}

#[tokio::test]
async fn lone_surrogate_500() {
    on_and_off(Bug::LoneSurrogate500, |c, _| async move {
        let (a, p) = draft(&c, "surrogate").await;
        let path = format!("/api/proposals/{p}/revise");
        // a lone high surrogate escape: no Unicode string holds it, so the text goes out as written
        let r = a
            .send_raw_json_text(Method::POST, &path, r#"{"name": "Lone \ud800 name"}"#)
            .await
            .unwrap();
        if r.status != 500 {
            assert_eq!(r.status, 422, "{}", r.text);
        }
        r.status == 500
    })
    .await;
}

#[test]
fn every_bug_has_a_test_here() {
    // every test file of this crate counts: each area keeps its bugs' tests beside its rules
    // (world_content.rs, concurrency_world.rs, suggestions.rs, memory.rs, actions.rs, …)
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut src = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            src.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    for b in Bug::all() {
        let needle = format!("Bug::{:?}", b);
        // `on_and_off(Bug::X, …)`, or a setup that starts the platform with that bug alone
        // (`platform(&[Bug::X])`, `setup(&[Bug::X])`, `reaction_race(&[Bug::X])`, …)
        assert!(
            src.contains(&format!("on_and_off({needle},"))
                || src.contains(&format!("(&[{needle}])")),
            "no on/off test for {}",
            b.name()
        );
    }
}
