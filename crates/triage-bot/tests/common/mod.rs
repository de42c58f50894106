//! Test helpers: the reference platform seeded through api-client, and a stateful fake GitHub on
//! wiremock (issues, comments, labels, `link` pagination, token check).
#![allow(dead_code)]

use api_client::{Client, ClientConfig, Feedback, NewFeedback, fixtures};
use reference_platform::{PlatformOptions, RunningPlatform};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use triage_bot::cli::{Cli, Env};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "ghp_TESTTOKENdoNotPrint0123456789";
pub const REPO: &str = "acme/platform";

pub async fn platform() -> RunningPlatform {
    reference_platform::start(PlatformOptions::default())
        .await
        .expect("reference platform starts")
}

pub fn anon(p: &RunningPlatform) -> Client {
    Client::new(ClientConfig::new(p.base_url.clone())).unwrap()
}

pub fn admin(p: &RunningPlatform) -> Client {
    anon(p).with_api_key(&p.admin_key)
}

/// Registers `n` agents named `{prefix}{i}`.
pub async fn agents(p: &RunningPlatform, prefix: &str, n: usize) -> Vec<Client> {
    let a = anon(p);
    let mut out = Vec::new();
    for i in 0..n {
        let (c, _) = fixtures::agent(&a, &format!("{prefix}{i}")).await.unwrap();
        out.push(c);
    }
    out
}

pub fn report(
    priority: &str,
    title: &str,
    description: &str,
    endpoint: Option<&str>,
    code: Option<i64>,
) -> NewFeedback {
    NewFeedback {
        priority: priority.into(),
        title: title.into(),
        description: description.into(),
        endpoint: endpoint.map(str::to_string),
        error_code: code,
        ..fixtures::feedback(title)
    }
}

pub async fn file(by: &Client, f: NewFeedback) -> Feedback {
    by.create_feedback(&f).await.expect("feedback accepted")
}

/// The standard seeded set (see `seed`): ids in the order critical-claim, claim-2, region-a,
/// region-b, docs, resolved.
pub struct Seeded {
    pub claim1: String,
    pub claim2: String,
    pub region1: String,
    pub region2: String,
    pub docs: String,
    pub resolved: String,
    pub agents: Vec<Client>,
}

/// Three root causes plus one resolved report:
/// - claim 500s on `/api/dwellers/{id}/claim` (one critical, one high; different words);
/// - region validation (two medium reports with similar text, 3 upvotes);
/// - missing docs (low, 1 upvote);
/// - a resolved report that must not appear.
pub async fn seed(p: &RunningPlatform) -> Seeded {
    let ag = agents(p, "seed", 4).await;
    let claim1 = file(
        &ag[0],
        report(
            "critical",
            "Dweller claim crashes",
            "Claiming a free dweller answers HTTP 500 with an internal error every time.",
            Some("POST /api/dwellers/3f2a9c1e-0b4d-4e5f-8a6b-7c8d9e0f1a2b/claim"),
            Some(500),
        ),
    )
    .await;
    let claim2 = file(
        &ag[1],
        report(
            "high",
            "Server error when I take over a character",
            "Internal server error on the takeover call, request body was empty json.",
            Some("/api/dwellers/9a8b7c6d-1111-2222-3333-444455556666/claim"),
            Some(500),
        ),
    )
    .await;
    let region1 = file(
        &ag[2],
        report(
            "medium",
            "Region creation rejects valid cultural blend",
            "Region creation rejects a valid cultural blend description with a validation error.",
            None,
            None,
        ),
    )
    .await;
    let region2 = file(
        &ag[3],
        report(
            "medium",
            "Region creation rejects cultural blend text",
            "Region creation rejects my valid cultural blend description: validation error again.",
            None,
            None,
        ),
    )
    .await;
    let docs = file(
        &ag[0],
        report(
            "low",
            "Story guidance header undocumented",
            "The guidance token header for stories is missing from skill.md entirely.",
            None,
            None,
        ),
    )
    .await;
    let resolved = file(
        &ag[1],
        report(
            "critical",
            "Already fixed problem",
            "This one was fixed last week and resolved by the admin team.",
            Some("/api/worlds"),
            Some(500),
        ),
    )
    .await;
    for voter in [&ag[0], &ag[1], &ag[3]] {
        voter.upvote_feedback(&region1.id).await.unwrap();
    }
    ag[1].upvote_feedback(&docs.id).await.unwrap();
    admin(p)
        .set_feedback_status(&resolved.id, "resolved", Some("fixed in v2"))
        .await
        .unwrap();
    Seeded {
        claim1: claim1.id,
        claim2: claim2.id,
        region1: region1.id,
        region2: region2.id,
        docs: docs.id,
        resolved: resolved.id,
        agents: ag,
    }
}

pub fn cli(args: &[&str]) -> Cli {
    use clap::Parser;
    let mut v = vec!["triage-bot"];
    v.extend_from_slice(args);
    Cli::try_parse_from(v).expect("arguments parse")
}

pub fn env_with_token() -> Env {
    Env {
        github_token: Some(TOKEN.into()),
        ..Default::default()
    }
}

// ---------------------------------------------------------------- fake GitHub

#[derive(Debug, Default)]
pub struct GhState {
    pub issues: Vec<Value>,
    pub comments: Vec<(u64, Value)>,
    pub next_id: u64,
    /// Items per page on list endpoints (GitHub's is `per_page`; small here to force pagination).
    pub page_size: usize,
    /// Answer issue creation without the labels (a token without push access).
    pub drop_labels: bool,
    /// Every request: (method, path?query, body).
    pub log: Vec<(String, String, Value)>,
    pub login: String,
}

#[derive(Clone)]
pub struct FakeGitHub {
    pub server: Arc<MockServer>,
    pub state: Arc<Mutex<GhState>>,
}

impl FakeGitHub {
    pub async fn start() -> FakeGitHub {
        let server = Arc::new(MockServer::start().await);
        let state = Arc::new(Mutex::new(GhState {
            next_id: 1,
            page_size: 100,
            login: "triage-bot[bot]".into(),
            ..Default::default()
        }));
        Mock::given(any())
            .respond_with(Responder {
                state: state.clone(),
                base: server.uri(),
            })
            .mount(&server)
            .await;
        FakeGitHub { server, state }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Adds an issue as someone else made it.
    pub fn add_issue(&self, title: &str, body: &str, labels: &[&str], by: &str, pr: bool) -> u64 {
        let mut s = self.state.lock().unwrap();
        let n = s.next_id;
        s.next_id += 1;
        let mut v = json!({
            "number": n, "title": title, "body": body, "state": "open",
            "html_url": format!("https://github.example/{REPO}/issues/{n}"),
            "labels": labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
            "user": {"login": by},
        });
        if pr {
            v["pull_request"] = json!({"url": "x"});
        }
        s.issues.push(v);
        n
    }

    pub fn add_comment(&self, number: u64, body: &str, by: &str) {
        let mut s = self.state.lock().unwrap();
        let id = 1000 + s.comments.len() as u64;
        s.comments.push((
            number,
            json!({"id": id, "body": body, "user": {"login": by}, "html_url": format!("https://github.example/c/{id}")}),
        ));
    }

    pub fn bot_issues(&self) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        let login = s.login.clone();
        s.issues
            .iter()
            .filter(|i| i["user"]["login"] == login.as_str())
            .cloned()
            .collect()
    }

    pub fn comments_on(&self, number: u64) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        s.comments
            .iter()
            .filter(|(n, _)| *n == number)
            .map(|(_, c)| c.clone())
            .collect()
    }

    pub fn writes(&self) -> Vec<(String, String, Value)> {
        let s = self.state.lock().unwrap();
        s.log
            .iter()
            .filter(|(m, _, _)| m != "GET")
            .cloned()
            .collect()
    }

    pub fn request_count(&self) -> usize {
        self.state.lock().unwrap().log.len()
    }
}

struct Responder {
    state: Arc<Mutex<GhState>>,
    base: String,
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn page(req: &Request, base: &str, items: Vec<Value>, size: usize) -> ResponseTemplate {
    let page: usize = query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let start = (page - 1) * size;
    let chunk: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
    let mut t = ResponseTemplate::new(200).set_body_json(Value::Array(chunk));
    if start + size < items.len() {
        let mut url = req.url.clone();
        let pairs: Vec<(String, String)> = req
            .url
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(pairs)
            .append_pair("page", &(page + 1).to_string());
        let next = format!("{base}{}?{}", url.path(), url.query().unwrap_or(""));
        t = t.insert_header("link", format!("<{next}>; rel=\"next\"").as_str());
    }
    t
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let path = req.url.path().to_string();
        let mut s = self.state.lock().unwrap();
        s.log.push((
            req.method.to_string(),
            format!("{path}?{}", req.url.query().unwrap_or("")),
            body.clone(),
        ));
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if auth != format!("Bearer {TOKEN}") {
            return ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"}));
        }
        let prefix = format!("/repos/{REPO}/issues");
        let Some(rest) = path.strip_prefix(&prefix) else {
            return ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}));
        };
        let segs: Vec<&str> = rest.split('/').filter(|x| !x.is_empty()).collect();
        let method = req.method.as_str();
        match (method, segs.as_slice()) {
            ("GET", []) => {
                let state = query(req, "state").unwrap_or_else(|| "open".into());
                let labels: Vec<String> = query(req, "labels")
                    .map(|l| l.split(',').map(str::to_string).collect())
                    .unwrap_or_default();
                let mut items: Vec<Value> = s
                    .issues
                    .iter()
                    .filter(|i| state == "all" || i["state"] == state.as_str())
                    .filter(|i| {
                        labels.iter().all(|l| {
                            i["labels"]
                                .as_array()
                                .is_some_and(|a| a.iter().any(|x| x["name"] == l.as_str()))
                        })
                    })
                    .cloned()
                    .collect();
                items.reverse(); // newest first, as GitHub sorts by default
                page(req, &self.base, items, s.page_size)
            }
            ("POST", []) => {
                let n = s.next_id;
                s.next_id += 1;
                let labels = if s.drop_labels {
                    json!([])
                } else {
                    Value::Array(
                        body["labels"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|l| json!({"name": l}))
                            .collect(),
                    )
                };
                let issue = json!({
                    "number": n, "title": body["title"], "body": body["body"], "state": "open",
                    "html_url": format!("https://github.example/{REPO}/issues/{n}"),
                    "labels": labels, "user": {"login": s.login},
                });
                s.issues.push(issue.clone());
                ResponseTemplate::new(201).set_body_json(issue)
            }
            ("GET", [n, "comments"]) => {
                let n: u64 = n.parse().unwrap_or(0);
                let items: Vec<Value> = s
                    .comments
                    .iter()
                    .filter(|(k, _)| *k == n)
                    .map(|(_, c)| c.clone())
                    .collect();
                page(req, &self.base, items, s.page_size)
            }
            ("POST", [n, "comments"]) => {
                let n: u64 = n.parse().unwrap_or(0);
                let id = 1000 + s.comments.len() as u64;
                let c = json!({"id": id, "body": body["body"], "user": {"login": s.login},
                               "html_url": format!("https://github.example/{REPO}/issues/{n}#issuecomment-{id}")});
                s.comments.push((n, c.clone()));
                ResponseTemplate::new(201).set_body_json(c)
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
        }
    }
}
