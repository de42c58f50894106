//! Health, smoke and schema against the reference platform on loopback; broken backends
//! (5xx, timeouts, malformed JSON, another commit, degraded) and the frontend as wiremock servers;
//! the Done-when flow ending in hook-stop; usage errors; GitHub Actions output.

mod common;

use common::*;
use reference_platform::{PlatformOptions, RunningPlatform};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn platform(commit: Option<&str>) -> RunningPlatform {
    reference_platform::start(PlatformOptions {
        commit: commit.map(str::to_string),
        ..Default::default()
    })
    .await
    .expect("reference platform starts")
}

fn stop_event(root: &std::path::Path) -> Vec<u8> {
    json!({"session_id": "s1", "hook_event_name": "Stop", "stop_hook_active": false,
           "cwd": root.to_str().unwrap()})
    .to_string()
    .into_bytes()
}

fn hook_stop(p: &Project) -> hook_stop::Decision {
    hook_stop::run(
        &stop_event(&p.root),
        &hook_stop::Context {
            project_dir: None,
            marker_base: Some(p.markers.clone()),
            now: markers::Timestamp::now(),
        },
    )
    .decision
}

/// The issue's Done-when: `verify-deployment local` against the reference platform, all applicable
/// steps green, the marker written, and hook-stop lets the session end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_against_the_reference_platform_opens_the_stop_gate() {
    let p = Project::new();
    let plat = platform(Some(&p.sha)).await;
    p.store()
        .write_push_pending(&markers::PushPending {
            branch: "main".into(),
            environment: "local".into(),
            sha: Some(p.sha.parse().unwrap()),
            command: "git push".into(),
            session_id: "s1".into(),
            time: markers::Timestamp::now(),
            time_utc: String::new(),
        })
        .unwrap();
    assert_eq!(hook_stop(&p), hook_stop::Decision::Block);

    let r = p
        .run(&["local", "--backend-url", &plat.base_url], &[])
        .await;
    r.expect(0)
        .says("✓ backend")
        .says(&format!("deployed commit {} matches", &p.sha[..12]))
        .says("✓ schema")
        .says("ci = false for local")
        .says("logfire = false for local")
        .says("deploy-verified marker written");
    let v = p.store().read_deploy_verified().unwrap().expect("marker");
    assert_eq!(
        (v.environment.as_str(), v.sha.as_str()),
        ("local", p.sha.as_str())
    );
    assert_eq!(v.checks, vec!["backend", "schema"]);
    assert_eq!(hook_stop(&p), hook_stop::Decision::Allow);
    plat.shutdown().await;
}

/// The configured local URL (no --backend-url) and a smoke list, with a failing run that leaves
/// the gate closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_runs_every_endpoint_and_lists_every_failure() {
    let p = Project::new();
    let plat = platform(Some(&p.sha)).await;
    p.write_config(&format!(
        r#"
[[environments]]
name = "local"
backend_url = "{}"
ci = false
logfire = false
smoke = [
  {{ path = "/api/worlds" }},
  {{ path = "/api/feedback/summary", expect_status = 200 }},
  {{ path = "/api/no-such-thing" }},
  {{ path = "/api/auth/verify", expect_status = 200 }},
  {{ path = "/health", method = "post", expect_status = 405 }},
]
"#,
        plat.base_url
    ));
    let r = p.run(&["local", "--json"], &[]).await;
    r.expect(1);
    let j = r.json();
    let smoke = &j["steps"][3];
    assert_eq!(smoke["step"], "smoke");
    assert_eq!(smoke["verdict"], "failed");
    assert_eq!(smoke["summary"], "2 of 5 endpoint(s) failed");
    let f: Vec<&str> = smoke["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        f[0].starts_with("GET /api/no-such-thing → HTTP 404 (expected 200)"),
        "{f:?}"
    );
    assert!(f[1].starts_with("GET /api/auth/verify → HTTP 401"), "{f:?}");
    assert_eq!(j["steps"][1]["verdict"], "passed");
    assert!(p.store().read_deploy_verified().unwrap().is_none());

    // fix the list: everything passes
    p.write_config(&format!(
        "[[environments]]\nname = \"local\"\nbackend_url = \"{}\"\nci = false\nlogfire = false\n\
         smoke = [{{ path = \"/api/worlds\" }}, {{ path = \"/api/auth/verify\", expect_status = 401 }}]\n",
        plat.base_url
    ));
    p.run(&["local"], &[])
        .await
        .expect(0)
        .says("2 endpoint(s) answered as expected");
    plat.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_still_on_the_previous_commit_is_waited_for_then_fails() {
    let p = Project::new();
    let plat = platform(Some(OLD_SHA)).await;
    p.run(
        &[
            "local",
            "--backend-url",
            &plat.base_url,
            "--timeout",
            "300ms",
            "--poll-interval",
            "50ms",
        ],
        &[],
    )
    .await
    .expect(1)
    .says(&format!(
        "reports deployed commit {}, expected {}",
        &OLD_SHA[..12],
        &p.sha[..12]
    ))
    .says("· schema")
    .says("not run because backend failed");
    plat.shutdown().await;
}

async fn broken_backend(resp: ResponseTemplate) -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(resp)
        .mount(&s)
        .await;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_5xx_timeouts_and_malformed_json_fail_with_the_last_reason() {
    let p = Project::new();
    p.write_config("[verify]\nrequest_timeout = \"100ms\"\n");
    let fast = ["--timeout", "300ms", "--poll-interval", "30ms"];
    let cases = [
        (
            ResponseTemplate::new(503).set_body_json(json!({"status": "starting"})),
            "HTTP 503, status `starting`",
        ),
        (
            ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"),
            "200 but the body is not JSON: <html>maintenance</html>",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"ok": true})),
            "200 but the body is not a health report",
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "healthy"}))
                .set_delay(std::time::Duration::from_secs(3)),
            "timed out",
        ),
    ];
    for (resp, says) in cases {
        let s = broken_backend(resp).await;
        let mut args = vec!["local", "--backend-url"];
        let uri = s.uri();
        args.push(&uri);
        args.extend_from_slice(&fast);
        p.run(&args, &[])
            .await
            .expect(1)
            .says("not healthy after")
            .says(says);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_degraded_backend_fails_the_schema_step_with_its_details() {
    let p = Project::new();
    let s = broken_backend(ResponseTemplate::new(200).set_body_json(json!({
        "status": "degraded", "deployment_status": "migrating",
        "schema": {"is_current": false, "current_version": "0041", "expected_version": "0042",
                   "message": "1 migration pending"},
        "deployed_commit": p.sha,
    })))
    .await;
    p.run(&["local", "--backend-url", &s.uri()], &[])
        .await
        .expect(1)
        .says("✓ backend")
        .says("✗ schema")
        .says("health status is `degraded` (deployment_status `migrating`)")
        .says("current_version=0041, expected_version=0042, message: 1 migration pending");
    assert!(p.store().read_deploy_verified().unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frontend_needs_200_and_its_marker() {
    let p = Project::new();
    let plat = platform(None).await;
    let fe = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("<html><title>Deep Sci-Fi</title></html>"),
        )
        .mount(&fe)
        .await;
    let cfg = |marker: &str| {
        format!(
            "[[environments]]\nname = \"local\"\nbackend_url = \"{}\"\nci = false\nlogfire = false\n\
             frontend_url = \"{}\"\nfrontend_marker = \"{marker}\"\n",
            plat.base_url,
            fe.uri()
        )
    };
    p.write_config(&cfg("Deep Sci-Fi"));
    p.run(&["local"], &[])
        .await
        .expect(0)
        .says("✓ backend")
        .says("reports no deployed commit, so the SHA was not compared")
        .says("✓ frontend")
        .says("contains `Deep Sci-Fi`");
    p.write_config(&cfg("Welcome back"));
    p.run(
        &["local", "--timeout", "200ms", "--poll-interval", "30ms"],
        &[],
    )
    .await
    .expect(1)
    .says("✗ frontend")
    .says("does not contain `Welcome back`");
    // --frontend-url overrides for one run: an unreachable frontend
    p.write_config(&cfg("Deep Sci-Fi"));
    p.run(
        &[
            "local",
            "--frontend-url",
            "http://127.0.0.1:9",
            "--timeout",
            "200ms",
            "--poll-interval",
            "30ms",
        ],
        &[],
    )
    .await
    .expect(1)
    .says("✗ frontend")
    .says("cannot reach http://127.0.0.1:9");
    plat.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_actions_get_a_step_summary_and_error_annotations() {
    let p = Project::new();
    let s = broken_backend(ResponseTemplate::new(500)).await;
    let summary = p.root.join("summary.md");
    let r = p
        .run(
            &[
                "local",
                "--backend-url",
                &s.uri(),
                "--timeout",
                "150ms",
                "--poll-interval",
                "30ms",
            ],
            &[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ],
        )
        .await;
    r.expect(1)
        .says("::error title=verify-deployment local%3A backend::not healthy after");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("| step | verdict | details |"), "{md}");
    assert!(md.contains("| backend | FAILED |"), "{md}");
    assert!(
        md.contains("| ci | skipped | ci = false for local |"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_configuration_errors_exit_2_before_any_check() {
    let p = Project::new();
    p.run(&["nowhere"], &[])
        .await
        .expect(2)
        .says("unknown environment `nowhere`; known: local, staging, production");
    p.run(&["local", "--sha", "xyz"], &[])
        .await
        .expect(2)
        .says("is not a commit SHA");
    p.run(&["staging", "--skip", "ci", "--skip", "logfire"], &[])
        .await
        .expect(2)
        .says("has no backend_url");
    p.run(&["local", "--backend-url", "ftp://x"], &[])
        .await
        .expect(2)
        .says("not an http:// or https:// URL");
    p.run(&["local", "--timeout", "soon"], &[])
        .await
        .expect(2)
        .says("not a duration");
    p.run(&[], &[]).await.expect(2).says("name an environment");
    p.write_config("[verify]\nbogus = 1\n");
    p.run(&["local"], &[]).await.expect(2).says("bogus");
    p.write_config("[[environments]]\nname = \"local\"\nbackend_url = \"http://127.0.0.1:1\"\nsmoke = [{ path = \"api\" }]\n");
    p.run(&["local", "--skip", "ci", "--skip", "logfire"], &[])
        .await
        .expect(2)
        .says("must start with /");
    p.run(&["local", "--config", "/nonexistent/harness.toml"], &[])
        .await
        .expect(2)
        .says("cannot read /nonexistent/harness.toml");
    std::fs::write(p.root.join("harness.toml"), b"\xff\xfe").unwrap();
    p.run(&["local"], &[]).await.expect(2).says("not UTF-8");
    // outside a git repository
    let outside = tempfile::tempdir().unwrap();
    let r = p
        .run(&["local", "-C", outside.path().to_str().unwrap()], &[])
        .await;
    if r.code == 2 {
        r.says("not inside a git repository");
    }
    assert!(p.store().read_deploy_verified().unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipping_every_step_proves_nothing() {
    let p = Project::new();
    let mut args = vec!["local"];
    for s in ["ci", "backend", "frontend", "smoke", "schema", "logfire"] {
        args.extend_from_slice(&["--skip", s]);
    }
    p.run(&args, &[])
        .await
        .expect(1)
        .says("every step for local");
    assert!(p.store().read_deploy_verified().unwrap().is_none());
}
