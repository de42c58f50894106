//! Target capabilities: probed before any seed, printed in the summary, and used by the checks.
//! The reference platform has every one; a stand-in target (the reference platform behind a small
//! forwarding server that leaves fields out of its answers, with or without an OpenAPI document
//! that says so) shows a capability detected as absent, the checks adapting to it, and a response
//! that lacks what a detected capability promises reported as a violation.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method as HttpMethod, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clap::Parser;
use dst_sim::capabilities::{Capabilities, Capability, SchemaSource};
use dst_sim::cli::{Cli, Command};
use dst_sim::invariants::Invariant;
use dst_sim::model::Rule;
use dst_sim::report::Summary;
use dst_sim::run::Target;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// How the stand-in differs from the reference platform behind it.
#[derive(Clone, Copy)]
struct Stand {
    /// Leave `upvoters` out of feedback answers and `decisions`/`rejected_by` out of event answers.
    strip: bool,
    /// Serve an OpenAPI document whose feedback and event answers lack those fields.
    openapi: bool,
    /// Answer the aspect test-approve route (401 without a key) and declare nothing about aspect
    /// approval in `/api/platform/health`, as the real platform does.
    aspect_test_approve: bool,
    /// The platform behind runs in test mode (its `/api/platform/health` says so).
    test_mode: bool,
}

struct Upstream {
    client: api_client::Client,
    stand: Stand,
}

/// The OpenAPI document of a platform whose feedback has no upvoters list and whose events have
/// no decision list and no `rejected_by` (our own minimal document, written for this test).
fn openapi() -> Value {
    let get = |schema: &str| json!({"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}}}}});
    json!({
        "openapi": "3.1.0",
        "paths": {
            "/api/feedback/{feedback_id}": get("FeedbackAnswer"),
            "/api/events/{event_id}": get("EventAnswer"),
        },
        "components": {"schemas": {
            "FeedbackAnswer": {"type": "object", "properties": {"feedback": {"$ref": "#/components/schemas/Feedback"}}},
            "Feedback": {"type": "object", "properties": {"id": {}, "status": {}, "upvote_count": {}}},
            "EventAnswer": {"type": "object", "properties": {"event": {"$ref": "#/components/schemas/Event"}}},
            "Event": {"type": "object", "properties": {"id": {}, "world_id": {}, "status": {}, "approved_by": {}}},
        }},
    })
}

async fn forward(State(up): State<Arc<Upstream>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let get = parts.method == HttpMethod::GET;
    if get && path == "/openapi.json" && up.stand.openapi {
        return axum::Json(openapi()).into_response();
    }
    if up.stand.aspect_test_approve
        && parts.method == HttpMethod::POST
        && path.starts_with("/api/aspects/")
        && path.ends_with("/test-approve")
    {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"detail": "key"})),
        )
            .into_response();
    }
    let mut client = up.client.clone();
    if let Some(k) = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        client = client.with_api_key(k);
    }
    let bytes: Bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let method = api_client::Method::from_bytes(parts.method.as_str().as_bytes())
        .unwrap_or(api_client::Method::GET);
    let answer = if bytes.is_empty() {
        client.send_raw(method, &path, None).await
    } else {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        client.send_raw_json_text(method, &path, &text).await
    };
    let Ok(r) = answer else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut text = r.text;
    let is_one = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| !rest.contains('/') && !rest.contains('?'))
    };
    if up.stand.strip && get && r.status == 200 {
        let mut v = r.body;
        if is_one("/api/feedback/")
            && let Some(o) = v.get_mut("feedback").and_then(Value::as_object_mut)
        {
            o.remove("upvoters");
        }
        if is_one("/api/events/")
            && let Some(o) = v.get_mut("event").and_then(Value::as_object_mut)
        {
            o.remove("decisions");
            o.remove("rejected_by");
        }
        text = v.to_string();
    }
    if up.stand.aspect_test_approve && get && path == "/api/platform/health" {
        let mut v: Value = serde_json::from_str(&text).unwrap_or_default();
        if let Some(o) = v.get_mut("configuration").and_then(Value::as_object_mut) {
            o.remove("aspect_review_approval");
        }
        text = v.to_string();
    }
    Response::builder()
        .status(r.status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(text))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

/// The reference platform behind a stand-in; returns the stand-in's URL and the platform.
/// (Runs against it pass the platform's admin key: the admin rule is then sent, not skipped.)
async fn stand_in(stand: Stand) -> (String, reference_platform::RunningPlatform) {
    let p = reference_platform::start(reference_platform::PlatformOptions {
        test_mode: stand.test_mode,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = api_client::Client::new(api_client::ClientConfig::new(&p.base_url)).unwrap();
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(Arc::new(Upstream { client, stand }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (url, p)
}

async fn run(args: &[&str]) -> Summary {
    let out = tempfile::tempdir().unwrap();
    let mut argv = vec!["dst-sim", "run", "--shrink-iters", "0", "--out"];
    let out_dir = out.path().display().to_string();
    argv.push(&out_dir);
    argv.extend_from_slice(args);
    let Command::Run(a) = Cli::try_parse_from(argv).unwrap().command else {
        unreachable!("a run command")
    };
    dst_sim::cli::run(&a, false).await.unwrap()
}

/// A run of `seeds` (200 steps each) against `url` with the admin key.
async fn run_against(url: &str, admin_key: &str, seeds: &str) -> Summary {
    run(&[
        "--target",
        url,
        "--admin-key",
        admin_key,
        "--seeds",
        seeds,
        "--steps",
        "200",
    ])
    .await
}

#[tokio::test]
async fn the_embedded_platform_has_every_capability_and_the_summary_says_so() {
    let t = Target::embedded(&[]).await.unwrap();
    assert_eq!(t.capabilities, Capabilities::all());
    assert!(Capability::all().iter().all(|c| t.capabilities.has(*c)));
    assert_eq!(t.capabilities.response_schemas, SchemaSource::None);
    t.embedded.unwrap().shutdown().await;

    let s = run(&["--seeds", "0..2", "--steps", "40"]).await;
    assert_eq!(s.capabilities, Some(Capabilities::all()));
    let j = serde_json::to_value(&s).unwrap();
    for c in Capability::all() {
        assert_eq!(
            j["capabilities"]["detected"][c.to_string()],
            json!(true),
            "{c}"
        );
    }
    let table = s.table();
    assert!(
        table.contains("target capabilities") && table.contains("feedback-upvoters        yes"),
        "{table}"
    );
}

#[tokio::test]
async fn a_stand_in_without_the_fields_is_detected_and_the_checks_adapt() {
    let stand = Stand {
        strip: true,
        openapi: true,
        aspect_test_approve: false,
        test_mode: true,
    };
    let (url, p) = stand_in(stand).await;
    let t = Target::remote(&url, None, "cap".into(), Duration::from_secs(30))
        .await
        .unwrap();
    let c = &t.capabilities;
    assert_eq!(c.response_schemas, SchemaSource::Openapi);
    assert!(!c.has(Capability::FeedbackUpvoters));
    assert!(!c.has(Capability::EventDecisions));
    assert!(!c.has(Capability::EventRejectedBy));
    assert!(
        c.has(Capability::EventApprovedBy),
        "the document declares it"
    );
    assert!(
        c.has(Capability::AspectReviewApproval),
        "no test-approve route"
    );

    // the answers lack the fields, and the checks do not ask for them
    let s = run_against(&url, &p.admin_key, "0..3").await;
    assert!(s.classes.is_empty(), "{:#?}", s.classes);
    for r in [Rule::UpvoteFeedback, Rule::ApproveEvent, Rule::RejectEvent] {
        assert!(s.rules[&r].succeeded > 0, "{r} never succeeded");
    }
    assert_eq!(s.capabilities.as_ref(), Some(c));
    let table = s.table();
    assert!(
        table.contains("feedback-upvoters        no: invariant 3 checks the count"),
        "{table}"
    );
    // with the count alone, invariant 3 still ran; 4 and 5 never read a list
    let checks = |i: Invariant| s.invariants.get(&i).copied().unwrap_or(0);
    assert!(checks(Invariant::UpvoteCount) > 0);
    assert!(checks(Invariant::EventDecision) > 0);
    assert_eq!(checks(Invariant::NoSelfUpvote), 0);
    assert_eq!(checks(Invariant::NoDuplicateUpvoter), 0);
    p.shutdown().await;

    // a platform with the aspect approval route that declares nothing approves aspects only
    // there; without test mode, the test-approve rule is not sent
    let (url, p) = stand_in(Stand {
        aspect_test_approve: true,
        test_mode: false,
        ..stand
    })
    .await;
    let t = Target::remote(&url, None, "cap2".into(), Duration::from_secs(30))
        .await
        .unwrap();
    assert!(!t.capabilities.has(Capability::AspectReviewApproval));
    assert!(!t.capabilities.has(Capability::TestMode));
    p.shutdown().await;
    let (url, p) = stand_in(Stand {
        strip: false,
        openapi: false,
        aspect_test_approve: false,
        test_mode: false,
    })
    .await;
    let s = run_against(&url, &p.admin_key, "0..2").await;
    let caps = s.capabilities.clone().unwrap();
    assert!(caps.has(Capability::AspectReviewApproval), "declared");
    assert!(!caps.has(Capability::TestMode));
    assert_eq!(s.rules[&Rule::TestApproveAspect].fired, 0);
    assert!(s.rules[&Rule::ReopenAspectItem].fired > 0);
    assert!(s.classes.is_empty(), "{:#?}", s.classes);
    assert!(
        s.table()
            .contains("test-mode                no: test-approve of aspects is not sent"),
        "{}",
        s.table()
    );
    p.shutdown().await;
}

#[tokio::test]
async fn an_answer_lacking_what_a_capability_promises_is_a_violation() {
    // the same answers, but nothing says the fields are missing: the target is taken to have
    // them, and their absence is reported instead of skipped
    let (url, p) = stand_in(Stand {
        strip: true,
        openapi: false,
        aspect_test_approve: false,
        test_mode: true,
    })
    .await;
    let s = run_against(&url, &p.admin_key, "0..3").await;
    assert_eq!(s.capabilities, Some(Capabilities::all()));
    let found = |needle: &str| {
        s.classes
            .iter()
            .any(|c| c.invariant == Invariant::ModelAgreement && c.message.contains(needle))
    };
    assert!(
        found("has no `upvoters` list; the target was probed to have it"),
        "{:#?}",
        s.classes
    );
    assert!(found("has no `decisions` list"), "{:#?}", s.classes);
    p.shutdown().await;
}

/// Without `--admin-key` the admin feedback-status rule sends nothing, and the model leaves the
/// feedback where it is (before, it moved the status it never sent, and every later read-back of
/// that feedback was a false 6-terminal-feedback or model-agreement violation).
#[tokio::test]
async fn without_an_admin_key_the_admin_rule_changes_nothing() {
    let (url, p) = stand_in(Stand {
        strip: false,
        openapi: false,
        aspect_test_approve: false,
        test_mode: true,
    })
    .await;
    let s = run(&["--target", &url, "--seeds", "0..2", "--steps", "200"]).await;
    assert!(s.rules[&Rule::AdminFeedbackStatus].fired > 0);
    assert!(s.classes.is_empty(), "{:#?}", s.classes);
    p.shutdown().await;
}
