//! The same client calls against the reference platform (always) and against a real deployment when
//! `DSF_BASE_URL` is set (with `DSF_ADMIN_KEY` for the admin step), so drift shows up as a failure.

use api_client::fixtures::{self, agent};
use api_client::{Client, ClientConfig, FeedbackListQuery};
use std::time::Duration;

async fn the_flow(c: &Client, admin_key: Option<&str>, tag: &str) {
    let (a, a_id) = agent(c, &format!("{tag}-ada")).await.unwrap();
    let (b, _) = agent(c, &format!("{tag}-bo")).await.unwrap();
    let (x, x_id) = agent(c, &format!("{tag}-cy")).await.unwrap();
    assert_eq!(a.verify_key().await.unwrap().agent.id, a_id);

    // proposal → review → respond → revise → resolve → world
    let (p, [i1, i2]) = fixtures::reviewed_proposal(&a, &b, &x, &format!("{tag} Tidal Cities"))
        .await
        .unwrap();
    assert_eq!(a.get_proposal(&p).await.unwrap().status, "validating");
    let blind = x.review_feedback("proposal", &p).await.unwrap();
    assert!(!blind.blind_mode, "a reviewer sees the reviews");
    assert_eq!(
        a.respond_item(&i1, "Ballast chambers re-float the rafts.")
            .await
            .unwrap()
            .new_status,
        "addressed"
    );
    let status = c.review_status("proposal", &p).await.unwrap();
    assert_eq!(status.reviewer_count, 2);
    assert!(!status.can_graduate);
    assert!(
        b.resolve_item(&i1, None)
            .await
            .unwrap()
            .graduation
            .is_none()
    );
    let last = x.resolve_item(&i2, Some("ok")).await.unwrap();
    let world = last
        .graduation
        .expect("the last resolve graduates")
        .world_id;
    assert_eq!(c.get_proposal(&p).await.unwrap().status, "approved");
    let worlds = c.worlds_by_proposal(&p).await.unwrap();
    assert_eq!(worlds.len(), 1);
    assert_eq!(worlds[0].id, world);

    // region → dweller → claim → act → release
    a.create_region(&world, &fixtures::region(&format!("{tag} Ward")))
        .await
        .unwrap();
    let d = b
        .create_dweller(
            &world,
            &fixtures::dweller("Sari Berth-Nine", &format!("{tag} Ward")),
        )
        .await
        .unwrap()
        .id;
    assert!(x.claim_dweller(&d).await.unwrap().claimed);
    let held = c.get_dweller(&d).await.unwrap();
    assert_eq!(
        (held.is_available, held.inhabited_by.as_deref()),
        (false, Some(x_id.as_str()))
    );
    assert_eq!(a.claim_dweller(&d).await.unwrap_err().status(), Some(400));
    let token = x.act_context(&d).await.unwrap().context_token;
    let acted = x
        .act(
            &d,
            &api_client::NewAction {
                context_token: token,
                action_type: "observe".into(),
                content: "Checks the gauges.".into(),
                target: None,
                importance: 0.4,
            },
        )
        .await
        .unwrap();
    assert!(!acted.action.id.is_empty());
    assert_eq!(a.release_dweller(&d).await.unwrap_err().status(), Some(403));
    assert!(x.release_dweller(&d).await.unwrap().released);

    // feedback → upvote → admin status → summary and list
    let f = x
        .create_feedback(&fixtures::feedback(&format!(
            "{tag} token lifetime unclear"
        )))
        .await
        .unwrap();
    assert_eq!((f.status.as_str(), f.upvote_count), ("new", 0));
    assert_eq!(a.upvote_feedback(&f.id).await.unwrap().upvote_count, 1);
    assert_eq!(
        a.upvote_feedback(&f.id).await.unwrap_err().status(),
        Some(400)
    );
    assert_eq!(
        x.upvote_feedback(&f.id).await.unwrap_err().status(),
        Some(400)
    );
    assert_eq!(
        a.set_feedback_status(&f.id, "acknowledged", None)
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );
    if let Some(k) = admin_key {
        let admin = c.with_api_key(k);
        assert_eq!(
            admin
                .set_feedback_status(&f.id, "acknowledged", None)
                .await
                .unwrap()
                .status,
            "acknowledged"
        );
        let e = admin
            .set_feedback_status(&f.id, "new", None)
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(400));
    }
    let page = c
        .feedback_list(&FeedbackListQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.feedback.iter().any(|g| g.id == f.id));
    let bad = c
        .feedback_list(&FeedbackListQuery {
            status: Some("open".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.status(), Some(400));
    assert!(c.feedback_summary().await.unwrap().stats.total >= 1);
    assert_eq!(c.health().await.unwrap().status, "healthy");
}

#[tokio::test]
async fn flow_against_the_reference_platform() {
    let p = reference_platform::start(Default::default()).await.unwrap();
    let c = Client::new(ClientConfig::new(&p.base_url)).unwrap();
    the_flow(&c, Some(&p.admin_key), "ref").await;
    p.shutdown().await;
}

#[tokio::test]
async fn flow_against_a_real_deployment_when_configured() {
    let Ok(base) = std::env::var("DSF_BASE_URL") else {
        eprintln!(
            "contract: DSF_BASE_URL unset, so the real-platform contract run is skipped (reference platform covered above)"
        );
        return;
    };
    let c = Client::new(ClientConfig {
        base_url: base,
        api_key: None,
        timeout: Duration::from_secs(30),
    })
    .unwrap();
    let tag = format!("contract-{}", std::process::id());
    the_flow(&c, std::env::var("DSF_ADMIN_KEY").ok().as_deref(), &tag).await;
}
