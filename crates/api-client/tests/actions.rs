//! Dweller actions through `POST /api/actions` on the reference platform, over real HTTP on
//! loopback: the second act path is inhabitant-only; another agent (never the actor) confirms an
//! important action once; a confirmed action is escalated once, into one world event that names it;
//! only the actor nominates. Each planted bug of this area shows: `actions-route-any-agent`,
//! `confirm-own-action`, and the two check-then-write races `escalate-race` and `confirm-race`
//! (concurrent callers released together behind a barrier, each on its own client).

mod common;
use common::{agents, post};

use api_client::fixtures;
use api_client::{Client, ClientConfig, Method, RawResponse};
use reference_platform::{Bug, PlatformOptions, RunningPlatform};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::Barrier;

struct Setup {
    p: RunningPlatform,
    anon: Client,
    /// Each agent on a client (a connection pool) of its own; agent 0 inhabits `dweller`.
    ag: Vec<(Client, String)>,
    world: String,
    dweller: String,
}

async fn setup(bugs: &[Bug]) -> Setup {
    let p = reference_platform::start(PlatformOptions {
        bugs: bugs.to_vec(),
        ..Default::default()
    })
    .await
    .unwrap();
    let anon = Client::new(ClientConfig::new(&p.base_url)).unwrap();
    let ag = agents(&anon, 6, "act").await;
    let world = fixtures::graduated_world(&ag[0].0, &ag[1].0, &ag[2].0, "Actions")
        .await
        .unwrap()
        .1;
    ag[0]
        .0
        .create_region(&world, &fixtures::region("Region 0"))
        .await
        .unwrap();
    let dweller = ag[0]
        .0
        .create_dweller(&world, &fixtures::dweller("Dweller 0", "Region 0"))
        .await
        .unwrap()
        .id;
    ag[0].0.claim_dweller(&dweller).await.unwrap();
    Setup {
        p,
        anon,
        ag,
        world,
        dweller,
    }
}

/// `POST /api/actions` as `who` on the setup's dweller; the answer.
async fn act(s: &Setup, who: usize, importance: f64) -> RawResponse {
    let body = json!({"dweller_id": s.dweller, "action_type": "observe",
        "content": "She watches the ballast pumps cycle through the night.", "importance": importance});
    post(&s.ag[who].0, "/api/actions", body).await
}

/// An action by agent 0 (the inhabitant); its id.
async fn action(s: &Setup, importance: f64) -> String {
    let r = act(s, 0, importance).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["action"]["id"].as_str().unwrap().to_string()
}

async fn confirm(s: &Setup, who: usize, id: &str) -> u16 {
    let body = json!({"rationale": "This changes how the whole district trades."});
    post(
        &s.ag[who].0,
        &format!("/api/actions/{id}/confirm-importance"),
        body,
    )
    .await
    .status
}

fn escalation(year: i64) -> Value {
    json!({"title": "The pump strike", "year_in_world": year, "affected_regions": [],
        "description": "The night the pumps stopped, the district learned who kept it afloat."})
}

async fn escalate(s: &Setup, who: usize, id: &str, year: i64) -> RawResponse {
    post(
        &s.ag[who].0,
        &format!("/api/actions/{id}/escalate"),
        escalation(year),
    )
    .await
}

async fn nominate(s: &Setup, who: usize, id: &str) -> u16 {
    post(
        &s.ag[who].0,
        &format!("/api/actions/{id}/nominate"),
        json!({}),
    )
    .await
    .status
}

async fn get_action(s: &Setup, id: &str) -> Value {
    let r = s
        .anon
        .send_raw(Method::GET, &format!("/api/actions/{id}"), None)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["action"].clone()
}

/// The world's escalation events made from action `id` (their `origin_action`).
async fn events_of(s: &Setup, id: &str) -> usize {
    let list = s
        .anon
        .send_raw(
            Method::GET,
            &format!("/api/events/worlds/{}/events", s.world),
            None,
        )
        .await
        .unwrap();
    let mut n = 0;
    for e in list.body["events"].as_array().unwrap() {
        if e["origin_type"] != "escalation" {
            continue;
        }
        let eid = e["id"].as_str().unwrap();
        let got = s
            .anon
            .send_raw(Method::GET, &format!("/api/events/{eid}"), None)
            .await
            .unwrap();
        if got.body["event"]["origin_action"]["id"] == id {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_act_path_is_inhabitant_only() {
    let s = setup(&[]).await;
    assert_eq!(
        act(&s, 1, 0.5).await.status,
        403,
        "agent 1 does not inhabit it"
    );
    assert_eq!(
        act(&s, 0, 1.01).await.status,
        422,
        "importance is at most 1.0"
    );
    let id = action(&s, 0.5).await;
    let a = get_action(&s, &id).await;
    assert_eq!(a["actor"]["id"], s.ag[0].1);
    assert_eq!(a["escalation_eligible"], false);
    s.p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_route_any_agent_lets_a_non_inhabitant_act() {
    let s = setup(&[Bug::ActionsRouteAnyAgent]).await;
    assert_eq!(act(&s, 1, 0.5).await.status, 201);
    s.p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_is_confirmed_once_by_another_agent_then_escalated_once() {
    let s = setup(&[]).await;
    let low = action(&s, 0.79).await;
    assert_eq!(confirm(&s, 1, &low).await, 400, "below 0.8: not eligible");
    let id = action(&s, 0.8).await;
    assert_eq!(
        escalate(&s, 1, &id, 2060).await.status,
        400,
        "not confirmed yet"
    );
    assert_eq!(
        confirm(&s, 0, &id).await,
        400,
        "its actor cannot confirm it"
    );
    assert_eq!(confirm(&s, 1, &id).await, 200);
    assert_eq!(confirm(&s, 2, &id).await, 400, "confirmed once");
    assert_eq!(nominate(&s, 1, &id).await, 403, "only the actor nominates");
    assert_eq!(nominate(&s, 0, &id).await, 200);
    assert_eq!(
        escalate(&s, 2, &id, 2101).await.status,
        400,
        "past the world's range"
    );
    let r = escalate(&s, 2, &id, 2060).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        escalate(&s, 3, &id, 2060).await.status,
        400,
        "escalated once"
    );
    assert_eq!(
        nominate(&s, 0, &id).await,
        400,
        "escalated: no more nominations"
    );
    let a = get_action(&s, &id).await;
    assert_eq!(a["importance_confirmed"]["confirmed_by"]["id"], s.ag[1].1);
    assert_eq!(a["escalation_status"], "accepted");
    assert_eq!(a["nomination_count"], 1);
    assert_eq!(a["escalated_to_event"]["id"], r.body["event"]["id"]);
    assert_eq!(events_of(&s, &id).await, 1);
    s.p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_own_action_lets_the_actor_confirm() {
    let s = setup(&[Bug::ConfirmOwnAction]).await;
    let id = action(&s, 0.9).await;
    assert_eq!(confirm(&s, 0, &id).await, 200);
    s.p.shutdown().await;
}

/// Agents 1..=4 escalate (or confirm) one fresh high-importance action at once, `tries` times:
/// in how many tries more than one was told it succeeded (checked against the read-backs).
async fn raced(s: &Setup, escalating: bool, tries: usize) -> usize {
    let mut twice = 0;
    for _ in 0..tries {
        let id = action(s, 0.9).await;
        if escalating {
            assert_eq!(confirm(s, 5, &id).await, 200);
        }
        let barrier = Arc::new(Barrier::new(4));
        let handles: Vec<_> = (1..=4)
            .map(|k| {
                let (who, b, id) = (s.ag[k].0.clone(), barrier.clone(), id.clone());
                tokio::spawn(async move {
                    let (path, body) = if escalating {
                        (format!("/api/actions/{id}/escalate"), escalation(2060))
                    } else {
                        (
                            format!("/api/actions/{id}/confirm-importance"),
                            json!({"rationale": "Everyone on the berth will remember this."}),
                        )
                    };
                    b.wait().await;
                    post(&who, &path, body).await.status
                })
            })
            .collect();
        let mut won = 0;
        for h in handles {
            let status = h.await.unwrap();
            assert!(status == 200 || status == 400, "status {status}");
            won += usize::from(status == 200);
        }
        assert!(won >= 1, "one of the racers must succeed");
        if escalating {
            assert_eq!(events_of(s, &id).await, won, "every success made an event");
        }
        twice += usize::from(won > 1);
    }
    twice
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_escalations_and_confirmations_succeed_once() {
    let s = setup(&[]).await;
    assert_eq!(raced(&s, true, 4).await, 0);
    assert_eq!(raced(&s, false, 4).await, 0);
    s.p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalate_race_makes_two_events_for_one_action() {
    let s = setup(&[Bug::EscalateRace]).await;
    assert!(
        raced(&s, true, 4).await >= 1,
        "with escalate-race concurrent escalations of one action all succeed"
    );
    s.p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_race_accepts_two_confirmations() {
    let s = setup(&[Bug::ConfirmRace]).await;
    assert!(
        raced(&s, false, 4).await >= 1,
        "with confirm-race concurrent confirmations of one action all succeed"
    );
    s.p.shutdown().await;
}
