//! Applies model transitions to a live target through api-client, compares each response with the
//! model's prediction, and checks the invariants by reading back what the step touched.

use crate::invariants::{Failure, Invariant, Violation};
use crate::model::{self, Expect, FaultKind, State, Transition};
use api_client::{Client, Exchange, Method, Observer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

pub use interleaving::Interleaving;

mod actions;
mod aspect_approval;
mod checks;
mod comment_reactions;
mod concurrency;
mod db_faults;
mod dweller_proposals;
mod faults;
mod hostile;
mod interleaving;
mod memory;
mod probes;
mod reactions;
mod requests;
mod review;
mod social;
mod suggestions;
mod summaries;
mod world;

/// One request/response as written to a trace (no headers, so no keys).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TraceExchange {
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Records every exchange of one seed.
#[derive(Default)]
pub struct Recorder {
    pub exchanges: Mutex<Vec<TraceExchange>>,
    /// Keep bodies (traces, determinism checks) or only method/path/status (fast runs).
    pub bodies: bool,
}

impl Observer for Recorder {
    fn wants_bodies(&self) -> bool {
        self.bodies
    }

    fn on_exchange(&self, ex: &Exchange) {
        let mut v = self.exchanges.lock().unwrap_or_else(|p| p.into_inner());
        v.push(TraceExchange {
            method: ex.method.clone(),
            path: ex.path.clone(),
            request: if self.bodies {
                ex.request_body.clone()
            } else {
                None
            },
            status: ex.status,
            response: if self.bodies {
                ex.response_body.clone().map(redact_keys)
            } else {
                None
            },
            error: ex.error.clone(),
        });
    }
}

/// Replaces issued API keys in a response body (registration returns one) with a placeholder.
fn redact_keys(mut v: Value) -> Value {
    for ptr in ["/api_key/key", "/api_key/prefix"] {
        if let Some(k) = v.pointer_mut(ptr) {
            *k = json!("<redacted>");
        }
    }
    v
}

/// Per-rule and per-invariant counts for one or many seeds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RuleCount {
    pub fired: u64,
    pub succeeded: u64,
    pub rejected_as_predicted: u64,
}

/// Server ids of world content, by model index.
#[derive(Default)]
pub(crate) struct WorldIds {
    pub(crate) aspects: Vec<String>,
    pub(crate) aspect_items: Vec<Vec<String>>,
    pub(crate) stories: Vec<String>,
    pub(crate) story_reviews: Vec<Vec<String>>,
    pub(crate) events: Vec<String>,
    /// Actions sent through `POST /api/actions`.
    pub(crate) actions: Vec<String>,
    /// The aspect a test-approve just approved, and its summary's length (`aspect_approval.rs`).
    pub(crate) test_approved: Option<(usize, usize)>,
    /// What the comment just sent did with its reaction, as the model saw it before the step
    /// (`comment_reactions.rs`).
    pub(crate) comment_reaction: Option<crate::model::social::CommentReaction>,
}

/// How database faults reach the target.
#[derive(Clone, Default)]
pub enum DbControl {
    /// No way to inject them: database faults run their request plainly and count as not fired.
    #[default]
    None,
    /// The embedded reference platform's `/api/test/db-faults` (admin client).
    Embedded(Client),
    /// A `dst-sim proxy` control endpoint in front of the target's database.
    Proxy(Client),
}

/// One request of a fault step, as written to the trace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Racer {
    /// Model index of the agent that sent it.
    pub actor: Option<usize>,
    pub method: String,
    pub path: String,
    /// `None` when no response arrived.
    pub status: Option<u16>,
    /// The server marked it as a replay of a stored answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
}

/// What a fault step did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultRecord {
    pub kind: FaultKind,
    /// Whether the fault actually happened (a race was sent; the database fault hit the request).
    pub fired: bool,
    /// Requests released together behind one barrier (races), in the order they were built.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raced: Vec<Racer>,
    /// The requests of a retry fault, in order (first attempt, retry).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Racer>,
    /// What the fault's read-back found, in words (a keyed retry: whether the first request
    /// committed, and whether the retry was replayed or re-executed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One request built by the ordinary request builders but not sent yet: a fault step races or
/// retries it.
#[derive(Clone)]
pub struct Request {
    /// Model index of the agent that sends it.
    pub actor: Option<usize>,
    pub client: Client,
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
}

pub struct Driver {
    pub(crate) anon: Client,
    pub(crate) admin: Option<Client>,
    pub(crate) prefix: String,
    pub(crate) agents: Vec<(Client, String)>,
    pub(crate) proposals: Vec<String>,
    pub(crate) items: Vec<Vec<String>>,
    pub(crate) worlds: Vec<String>,
    pub(crate) regions: Vec<Vec<String>>,
    pub(crate) dwellers: Vec<String>,
    pub(crate) feedback: Vec<String>,
    /// Server ids of world content (aspects with their review items, stories with their reviews, events).
    pub(crate) world: WorldIds,
    /// Server ids of revision suggestions, by model index.
    pub(crate) suggestions: Vec<String>,
    /// Server ids of dweller proposals and their review items, by model index.
    pub(crate) dp: dweller_proposals::DpIds,
    pub recorder: Arc<Recorder>,
    /// Fault layer: the idempotency key the next requests carry.
    pub(crate) idem: Option<String>,
    /// Fault layer: the embedded platform's fault scope the next requests carry (so an armed
    /// database fault hits this step's request, not another seed's).
    pub(crate) fault_scope: Option<String>,
    /// Fault layer: a 5xx or a lost connection is returned to the fault (status 0), not a violation.
    pub(crate) tolerate_5xx: bool,
    /// Fault layer: how database faults are injected on this target.
    pub db_control: DbControl,
    /// Fault layer: while set, `send` records the request instead of sending it (to race a set of
    /// ordinary transitions, built by the ordinary request builders).
    /// Fault layer: the model state a fault actually led to, when the platform picked among legal
    /// outcomes (which of approve/reject won).
    pub(crate) actual_after: Option<State>,
    pub(crate) capture: std::sync::Mutex<Option<Vec<Request>>>,
    /// Fault layer: what the last fault step did (races and their outcomes), for the trace.
    pub last_fault: Option<FaultRecord>,
    /// Non-vacuous checks per invariant (index = Invariant::index()).
    pub checks: [u64; Invariant::COUNT],
    /// Requests whose response was consumed by a step (for the effective-step ratio).
    pub effective_steps: u64,
    /// Step index being executed (for violations).
    pub(crate) step: usize,
    /// The agent outside the model that sends the NUL-byte probes (`probes.rs`), once registered.
    pub(crate) probe_agent: Option<hostile::ProbeAgent>,
    /// Violations a step found besides the one it returns (a hostile batch sends every case even
    /// after one fails, so one defect does not hide the cases after it); the run files them too.
    pub(crate) more_violations: Vec<Failure>,
    /// What the target has (the read-backs check what it promises); every capability by default.
    pub capabilities: crate::capabilities::Capabilities,
}

/// Reads a string at a JSON pointer.
pub(crate) fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// `v[key]` as text, `""` when it is missing or not a string (a read-back compares it with the
/// model's text, so a missing field shows as a difference, not an error).
pub(crate) fn text_field(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

impl Driver {
    pub fn new(base: &Client, admin_key: Option<&str>, prefix: String, bodies: bool) -> Self {
        let recorder = Arc::new(Recorder {
            exchanges: Mutex::new(Vec::new()),
            bodies,
        });
        let anon = base.anonymous().with_observer(recorder.clone());
        let admin = admin_key.map(|k| anon.with_api_key(k));
        Driver {
            anon,
            admin,
            prefix,
            agents: vec![],
            proposals: vec![],
            items: vec![],
            worlds: vec![],
            regions: vec![],
            dwellers: vec![],
            feedback: vec![],
            world: WorldIds::default(),
            suggestions: vec![],
            dp: Default::default(),
            recorder,
            idem: None,
            capture: std::sync::Mutex::new(None),
            actual_after: None,
            fault_scope: None,
            tolerate_5xx: false,
            db_control: DbControl::None,
            last_fault: None,
            checks: [0; Invariant::COUNT],
            effective_steps: 0,
            step: 0,
            probe_agent: None,
            more_violations: Vec::new(),
            capabilities: Default::default(),
        }
    }

    pub(crate) fn violation(&self, invariant: Invariant, message: String) -> Failure {
        Failure::Violation(Violation {
            invariant,
            step: self.step,
            message,
        })
    }

    /// The target gave no answer to `what` (never a violation: the run ends with exit 2).
    pub(crate) fn unreachable(&self, what: &str, e: impl std::fmt::Display) -> Failure {
        Failure::Infrastructure {
            step: self.step,
            message: format!("{what}: no answer ({e})"),
        }
    }

    fn count(&mut self, inv: Invariant) {
        self.checks[inv.index()] += 1;
    }

    /// The server id of model world `w` ("" when it was never created).
    pub(crate) fn world_id(&self, w: usize) -> String {
        self.worlds.get(w).cloned().unwrap_or_default()
    }

    pub(crate) fn agent(&self, i: usize) -> &Client {
        &self.agents[i].0
    }

    /// Sends one request for the step; 5xx is a violation at once.
    async fn send(
        &self,
        who: &Client,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<api_client::RawResponse, Failure> {
        let decorated;
        let who = if self.idem.is_some() || self.fault_scope.is_some() {
            let mut c = who.clone();
            if let Some(k) = &self.idem {
                c = c.with_idempotency_key(k);
            }
            if let Some(s) = &self.fault_scope {
                // a request under a database fault may get a 500, after which a server may close
                // the connection (uvicorn does): the retry must not be sent on it
                c = c
                    .with_header("x-dst-fault-scope", s)
                    .with_header("connection", "close");
            }
            decorated = c;
            &decorated
        } else {
            who
        };
        if let Some(cap) = self
            .capture
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            cap.push(Request {
                actor: None,
                client: who.clone(),
                method,
                path: path.to_string(),
                body,
            });
            return Ok(api_client::RawResponse {
                status: 0,
                replayed: false,
                body: Value::Null,
                text: String::new(),
            });
        }
        let result = who.send_raw(method, path, body.as_ref()).await;
        if self.tolerate_5xx {
            return Ok(result.unwrap_or_else(|e| api_client::RawResponse {
                status: 0,
                replayed: false,
                body: Value::Null,
                text: e.to_string(),
            }));
        }
        match result {
            Ok(r) if r.status >= 500 => Err(self.violation(
                Invariant::No5xx,
                format!("{path} answered {}", server_error(r.status, &r.text)),
            )),
            Ok(r) => Ok(r),
            Err(e) => Err(self.unreachable(path, e)),
        }
    }

    /// Executes `t` (the model state is the one *before* it). Returns the actual outcome.
    pub async fn apply(
        &mut self,
        step: usize,
        before: &State,
        t: &Transition,
    ) -> Result<(Expect, Expect), Failure> {
        self.step = step;
        let expected = model::expect(before, t);
        let r = if model::probes::is_probe(t) {
            self.request_probe(before, t).await?
        } else {
            self.request(before, t).await?
        };
        let Some(r) = r else {
            return Ok((expected, expected)); // not sent (no admin key): counted as ineffective
        };
        self.effective_steps += 1;
        let actual = if r.status < 300 {
            Expect::Ok
        } else {
            Expect::Reject(r.status)
        };
        if actual == Expect::Ok && expected == Expect::Ok {
            self.remember(before, t, &r.body);
        }
        Ok((expected, actual))
    }

    pub(crate) async fn read(&self, path: &str, inv: Invariant) -> Result<Value, Failure> {
        self.read_by(None, path, inv).await
    }

    /// `GET path` as agent `by` (anonymously with `None`): the body of a 200; a 5xx is `7-no-5xx`,
    /// any other answer `inv` (a failed read-back is a violation), no answer an infrastructure error.
    pub(crate) async fn read_by(
        &self,
        by: Option<usize>,
        path: &str,
        inv: Invariant,
    ) -> Result<Value, Failure> {
        let client = by.map_or(&self.anon, |a| self.agent(a));
        let who = if by.is_some() { " by its agent" } else { "" };
        match client.send_raw(Method::GET, path, None).await {
            Ok(r) if r.status == 200 => Ok(r.body),
            Ok(r) if r.status >= 500 => Err(self.violation(
                Invariant::No5xx,
                format!("read-back GET {path}{who} answered {}", r.status),
            )),
            Ok(r) => Err(self.violation(
                inv,
                format!(
                    "read-back GET {path}{who} answered {} (a failed read-back is a violation)",
                    r.status
                ),
            )),
            Err(e) => Err(self.unreachable(&format!("read-back GET {path}"), e)),
        }
    }

    /// One request outside the model (cleanup); 5xx is a violation.
    pub(crate) async fn plain(
        &self,
        who: &Client,
        m: Method,
        path: &str,
    ) -> Result<api_client::RawResponse, Failure> {
        match who.send_raw(m, path, Some(&json!({}))).await {
            Ok(r) if r.status >= 500 => {
                Err(self.violation(Invariant::No5xx, format!("{path} answered {}", r.status)))
            }
            Ok(r) => Ok(r),
            Err(e) => Err(self.unreachable(path, e)),
        }
    }
}

/// What one racer was told, as one word for a violation message: the answer's `action`, else its
/// status. Quoting whole answers made one defect several classes on the real platform: the same
/// answer came back compact or spaced, with or without the platform's `_agent_context`, and a
/// class's shape keeps the message's first 200 characters.
pub(crate) fn told_word(r: &api_client::RawResponse) -> String {
    r.body
        .get("action")
        .and_then(serde_json::Value::as_str)
        .map_or_else(|| r.status.to_string(), str::to_string)
}

/// How many of a race's answers succeeded and were told `action` (a follow's "followed", a
/// reaction's "added"): the ones that did the write, as the platform reports it.
pub(crate) fn told_count(res: &[api_client::RawResponse], action: &str) -> usize {
    res.iter()
        .filter(|r| {
            faults::class(r) == crate::model::Expect::Ok
                && r.body.get("action").and_then(serde_json::Value::as_str) == Some(action)
        })
        .count()
}

/// The first 200 characters of a response text, for violation messages.
pub(crate) fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

/// A server error for the end of a violation message: its status, the error type its body names
/// (`debug.error_type`, as the platform's development-mode handler and ours write it; else the
/// body's `error` or `detail` text) and then the body's start after [`crate::class::BODY_MARK`].
/// The class shape keeps the type and drops the body: the body carries a request id and the
/// failing value's text, which differ between two hits of one defect, and a body cut at 200
/// characters used to end a class key in the middle of boilerplate, before the error type that
/// tells two defects on one route apart.
pub(crate) fn server_error(status: u16, text: &str) -> String {
    let body: Option<Value> = serde_json::from_str(text).ok();
    let kind = body.as_ref().and_then(|b| {
        let named = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        b.get("debug")
            .and_then(|d| named(d, "error_type"))
            .or_else(|| named(b, "error_type"))
            .or_else(|| named(b, "error"))
            .or_else(|| named(b, "detail"))
    });
    match kind {
        Some(k) => format!("{status} ({k}){}{}", crate::class::BODY_MARK, short(text)),
        None => format!("{status}{}{}", crate::class::BODY_MARK, short(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::server_error;
    use crate::class::shape;

    #[test]
    fn a_server_error_names_its_type_and_the_class_keeps_only_that() {
        let platform = r#"{"error":"Internal Server Error","request_id":"9f8e7d6c","debug":{"error_type":"TypeError","error_message":"int + str"}}"#;
        let msg = server_error(500, platform);
        assert!(msg.starts_with("500 (TypeError) — body: {"), "{msg}");
        assert_eq!(
            shape(&format!("/api/x answered {msg}")),
            "/api/x answered <n> (TypeError)"
        );
        assert_eq!(
            server_error(502, r#"{"detail":"upstream gone"}"#),
            r#"502 (upstream gone) — body: {"detail":"upstream gone"}"#
        );
        assert_eq!(
            server_error(500, "Internal Server Error"),
            "500 — body: Internal Server Error"
        );
    }
}
