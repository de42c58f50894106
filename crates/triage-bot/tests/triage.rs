//! triage-bot against the reference platform (real HTTP, real SQLite) and a fake GitHub (wiremock).

mod common;

use common::*;
use triage_bot::cli::{CliError, Env, run};
use triage_bot::group::GroupKey;
use triage_bot::publish::{LABEL, PublishError};
use triage_bot::report;

#[tokio::test]
async fn dry_run_groups_and_orders_seeded_feedback() {
    let p = platform().await;
    let s = seed(&p).await;
    let r = run(&cli(&["--api", &p.base_url, "--dry-run"]), &Env::default())
        .await
        .unwrap();
    assert_eq!(r.outcome_name(), "dry_run");
    assert_eq!(r.collected.open_in_summary, 5);
    let ids: Vec<Vec<String>> = r.groups.iter().map(|g| g.ids()).collect();
    let mut claim = vec![s.claim1.clone(), s.claim2.clone()];
    claim.sort();
    let mut region = vec![s.region1.clone(), s.region2.clone()];
    region.sort();
    // critical first, then upvotes (3 before 1)
    assert_eq!(ids, vec![claim, region, vec![s.docs.clone()]]);
    assert!(
        !ids.concat().contains(&s.resolved),
        "resolved feedback is not open"
    );
    assert_eq!(
        r.groups[0].key,
        GroupKey::Route {
            route: "/api/dwellers/{id}/claim".into(),
            error_code: 500
        }
    );
    assert_eq!(r.groups[1].total_upvotes(), 3);
    let body = r.body.unwrap();
    let g1 = body.find("## G1 · critical · HTTP 500 on `/api/dwellers/{id}/claim`");
    let g2 = body.find("## G2 · medium · Similar api_bug reports");
    let g3 = body.find("## G3 · low · Similar api_bug report\n");
    assert!(
        g1.is_some() && g2 > g1 && g3 > g2,
        "sections in priority order:\n{body}"
    );
    assert!(body.contains("Suggested next step: Fix first."));
    assert_eq!(
        report::find_fingerprint(&body),
        r.fingerprint,
        "the body carries the fingerprint"
    );
}

#[tokio::test]
async fn since_filters_by_creation_date() {
    let p = platform().await;
    seed(&p).await;
    let r = run(
        &cli(&["--api", &p.base_url, "--dry-run", "--since", "2999-01-01"]),
        &Env::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.outcome_name(), "nothing_open");
    assert_eq!(r.collected.before_since, 5);
    let r = run(
        &cli(&["--api", &p.base_url, "--dry-run", "--since", "2000-01-01"]),
        &Env::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.collected.items.len(), 5);
}

#[tokio::test]
async fn nothing_open_never_touches_github() {
    let p = platform().await;
    let gh = FakeGitHub::start().await;
    let r = run(
        &cli(&[
            "--api",
            &p.base_url,
            "--repo",
            REPO,
            "--github-api",
            &gh.uri(),
        ]),
        &env_with_token(),
    )
    .await
    .unwrap();
    assert_eq!(r.outcome_name(), "nothing_open");
    assert!(r.outcome.is_none());
    assert_eq!(gh.request_count(), 0, "GitHub was not called");
}

#[tokio::test]
async fn reruns_create_exactly_one_issue_and_comment_only_on_change() {
    let p = platform().await;
    let s = seed(&p).await;
    let gh = FakeGitHub::start().await;
    // Pages of 2: other open issues with the label (a human's, a PR) come first in the listing.
    gh.state.lock().unwrap().page_size = 2;
    let human = gh.add_issue("human notes", "not the bot's", &[LABEL], "alice", false);
    gh.add_issue("a PR", "<!-- dsf-triage-bot -->", &[LABEL], "alice", true);
    gh.add_issue("unrelated", "x", &["bug"], "bob", false);
    let args = [
        "--api",
        &p.base_url,
        "--repo",
        REPO,
        "--github-api",
        &gh.uri(),
    ];
    let env = env_with_token();

    let first = run(&cli(&args), &env).await.unwrap();
    assert_eq!(first.outcome_name(), "created");
    let created = gh.bot_issues();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["labels"][0]["name"], LABEL);
    let number = created[0]["number"].as_u64().unwrap();
    assert_ne!(number, human);

    // More issues so the bot's issue sits behind a `link: rel="next"` page.
    for i in 0..4 {
        gh.add_issue(&format!("later {i}"), "x", &[LABEL], "carol", false);
    }
    let writes_before = gh.writes().len();
    let second = run(&cli(&args), &env).await.unwrap();
    assert_eq!(second.outcome_name(), "unchanged");
    assert_eq!(second.outcome.as_ref().unwrap().number(), number);
    assert_eq!(gh.writes().len(), writes_before, "a rerun writes nothing");
    assert!(
        gh.state
            .lock()
            .unwrap()
            .log
            .iter()
            .any(|(_, q, _)| q.contains("page=")),
        "the listing followed the link header"
    );

    // A new report changes the open set: one comment, no new issue.
    file(
        &s.agents[2],
        report(
            "high",
            "Act endpoint rejects context token",
            "The act call says the context token expired one second after I got it.",
            Some("/api/dwellers/abc12345-0000/act"),
            Some(422),
        ),
    )
    .await;
    let third = run(&cli(&args), &env).await.unwrap();
    assert_eq!(third.outcome_name(), "commented");
    assert_eq!(gh.bot_issues().len(), 1);
    let comments = gh.comments_on(number);
    assert_eq!(comments.len(), 1);
    assert_eq!(
        report::find_fingerprint(comments[0]["body"].as_str().unwrap()),
        third.fingerprint
    );

    // A stranger's comment with the old fingerprint cannot make the bot think the set went back.
    gh.add_comment(
        number,
        &report::fingerprint_marker(first.fingerprint.as_deref().unwrap()),
        "mallory",
    );
    let fourth = run(&cli(&args), &env).await.unwrap();
    assert_eq!(fourth.outcome_name(), "unchanged");
    assert_eq!(gh.comments_on(number).len(), 2);
    assert_eq!(gh.bot_issues().len(), 1);
}

#[tokio::test]
async fn pagination_reads_every_open_item() {
    let p = platform().await;
    let ag = agents(&p, "bulk", 2).await;
    let mut ids = Vec::new();
    for i in 0..215 {
        let f = file(
            &ag[i % 2],
            report(
                "low",
                &format!("Bulk report number {i}"),
                &format!("Word{i} distinct{i} unique{i} text{i} for report {i}."),
                None,
                None,
            ),
        )
        .await;
        ids.push(f.id);
    }
    let adm = admin(&p);
    for id in &ids[0..3] {
        adm.set_feedback_status(id, "acknowledged", None)
            .await
            .unwrap();
    }
    adm.set_feedback_status(&ids[3], "in_progress", None)
        .await
        .unwrap();
    adm.set_feedback_status(&ids[4], "wont_fix", Some("no"))
        .await
        .unwrap();
    let r = run(&cli(&["--api", &p.base_url, "--dry-run"]), &Env::default())
        .await
        .unwrap();
    assert_eq!(r.collected.items.len(), 214);
    assert!(
        r.collected.pages >= 3 + 2,
        "new needed 3 pages: {}",
        r.collected.pages
    );
    let seen: std::collections::BTreeSet<String> = r.groups.iter().flat_map(|g| g.ids()).collect();
    assert_eq!(seen.len(), 214);
    assert!(!seen.contains(&ids[4]));
    assert!(r.body.unwrap().chars().count() <= report::MAX_BODY_CHARS);
}

#[tokio::test]
async fn label_dropped_by_github_is_an_error() {
    let p = platform().await;
    seed(&p).await;
    let gh = FakeGitHub::start().await;
    gh.state.lock().unwrap().drop_labels = true;
    let err = run(
        &cli(&[
            "--api",
            &p.base_url,
            "--repo",
            REPO,
            "--github-api",
            &gh.uri(),
        ]),
        &env_with_token(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, CliError::Publish(PublishError::LabelDropped { .. })),
        "{err}"
    );
    assert_eq!(err.exit_code(), 1);
}

#[tokio::test]
async fn github_answers_become_clear_errors() {
    let p = platform().await;
    seed(&p).await;
    let gh = FakeGitHub::start().await;
    // wrong token
    let bad = Env {
        github_token: Some("ghp_wrong".into()),
        ..Default::default()
    };
    let args = [
        "--api",
        &p.base_url,
        "--repo",
        REPO,
        "--github-api",
        &gh.uri(),
    ];
    let err = run(&cli(&args), &bad).await.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("rejected the token"), "{err}");
    // unreachable GitHub
    let err = run(
        &cli(&[
            "--api",
            &p.base_url,
            "--repo",
            REPO,
            "--github-api",
            "http://127.0.0.1:9",
        ]),
        &env_with_token(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("cannot reach GitHub"), "{err}");
    // issues disabled (410) on create
    let gone = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&gone)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(410)
                .set_body_json(serde_json::json!({"message": "Issues are disabled for this repo"})),
        )
        .expect(1)
        .mount(&gone)
        .await;
    let err = run(
        &cli(&[
            "--api",
            &p.base_url,
            "--repo",
            REPO,
            "--github-api",
            &gone.uri(),
        ]),
        &env_with_token(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("410") && err.to_string().contains("disabled"),
        "{err}"
    );
}

#[tokio::test]
async fn configuration_errors_are_usage_errors_before_any_request() {
    let p = platform().await;
    for (args, env, want) in [
        (vec!["--dry-run"], Env::default(), "no platform URL"),
        (vec!["--api", &p.base_url], Env::default(), "no repository"),
        (
            vec!["--api", &p.base_url, "--repo", "not a repo"],
            env_with_token(),
            "OWNER/NAME",
        ),
        (
            vec!["--api", &p.base_url, "--repo", REPO],
            Env::default(),
            "no GitHub token",
        ),
        (
            vec!["--api", &p.base_url, "--dry-run", "--since", "last week"],
            Env::default(),
            "--since",
        ),
        (
            vec!["--api", &p.base_url, "--dry-run", "--threshold", "0"],
            Env::default(),
            "--threshold",
        ),
        (
            vec!["--api", "ftp://x", "--dry-run"],
            Env::default(),
            "http://",
        ),
    ] {
        let err = run(&cli(&args), &env).await.unwrap_err();
        assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
        assert!(err.to_string().contains(want), "{args:?}: {err}");
    }
}

#[tokio::test]
async fn unreachable_platform_is_a_failure_not_a_usage_error() {
    let err = run(
        &cli(&["--api", "http://127.0.0.1:9", "--dry-run"]),
        &Env::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("cannot reach"), "{err}");
}
