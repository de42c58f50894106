//! The correct reference platform under N-way concurrent requests (N = 5) on separate connections:
//! exactly one winner where the rules allow one, no lost updates, the 5-dweller cap, terminal states.

mod common;
use common::{agents, platform};

use api_client::Client;
use api_client::fixtures::{self, agent};
use futures_like::join_all;

mod futures_like {
    /// Runs futures concurrently on the runtime (each on its own task, so its own connection).
    pub async fn join_all<T: Send + 'static>(
        futs: Vec<impl std::future::Future<Output = T> + Send + 'static>,
    ) -> Vec<T> {
        let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_concurrent_claims_have_one_winner() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 8, "c").await;
    let (_, w) = fixtures::graduated_world(&ag[0].0, &ag[1].0, &ag[2].0, "Claims")
        .await
        .unwrap();
    ag[0]
        .0
        .create_region(&w, &fixtures::region("Ward"))
        .await
        .unwrap();
    let d = ag[0]
        .0
        .create_dweller(&w, &fixtures::dweller("Sari", "Ward"))
        .await
        .unwrap()
        .id;
    let results = join_all(
        ag[3..8]
            .iter()
            .map(|(cl, _)| {
                let (cl, d) = (cl.clone(), d.clone());
                async move {
                    cl.claim_dweller(&d)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.status())
                }
            })
            .collect(),
    )
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| *r == Err(Some(400)))
    );
    let holder = c.get_dweller(&d).await.unwrap().inhabited_by.unwrap();
    assert!(ag[3..8].iter().any(|(_, id)| *id == holder));
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_final_resolves_graduate_once() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 3, "g").await;
    for round in 0..5 {
        let (prop, [i1, i2]) =
            fixtures::reviewed_proposal(&ag[0].0, &ag[1].0, &ag[2].0, &format!("Race {round}"))
                .await
                .unwrap();
        let (b, x) = (ag[1].0.clone(), ag[2].0.clone());
        let (g1, g2) = tokio::join!(
            tokio::spawn(async move {
                b.resolve_item(&i1, None)
                    .await
                    .unwrap()
                    .graduation
                    .is_some()
            }),
            tokio::spawn(async move {
                x.resolve_item(&i2, None)
                    .await
                    .unwrap()
                    .graduation
                    .is_some()
            }),
        );
        let r = [g1.unwrap(), g2.unwrap()];
        assert_eq!(
            r.iter().filter(|g| **g).count(),
            1,
            "exactly one resolve reports the graduation"
        );
        assert_eq!(c.worlds_by_proposal(&prop).await.unwrap().len(), 1);
    }
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_upvotes_are_never_lost_and_never_doubled() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 6, "u").await;
    let f = ag[0]
        .0
        .create_feedback(&fixtures::feedback("Concurrent upvotes"))
        .await
        .unwrap()
        .id;
    // five different agents, plus the first of them twice
    let mut voters: Vec<Client> = ag[1..6].iter().map(|(cl, _)| cl.clone()).collect();
    voters.push(ag[1].0.clone());
    let results = join_all(
        voters
            .into_iter()
            .map(|cl| {
                let f = f.clone();
                async move { cl.upvote_feedback(&f).await.is_ok() }
            })
            .collect(),
    )
    .await;
    let ok = results.iter().filter(|r| **r).count() as i64;
    let fb = c.get_feedback(&f).await.unwrap();
    let upvoters = fb.upvoters.unwrap();
    let mut distinct = upvoters.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(ok, 5);
    assert_eq!(fb.upvote_count, ok);
    assert_eq!(upvoters.len(), distinct.len());
    assert_eq!(distinct.len() as i64, ok);
    p.shutdown().await;
}

#[tokio::test]
async fn an_agent_holds_at_most_five_dwellers() {
    let (p, c) = platform(&[]).await;
    let ag = agents(&c, 3, "cap").await;
    let (_, w) = fixtures::graduated_world(&ag[0].0, &ag[1].0, &ag[2].0, "Cap")
        .await
        .unwrap();
    ag[0]
        .0
        .create_region(&w, &fixtures::region("Ward"))
        .await
        .unwrap();
    for i in 0..6 {
        let d = ag[0]
            .0
            .create_dweller(&w, &fixtures::dweller(&format!("Dweller {i}"), "Ward"))
            .await
            .unwrap()
            .id;
        let r = ag[1].0.claim_dweller(&d).await;
        if i < 5 {
            r.unwrap();
        } else {
            assert_eq!(
                r.unwrap_err().status(),
                Some(400),
                "the sixth claim is refused"
            );
        }
    }
    p.shutdown().await;
}

#[tokio::test]
async fn terminal_feedback_states_never_change() {
    let (p, c) = platform(&[]).await;
    let (a, _) = agent(&c, "t").await.unwrap();
    let admin = c.with_api_key(&p.admin_key);
    for terminal in ["resolved", "wont_fix"] {
        let f = a
            .create_feedback(&fixtures::feedback("Terminal"))
            .await
            .unwrap()
            .id;
        assert_eq!(
            admin
                .set_feedback_status(&f, terminal, None)
                .await
                .unwrap_err()
                .status(),
            Some(400),
            "notes required"
        );
        admin
            .set_feedback_status(&f, terminal, Some("done"))
            .await
            .unwrap();
        for next in ["new", "acknowledged", "in_progress", "resolved", "wont_fix"] {
            assert_eq!(
                admin
                    .set_feedback_status(&f, next, Some("again"))
                    .await
                    .unwrap_err()
                    .status(),
                Some(400),
                "{terminal} → {next}"
            );
        }
        assert_eq!(c.get_feedback(&f).await.unwrap().status, terminal);
    }
    p.shutdown().await;
}
