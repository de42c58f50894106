//! Dweller proposals on the reference platform, over real HTTP on loopback: create, submit, revise
//! and read, the cap of five active ones, their critical review (content type `dweller_proposal`)
//! that never turns them into a dweller, and the two planted dweller-proposal bugs, each live when
//! switched on and absent when off.

mod common;
use common::{on_and_off, platform, post};

use api_client::fixtures::{self, agent};
use api_client::{Client, Method};
use reference_platform::Bug;
use serde_json::{Value, json};

/// A world (graduated from `a`'s proposal, reviewed by `b` and `x`) with one region: its id.
async fn world_with_region(a: &Client, b: &Client, x: &Client) -> String {
    let (_, wid) = fixtures::graduated_world(a, b, x, "Kelp terraces")
        .await
        .unwrap();
    let r = post(
        a,
        &format!("/api/dwellers/worlds/{wid}/regions"),
        serde_json::to_value(fixtures::region("Outer Ring")).unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    wid
}

fn body(name: &str) -> Value {
    json!({
        "name": name, "origin_region": "outer ring", "generation": "Second-gen",
        "name_context": "Named for the berth her mother was born on, as the ring does.",
        "cultural_identity": "Raft-born, speaks the tidal creole at home.",
        "role": "ballast technician", "age": 31,
        "personality": "Patient and literal-minded; trusts instruments over people and says so.",
        "background": "Grew up repairing ballast valves in the storm decade; trains apprentices now.",
    })
}

/// `by` proposes a dweller named `name` in world `wid`: the answer's status and body.
async fn propose(by: &Client, wid: &str, name: &str) -> (u16, Value) {
    let r = post(
        by,
        &format!("/api/dweller-proposals/worlds/{wid}"),
        body(name),
    )
    .await;
    (r.status, r.body)
}

async fn read(c: &Client, id: &str) -> Value {
    let r = c
        .send_raw(Method::GET, &format!("/api/dweller-proposals/{id}"), None)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["proposal"].clone()
}

#[tokio::test]
async fn the_rules_of_dweller_proposals() {
    let (p, c) = platform(&[]).await;
    let (a, _) = agent(&c, "proposer").await.unwrap();
    let (b, _) = agent(&c, "b").await.unwrap();
    let (x, _) = agent(&c, "x").await.unwrap();
    let wid = world_with_region(&a, &b, &x).await;
    // create refuses what its bounds and its blocklist refuse, and an unknown region
    let path = format!("/api/dweller-proposals/worlds/{wid}");
    for (field, value, status) in [
        ("name", json!(""), 422),
        ("name", json!("n".repeat(101)), 422),
        ("role", json!(""), 422),
        ("name", json!("Kira Chen"), 400),
        ("origin_region", json!("Nowhere"), 400),
    ] {
        let mut v = body("Tovel Marrask");
        v[field] = value;
        assert_eq!(post(&b, &path, v).await.status, status, "{field}");
    }
    let (s, created) = propose(&b, &wid, "Tovel Marrask").await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["status"], "draft");
    assert_eq!(created["origin_region"], "Outer Ring");
    let id = created["id"].as_str().unwrap().to_string();
    // only the owner submits (once) and revises
    let submit = format!("/api/dweller-proposals/{id}/submit");
    let revise = format!("/api/dweller-proposals/{id}/revise");
    assert_eq!(post(&x, &submit, json!({})).await.status, 403);
    assert_eq!(post(&b, &submit, json!({})).await.status, 200);
    assert_eq!(post(&b, &submit, json!({})).await.status, 400);
    assert_eq!(
        post(&x, &revise, json!({"role": "net mender"}))
            .await
            .status,
        403
    );
    let r = post(&b, &revise, json!({"role": "net mender", "age": 40})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision_count"], 1);
    // revise refuses what create refuses
    for v in [
        json!({"name": ""}),
        json!({"role": ""}),
        json!({"name": "n".repeat(101)}),
    ] {
        assert_eq!(post(&b, &revise, v).await.status, 422);
    }
    assert_eq!(
        post(&b, &revise, json!({"name": "Kira Chen"})).await.status,
        400
    );
    let got = read(&c, &id).await;
    assert_eq!(
        (&got["status"], &got["role"], &got["age"], &got["name"]),
        (
            &json!("validating"),
            &json!("net mender"),
            &json!(40),
            &json!("Tovel Marrask")
        )
    );
    // the critical review: not by the owner; respond by the owner; resolve needs no revision
    let fb = format!("/api/review/dweller_proposal/{id}/feedback");
    let review = json!({"feedback_items": [{"category": "other", "severity": "minor",
        "description": "The name context could say more about the berth."}]});
    assert_eq!(post(&b, &fb, review.clone()).await.status, 403);
    let mut items = Vec::new();
    for r in [&a, &x] {
        let res = post(r, &fb, review.clone()).await;
        assert_eq!(res.status, 200, "{}", res.text);
        items.push(
            res.body["feedback_items"][0]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let item = |i: usize, verb: &str| format!("/api/review/feedback-item/{}/{verb}", items[i]);
    assert_eq!(
        post(
            &b,
            &item(0, "respond"),
            json!({"response_text": "Added the berth's story."})
        )
        .await
        .status,
        200
    );
    assert_eq!(post(&b, &item(0, "resolve"), json!({})).await.status, 403);
    assert_eq!(post(&a, &item(0, "resolve"), json!({})).await.status, 200);
    assert_eq!(post(&x, &item(1, "resolve"), json!({})).await.status, 200);
    // fully reviewed: it can graduate, yet nothing turns it into a dweller
    let status = c
        .send_raw(
            Method::GET,
            &format!("/api/review/dweller_proposal/{id}/status"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status.body["can_graduate"], true, "{}", status.text);
    let got = read(&c, &id).await;
    assert_eq!(got["status"], "validating");
    assert_eq!(got["resulting_dweller_id"], Value::Null);
    assert_eq!(post(&x, &item(1, "reopen"), json!({})).await.status, 200);
    // the list: by world, with a malformed cursor refused (422), an unknown one ignored
    let list = |q: String| {
        let c = c.clone();
        async move {
            c.send_raw(Method::GET, &format!("/api/dweller-proposals?{q}"), None)
                .await
                .unwrap()
        }
    };
    let r = list(format!("world_id={wid}")).await;
    assert_eq!(r.body["items"][0]["id"], json!(id));
    assert_eq!(list("cursor=not-a-cursor".into()).await.status, 422);
    assert_eq!(
        list("cursor=00000000-0000-4000-8000-000000000000".into())
            .await
            .status,
        200
    );
    // five active ones at most (this one is the first)
    for k in 0..4 {
        assert_eq!(
            propose(&b, &wid, &format!("Tovel Marrask {k}")).await.0,
            200
        );
    }
    assert_eq!(propose(&b, &wid, "Tovel Marrask 5").await.0, 429);
    p.shutdown().await;
}

#[tokio::test]
async fn dweller_proposal_revise_skips_validation() {
    on_and_off(Bug::DwellerProposalReviseSkipsValidation, |c, _| {
        revise_accepts(c)
    })
    .await;
}

/// Whether the owner's revise stores the values create refuses (all three or none).
async fn revise_accepts(c: Client) -> bool {
    let (a, _) = agent(&c, "proposer").await.unwrap();
    let (b, _) = agent(&c, "b").await.unwrap();
    let (x, _) = agent(&c, "x").await.unwrap();
    let wid = world_with_region(&a, &b, &x).await;
    let (_, created) = propose(&b, &wid, "Tovel Marrask").await;
    let revise = format!(
        "/api/dweller-proposals/{}/revise",
        created["id"].as_str().unwrap()
    );
    let mut accepted = 0;
    for v in [
        json!({"name": ""}),
        json!({"role": ""}),
        json!({"name": "Kira Chen"}),
    ] {
        match post(&b, &revise, v.clone()).await.status {
            200 => accepted += 1,
            s => assert!(s == 422 || s == 400, "{v}: {s}"),
        }
    }
    assert!(accepted == 0 || accepted == 3, "{accepted}");
    accepted == 3
}

#[tokio::test]
async fn dweller_proposal_self_review() {
    on_and_off(Bug::DwellerProposalSelfReview, |c, _| async move {
        let (a, _) = agent(&c, "proposer").await.unwrap();
        let (b, _) = agent(&c, "b").await.unwrap();
        let (x, _) = agent(&c, "x").await.unwrap();
        let wid = world_with_region(&a, &b, &x).await;
        let (_, created) = propose(&b, &wid, "Tovel Marrask").await;
        let id = created["id"].as_str().unwrap();
        let r = post(
            &b,
            &format!("/api/review/dweller_proposal/{id}/feedback"),
            json!({"feedback_items": [{"category": "other", "severity": "minor",
                "description": "My own proposal is perfect as it stands."}]}),
        )
        .await;
        match r.status {
            200 => true,
            s => {
                assert_eq!(s, 403, "{}", r.text);
                false
            }
        }
    })
    .await;
}
