//! Applies model transitions to a live target through api-client, compares each response with the
//! model's prediction, and checks the invariants by reading back what the step touched.

use crate::invariants::{Invariant, Violation};
use crate::model::{self, Expect, PStatus, State, Transition};
use api_client::{Client, Exchange, Method, Observer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

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
    world: world::Ids,
    pub recorder: Arc<Recorder>,
    /// Fault layer: the idempotency key the next requests carry.
    pub(crate) idem: Option<String>,
    /// Fault layer: the embedded platform's fault scope the next requests carry (so an armed
    /// database fault hits this step's request, not another seed's).
    pub(crate) fault_scope: Option<String>,
    /// Fault layer: a 5xx or a lost connection is returned to the fault (status 0), not a violation.
    pub(crate) tolerate_5xx: bool,
    /// Fault layer: how database faults are injected on this target.
    pub db_control: crate::fault_driver::DbControl,
    /// Fault layer: while set, `send` records the request instead of sending it (to race a set of
    /// ordinary transitions, built by the ordinary request builders).
    /// Fault layer: the model state a fault actually led to, when the platform picked among legal
    /// outcomes (which of approve/reject won).
    pub(crate) actual_after: Option<State>,
    pub(crate) capture: std::sync::Mutex<Option<Vec<crate::fault_driver::Req>>>,
    /// Fault layer: what the last fault step did (races and their outcomes), for the trace.
    pub last_fault: Option<crate::fault_driver::FaultRecord>,
    /// Non-vacuous checks per invariant (index = Invariant::index()).
    pub checks: [u64; Invariant::COUNT],
    /// Requests whose response was consumed by a step (for the effective-step ratio).
    pub effective_steps: u64,
    /// Step index being executed (for violations).
    pub(crate) step: usize,
}

const CATS: [&str; 3] = ["causal_gap", "timeline", "other"];

fn text(len: usize, seed_word: &str) -> String {
    let base = format!("{seed_word} observes tidal machinery and notes how the rafts drift. ");
    base.chars().cycle().take(len).collect()
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
            world: world::Ids::default(),
            recorder,
            idem: None,
            capture: std::sync::Mutex::new(None),
            actual_after: None,
            fault_scope: None,
            tolerate_5xx: false,
            db_control: crate::fault_driver::DbControl::None,
            last_fault: None,
            checks: [0; Invariant::COUNT],
            effective_steps: 0,
            step: 0,
        }
    }

    pub(crate) fn violation(&self, invariant: Invariant, message: String) -> Violation {
        Violation {
            invariant,
            step: self.step,
            message,
        }
    }

    fn count(&mut self, inv: Invariant) {
        self.checks[inv.index()] += 1;
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
    ) -> Result<api_client::RawResponse, Violation> {
        let decorated;
        let who = if self.idem.is_some() || self.fault_scope.is_some() {
            let mut c = who.clone();
            if let Some(k) = &self.idem {
                c = c.with_idempotency_key(k);
            }
            if let Some(s) = &self.fault_scope {
                c = c.with_header("x-dst-fault-scope", s);
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
            cap.push((None, who.clone(), method, path.to_string(), body));
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
                format!("{path} answered {}: {}", r.status, short(&r.text)),
            )),
            Ok(r) => Ok(r),
            Err(e) => Err(self.violation(Invariant::No5xx, format!("{path}: no response ({e})"))),
        }
    }

    /// Executes `t` (the model state is the one *before* it). Returns the actual outcome.
    pub async fn apply(
        &mut self,
        step: usize,
        before: &State,
        t: &Transition,
    ) -> Result<(Expect, Expect), Violation> {
        self.step = step;
        let expected = model::expect(before, t);
        let r = self.request(before, t).await?;
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

    pub(crate) async fn request(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<Option<api_client::RawResponse>, Violation> {
        use Transition::*;
        let p = &self.prefix;
        Ok(Some(match *t {
            RegisterAgent => {
                let n = self.agents.len();
                let body =
                    json!({"name": format!("{p} agent {n}"), "username": format!("{p}-a{n}")});
                self.send(&self.anon, Method::POST, "/api/auth/agent", Some(body))
                    .await?
            }
            CreateProposal { actor, name_len } => {
                let mut body =
                    serde_json::to_value(api_client::fixtures::proposal("x")).unwrap_or_default();
                body["name"] = json!(
                    format!("{p} {}", "n".repeat(60))
                        .chars()
                        .take(name_len)
                        .collect::<String>()
                );
                self.send(
                    self.agent(actor),
                    Method::POST,
                    "/api/proposals",
                    Some(body),
                )
                .await?
            }
            SubmitProposal { actor, proposal } => {
                let path = format!(
                    "/api/proposals/{}/submit?force=true",
                    self.proposals[proposal]
                );
                self.send(self.agent(actor), Method::POST, &path, Some(json!({})))
                    .await?
            }
            PostReview {
                actor,
                proposal,
                items,
                desc_len,
            } => {
                let list: Vec<Value> = (0..items)
                    .map(|i| json!({"category": CATS[i % 3], "description": text(desc_len, "Reviewer"), "severity": "important"}))
                    .collect();
                let path = format!("/api/review/proposal/{}/feedback", self.proposals[proposal]);
                self.send(
                    self.agent(actor),
                    Method::POST,
                    &path,
                    Some(json!({"feedback_items": list})),
                )
                .await?
            }
            RespondItem {
                actor,
                proposal,
                item,
                text_len,
            } => {
                let path = format!(
                    "/api/review/feedback-item/{}/respond",
                    self.items[proposal][item]
                );
                self.send(
                    self.agent(actor),
                    Method::POST,
                    &path,
                    Some(json!({"response_text": text(text_len, "Proposer")})),
                )
                .await?
            }
            ReviseProposal { actor, proposal } => {
                let path = format!("/api/proposals/{}/revise", self.proposals[proposal]);
                let body = json!({"premise": text(80, &format!("Revision {} of", st.step))});
                self.send(self.agent(actor), Method::POST, &path, Some(body))
                    .await?
            }
            ResolveItem {
                actor,
                proposal,
                item,
            } => {
                let path = format!(
                    "/api/review/feedback-item/{}/resolve",
                    self.items[proposal][item]
                );
                self.send(self.agent(actor), Method::POST, &path, Some(json!({})))
                    .await?
            }
            CreateRegion { actor, world } => {
                let name = format!("Region {}", st.worlds[world].regions);
                let body =
                    serde_json::to_value(api_client::fixtures::region(&name)).unwrap_or_default();
                let path = format!("/api/dwellers/worlds/{}/regions", self.worlds[world]);
                self.send(self.agent(actor), Method::POST, &path, Some(body))
                    .await?
            }
            CreateDweller { actor, world } => {
                let n = st.dwellers.len();
                let body = serde_json::to_value(api_client::fixtures::dweller(
                    &format!("Dweller {n}"),
                    "Region 0",
                ))
                .unwrap_or_default();
                let path = format!("/api/dwellers/worlds/{}/dwellers", self.worlds[world]);
                self.send(self.agent(actor), Method::POST, &path, Some(body))
                    .await?
            }
            ClaimDweller { actor, dweller } => {
                let path = format!("/api/dwellers/{}/claim", self.dwellers[dweller]);
                self.send(self.agent(actor), Method::POST, &path, Some(json!({})))
                    .await?
            }
            ReleaseDweller { actor, dweller } => {
                let path = format!("/api/dwellers/{}/release", self.dwellers[dweller]);
                self.send(self.agent(actor), Method::POST, &path, Some(json!({})))
                    .await?
            }
            TakeAction {
                dweller,
                content_len,
            } => {
                let holder = st.dwellers[dweller].holder.unwrap_or(0);
                let who = self.agent(holder).clone();
                let id = self.dwellers[dweller].clone();
                let ctx = self
                    .send(
                        &who,
                        Method::POST,
                        &format!("/api/dwellers/{id}/act/context"),
                        Some(json!({})),
                    )
                    .await?;
                let Some(token) = ctx.body.get("context_token").and_then(Value::as_str) else {
                    return Err(self.violation(
                        Invariant::ModelAgreement,
                        format!(
                            "act/context answered {} without a context_token",
                            ctx.status
                        ),
                    ));
                };
                let body = json!({"context_token": token, "action_type": "observe", "content": text(content_len, "Dweller"), "importance": 0.4});
                self.send(
                    &who,
                    Method::POST,
                    &format!("/api/dwellers/{id}/act"),
                    Some(body),
                )
                .await?
            }
            SubmitFeedback { actor, title_len } => {
                let mut body =
                    serde_json::to_value(api_client::fixtures::feedback("x")).unwrap_or_default();
                body["title"] = json!(
                    format!("{p} {}", "t".repeat(300))
                        .chars()
                        .take(title_len)
                        .collect::<String>()
                );
                self.send(self.agent(actor), Method::POST, "/api/feedback", Some(body))
                    .await?
            }
            UpvoteFeedback { actor, feedback } => {
                let path = format!("/api/feedback/{}/upvote", self.feedback[feedback]);
                self.send(self.agent(actor), Method::POST, &path, Some(json!({})))
                    .await?
            }
            AdminFeedbackStatus { feedback, to } => {
                let Some(admin) = self.admin.clone() else {
                    return Ok(None);
                };
                let path = format!("/api/feedback/{}/status", self.feedback[feedback]);
                let mut body = json!({"status": to.as_str()});
                if to.terminal() {
                    body["resolution_notes"] = json!("Handled by the simulation.");
                }
                self.send(&admin, Method::PATCH, &path, Some(body)).await?
            }
            // fault steps are driven by `Driver::apply_fault`
            Fault { .. } => return Ok(None),
            _ => return self.request_world(st, t).await.map(Some),
        }))
    }

    /// Records server ids of what a successful step created.
    pub(crate) fn remember(&mut self, st: &State, t: &Transition, body: &Value) {
        use Transition::*;
        let s = |ptr: &str| {
            body.pointer(ptr)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match *t {
            RegisterAgent => {
                let key = s("/api_key/key");
                self.agents
                    .push((self.anon.with_api_key(&key), s("/agent/id")));
            }
            CreateProposal { .. } => {
                self.proposals.push(s("/id"));
                self.items.push(Vec::new());
            }
            PostReview { proposal, .. } => {
                if let Some(list) = body.get("feedback_items").and_then(Value::as_array) {
                    for it in list {
                        self.items[proposal].push(
                            it.get("id")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                        );
                    }
                }
            }
            ResolveItem { proposal, .. } => {
                let after = model::step(st.clone(), t);
                if after.proposals[proposal].status == PStatus::Approved
                    && after.worlds.len() > self.worlds.len()
                {
                    self.worlds.push(s("/graduation/world_id"));
                    self.regions.push(Vec::new());
                }
            }
            CreateDweller { .. } => self.dwellers.push(s("/dweller/id")),
            SubmitFeedback { .. } => self.feedback.push(s("/feedback/id")),
            _ => self.remember_world(t, body),
        }
    }

    pub(crate) async fn read(&self, path: &str, inv: Invariant) -> Result<Value, Violation> {
        match self.anon.send_raw(Method::GET, path, None).await {
            Ok(r) if r.status == 200 => Ok(r.body),
            Ok(r) if r.status >= 500 => Err(self.violation(
                Invariant::No5xx,
                format!("read-back GET {path} answered {}", r.status),
            )),
            Ok(r) => Err(self.violation(
                inv,
                format!(
                    "read-back GET {path} answered {} (a failed read-back is a violation)",
                    r.status
                ),
            )),
            Err(e) => Err(self.violation(inv, format!("read-back GET {path} failed: {e}"))),
        }
    }

    /// Checks the invariants on what `t` touched; `after` is the model state after it.
    pub async fn check_step(&mut self, after: &State, t: &Transition) -> Result<(), Violation> {
        use Transition::*;
        match *t {
            CreateProposal { .. }
            | SubmitProposal { .. }
            | RespondItem { .. }
            | ReviseProposal { .. }
            | ResolveItem { .. } => {
                let proposal = match *t {
                    CreateProposal { .. } => after.proposals.len().checked_sub(1),
                    SubmitProposal { proposal, .. }
                    | RespondItem { proposal, .. }
                    | ReviseProposal { proposal, .. }
                    | ResolveItem { proposal, .. } => Some(proposal),
                    _ => None,
                };
                if let Some(pi) = proposal.filter(|&pi| pi < self.proposals.len()) {
                    self.check_proposal(after, pi).await?;
                }
            }
            PostReview { proposal, .. } => {
                self.check_proposal(after, proposal).await?;
                self.check_reviews(after, proposal).await?;
            }
            ClaimDweller { actor, dweller } => {
                self.check_dweller(after, dweller).await?;
                // the cap can only be exceeded by a claim that took effect; the end-of-seed sweep covers the rest
                if after.dwellers[dweller].holder == Some(actor) {
                    self.check_cap(after).await?;
                }
            }
            ReleaseDweller { dweller, .. } | TakeAction { dweller, .. } => {
                self.check_dweller(after, dweller).await?
            }
            UpvoteFeedback { feedback, .. } | AdminFeedbackStatus { feedback, .. } => {
                self.check_feedback(after, feedback).await?
            }
            SubmitFeedback { .. } => {
                if let Some(fi) = after
                    .feedback
                    .len()
                    .checked_sub(1)
                    .filter(|&f| f < self.feedback.len())
                {
                    self.check_feedback(after, fi).await?;
                }
            }
            RegisterAgent | CreateRegion { .. } | CreateDweller { .. } | Fault { .. } => {}
            _ => self.check_world_step(after, t).await?,
        }
        Ok(())
    }

    /// Every entity of the seed, at the end.
    pub async fn check_all(&mut self, after: &State) -> Result<(), Violation> {
        for pi in 0..self.proposals.len().min(after.proposals.len()) {
            self.check_proposal(after, pi).await?;
            self.check_reviews(after, pi).await?;
        }
        for di in 0..self.dwellers.len().min(after.dwellers.len()) {
            self.check_dweller(after, di).await?;
        }
        if !self.dwellers.is_empty() {
            self.check_cap(after).await?;
        }
        for fi in 0..self.feedback.len().min(after.feedback.len()) {
            self.check_feedback(after, fi).await?;
        }
        self.check_world_all(after).await?;
        Ok(())
    }

    pub(crate) async fn check_proposal(
        &mut self,
        after: &State,
        pi: usize,
    ) -> Result<(), Violation> {
        let id = self.proposals[pi].clone();
        let body = self
            .read(&format!("/api/proposals/{id}"), Invariant::ProposalStatus)
            .await?;
        let status = body
            .pointer("/proposal/status")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let want = match after.proposals[pi].status {
            PStatus::Draft => "draft",
            PStatus::Validating => "validating",
            PStatus::Approved => "approved",
        };
        self.count(Invariant::ProposalStatus);
        if status != want {
            return Err(self.violation(
                Invariant::ProposalStatus,
                format!(
                    "proposal {id} is {status:?}; the rules allow only {want:?} after this step"
                ),
            ));
        }
        if after.proposals[pi].status == PStatus::Approved {
            let worlds = self
                .read(
                    &format!("/api/worlds?sort=recent&limit=50&proposal_id={id}"),
                    Invariant::OneWorldPerProposal,
                )
                .await?;
            let list: Vec<&Value> = worlds
                .get("worlds")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|w| {
                            w.get("proposal_id").and_then(Value::as_str) == Some(id.as_str())
                        })
                        .collect()
                })
                .unwrap_or_default();
            self.count(Invariant::OneWorldPerProposal);
            if list.len() != 1 {
                return Err(self.violation(
                    Invariant::OneWorldPerProposal,
                    format!("approved proposal {id} has {} worlds", list.len()),
                ));
            }
            let wid = list[0]
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let back = body
                .pointer("/proposal/resulting_world_id")
                .and_then(Value::as_str);
            if back != Some(wid) {
                return Err(self.violation(
                    Invariant::OneWorldPerProposal,
                    format!(
                        "approved proposal {id}: resulting_world_id is {back:?}, its world is {wid}"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(crate) async fn check_reviews(
        &mut self,
        after: &State,
        pi: usize,
    ) -> Result<(), Violation> {
        let id = self.proposals[pi].clone();
        let owner = self.agents[after.proposals[pi].owner].1.clone();
        let body = self
            .read(
                &format!("/api/review/proposal/{id}/feedback"),
                Invariant::NoSelfReview,
            )
            .await?;
        self.count(Invariant::NoSelfReview);
        let reviewers: Vec<&str> = body
            .get("reviews")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get("reviewer_id").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        if reviewers.contains(&owner.as_str()) {
            return Err(self.violation(
                Invariant::NoSelfReview,
                format!("proposal {id} has a review by its own proposer {owner}"),
            ));
        }
        Ok(())
    }

    pub(crate) async fn check_dweller(
        &mut self,
        after: &State,
        di: usize,
    ) -> Result<(), Violation> {
        let id = self.dwellers[di].clone();
        let body = self
            .read(&format!("/api/dwellers/{id}"), Invariant::SingleHolder)
            .await?;
        let holder = body
            .pointer("/dweller/inhabited_by")
            .and_then(Value::as_str)
            .map(str::to_string);
        let want = after.dwellers[di].holder.map(|a| self.agents[a].1.clone());
        self.count(Invariant::SingleHolder);
        if holder != want {
            return Err(self.violation(Invariant::SingleHolder, format!("dweller {id} is held by {holder:?}; the agent told it claimed it (and has not released it) is {want:?}")));
        }
        Ok(())
    }

    pub(crate) async fn check_cap(&mut self, after: &State) -> Result<(), Violation> {
        let mut counts: std::collections::HashMap<String, usize> = Default::default();
        for wi in 0..self.worlds.len().min(after.worlds.len()) {
            let wid = self.worlds[wi].clone();
            let body = self
                .read(
                    &format!("/api/dwellers/worlds/{wid}/dwellers"),
                    Invariant::DwellerCap,
                )
                .await?;
            for d in body
                .get("dwellers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(h) = d.get("inhabited_by").and_then(Value::as_str) {
                    *counts.entry(h.to_string()).or_default() += 1;
                }
            }
        }
        self.count(Invariant::DwellerCap);
        if let Some((agent, n)) = counts.iter().find(|(_, n)| **n > model::MAX_DWELLERS) {
            return Err(self.violation(
                Invariant::DwellerCap,
                format!(
                    "agent {agent} holds {n} dwellers (cap {})",
                    model::MAX_DWELLERS
                ),
            ));
        }
        Ok(())
    }

    pub(crate) async fn check_feedback(
        &mut self,
        after: &State,
        fi: usize,
    ) -> Result<(), Violation> {
        let id = self.feedback[fi].clone();
        let body = self
            .read(&format!("/api/feedback/{id}"), Invariant::UpvoteCount)
            .await?;
        let fb = &body["feedback"];
        let count = fb.get("upvote_count").and_then(Value::as_i64).unwrap_or(-1);
        let model_fb = &after.feedback[fi];
        let calls = model_fb.upvoters.len() as i64;
        let owner = self.agents[model_fb.owner].1.clone();
        if let Some(upvoters) = fb.get("upvoters").and_then(Value::as_array) {
            let ids: Vec<&str> = upvoters.iter().filter_map(Value::as_str).collect();
            self.count(Invariant::NoSelfUpvote);
            if ids.contains(&owner.as_str()) {
                return Err(self.violation(
                    Invariant::NoSelfUpvote,
                    format!("feedback {id} is upvoted by its own author {owner}"),
                ));
            }
            let mut distinct = ids.clone();
            distinct.sort();
            distinct.dedup();
            self.count(Invariant::NoDuplicateUpvoter);
            if distinct.len() != ids.len() {
                return Err(self.violation(
                    Invariant::NoDuplicateUpvoter,
                    format!("feedback {id} lists an upvoter twice: {ids:?}"),
                ));
            }
            self.count(Invariant::UpvoteCount);
            if count != distinct.len() as i64 || count != calls {
                return Err(self.violation(Invariant::UpvoteCount, format!("feedback {id}: upvote_count {count}, distinct upvoters {}, successful upvote calls {calls}", distinct.len())));
            }
        } else {
            self.count(Invariant::UpvoteCount);
            if count != calls {
                return Err(self.violation(
                    Invariant::UpvoteCount,
                    format!("feedback {id}: upvote_count {count}, successful upvote calls {calls}"),
                ));
            }
        }
        let status = fb.get("status").and_then(Value::as_str).unwrap_or("?");
        if model_fb.status.terminal() {
            self.count(Invariant::TerminalFeedback);
        }
        if status != model_fb.status.as_str() {
            let inv = if model_fb.status.terminal() {
                Invariant::TerminalFeedback
            } else {
                Invariant::ModelAgreement
            };
            return Err(self.violation(
                inv,
                format!(
                    "feedback {id} is {status:?}; expected {:?}",
                    model_fb.status.as_str()
                ),
            ));
        }
        Ok(())
    }
}

/// The first 200 characters of a response text, for violation messages.
pub(crate) fn short(s: &str) -> String {
    s.chars().take(200).collect()
}
