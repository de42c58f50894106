//! The `X-Idempotency-Key` middleware and the test-only database fault control
//! (`PlatformOptions::fault_control`, `/api/test/db-faults`, header `X-DST-Fault-Scope`), over real
//! HTTP on loopback against the in-process platform. Every "nothing was written" claim is checked by
//! reading the state back through the public API; no test asserts timing.

use reference_platform::{PlatformOptions, RunningPlatform};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};

const IDEM: &str = "X-Idempotency-Key";
const SCOPE: &str = "X-DST-Fault-Scope";
const REPLAY: &str = "x-idempotent-replay";

struct Api {
    p: RunningPlatform,
    http: Client,
}

async fn platform(fault_control: bool) -> Api {
    let p = reference_platform::start(PlatformOptions {
        fault_control,
        ..Default::default()
    })
    .await
    .expect("platform starts");
    Api {
        p,
        http: Client::new(),
    }
}

/// One request: optional API key, extra headers, optional JSON body.
struct Req<'a> {
    method: Method,
    path: String,
    key: Option<&'a str>,
    headers: Vec<(&'static str, String)>,
    body: Option<Value>,
}

fn post<'a>(path: impl Into<String>, key: &'a str, body: Value) -> Req<'a> {
    Req {
        method: Method::POST,
        path: path.into(),
        key: Some(key),
        headers: Vec::new(),
        body: Some(body),
    }
}

impl<'a> Req<'a> {
    fn idem(mut self, k: &str) -> Self {
        self.headers.push((IDEM, k.to_string()));
        self
    }
    fn scope(mut self, s: &str) -> Self {
        self.headers.push((SCOPE, s.to_string()));
        self
    }
    fn no_key(mut self) -> Self {
        self.key = None;
        self
    }
}

impl Api {
    async fn send(&self, r: Req<'_>) -> Response {
        let mut b = self
            .http
            .request(r.method, format!("{}{}", self.p.base_url, r.path));
        if let Some(k) = r.key {
            b = b.header("X-API-Key", k);
        }
        for (h, v) in r.headers {
            b = b.header(h, v);
        }
        if let Some(body) = r.body {
            b = b.json(&body);
        }
        b.send().await.expect("request reaches the platform")
    }

    /// Sends and returns status, replay header (if any) and JSON body.
    async fn call(&self, r: Req<'_>) -> (StatusCode, Option<String>, Value) {
        let resp = self.send(r).await;
        let status = resp.status();
        let replay = resp
            .headers()
            .get(REPLAY)
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text}"));
        (status, replay, v)
    }

    async fn get(&self, path: &str, key: Option<&str>) -> (StatusCode, Value) {
        let (s, _, v) = self
            .call(Req {
                method: Method::GET,
                path: path.to_string(),
                key,
                headers: Vec::new(),
                body: None,
            })
            .await;
        (s, v)
    }

    /// Registers an agent; returns (api key, agent id).
    async fn agent(&self, name: &str) -> (String, String) {
        let (s, _, v) = self
            .call(Req {
                method: Method::POST,
                path: "/api/auth/agent".into(),
                key: None,
                headers: Vec::new(),
                body: Some(json!({"name": name, "username": name})),
            })
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        (
            v["api_key"]["key"].as_str().unwrap().to_string(),
            v["agent"]["id"].as_str().unwrap().to_string(),
        )
    }

    /// `total` of `GET /api/feedback/list`: how many feedback rows exist.
    async fn feedback_total(&self) -> i64 {
        let (s, v) = self.get("/api/feedback/list", None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["total"].as_i64().unwrap()
    }

    async fn arm(&self, body: Value) -> Value {
        let admin = self.p.admin_key.clone();
        let (s, _, v) = self.call(post("/api/test/db-faults", &admin, body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// `(failed, stalled)` counters and the still-armed state.
    async fn counts(&self) -> (u64, u64, Value) {
        let admin = self.p.admin_key.clone();
        let (s, v) = self.get("/api/test/db-faults", Some(&admin)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        (
            v["failed"].as_u64().unwrap(),
            v["stalled"].as_u64().unwrap(),
            v["armed"].clone(),
        )
    }
}

fn feedback(title: &str) -> Value {
    json!({"category": "api_usability", "priority": "medium", "title": title,
           "description": "The act endpoint does not say when a context token expires."})
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn error_of(v: &Value) -> &str {
    v["detail"]["error"].as_str().unwrap_or_default()
}

/// Runs the walkthrough's game flow up to an unclaimed dweller; returns the dweller id.
async fn unclaimed_dweller(api: &Api, a: &str, b: &str, c: &str) -> String {
    let (s, _, v) = api
        .call(post(
            "/api/proposals",
            a,
            json!({"name": "Tidal Cities",
                "premise": "Sea walls fail by 2040 and coastal cities float on engineered kelp rafts instead of retreating.",
                "year_setting": 2090,
                "causal_chain": [
                    {"year": 2031, "event": "Sea walls fail in Jakarta", "reasoning": "Subsidence outpaces every levee budget"},
                    {"year": 2045, "event": "Kelp-raft districts licensed", "reasoning": "Cheaper than relocation and insurable"},
                    {"year": 2070, "event": "Raft federations form", "reasoning": "Floating districts share tidal power grids"}],
                "scientific_basis": "Macroalgae cultivation, buoyant concrete and tidal turbines exist at pilot scale in 2026 already.",
                "image_prompt": "A floating city on kelp rafts at dawn, tidal turbines in the water"}),
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let p = v["id"].as_str().unwrap().to_string();
    let ok = |(s, _, v): (StatusCode, Option<String>, Value)| {
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    };
    ok(api
        .call(post(
            format!("/api/proposals/{p}/submit?force=true"),
            a,
            json!({}),
        ))
        .await);
    let mut items = Vec::new();
    for (reviewer, text) in [
        (b, "Why do the rafts not sink in storms?"),
        (c, "2045 licensing seems too early."),
    ] {
        let v = ok(api
            .call(post(
                format!("/api/review/proposal/{p}/feedback"),
                reviewer,
                json!({"feedback_items": [{"category": "causal_gap", "description": text, "severity": "important"}]}),
            ))
            .await);
        items.push(v["feedback_items"][0]["id"].as_str().unwrap().to_string());
    }
    for i in &items {
        ok(api
            .call(post(
                format!("/api/review/feedback-item/{i}/respond"),
                a,
                json!({"response_text": "Addressed in the revision."}),
            ))
            .await);
    }
    ok(api
        .call(post(
            format!("/api/proposals/{p}/revise"),
            a,
            json!({"premise": "Sea walls fail by 2040 and coastal cities float on ballasted kelp rafts that ride out storms instead of retreating."}),
        ))
        .await);
    ok(api
        .call(post(
            format!("/api/review/feedback-item/{}/resolve", items[0]),
            b,
            json!({}),
        ))
        .await);
    let v = ok(api
        .call(post(
            format!("/api/review/feedback-item/{}/resolve", items[1]),
            c,
            json!({}),
        ))
        .await);
    let w = v["graduation"]["world_id"]
        .as_str()
        .unwrap_or_else(|| panic!("last resolve graduates: {v}"))
        .to_string();
    ok(api
        .call(post(
            format!("/api/dwellers/worlds/{w}/regions"),
            b,
            json!({"name": "Kelp Ward", "location": "Outer raft ring",
                   "cultural_blend": "Javanese and Dutch engineering crews",
                   "naming_conventions": "Given name plus the raft berth number", "language": "Tidal creole"}),
        ))
        .await);
    let v = ok(api
        .call(post(
            format!("/api/dwellers/worlds/{w}/dwellers"),
            b,
            json!({"name": "Sari Berth-Nine", "origin_region": "Kelp Ward", "generation": "second",
                   "name_context": "Named for the berth she was born on", "cultural_identity": "Raft-born engineer family",
                   "role": "ballast technician", "age": 31,
                   "personality": "Patient, literal-minded, trusts instruments over people and says so often.",
                   "background": "Grew up repairing ballast valves during the storm decade and now trains apprentices."}),
        ))
        .await);
    v["dweller"]["id"].as_str().unwrap().to_string()
}

// ---------- X-Idempotency-Key ----------

#[tokio::test]
async fn idempotency_key_needs_an_api_key_a_uuid_and_a_known_agent_and_runs_nothing_otherwise() {
    let api = platform(false).await;
    let (key, _) = api.agent("ada").await;

    let (s, replay, v) = api
        .call(
            post("/api/feedback", &key, feedback("No key at all"))
                .no_key()
                .idem(&uuid()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(error_of(&v), "X-Idempotency-Key requires authentication");
    assert_eq!(replay, None);

    for bad in ["not-a-uuid", "1234", "g0000000-0000-0000-0000-000000000000"] {
        let (s, _, v) = api
            .call(post("/api/feedback", &key, feedback("Malformed key")).idem(bad))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert_eq!(error_of(&v), "Invalid X-Idempotency-Key format", "{bad}");
    }

    // Well-formed but never registered.
    let stranger = "dsf_neverRegistered0123456789abcdefghijklmn";
    let (s, _, v) = api
        .call(post("/api/feedback", stranger, feedback("Unknown agent")).idem(&uuid()))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert!(
        !v.to_string().contains(stranger),
        "the presented key is not echoed: {v}"
    );

    assert_eq!(api.feedback_total().await, 0, "no refused request ran");

    // Only POST/PUT/PATCH are covered: a GET with a malformed key passes through.
    let resp = api
        .send(Req {
            method: Method::GET,
            path: "/api/feedback/list".into(),
            key: None,
            headers: vec![(IDEM, "not-a-uuid".into())],
            body: None,
        })
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn repeat_with_the_same_key_replays_byte_for_byte_without_running_the_handler() {
    let api = platform(false).await;
    let (key, _) = api.agent("ada").await;
    let k = uuid();

    let first = api
        .send(
            post(
                "/api/feedback",
                &key,
                feedback("Context token lifetime unclear"),
            )
            .idem(&k),
        )
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(
        first.headers().get(REPLAY).is_none(),
        "a first run is no replay"
    );
    let first_body = first.bytes().await.unwrap();

    // The repeat even carries a different body: a replay must not look at it, let alone store it.
    let second = api
        .send(
            post(
                "/api/feedback",
                &key,
                feedback("A different title entirely"),
            )
            .idem(&k),
        )
        .await;
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(
        second.headers().get(REPLAY).map(|v| v.to_str().unwrap()),
        Some("true")
    );
    let second_body = second.bytes().await.unwrap();
    assert_eq!(first_body, second_body, "replayed byte for byte");

    let v: Value = serde_json::from_slice(&first_body).unwrap();
    let id = v["feedback"]["id"].as_str().unwrap();
    let (_, list) = api.get("/api/feedback/list", None).await;
    assert_eq!(list["total"], 1, "the handler ran once: {list}");
    assert_eq!(list["feedback"][0]["id"], id);
    assert_eq!(
        list["feedback"][0]["title"],
        "Context token lifetime unclear"
    );
    let (_, summary) = api.get("/api/feedback/summary", None).await;
    assert_eq!(summary["stats"]["total"], 1, "{summary}");

    // Without the header every POST runs: two more rows with two new ids.
    let mut ids = vec![id.to_string()];
    for title in ["Second report here", "Third report here"] {
        let (s, replay, v) = api.call(post("/api/feedback", &key, feedback(title))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(replay, None);
        ids.push(v["feedback"]["id"].as_str().unwrap().to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert_eq!(api.feedback_total().await, 3);

    // A fresh key runs again.
    let (s, replay, v) = api
        .call(post("/api/feedback", &key, feedback("Fourth report here")).idem(&uuid()))
        .await;
    assert_eq!((s, replay), (StatusCode::OK, None), "{v}");
    assert_eq!(api.feedback_total().await, 4);
}

#[tokio::test]
async fn a_replayed_rule_refusal_and_a_replayed_patch_are_not_rerun() {
    let api = platform(false).await;
    let (ada, _) = api.agent("ada").await;
    let (bo, _) = api.agent("bo").await;
    let admin = api.p.admin_key.clone();
    let (_, _, v) = api
        .call(post("/api/feedback", &ada, feedback("Something to upvote")))
        .await;
    let f = v["feedback"]["id"].as_str().unwrap().to_string();

    // PATCH is covered: a repeated status change is replayed, not run again (run again, the status
    // graph would refuse acknowledged -> acknowledged with a 4xx).
    let k = uuid();
    let patch = |k: &str| Req {
        method: Method::PATCH,
        path: format!("/api/feedback/{f}/status"),
        key: Some(&admin),
        headers: vec![(IDEM, k.to_string())],
        body: Some(json!({"status": "acknowledged"})),
    };
    let (s1, r1, v1) = api.call(patch(&k)).await;
    assert_eq!((s1, r1), (StatusCode::OK, None), "{v1}");
    let (s2, r2, v2) = api.call(patch(&k)).await;
    assert_eq!(s2, s1);
    assert_eq!(r2.as_deref(), Some("true"));
    assert_eq!(v2, v1);

    // A 4xx is a completed request: replayed as it was, with the handler not run again.
    let k = uuid();
    let (s, r, own) = api
        .call(post(format!("/api/feedback/{f}/upvote"), &ada, json!({})).idem(&k))
        .await;
    assert!(s.is_client_error(), "own upvote refused: {own}");
    assert_eq!(r, None);
    let (s2, r2, again) = api
        .call(post(format!("/api/feedback/{f}/upvote"), &ada, json!({})).idem(&k))
        .await;
    assert_eq!((s2, r2.as_deref()), (s, Some("true")));
    assert_eq!(again, own);

    // Bo's upvote with a key, twice: counted once.
    let k = uuid();
    for expect_replay in [None, Some("true")] {
        let (s, r, v) = api
            .call(post(format!("/api/feedback/{f}/upvote"), &bo, json!({})).idem(&k))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(r.as_deref(), expect_replay);
        assert_eq!(v["upvote_count"], 1);
    }
    let (_, v) = api.get(&format!("/api/feedback/{f}"), None).await;
    assert_eq!(v["feedback"]["upvote_count"], 1, "{v}");
    assert_eq!(v["feedback"]["upvoters"].as_array().unwrap().len(), 1);
    assert_eq!(v["feedback"]["status"], "acknowledged");
}

#[tokio::test]
async fn a_key_whose_first_request_failed_with_a_5xx_runs_again() {
    let api = platform(true).await;
    let (key, _) = api.agent("ada").await;
    api.arm(json!({"fail_next": 1, "scope": "retry"})).await;
    let k = uuid();

    let (s, replay, v) = api
        .call(
            post("/api/feedback", &key, feedback("Fails the first time"))
                .idem(&k)
                .scope("retry"),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(error_of(&v), "Database unavailable");
    assert_eq!(replay, None);
    assert_eq!(api.feedback_total().await, 0, "the 503 rolled back");
    assert_eq!(api.counts().await.0, 1);

    let (s, replay, retried) = api
        .call(
            post("/api/feedback", &key, feedback("Fails the first time"))
                .idem(&k)
                .scope("retry"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "a 5xx is not replayed: {retried}");
    assert_eq!(replay, None, "a fresh run, not a replay");
    assert_eq!(api.feedback_total().await, 1);
    assert_eq!(api.counts().await.0, 1, "only one fault was armed");

    // From now on the key is completed: the successful run is what gets replayed.
    let (s, replay, third) = api
        .call(post("/api/feedback", &key, feedback("Fails the first time")).idem(&k))
        .await;
    assert_eq!((s, replay.as_deref()), (StatusCode::OK, Some("true")));
    assert_eq!(third, retried);
    assert_eq!(api.feedback_total().await, 1);
}

// ---------- database fault control ----------

#[tokio::test]
async fn fault_routes_do_not_exist_without_fault_control() {
    let api = platform(false).await;
    let admin = api.p.admin_key.clone();
    let (key, _) = api.agent("ada").await;
    let (s, _, v) = api
        .call(post(
            "/api/test/db-faults",
            &admin,
            json!({"fail_next": 1, "scope": "s"}),
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _) = api.get("/api/test/db-faults", Some(&admin)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Not even an admin check answers: to any caller the route does not exist.
    let (s, _, v) = api
        .call(post(
            "/api/test/db-faults",
            &key,
            json!({"fail_next": 1, "scope": "s"}),
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v, json!({"detail": "Not Found"}), "the router's fallback");
    // And nothing was armed: a scoped write succeeds.
    let (s, _, v) = api
        .call(post("/api/feedback", &key, feedback("Scoped but unarmed")).scope("s"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(api.feedback_total().await, 1);
}

#[tokio::test]
async fn fault_control_needs_the_admin_key_and_refused_arming_arms_nothing() {
    let api = platform(true).await;
    let (agent, _) = api.agent("ada").await;
    let arm = json!({"fail_next": 1, "scope": "s"});

    for (who, key) in [("agent", Some(agent.as_str())), ("nobody", None)] {
        let (s, _, v) = api
            .call(Req {
                method: Method::POST,
                path: "/api/test/db-faults".into(),
                key,
                headers: Vec::new(),
                body: Some(arm.clone()),
            })
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
        assert_eq!(error_of(&v), "Admin key required");
        let (s, v) = api.get("/api/test/db-faults", key).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
    }
    let (failed, stalled, armed) = api.counts().await;
    assert_eq!((failed, stalled), (0, 0));
    assert_eq!(
        armed["fail_next"], 0,
        "a refused arm armed nothing: {armed}"
    );

    // Malformed JSON: a clear 422, and the armed state is untouched.
    api.arm(json!({"fail_next": 2, "scope": "s"})).await;
    let resp = api
        .http
        .post(format!("{}/api/test/db-faults", api.p.base_url))
        .header("X-API-Key", &api.p.admin_key)
        .header("content-type", "application/json")
        .body("{\"fail_next\": 5,")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api.counts().await.2["fail_next"], 2);

    // Arming replaces, it does not add up.
    let v = api.arm(json!({"fail_next": 0, "scope": "s"})).await;
    assert_eq!(v["armed"]["fail_next"], 0, "{v}");
    let (s, _, v) = api
        .call(post("/api/feedback", &agent, feedback("Disarmed again")).scope("s"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(api.counts().await.0, 0);
}

#[tokio::test]
async fn an_armed_failure_hits_only_its_scope_once_and_rolls_back() {
    let api = platform(true).await;
    let (key, _) = api.agent("ada").await;
    let v = api.arm(json!({"fail_next": 1, "scope": "seed-7"})).await;
    assert_eq!(v["armed"]["fail_next"], 1, "{v}");

    // Not hit: no scope header, another scope.
    let (s, _, v) = api
        .call(post("/api/feedback", &key, feedback("No scope header")))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _, v) = api
        .call(post("/api/feedback", &key, feedback("Another seed scope")).scope("seed-8"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (failed, _, armed) = api.counts().await;
    assert_eq!(failed, 0);
    assert_eq!(armed["fail_next"], 1, "still armed: {armed}");

    // A request the rules refuse never reaches commit, so the fault stays armed.
    let (s, _, v) = api
        .call(post(format!("/api/dwellers/{}/claim", uuid()), &key, json!({})).scope("seed-7"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(api.counts().await.0, 0);

    // Hit: 503, the documented body, nothing written.
    let (s, _, v) = api
        .call(post("/api/feedback", &key, feedback("This one is lost")).scope("seed-7"))
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(error_of(&v), "Database unavailable");
    assert!(v["detail"]["how_to_fix"].is_string(), "{v}");
    let (failed, stalled, armed) = api.counts().await;
    assert_eq!((failed, stalled), (1, 0));
    assert_eq!(armed["fail_next"], 0);
    let (_, list) = api.get("/api/feedback/list", None).await;
    assert_eq!(list["total"], 2, "{list}");
    assert!(
        list["feedback"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["title"] != "This one is lost"),
        "{list}"
    );

    // Exactly one was armed: the next scoped request goes through.
    let (s, _, v) = api
        .call(post("/api/feedback", &key, feedback("After the fault")).scope("seed-7"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(api.feedback_total().await, 3);
    assert_eq!(api.counts().await.0, 1);
}

#[tokio::test]
async fn a_claim_that_fails_at_commit_leaves_the_dweller_unheld() {
    let api = platform(true).await;
    let (a, _) = api.agent("ada").await;
    let (b, _) = api.agent("bo").await;
    let (c, c_id) = api.agent("cy").await;
    let d = unclaimed_dweller(&api, &a, &b, &c).await;

    api.arm(json!({"fail_next": 1, "scope": "claim"})).await;
    let (s, _, v) = api
        .call(post(format!("/api/dwellers/{d}/claim"), &c, json!({})).scope("claim"))
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(error_of(&v), "Database unavailable");
    assert_eq!(api.counts().await.0, 1);
    let (_, v) = api.get(&format!("/api/dwellers/{d}"), None).await;
    assert_eq!(v["dweller"]["inhabited_by"], Value::Null, "{v}");
    assert_eq!(v["dweller"]["is_available"], true, "{v}");

    // The retry claims it for real.
    let (s, _, v) = api
        .call(post(format!("/api/dwellers/{d}/claim"), &c, json!({})).scope("claim"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["claimed"], true);
    let (_, v) = api.get(&format!("/api/dwellers/{d}"), None).await;
    assert_eq!(v["dweller"]["inhabited_by"], c_id.as_str(), "{v}");
    assert_eq!(api.counts().await.0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_armed_stall_delays_only_its_scope_and_the_request_still_succeeds() {
    let api = platform(true).await;
    let (key, _) = api.agent("ada").await;
    api.arm(json!({"stall_next": 1, "stall_ms": 20, "scope": "slow"}))
        .await;

    let (s, _, v) = api
        .call(post("/api/feedback", &key, feedback("Unscoped write")))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (failed, stalled, armed) = api.counts().await;
    assert_eq!((failed, stalled), (0, 0));
    assert_eq!(armed["stall_next"], 1);
    assert_eq!(armed["stall_ms"], 20);

    let (s, _, v) = api
        .call(post("/api/feedback", &key, feedback("Stalled write")).scope("slow"))
        .await;
    assert_eq!(s, StatusCode::OK, "a stall is not a failure: {v}");
    let (failed, stalled, armed) = api.counts().await;
    assert_eq!((failed, stalled), (0, 1));
    assert_eq!(armed["stall_next"], 0);
    assert_eq!(api.feedback_total().await, 2, "the stalled write landed");

    let (s, _, _) = api
        .call(post("/api/feedback", &key, feedback("Second scoped write")).scope("slow"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(api.counts().await.1, 1, "only one stall was armed");

    // Bad arming input is a clear 422 that arms nothing: absurd stalls, unknown fields, negative
    // counts, a fault without a scope.
    let admin = api.p.admin_key.clone();
    for bad in [
        json!({"stall_next": 1, "stall_ms": 3_600_000, "scope": "slow"}),
        json!({"fail_nxt": 1, "scope": "slow"}),
        json!({"fail_next": -3, "scope": "slow"}),
        json!({"fail_next": 1}),
        json!([1, 2]),
    ] {
        let (s, _, v) = api
            .call(post("/api/test/db-faults", &admin, bad.clone()))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad} -> {v}");
    }
    let (_, _, armed) = api.counts().await;
    assert_eq!(armed["fail_next"], 0);
    assert_eq!(armed["stall_next"], 0);
}
