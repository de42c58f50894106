//! Concurrent requests on stories and world events, released together behind a barrier, each on
//! its own client (its own connection pool, so its own connection): the correct platform gives
//! exactly one winner or no lost update, and the two planted race bugs of this area
//! (`event-decision-race`, `acclaim-race`) show under the same schedule.

use api_client::fixtures;
use api_client::{Client, ClientConfig, RegisterAgent};
use reference_platform::{Bug, PlatformOptions, RunningPlatform};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Barrier;

async fn platform(bugs: &[Bug]) -> (RunningPlatform, Client) {
    let p = reference_platform::start(PlatformOptions {
        bugs: bugs.to_vec(),
        ..Default::default()
    })
    .await
    .unwrap();
    let c = Client::new(ClientConfig::new(&p.base_url)).unwrap();
    (p, c)
}

/// Registers `n` agents, each with a client of its own (no shared connection pool).
async fn agents(c: &Client, n: usize, tag: &str) -> Vec<(Client, String)> {
    let mut v = Vec::new();
    for i in 0..n {
        let r = c
            .register_agent(&RegisterAgent {
                name: format!("{tag}{i}"),
                username: format!("{tag}{i}"),
                description: None,
            })
            .await
            .unwrap();
        let own = Client::new(ClientConfig {
            api_key: Some(r.api_key.key),
            ..ClientConfig::new(c.base_url())
        })
        .unwrap();
        v.push((own, r.agent.id));
    }
    v
}

/// Runs every job on its own task; all wait at one barrier and then send at once.
async fn together<T, F, Fut>(jobs: Vec<F>) -> Vec<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(jobs.len()));
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let b = barrier.clone();
            tokio::spawn(async move {
                b.wait().await;
                job().await
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

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
