//! The Logfire step against a wiremock query API: the request it sends, errors present, 5xx,
//! timeouts, malformed JSON, a rejected token, the token file's permissions, and the token never
//! printed. Also the whole staging flow (mock GitHub + reference platform + mock Logfire) ending
//! in hook-stop.

mod common;

use common::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Logfire only (staging, CI and backend skipped).
fn lf_args<'a>(lf: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "staging",
        "--skip",
        "ci",
        "--skip",
        "backend",
        "--logfire-url",
        lf,
        "--poll-interval",
        "20ms",
    ];
    a.extend_from_slice(extra);
    a
}

const TOKEN_ENV: &[(&str, &str)] = &[("LOGFIRE_READ_TOKEN", LF_TOKEN)];

fn config(p: &Project) {
    p.write_config(
        "[[environments]]\nname = \"staging\"\nbranches = [\"staging\"]\nservice_name = \"dsf-api\"\n\
         logfire_environment = \"stage\"\n",
    );
}

fn no_rows() -> serde_json::Value {
    json!({"schema": {"fields": [{"name": "n", "data_type": "Int64", "nullable": false}]}, "data": []})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_errors_passes_and_the_query_is_scoped_to_service_environment_and_deploy() {
    let p = Project::new();
    config(&p);
    let lf = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        .and(header(
            "authorization",
            format!("Bearer {LF_TOKEN}").as_str(),
        ))
        .and(header("accept", "application/json"))
        .and(body_partial_json(json!({
            "min_timestamp": "2026-11-24T10:00:00Z",
            "deployment_environment": ["stage"],
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(no_rows()))
        .expect(1)
        .mount(&lf)
        .await;
    p.run(
        &lf_args(&lf.uri(), &["--since", "2026-11-24T10:00:00Z"]),
        TOKEN_ENV,
    )
    .await
    .expect(0)
    .says("✓ logfire")
    .says("no 5xx responses or errors (service dsf-api, environment stage, since 2026-11-24T10:00:00Z (--since))");
    lf.verify().await;
    let req: &Request = &lf.received_requests().await.unwrap()[0];
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    let sql = body["sql"].as_str().unwrap();
    assert!(sql.contains("service_name = 'dsf-api'"), "{sql}");
    assert!(sql.contains("http_response_status_code >= 500"), "{sql}");
    assert!(sql.contains("level >= 'error'"), "{sql}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_present_fail_listing_the_top_errors() {
    let p = Project::new();
    config(&p);
    let lf = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "schema": {"fields": []},
            "data": [
                {"exception_type": "IntegrityError", "span_name": "POST /api/dwellers/{id}/claim",
                 "status": 500, "n": 12, "example_message": "duplicate key value", "example_trace": "0af7651916cd43dd8448eb211c80319c"},
                {"exception_type": null, "span_name": "GET /api/worlds", "status": 502, "n": 3,
                 "example_message": null, "example_trace": "1bf7651916cd43dd8448eb211c80319c"}
            ]
        })))
        .mount(&lf)
        .await;
    let r = p.run(&lf_args(&lf.uri(), &["--json"]), TOKEN_ENV).await;
    r.expect(1);
    let j = r.json();
    let step = &j["steps"][5];
    assert_eq!(step["step"], "logfire");
    assert_eq!(step["verdict"], "failed");
    assert!(
        step["summary"]
            .as_str()
            .unwrap()
            .starts_with("15 error record(s) in 2 group(s)")
    );
    assert_eq!(
        step["failures"][0],
        "12× IntegrityError HTTP 500 in POST /api/dwellers/{id}/claim: duplicate key value (trace 0af7651916cd43dd8448eb211c80319c)"
    );
    assert_eq!(
        step["failures"][1],
        "3× HTTP 502 in GET /api/worlds (trace 1bf7651916cd43dd8448eb211c80319c)"
    );
    assert!(p.store().read_deploy_verified().unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_5xx_is_retried_and_persistent_5xx_fails() {
    let p = Project::new();
    config(&p);
    let lf = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&lf)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(no_rows()))
        .mount(&lf)
        .await;
    p.run(&lf_args(&lf.uri(), &[]), TOKEN_ENV)
        .await
        .expect(0)
        .says("Logfire answered HTTP 503: upstream unavailable; retrying");

    let down = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"detail": "internal"})))
        .mount(&down)
        .await;
    p.run(&lf_args(&down.uri(), &["--timeout", "200ms"]), TOKEN_ENV)
        .await
        .expect(1)
        .says("gave up after")
        .says("Logfire answered HTTP 500: internal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_malformed_json_fail_clearly() {
    let p = Project::new();
    p.write_config("[verify]\nrequest_timeout = \"100ms\"\n");
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(no_rows())
                .set_delay(std::time::Duration::from_secs(3)),
        )
        .mount(&slow)
        .await;
    p.run(&lf_args(&slow.uri(), &["--timeout", "300ms"]), TOKEN_ENV)
        .await
        .expect(1)
        .says("Logfire did not answer");

    let bad = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>"))
        .mount(&bad)
        .await;
    p.run(&lf_args(&bad.uri(), &[]), TOKEN_ENV)
        .await
        .expect(1)
        .says("Logfire's answer is not what we expected: body is not JSON");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_or_a_bad_query_never_echoes_the_token() {
    let p = Project::new();
    let lf = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"detail": format!("invalid token {LF_TOKEN}")})),
        )
        .mount(&lf)
        .await;
    p.run(&lf_args(&lf.uri(), &[]), TOKEN_ENV)
        .await
        .expect(1)
        .says("Logfire rejected the read token (HTTP 401)")
        .says("token from $LOGFIRE_READ_TOKEN");

    let echo = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"detail": format!("query failed for token {LF_TOKEN}: column x")}),
        ))
        .mount(&echo)
        .await;
    p.run(&lf_args(&echo.uri(), &[]), TOKEN_ENV)
        .await
        .expect(1)
        .says("Logfire could not run the query (HTTP 400): query failed for token <redacted>: column x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_file_is_used_only_when_private() {
    let p = Project::new();
    let lf = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        .and(header(
            "authorization",
            format!("Bearer {LF_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(no_rows()))
        .mount(&lf)
        .await;
    // no token anywhere: usage error naming both places
    p.run(&lf_args(&lf.uri(), &[]), &[])
        .await
        .expect(2)
        .says("LOGFIRE_READ_TOKEN")
        .says(".claude/logfire-token");
    let file = p.root.join(".claude/logfire-token");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, format!("{LF_TOKEN}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    p.run(&lf_args(&lf.uri(), &[]), &[])
        .await
        .expect(2)
        .says("can be read by group or others (mode 0644)")
        .says("chmod 600");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.run(&lf_args(&lf.uri(), &[]), &[])
        .await
        .expect(0)
        .says("✓ logfire");
    assert_eq!(lf.received_requests().await.unwrap().len(), 1);
}

/// Staging end to end: CI in progress then green on a mock GitHub, the reference platform reporting
/// the SHA, smoke endpoints, no Logfire errors since the first run of the SHA; then hook-stop opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_all_six_steps_green_opens_the_stop_gate() {
    let p = Project::new();
    let plat = reference_platform::start(reference_platform::PlatformOptions {
        commit: Some(p.sha.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let fe = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<h1>Deep Sci-Fi</h1>"))
        .mount(&fe)
        .await;
    p.write_config(&format!(
        r#"
[[environments]]
name = "staging"
branches = ["staging"]
backend_url = "{}"
frontend_url = "{}"
frontend_marker = "Deep Sci-Fi"
service_name = "dsf-api"
smoke = [{{ path = "/api/worlds" }}, {{ path = "/api/feedback/summary" }}]
"#,
        plat.base_url,
        fe.uri()
    ));
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/actions/runs"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(runs(&[(1, &p.sha, "push", "queued", None)])),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&gh)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/actions/runs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[(
            1,
            &p.sha,
            "push",
            "completed",
            Some("success"),
        )])))
        .mount(&gh)
        .await;
    let lf = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        // no --since: the window starts at the push (the pending-push marker's time)
        .and(body_partial_json(
            json!({"min_timestamp": "2026-11-24T00:00:00.000Z",
                                      "deployment_environment": ["staging"]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(no_rows()))
        .expect(1)
        .mount(&lf)
        .await;
    p.store()
        .write_push_pending(&markers::PushPending {
            branch: "staging".into(),
            environment: "staging".into(),
            sha: Some(p.sha.parse().unwrap()),
            command: "git push origin staging".into(),
            session_id: "s1".into(),
            time: markers::Timestamp(1_795_478_400_000),
            time_utc: String::new(),
        })
        .unwrap();
    let gh_uri = gh.uri();
    let lf_uri = lf.uri();
    let r = p
        .run(
            &[
                "--github-api",
                &gh_uri,
                "--logfire-url",
                &lf_uri,
                "--poll-interval",
                "20ms",
                "--json",
            ],
            &[("GITHUB_TOKEN", GH_TOKEN), ("LOGFIRE_READ_TOKEN", LF_TOKEN)],
        )
        .await;
    r.expect(0);
    let j = r.json();
    let verdicts: Vec<&str> = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, vec!["passed"; 6], "{j:#}");
    assert_eq!(j["marker_written"], true);
    let v = p.store().read_deploy_verified().unwrap().unwrap();
    assert_eq!(
        v.checks,
        vec!["ci", "backend", "frontend", "smoke", "schema", "logfire"]
    );
    lf.verify().await;
    let decision = hook_stop::run(
        json!({"hook_event_name": "Stop", "stop_hook_active": false, "cwd": p.root})
            .to_string()
            .as_bytes(),
        &hook_stop::Context {
            project_dir: None,
            marker_base: Some(p.markers.clone()),
            now: markers::Timestamp::now(),
        },
    )
    .decision;
    assert_eq!(decision, hook_stop::Decision::Allow);
    plat.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_push_marker_the_window_starts_at_the_first_workflow_run() {
    let p = Project::new();
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/actions/runs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs(&[(
            1,
            &p.sha,
            "push",
            "completed",
            Some("success"),
        )])))
        .mount(&gh)
        .await;
    let lf = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/query"))
        .and(body_partial_json(
            json!({"min_timestamp": "2026-11-24T10:00:00Z"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(no_rows()))
        .expect(1)
        .mount(&lf)
        .await;
    let gh_uri = gh.uri();
    let lf_uri = lf.uri();
    let r = p
        .run(
            &[
                "staging",
                "--skip",
                "backend",
                "--github-api",
                &gh_uri,
                "--logfire-url",
                &lf_uri,
                "--json",
            ],
            &[("GITHUB_TOKEN", GH_TOKEN), ("LOGFIRE_READ_TOKEN", LF_TOKEN)],
        )
        .await;
    r.expect(0);
    assert_eq!(
        r.json()["logfire_since"],
        "2026-11-24T10:00:00Z (first workflow run of the SHA)"
    );
    lf.verify().await;
}
