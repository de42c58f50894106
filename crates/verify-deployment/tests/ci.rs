//! The CI step against a wiremock GitHub: in progress then green, red, a stale green run on another
//! SHA, no runs, an upstream remote, 5xx, timeouts, malformed JSON, a rejected token.

mod common;

use common::*;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const RUNS_PATH: &str = "/repos/acme/app/actions/runs";

/// CI only: backend/schema skipped, staging has no smoke or frontend by default, Logfire skipped.
fn ci_args<'a>(gh: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "staging",
        "--skip",
        "backend",
        "--skip",
        "logfire",
        "--github-api",
        gh,
        "--poll-interval",
        "20ms",
    ];
    a.extend_from_slice(extra);
    a
}

const TOKEN_ENV: &[(&str, &str)] = &[("GITHUB_TOKEN", GH_TOKEN)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_progress_then_green_passes_and_writes_the_marker() {
    let p = Project::new();
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .and(query_param("head_sha", p.sha.as_str()))
        .and(header(
            "authorization",
            format!("Bearer {GH_TOKEN}").as_str(),
        ))
        .and(header("x-github-api-version", "2022-11-28"))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[
            (1, &p.sha, "push", "completed", Some("success")),
            (2, &p.sha, "push", "in_progress", None),
        ])))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&gh)
        .await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .and(query_param("head_sha", p.sha.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[
            (1, &p.sha, "push", "completed", Some("success")),
            (2, &p.sha, "push", "completed", Some("success")),
            (3, &p.sha, "pull_request", "completed", Some("failure")),
        ])))
        .mount(&gh)
        .await;
    let r = p
        .run(&ci_args(&gh.uri(), &["--ci-grace", "5s"]), TOKEN_ENV)
        .await;
    r.expect(0)
        .says("2 workflow run(s) for")
        .says("workflow-1, workflow-2")
        .says("still running: workflow-2 (in_progress)");
    let v = p.store().read_deploy_verified().unwrap().expect("marker");
    assert_eq!(v.environment, "staging");
    assert_eq!(v.sha.as_str(), p.sha);
    assert_eq!(v.checks, vec!["ci"]);
    // it polled until green: at least three requests
    assert!(gh.received_requests().await.unwrap().len() >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_red_workflow_fails_listing_it_and_writes_nothing() {
    let p = Project::new();
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[
            (1, &p.sha, "push", "completed", Some("success")),
            (2, &p.sha, "push", "completed", Some("failure")),
            (
                3,
                &p.sha,
                "workflow_dispatch",
                "completed",
                Some("cancelled"),
            ),
        ])))
        .mount(&gh)
        .await;
    let r = p.run(&ci_args(&gh.uri(), &["--json"]), TOKEN_ENV).await;
    r.expect(1);
    let j = r.json();
    assert_eq!(j["verified"], false);
    assert_eq!(j["marker_written"], false);
    let ci = &j["steps"][0];
    assert_eq!(ci["step"], "ci");
    assert_eq!(ci["verdict"], "failed");
    let failures = ci["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].as_str().unwrap().contains("workflow-2 (push)"));
    assert!(failures[0].as_str().unwrap().contains("failure"));
    assert!(failures[0].as_str().unwrap().contains("/actions/runs/2"));
    assert!(failures[1].as_str().unwrap().contains("cancelled"));
    assert_eq!(j["steps"][1]["verdict"], "skipped"); // backend: --skip
    assert!(p.store().read_deploy_verified().unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_green_run_on_another_sha_waits_then_fails_saying_why() {
    let p = Project::new();
    let gh = MockServer::start().await;
    // a server that ignores head_sha and returns the previous commit's green run
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[(
            9,
            OLD_SHA,
            "push",
            "completed",
            Some("success"),
        )])))
        .mount(&gh)
        .await;
    let r = p
        .run(&ci_args(&gh.uri(), &["--ci-grace", "300ms"]), TOKEN_ENV)
        .await;
    r.expect(1)
        .says(&format!("no workflow run for {}", &p.sha[..12]))
        .says("within the 300ms grace period")
        .says("only runs for other commits, which do not count")
        .says(&format!("workflow-9 (push) on {}: success", &OLD_SHA[..12]))
        .says("NOT verified");
    // it waited (polled more than once) before failing
    assert!(gh.received_requests().await.unwrap().len() >= 2);
    assert!(p.store().read_deploy_verified().unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_runs_at_all_fails_after_the_grace_period_not_the_timeout() {
    let p = Project::new();
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[])))
        .mount(&gh)
        .await;
    let r = p
        .run(
            &ci_args(&gh.uri(), &["--ci-grace", "200ms", "--timeout", "10m"]),
            TOKEN_ENV,
        )
        .await;
    r.expect(1)
        .says("GitHub lists no workflow runs for it at all")
        .says("grace period");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repository_comes_from_origin_never_upstream() {
    let p = Project::new();
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/upstream-org/app/actions/runs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[(
            1,
            &p.sha,
            "push",
            "completed",
            Some("failure"),
        )])))
        .expect(0)
        .mount(&gh)
        .await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[(
            1,
            &p.sha,
            "push",
            "completed",
            Some("success"),
        )])))
        .expect(1)
        .mount(&gh)
        .await;
    let r = p.run(&ci_args(&gh.uri(), &["--json"]), TOKEN_ENV).await;
    r.expect(0);
    assert_eq!(r.json()["repo"], "acme/app");
    gh.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_5xx_is_retried_then_passes() {
    let p = Project::new();
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&gh)
        .await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[(
            1,
            &p.sha,
            "push",
            "completed",
            Some("success"),
        )])))
        .mount(&gh)
        .await;
    p.run(&ci_args(&gh.uri(), &[]), TOKEN_ENV)
        .await
        .expect(0)
        .says("HTTP 502")
        .says("retrying");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_persistent_5xx_fails_at_the_deadline() {
    let p = Project::new();
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(serde_json::json!({"message": "Service Unavailable"})),
        )
        .mount(&gh)
        .await;
    p.run(&ci_args(&gh.uri(), &["--timeout", "300ms"]), TOKEN_ENV)
        .await
        .expect(1)
        .says("gave up after")
        .says("GitHub answered HTTP 503")
        .says("Service Unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_timeouts_fail_at_the_deadline() {
    let p = Project::new();
    p.write_config("[verify]\nrequest_timeout = \"100ms\"\n");
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(runs(&[]))
                .set_delay(std::time::Duration::from_secs(5)),
        )
        .mount(&gh)
        .await;
    p.run(&ci_args(&gh.uri(), &["--timeout", "400ms"]), TOKEN_ENV)
        .await
        .expect(1)
        .says("GitHub did not answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_malformed_json_fails_with_a_clear_reason() {
    let p = Project::new();
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"workflow_runs\": [ {"))
        .mount(&gh)
        .await;
    p.run(&ci_args(&gh.uri(), &[]), TOKEN_ENV)
        .await
        .expect(1)
        .says("not what we expected")
        .says("not JSON");
    // a list that is not a list
    let gh2 = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"workflow_runs": 5})),
        )
        .mount(&gh2)
        .await;
    p.run(&ci_args(&gh2.uri(), &[]), TOKEN_ENV)
        .await
        .expect(1)
        .says("expected a list under `workflow_runs`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_fails_at_once_without_printing_it() {
    let p = Project::new();
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            serde_json::json!({"message": "Bad credentials", "documentation_url": "x"}),
        ))
        .expect(1)
        .mount(&gh)
        .await;
    p.run(&ci_args(&gh.uri(), &["--timeout", "1m"]), TOKEN_ENV)
        .await
        .expect(1)
        .says("GitHub rejected the token")
        .says("GITHUB_TOKEN / GH_TOKEN");
    gh.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_token_is_a_usage_error_naming_both_variables() {
    let p = Project::new();
    let gh = MockServer::start().await;
    let r = p.run(&ci_args(&gh.uri(), &["--json"]), &[]).await;
    r.expect(2).says("GITHUB_TOKEN or GH_TOKEN");
    assert_eq!(r.json()["exit_code"], 2);
    assert!(gh.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gh_token_works_too_and_github_api_url_is_read() {
    let p = Project::new();
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .and(header(
            "authorization",
            format!("Bearer {GH_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[(
            1,
            &p.sha,
            "push",
            "completed",
            Some("skipped"),
        )])))
        .mount(&gh)
        .await;
    let args = [
        "staging",
        "--skip",
        "backend",
        "--skip",
        "logfire",
        "--poll-interval",
        "20ms",
    ];
    p.run(
        &args,
        &[
            ("GH_TOKEN", GH_TOKEN),
            ("GITHUB_API_URL", gh.uri().as_str()),
        ],
    )
    .await
    .expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sha_comes_from_the_pending_push_then_the_remote_tip_then_head() {
    let p = Project::new();
    let first = p.sha.clone();
    p.git(&["commit", "-q", "--allow-empty", "-m", "second"]);
    let second = p.git(&["rev-parse", "HEAD"]);
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[
            (1, &first, "push", "completed", Some("success")),
            (2, &second, "push", "completed", Some("success")),
        ])))
        .mount(&gh)
        .await;
    let sha_of = |r: &Run| r.json()["sha"].as_str().unwrap().to_string();
    let source_of = |r: &Run| r.json()["sha_source"].as_str().unwrap().to_string();

    // HEAD
    let r = p.run(&ci_args(&gh.uri(), &["--json"]), TOKEN_ENV).await;
    r.expect(0);
    assert_eq!((sha_of(&r), source_of(&r)), (second.clone(), "HEAD".into()));

    // origin/main (staging's branch is `staging`: use production, whose branches are main/master)
    p.git(&["update-ref", "refs/remotes/origin/main", &first]);
    let r = p
        .run(
            &[
                "production",
                "--skip",
                "backend",
                "--skip",
                "logfire",
                "--github-api",
                &gh.uri(),
                "--json",
            ],
            TOKEN_ENV,
        )
        .await;
    r.expect(0);
    assert_eq!(
        (sha_of(&r), source_of(&r)),
        (first.clone(), "origin/main".into())
    );

    // the pending push (abbreviated SHA expanded by git)
    p.store()
        .write_push_pending(&markers::PushPending {
            branch: "staging".into(),
            environment: "staging".into(),
            sha: Some(second[..10].parse().unwrap()),
            command: "git push".into(),
            session_id: "s".into(),
            time: markers::Timestamp::now(),
            time_utc: String::new(),
        })
        .unwrap();
    let r = p.run(&ci_args(&gh.uri(), &["--json"]), TOKEN_ENV).await;
    r.expect(0);
    assert_eq!(
        (sha_of(&r), source_of(&r)),
        (second.clone(), "push-pending marker".into())
    );

    // --sha wins; no environment given → the pending push's environment
    let r = p
        .run(
            &[
                "--sha",
                &first,
                "--skip",
                "backend",
                "--skip",
                "logfire",
                "--github-api",
                &gh.uri(),
                "--json",
            ],
            TOKEN_ENV,
        )
        .await;
    r.expect(0);
    assert_eq!(sha_of(&r), first);
    assert_eq!(r.json()["environment"], "staging");
}
