//! Revision suggestions on the reference platform, over real HTTP on loopback: the rules of the
//! routes (who may suggest, accept, reject, upvote, withdraw; accept keeps revise's rules), and the
//! two planted suggestion bugs, each live when switched on and absent when off.

mod common;
use common::{on_and_off, platform, post};

use api_client::fixtures::{self, agent};
use api_client::{Client, Method};
use reference_platform::Bug;
use serde_json::{Value, json};

/// A draft proposal of `owner`: its id.
async fn draft(owner: &Client, name: &str) -> String {
    owner
        .create_proposal(&fixtures::proposal(name))
        .await
        .unwrap()
        .id
}

/// `by` suggests `value` for `field` of proposal `p`: the suggestion's id (the answer must be 200).
async fn suggest(by: &Client, p: &str, field: &str, value: Value) -> String {
    let r = post(
        by,
        &format!("/api/suggestions/proposals/{p}/suggest-revision"),
        json!({"field": field, "suggested_value": value, "rationale": "It reads truer to the causal chain."}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["suggestion"]["id"].as_str().unwrap().to_string()
}

async fn accept(who: &Client, s: &str) -> u16 {
    post(
        who,
        &format!("/api/suggestions/{s}/accept"),
        json!({"reason": "It tightens the premise."}),
    )
    .await
    .status
}

#[tokio::test]
async fn the_rules_of_suggestions() {
    let (p, c) = platform(&[]).await;
    let (a, _) = agent(&c, "owner").await.unwrap();
    let (b, _) = agent(&c, "suggester").await.unwrap();
    let (x, _) = agent(&c, "bystander").await.unwrap();
    let pid = draft(&a, "Tidal rafts").await;
    // the owner cannot suggest, nor anyone a field outside the five
    let path = format!("/api/suggestions/proposals/{pid}/suggest-revision");
    let body = |field: &str| json!({"field": field, "suggested_value": "x", "rationale": "It reads truer to the causal chain."});
    assert_eq!(post(&a, &path, body("premise")).await.status, 400);
    assert_eq!(post(&b, &path, body("status")).await.status, 400);
    let name = "Tidal rafts, renamed";
    let s = suggest(&b, &pid, "name", json!(name)).await;
    // upvotes: not by the suggester, once per agent
    let up = format!("/api/suggestions/{s}/upvote");
    assert_eq!(post(&b, &up, json!({})).await.status, 400);
    assert_eq!(post(&x, &up, json!({})).await.status, 200);
    assert_eq!(post(&x, &up, json!({})).await.status, 400);
    // only the owner accepts or rejects, only the suggester withdraws
    assert_eq!(accept(&x, &s).await, 403);
    assert_eq!(accept(&b, &s).await, 403);
    let withdraw = format!("/api/suggestions/{s}/withdraw");
    assert_eq!(post(&a, &withdraw, json!({})).await.status, 403);
    assert_eq!(accept(&a, &s).await, 200);
    let got = a.get_proposal(&pid).await.unwrap();
    assert_eq!(got.name, name);
    // settled: nothing more happens to it
    assert_eq!(accept(&a, &s).await, 400);
    assert_eq!(post(&b, &withdraw, json!({})).await.status, 400);
    assert_eq!(post(&x, &up, json!({})).await.status, 400);
    let read = c
        .send_raw(Method::GET, &format!("/api/suggestions/{s}"), None)
        .await
        .unwrap();
    assert_eq!(read.body["suggestion"]["status"], "accepted");
    assert_eq!(read.body["suggestion"]["upvotes_count"], 1);
    // a value create rejects is refused as revise refuses it, and nothing changes
    let bad = suggest(&b, &pid, "year_setting", json!(99999)).await;
    assert_eq!(accept(&a, &bad).await, 422);
    let s2 = suggest(&b, &pid, "premise", json!("x".repeat(60))).await;
    assert_eq!(
        post(
            &x,
            &format!("/api/suggestions/{s2}/reject"),
            json!({"reason": "Not mine to reject."})
        )
        .await
        .status,
        403
    );
    assert_eq!(
        post(&b, &format!("/api/suggestions/{s2}/withdraw"), json!({}))
            .await
            .status,
        200
    );
    let list = c
        .send_raw(
            Method::GET,
            &format!("/api/suggestions/proposals/{pid}/suggestions"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(list.body["total"], 3);
    assert_eq!(list.body["pending_count"], 1);
    let got = a.get_proposal(&pid).await.unwrap();
    assert_eq!(got.name, name);
    p.shutdown().await;
}

#[tokio::test]
async fn suggestion_accept_skips_validation() {
    on_and_off(Bug::SuggestionAcceptSkipsValidation, |c, _| async move {
        let (a, _) = agent(&c, "owner").await.unwrap();
        let (b, _) = agent(&c, "suggester").await.unwrap();
        let pid = draft(&a, "Kelp ledger").await;
        // each value is one create (and revise) rejects with 422
        let mut accepted = 0;
        for (field, value) in [
            ("name", json!("")),
            ("name", json!("n".repeat(51))),
            ("premise", json!("too short")),
            ("causal_chain", json!([])),
        ] {
            let s = suggest(&b, &pid, field, value).await;
            match accept(&a, &s).await {
                200 => accepted += 1,
                status => assert_eq!(status, 422, "{field}"),
            }
        }
        assert!(accepted == 0 || accepted == 4, "{accepted}");
        accepted == 4
    })
    .await;
}

#[tokio::test]
async fn suggestion_accept_on_an_approved_proposal() {
    on_and_off(Bug::SuggestionAcceptSkipsValidation, |c, _| async move {
        let (a, _) = agent(&c, "owner").await.unwrap();
        let (b, _) = agent(&c, "b").await.unwrap();
        let (x, _) = agent(&c, "x").await.unwrap();
        let (pid, _) = fixtures::graduated_world(&a, &b, &x, "Approved rafts")
            .await
            .unwrap();
        let s = suggest(&b, &pid, "premise", json!("p".repeat(80))).await;
        match accept(&a, &s).await {
            200 => true,
            status => {
                assert_eq!(status, 400);
                false
            }
        }
    })
    .await;
}

#[tokio::test]
async fn suggestion_upvote_twice() {
    on_and_off(Bug::SuggestionUpvoteTwice, |c, _| async move {
        let (a, _) = agent(&c, "owner").await.unwrap();
        let (b, _) = agent(&c, "suggester").await.unwrap();
        let (x, _) = agent(&c, "voter").await.unwrap();
        let pid = draft(&a, "Brine choir").await;
        let s = suggest(&b, &pid, "premise", json!("q".repeat(70))).await;
        let up = format!("/api/suggestions/{s}/upvote");
        assert_eq!(post(&x, &up, json!({})).await.status, 200);
        match post(&x, &up, json!({})).await.status {
            200 => true,
            status => {
                assert_eq!(status, 400);
                false
            }
        }
    })
    .await;
}
