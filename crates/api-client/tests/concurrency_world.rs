//! Concurrent requests on stories and world events, released together behind a barrier, each on
//! its own client (its own connection pool, so its own connection): the correct platform gives
//! exactly one winner or no lost update, and the two planted race bugs of this area
//! (`event-decision-race`, `acclaim-race`) show under the same schedule; so do concurrent reactions
//! to one story (every increment kept; `reaction-lost-update` drops some).

mod common;
use common::{agents, platform, together};

use api_client::Client;
use api_client::fixtures;
use reference_platform::Bug;

/// A world made by agents 0–2 of `ag`.
async fn world(ag: &[(Client, String)]) -> String {
    fixtures::graduated_world(&ag[0].0, &ag[1].0, &ag[2].0, "Concurrent")
        .await
        .unwrap()
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_story_reviews_lose_nothing_and_one_reviewer_wins_once() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 7, "r").await;
    let w = world(&ag).await;
    let s = ag[0]
        .0
        .create_story(&fixtures::story(&w, "Reviewed at once"))
        .await
        .unwrap()
        .id;
    // five different reviewers at once: all five recorded
    let jobs: Vec<_> = ag[1..6]
        .iter()
        .map(|(cl, _)| {
            let (cl, s) = (cl.clone(), s.clone());
            move || async move {
                cl.review_story(&s, &fixtures::story_review(true))
                    .await
                    .is_ok()
            }
        })
        .collect();
    assert!(together(jobs).await.into_iter().all(|ok| ok));
    let got = c.get_story(&s).await.unwrap().story;
    assert_eq!((got.review_count, got.acclaim_count), (Some(5), Some(5)));
    // one reviewer five times at once: exactly one review, the rest 409
    let cl = ag[6].0.clone();
    let jobs: Vec<_> = (0..5)
        .map(|_| {
            let (cl, s) = (cl.clone(), s.clone());
            move || async move {
                cl.review_story(&s, &fixtures::story_review(false))
                    .await
                    .map(|_| ())
                    .map_err(|e| e.status())
            }
        })
        .collect();
    let results = together(jobs).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| *r == Err(Some(409)))
    );
    let reviews = c.story_reviews(&s).await.unwrap().reviews;
    assert_eq!(reviews.len(), 6);
    assert_eq!(
        reviews.iter().filter(|r| r.reviewer_id == ag[6].1).count(),
        1
    );
    p.shutdown().await;
}

/// Approve and reject of one pending event released together, `tries` times: how many tries had
/// two winners, and the decisions recorded in each.
async fn approve_vs_reject(c: &Client, ag: &[(Client, String)], w: &str, tries: usize) -> usize {
    let mut both = 0;
    for i in 0..tries {
        let e = ag[3]
            .0
            .propose_event(w, &fixtures::world_event(&format!("Contested {i}"), 2060))
            .await
            .unwrap()
            .id;
        let jobs: Vec<_> = [true, false]
            .into_iter()
            .map(|approve| {
                let e = e.clone();
                let cl = if approve {
                    ag[4].0.clone()
                } else {
                    ag[5].0.clone()
                };
                move || async move {
                    if approve {
                        cl.approve_event(
                            &e,
                            "The contested drill happened and is now part of canon.",
                        )
                        .await
                        .is_ok()
                    } else {
                        cl.reject_event(&e, "It contradicts the federation charter")
                            .await
                            .is_ok()
                    }
                }
            })
            .collect();
        let won = together(jobs).await.into_iter().filter(|ok| *ok).count();
        assert!(won >= 1, "one of approve/reject must succeed");
        let got = c.get_event(&e).await.unwrap();
        let decisions = got.decisions.unwrap().len();
        assert_eq!(decisions, won, "every success is recorded");
        if won == 2 {
            both += 1;
        } else {
            assert_ne!(got.status, "pending");
        }
    }
    both
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_approve_and_reject_have_one_winner() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 6, "e").await;
    let w = world(&ag).await;
    assert_eq!(approve_vs_reject(&c, &ag, &w, 5).await, 0);
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_decision_race_lets_both_win() {
    let (p, c) = platform(&[Bug::EventDecisionRace]).await;
    let ag = agents(&c, 6, "e").await;
    let w = world(&ag).await;
    assert!(
        approve_vs_reject(&c, &ag, &w, 5).await >= 1,
        "with event-decision-race an approve and a reject released together both succeed"
    );
    p.shutdown().await;
}

/// A story with two acclaim reviews and a revision; both final responses released together,
/// `tries` times: how many stories met the conditions and still ended up not acclaimed.
async fn final_responses_together(
    ag: &[(Client, String)],
    c: &Client,
    w: &str,
    tries: usize,
) -> usize {
    let mut missed = 0;
    for i in 0..tries {
        let (s, [r1, r2]) =
            fixtures::reviewed_story(&ag[3].0, &ag[4].0, &ag[5].0, w, &format!("Race {i}"))
                .await
                .unwrap();
        ag[3]
            .0
            .revise_story(
                &s,
                &serde_json::json!({"title": format!("Race {i}, revised")}),
            )
            .await
            .unwrap();
        let jobs: Vec<_> = [r1, r2]
            .into_iter()
            .map(|r| {
                let (cl, s) = (ag[3].0.clone(), s.clone());
                move || async move {
                    cl.respond_story_review(&s, &r, "Answered: the valves now hiss.")
                        .await
                        .is_ok()
                }
            })
            .collect();
        assert!(together(jobs).await.into_iter().all(|ok| ok));
        let reviews = c.story_reviews(&s).await.unwrap().reviews;
        assert!(
            reviews.iter().all(|r| r.author_responded),
            "both answers recorded"
        );
        if c.get_story(&s).await.unwrap().story.status != "acclaimed" {
            missed += 1;
        }
    }
    missed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_final_responses_acclaim_the_story() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 6, "s").await;
    let w = world(&ag).await;
    assert_eq!(final_responses_together(&ag, &c, &w, 5).await, 0);
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acclaim_race_leaves_an_eligible_story_unacclaimed() {
    let (p, c) = platform(&[Bug::AcclaimRace]).await;
    let ag = agents(&c, 6, "s").await;
    let w = world(&ag).await;
    assert!(
        final_responses_together(&ag, &c, &w, 5).await >= 1,
        "with acclaim-race two final responses released together miss the acclaim"
    );
    p.shutdown().await;
}

/// `n` different agents add differently named regions to one world at once, `tries` times: how
/// many adds that were told they succeeded are missing from the world's region list.
async fn regions_together(ag: &[(Client, String)], c: &Client, w: &str, tries: usize) -> usize {
    let mut lost = 0;
    for i in 0..tries {
        let jobs: Vec<_> = ag[1..5]
            .iter()
            .enumerate()
            .map(|(j, (cl, _))| {
                let (cl, w) = (cl.clone(), w.to_string());
                move || async move {
                    let name = format!("Shore {i}-{j}");
                    cl.create_region(&w, &fixtures::region(&name))
                        .await
                        .map(|_| name)
                }
            })
            .collect();
        let told: Vec<String> = together(jobs)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let listed: Vec<String> = c
            .list_regions(w)
            .await
            .unwrap()
            .regions
            .into_iter()
            .map(|r| r.name)
            .collect();
        lost += told.iter().filter(|n| !listed.contains(n)).count();
    }
    lost
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_region_adds_by_different_agents_are_all_kept() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 5, "g").await;
    let w = world(&ag).await;
    assert_eq!(regions_together(&ag, &c, &w, 3).await, 0);
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_lost_update_loses_concurrent_region_adds() {
    let (p, c) = platform(&[Bug::RegionLostUpdate]).await;
    let ag = agents(&c, 5, "g").await;
    let w = world(&ag).await;
    assert!(
        regions_together(&ag, &c, &w, 3).await >= 1,
        "with region-lost-update concurrent adds overwrite each other's region list"
    );
    p.shutdown().await;
}

/// The author answers one review of a fresh story five times at once, `tries` times: how many
/// answers were accepted in all (one per try is right).
async fn answers_together(ag: &[(Client, String)], w: &str, tries: usize) -> usize {
    let mut accepted = 0;
    for i in 0..tries {
        let (s, [r1, r2]) =
            fixtures::reviewed_story(&ag[3].0, &ag[4].0, &ag[5].0, w, &format!("Answered {i}"))
                .await
                .unwrap();
        let jobs: Vec<_> = (0..5)
            .map(|_| {
                let (cl, s, r) = (ag[3].0.clone(), s.clone(), r1.clone());
                move || async move {
                    cl.respond_story_review(&s, &r, "Answered: the valves now hiss.")
                        .await
                        .map_err(|e| e.status())
                }
            })
            .collect();
        let results = together(jobs).await;
        assert!(
            results.iter().all(|r| matches!(r, Ok(_) | Err(Some(409)))),
            "{results:?}"
        );
        accepted += results.iter().filter(|r| r.is_ok()).count();
        // the other review is answered too: an author with an unanswered review may not publish
        // the next story (428), and the next try needs one
        ag[3]
            .0
            .respond_story_review(&s, &r2, "Answered: the valves stay shut.")
            .await
            .unwrap();
    }
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_answers_to_one_story_review_are_accepted_once() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 6, "a").await;
    let w = world(&ag).await;
    assert_eq!(answers_together(&ag, &w, 3).await, 3);
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_respond_race_accepts_an_answer_twice() {
    let (p, c) = platform(&[Bug::StoryRespondRace]).await;
    let ag = agents(&c, 6, "a").await;
    let w = world(&ag).await;
    assert!(
        answers_together(&ag, &w, 3).await > 3,
        "with story-respond-race concurrent answers to one review are all accepted"
    );
    p.shutdown().await;
}

fn key(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// How many feedback items titled `title` exist.
async fn titled(c: &Client, title: &str) -> usize {
    let r = c
        .send_raw(
            api_client::Method::GET,
            "/api/feedback/list?limit=100",
            None,
        )
        .await
        .unwrap();
    r.body["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["title"] == title)
        .count()
}

/// One agent files the same feedback four times at once with one key, `tries` times: how many
/// tries created more than one item.
async fn same_key_together(c: &Client, who: &Client, tries: u64) -> usize {
    let mut doubled = 0;
    for i in 0..tries {
        let title = format!("Same key report {i}");
        let body = serde_json::to_value(fixtures::feedback(&title)).unwrap();
        let keyed = who.with_idempotency_key(&key(100 + i));
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                let (cl, body) = (keyed.clone(), body.clone());
                move || async move {
                    cl.send_raw(api_client::Method::POST, "/api/feedback", Some(&body))
                        .await
                        .unwrap()
                        .status
                }
            })
            .collect();
        let statuses = together(jobs).await;
        assert!(
            statuses.iter().all(|s| [200, 201, 409].contains(s)),
            "{statuses:?}"
        );
        if titled(c, &title).await > 1 {
            doubled += 1;
        }
    }
    doubled
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_key_execute_once() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 1, "k").await;
    assert_eq!(same_key_together(&c, &ag[0].0, 3).await, 0);
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_check_then_insert_executes_one_key_twice() {
    let (p, c) = platform(&[Bug::IdempotencyCheckThenInsert]).await;
    let ag = agents(&c, 1, "k").await;
    assert!(
        same_key_together(&c, &ag[0].0, 3).await >= 1,
        "with idempotency-check-then-insert concurrent same-key requests both run"
    );
    p.shutdown().await;
}

/// Agent 0 files feedback with key K; agent 1 then files its own with K, and agent 0 uses K on
/// the proposal create. Returns (agent 1's answer was a replay, the proposal create was a replay).
async fn reused_key(c: &Client, ag: &[(Client, String)]) -> (bool, bool) {
    let k = key(7);
    let first = serde_json::to_value(fixtures::feedback("First use of the key")).unwrap();
    let r1 = ag[0]
        .0
        .with_idempotency_key(&k)
        .send_raw(api_client::Method::POST, "/api/feedback", Some(&first))
        .await
        .unwrap();
    assert_eq!(r1.status, 200, "{}", r1.text);
    let other = serde_json::to_value(fixtures::feedback("Another agent's report")).unwrap();
    let r2 = ag[1]
        .0
        .with_idempotency_key(&k)
        .send_raw(api_client::Method::POST, "/api/feedback", Some(&other))
        .await
        .unwrap();
    let proposal = serde_json::to_value(fixtures::proposal("Keyed elsewhere")).unwrap();
    let r3 = ag[0]
        .0
        .with_idempotency_key(&k)
        .send_raw(api_client::Method::POST, "/api/proposals", Some(&proposal))
        .await
        .unwrap();
    for r in [&r2, &r3] {
        assert!(r.replayed || r.status == 409, "{} {}", r.status, r.text);
    }
    assert_eq!(titled(c, "Another agent's report").await, 0);
    (r2.replayed, r3.replayed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_refused_to_another_agent_and_on_another_endpoint() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 2, "u").await;
    assert_eq!(reused_key(&c, &ag).await, (false, false));
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_unscoped_replays_across_agents_and_endpoints() {
    let (p, c) = platform(&[Bug::IdempotencyKeyUnscoped]).await;
    let ag = agents(&c, 2, "u").await;
    assert_eq!(reused_key(&c, &ag).await, (true, true));
    p.shutdown().await;
}

/// A reaction of `kind` by `who` to story `s`: (action, new_reaction_count).
async fn react(who: &Client, s: &str, kind: &str) -> (String, u64) {
    let r = who
        .send_raw(
            api_client::Method::POST,
            &format!("/api/stories/{s}/react"),
            Some(&serde_json::json!({"reaction_type": kind})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    (
        r.body["action"].as_str().unwrap_or_default().to_string(),
        r.body["new_reaction_count"].as_u64().unwrap_or(u64::MAX),
    )
}

/// Story `s`'s stored reaction count, read back.
async fn reaction_count(c: &Client, s: &str) -> u64 {
    let r = c
        .send_raw(api_client::Method::GET, &format!("/api/stories/{s}"), None)
        .await
        .unwrap();
    r.body["story"]["reaction_count"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

/// Five agents react to one story at once; returns its count afterwards (five when none is lost).
async fn reaction_race(bugs: &[Bug]) -> u64 {
    let (p, c) = platform(bugs).await;
    let ag = agents(&c, 6, "r").await;
    let w = world(&ag).await;
    let s = ag[0]
        .0
        .create_story(&fixtures::story(&w, "Reacted to at once"))
        .await
        .unwrap()
        .id;
    let jobs: Vec<_> = ag[1..]
        .iter()
        .map(|(cl, _)| {
            let (cl, s) = (cl.clone(), s.clone());
            move || async move { react(&cl, &s, "fire").await }
        })
        .collect();
    for (action, _) in together(jobs).await {
        assert_eq!(action, "added");
    }
    let n = reaction_count(&c, &s).await;
    p.shutdown().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reaction_adds_changes_and_takes_back_one_per_agent() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 4, "q").await;
    let w = world(&ag).await;
    let s = ag[0]
        .0
        .create_story(&fixtures::story(&w, "Reacted to"))
        .await
        .unwrap()
        .id;
    assert_eq!(react(&ag[1].0, &s, "fire").await, ("added".into(), 1));
    assert_eq!(react(&ag[0].0, &s, "heart").await, ("added".into(), 2));
    assert_eq!(react(&ag[1].0, &s, "mind").await, ("changed".into(), 2));
    assert_eq!(react(&ag[1].0, &s, "mind").await, ("removed".into(), 1));
    assert_eq!(reaction_count(&c, &s).await, 1);
    let bad = ag[2]
        .0
        .send_raw(
            api_client::Method::POST,
            &format!("/api/stories/{s}/react"),
            Some(&serde_json::json!({"reaction_type": "meh"})),
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 422, "{}", bad.text);
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reactions_keep_every_increment() {
    assert_eq!(reaction_race(&[]).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaction_lost_update_drops_increments() {
    assert!(reaction_race(&[Bug::ReactionLostUpdate]).await < 5);
}

/// Five agents create a dweller in one world at once; returns (dwellers made, the world's count).
async fn dweller_race(bugs: &[Bug]) -> (usize, u64) {
    let (p, c) = platform(bugs).await;
    let ag = agents(&c, 6, "d").await;
    let w = world(&ag).await;
    ag[0]
        .0
        .create_region(&w, &fixtures::region("Shore"))
        .await
        .unwrap();
    let jobs: Vec<_> = ag[1..]
        .iter()
        .enumerate()
        .map(|(i, (cl, _))| {
            let (cl, w) = (cl.clone(), w.clone());
            move || async move {
                cl.create_dweller(&w, &fixtures::dweller(&format!("Racer {i}"), "Shore"))
                    .await
                    .is_ok()
            }
        })
        .collect();
    let made = together(jobs).await.into_iter().filter(|ok| *ok).count();
    let r = c
        .send_raw(api_client::Method::GET, &format!("/api/worlds/{w}"), None)
        .await
        .unwrap();
    p.shutdown().await;
    (
        made,
        r.body["world"]["dweller_count"]
            .as_u64()
            .unwrap_or(u64::MAX),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_dweller_creates_are_all_counted() {
    assert_eq!(dweller_race(&[]).await, (5, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dweller_count_lost_update_drops_increments() {
    let (made, count) = dweller_race(&[Bug::DwellerCountLostUpdate]).await;
    assert_eq!(made, 5);
    assert!(count < 5, "the count kept every increment: {count}");
}

/// Five agents react `fire` to one world at once through `/api/social/react`; returns its `fire`
/// count afterwards (five when none is lost).
async fn world_reaction_race(bugs: &[Bug]) -> u64 {
    let (p, c) = platform(bugs).await;
    let ag = agents(&c, 6, "wr").await;
    let w = world(&ag).await;
    let jobs: Vec<_> = ag[1..]
        .iter()
        .map(|(cl, _)| {
            let (cl, w) = (cl.clone(), w.clone());
            move || async move {
                let body = serde_json::json!({"target_type": "world", "target_id": w, "reaction_type": "fire"});
                cl.send_raw(api_client::Method::POST, "/api/social/react", Some(&body))
                    .await
                    .unwrap()
                    .body["action"]
                    .clone()
            }
        })
        .collect();
    for action in together(jobs).await {
        assert_eq!(action, "added");
    }
    let r = c
        .send_raw(api_client::Method::GET, &format!("/api/worlds/{w}"), None)
        .await
        .unwrap();
    p.shutdown().await;
    r.body["world"]["reaction_counts"]["fire"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_world_reactions_keep_every_increment() {
    assert_eq!(world_reaction_race(&[]).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn world_reaction_lost_update_drops_increments() {
    assert!(world_reaction_race(&[Bug::WorldReactionLostUpdate]).await < 5);
}
