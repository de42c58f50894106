//! The fault layer's driver side: sends a fault step's requests and checks its outcome.
//!
//! - **Races**: N requests on separate connections, each task parked on one `tokio::sync::Barrier`
//!   and released together. The step records which requests raced and what each got
//!   ([`FaultRecord`]); a replay re-issues the same race (the same requests released together), but
//!   which request wins is the server's choice and may differ — the checks accept any legal
//!   interleaving ("exactly one winner", "no lost update"), never a particular one.
//! - **Retries** (duplicate request, lost response): the request is repeated as a network retry
//!   would, with the same `X-Idempotency-Key` for creates (must replay the stored answer, not run
//!   twice) and bare for state changes (must get the deterministic "already" rejection).
//! - **Database faults**: against the embedded platform through its test-only fault control, against
//!   a remote target through `dst-sim proxy` in front of its database. The platform must answer a
//!   clean 503/504 or succeed; the retry that follows converges to "applied once".

use super::requests::actor_of;
use super::{Driver, FaultRecord, Racer, Request, server_error};
use crate::invariants::{Failure, Invariant};
use crate::model::faults::{self, repeat_rejection};
use crate::model::{Expect, Fault, State, Transition};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) fn class(r: &RawResponse) -> Expect {
    if (200..300).contains(&r.status) {
        Expect::Ok
    } else {
        Expect::Reject(r.status)
    }
}

/// A UUID-shaped idempotency key derived from the run prefix and step (same seed → same key).
pub(super) fn det_uuid(prefix: &str, step: usize) -> String {
    let mut h: [u64; 2] = [0xcbf2_9ce4_8422_2325, 0x9e37_79b9_7f4a_7c15];
    for (i, x) in h.iter_mut().enumerate() {
        for b in prefix.bytes().chain(step.to_le_bytes()).chain([i as u8]) {
            *x ^= b as u64;
            *x = x.wrapping_mul(0x100_0000_01b3);
        }
    }
    let hex = format!("{:016x}{:016x}", h[0], h[1]);
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn racer(actor: Option<usize>, m: &Method, path: &str, r: &RawResponse) -> Racer {
    Racer {
        actor,
        method: m.to_string(),
        path: path.to_string(),
        status: (r.status != 0).then_some(r.status),
        replayed: r.replayed,
    }
}

impl Driver {
    /// Executes fault `f` (the model state is `before`; `after` is the model state after it) and
    /// checks its outcome. Returns whether the fault actually fired.
    pub async fn apply_fault(
        &mut self,
        step: usize,
        before: &State,
        after: &State,
        f: &Fault,
    ) -> Result<(bool, Option<State>), Failure> {
        self.step = step;
        self.effective_steps += 1;
        self.last_fault = Some(FaultRecord {
            kind: f.kind(),
            fired: false,
            raced: vec![],
            attempts: vec![],
            note: None,
        });
        self.actual_after = None;
        let result = self.fault_inner(step, before, after, f).await;
        self.idem = None;
        self.fault_scope = None;
        self.tolerate_5xx = false;
        *self.capture.lock().unwrap_or_else(|p| p.into_inner()) = None;
        // a fault that fired and then found a violation still fired (the record says so); so
        // did one whose own check broke (a lost update, a double execution, a double world): only
        // a plain disagreement with the model may come before the fault's requests went out
        let own_check_broke = matches!(&result, Err(Failure::Violation(v)) if v.invariant != Invariant::ModelAgreement);
        let fired = matches!(result, Ok(true))
            || own_check_broke
            || self.last_fault.as_ref().is_some_and(|r| r.fired);
        if let Some(r) = &mut self.last_fault {
            r.fired = fired;
        }
        result?;
        Ok((fired, self.actual_after.take()))
    }

    /// Races ordinary transitions (one request each) and records each success's ids in order.
    async fn race_transitions(
        &mut self,
        st: &State,
        ts: &[Transition],
    ) -> Result<Vec<RawResponse>, Failure> {
        let reqs = self.capture_requests(st, ts).await?;
        if reqs.len() != ts.len() {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!("a raced transition is not a single request: {ts:?}"),
            ));
        }
        let res = self.race(reqs).await?;
        for (t, r) in ts.iter().zip(&res) {
            if class(r) == Expect::Ok {
                self.remember(st, t, &r.body);
            }
        }
        Ok(res)
    }

    /// One method per fault kind; each checks its own outcome and ends in the read-backs.
    async fn fault_inner(
        &mut self,
        step: usize,
        before: &State,
        after: &State,
        f: &Fault,
    ) -> Result<bool, Failure> {
        match f {
            Fault::RaceClaim { dweller, actors } => self.race_claim(after, *dweller, actors).await,
            Fault::RaceUpvote { feedback, actors } => {
                self.race_upvote(after, *feedback, actors).await
            }
            Fault::RaceUpvoteSame { feedback, actor, n } => {
                self.race_upvote_same(after, *feedback, *actor, *n).await
            }
            Fault::RaceGraduation { proposal, n } => {
                self.race_graduation(before, after, *proposal, *n).await
            }
            Fault::RaceReview { proposal, actors } => {
                self.race_review(after, *proposal, actors).await
            }
            Fault::RaceCreate { actor, n } => {
                self.race_create(step, before, after, *actor, *n).await
            }
            Fault::RaceStoryReview { story, .. } | Fault::RaceAcclaim { story } => {
                self.race_story_content(before, after, f, *story).await
            }
            Fault::RaceEventDecision { event, deciders } => {
                self.race_event_decision(before, f, *event, deciders).await
            }
            Fault::Duplicate { inner, keyed: true }
            | Fault::LostResponse { inner, keyed: true } => {
                self.retry_keyed(step, before, after, f, inner).await
            }
            Fault::RaceRegion { .. }
            | Fault::RaceDweller { .. }
            | Fault::RaceRespond { .. }
            | Fault::IdemConcurrent { .. }
            | Fault::IdemReuse { .. } => self.concurrency_fault(step, before, after, f).await,
            Fault::RaceReact { .. } | Fault::RaceReactWorld { .. } => {
                self.race_react(before, after, f).await
            }
            Fault::RaceEscalate { .. } | Fault::RaceConfirm { .. } => {
                self.race_action(before, f).await
            }
            Fault::RaceFollow { .. } | Fault::RaceComment { .. } => {
                self.race_social(before, after, f).await
            }
            Fault::RaceFollowSame { .. } => self.race_follow_same(before, after, f).await,
            Fault::RaceSummarize { .. } => self.race_summarize(before, after, f).await,
            Fault::Duplicate { inner, .. } | Fault::LostResponse { inner, .. } => {
                self.retry(before, after, f, inner).await
            }
            Fault::DbFail { inner } | Fault::DbStall { inner, .. } => {
                self.db_fault(step, before, after, f, inner).await
            }
        }
    }

    /// N agents claim one free dweller at once: exactly one wins, and the winner releases it again.
    async fn race_claim(
        &mut self,
        after: &State,
        dweller: usize,
        actors: &[usize],
    ) -> Result<bool, Failure> {
        let id = self.dwellers[dweller].clone();
        let path = format!("/api/dwellers/{id}/claim");
        let reqs = actors
            .iter()
            .map(|&a| Request {
                actor: Some(a),
                client: self.agent(a).clone(),
                method: Method::POST,
                path: path.clone(),
                body: Some(json!({})),
            })
            .collect();
        let res = self.race(reqs).await?;
        let winners: Vec<usize> = actors
            .iter()
            .zip(&res)
            .filter(|(_, r)| class(r) == Expect::Ok)
            .map(|(a, _)| *a)
            .collect();
        if winners.len() != 1 {
            self.follow_holder(after, dweller).await;
            let ids: Vec<&str> = winners.iter().map(|&a| self.agents[a].1.as_str()).collect();
            return Err(self.violation(
                Invariant::SingleHolder,
                format!(
                    "{} concurrent claims of dweller {id}: {} agents were told they claimed it ({ids:?})",
                    actors.len(),
                    winners.len()
                ),
            ));
        }
        if let Some(r) = first_unexpected(&res, &[400, 409]) {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "a losing concurrent claim of dweller {id} answered {}",
                    r.status
                ),
            ));
        }
        let winner = winners[0];
        let body = self
            .read(&format!("/api/dwellers/{id}"), Invariant::SingleHolder)
            .await?;
        let holder = body
            .pointer("/dweller/inhabited_by")
            .and_then(Value::as_str);
        if holder != Some(self.agents[winner].1.as_str()) {
            self.follow_holder(after, dweller).await;
            return Err(self.violation(
                Invariant::SingleHolder,
                format!(
                    "dweller {id}: the claim race's winner is {}, the platform says it is held by {holder:?}",
                    self.agents[winner].1
                ),
            ));
        }
        // the winner lets go again, so the model never depends on who won
        let who = self.agent(winner).clone();
        let r = self
            .plain(&who, Method::POST, &format!("/api/dwellers/{id}/release"))
            .await?;
        if class(&r) != Expect::Ok {
            self.follow_holder(after, dweller).await;
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "the claim race's winner could not release dweller {id}: {}",
                    r.status
                ),
            ));
        }
        self.check_dweller(after, dweller).await?;
        Ok(true)
    }

    /// Keep-going after a claim race the target got wrong (two winners, or a holder other than the
    /// one told it won): the model takes the dweller's holder as the target reads it back, so later
    /// claims, releases and actions are predicted against who actually holds it. Best effort: a
    /// failed read leaves the model as it is (the next read-back reports it).
    async fn follow_holder(&mut self, after: &State, dweller: usize) {
        let id = self.dwellers[dweller].clone();
        let Ok(body) = self
            .read(&format!("/api/dwellers/{id}"), Invariant::SingleHolder)
            .await
        else {
            return;
        };
        let holder = match body.pointer("/dweller/inhabited_by") {
            Some(Value::String(h)) => match self.agents.iter().position(|(_, a)| a == h) {
                Some(a) => Some(a),
                None => return, // held by an agent outside the model: nothing to follow
            },
            _ => None,
        };
        let mut actual = after.clone();
        actual.dwellers[dweller].holder = holder;
        self.actual_after = Some(actual);
    }

    /// N different agents upvote one feedback at once: all succeed and none is lost.
    async fn race_upvote(
        &mut self,
        after: &State,
        feedback: usize,
        actors: &[usize],
    ) -> Result<bool, Failure> {
        let path = format!("/api/feedback/{}/upvote", self.feedback[feedback]);
        let reqs = actors
            .iter()
            .map(|&a| Request {
                actor: Some(a),
                client: self.agent(a).clone(),
                method: Method::POST,
                path: path.clone(),
                body: Some(json!({})),
            })
            .collect();
        let res = self.race(reqs).await?;
        let ok = res.iter().filter(|r| class(r) == Expect::Ok).count();
        // read back first: a lost update names itself better than a rejected call
        self.check_feedback(after, feedback).await?;
        if ok != actors.len() {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{} different agents upvoted at once; {ok} succeeded (all may)",
                    actors.len()
                ),
            ));
        }
        Ok(true)
    }

    /// One agent upvotes one feedback N times at once: exactly one succeeds.
    async fn race_upvote_same(
        &mut self,
        after: &State,
        feedback: usize,
        actor: usize,
        n: usize,
    ) -> Result<bool, Failure> {
        let path = format!("/api/feedback/{}/upvote", self.feedback[feedback]);
        let who = self.agent(actor).clone();
        let reqs = (0..n)
            .map(|_| Request {
                actor: Some(actor),
                client: who.clone(),
                method: Method::POST,
                path: path.clone(),
                body: Some(json!({})),
            })
            .collect();
        let res = self.race(reqs).await?;
        let ok = res.iter().filter(|r| class(r) == Expect::Ok).count();
        if ok > 1 {
            // the read-back names it (duplicate upvoter, or a count that disagrees)
            self.check_feedback(after, feedback).await?;
            return Err(self.violation(
                Invariant::NoDuplicateUpvoter,
                format!(
                    "one agent upvoted {n} times at once and was told {ok} times that it counted"
                ),
            ));
        }
        if ok == 0 {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!("one eligible agent upvoted {n} times at once and none succeeded"),
            ));
        }
        self.check_feedback(after, feedback).await?;
        Ok(true)
    }

    /// The last unresolved items of a proposal resolved N-way at once: one world results.
    async fn race_graduation(
        &mut self,
        before: &State,
        after: &State,
        proposal: usize,
        n: usize,
    ) -> Result<bool, Failure> {
        let items = faults::graduation_items(before, proposal).unwrap_or_default();
        let mut reqs: Vec<Request> = Vec::new();
        let mut k = 0;
        while reqs.len() < (n).max(items.len()) {
            let i = items[k.min(items.len() - 1)];
            k += 1;
            let reviewer = before.proposals[proposal].items[i].reviewer;
            let path = format!(
                "/api/review/feedback-item/{}/resolve",
                self.items[proposal][i]
            );
            reqs.push(Request {
                actor: Some(reviewer),
                client: self.agent(reviewer).clone(),
                method: Method::POST,
                path,
                body: Some(json!({})),
            });
        }
        let res = self.race(reqs).await?;
        let mut worlds: Vec<String> = res
            .iter()
            .filter_map(|r| {
                r.body
                    .pointer("/graduation/world_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        worlds.sort();
        worlds.dedup();
        self.worlds
            .push(worlds.first().cloned().unwrap_or_default());
        self.regions.push(Vec::new());
        if let Some(r) = first_unexpected(&res, &[400]) {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!("a concurrent final resolve answered {}", r.status),
            ));
        }
        // the read-back counts the worlds; then the responses must agree
        self.check_proposal(after, proposal).await?;
        if worlds.len() != 1 {
            return Err(self.violation(
                Invariant::OneWorldPerProposal,
                format!(
                    "{} concurrent final resolves reported {} graduations: {worlds:?}",
                    res.len(),
                    worlds.len()
                ),
            ));
        }
        self.check_reviews(after, proposal).await?;
        Ok(true)
    }

    /// N different eligible reviewers review one proposal at once: all succeed.
    async fn race_review(
        &mut self,
        after: &State,
        proposal: usize,
        actors: &[usize],
    ) -> Result<bool, Failure> {
        let path = format!("/api/review/proposal/{}/feedback", self.proposals[proposal]);
        let body = json!({"feedback_items": [{"category": "causal_gap", "description": "Concurrent reviewers ask how the tidal economy survives the first winter.", "severity": "important"}]});
        let reqs = actors
            .iter()
            .map(|&a| Request {
                actor: Some(a),
                client: self.agent(a).clone(),
                method: Method::POST,
                path: path.clone(),
                body: Some(body.clone()),
            })
            .collect();
        let res = self.race(reqs).await?;
        for r in &res {
            let id = r
                .body
                .pointer("/feedback_items/0/id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            self.items[proposal].push(id);
        }
        let ok = res.iter().filter(|r| class(r) == Expect::Ok).count();
        if ok != actors.len() {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{} different eligible reviewers reviewed at once; {ok} succeeded (all may)",
                    actors.len()
                ),
            ));
        }
        self.check_proposal(after, proposal).await?;
        self.check_reviews(after, proposal).await?;
        Ok(true)
    }

    /// One agent creates N same-title proposals at once: exactly its free slots succeed.
    async fn race_create(
        &mut self,
        step: usize,
        before: &State,
        after: &State,
        actor: usize,
        n: usize,
    ) -> Result<bool, Failure> {
        let wins = faults::race_create_wins(before, actor, n);
        let mut body =
            serde_json::to_value(api_client::fixtures::proposal("x")).unwrap_or_default();
        body["name"] = json!(format!("{} race {step}", self.prefix));
        let who = self.agent(actor).clone();
        let reqs = (0..n)
            .map(|_| Request {
                actor: Some(actor),
                client: who.clone(),
                method: Method::POST,
                path: "/api/proposals".to_string(),
                body: Some(body.clone()),
            })
            .collect();
        let res = self.race(reqs).await?;
        let created: Vec<String> = res
            .iter()
            .filter(|r| class(r) == Expect::Ok)
            .map(|r| {
                r.body
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let ok = created.len();
        // keep-going: the driver and the model follow every proposal the target made (more than
        // the limit allows counts against the agent's active proposals later; fewer leaves slots)
        let mut actual = after.clone();
        actual.proposals.truncate(after.proposals.len() - wins);
        let made = Transition::CreateProposal { actor, name_len: 0 };
        self.actual_after = Some(crate::model::concurrency::adopt_created(actual, &made, ok));
        for id in created {
            self.proposals.push(id);
            self.items.push(Vec::new());
        }
        let others_ok = res
            .iter()
            .all(|r| class(r) == Expect::Ok || r.status == 429);
        if ok != wins || !others_ok {
            let statuses: Vec<u16> = res.iter().map(|r| r.status).collect();
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{n} same-title proposals at once by an agent with {wins} free slot(s): {ok} succeeded (statuses {statuses:?}; the limit allows exactly {wins})"
                ),
            ));
        }
        let first_new = after.proposals.len() - wins;
        for pi in first_new..after.proposals.len() {
            self.check_proposal(after, pi).await?;
        }
        Ok(true)
    }

    /// Concurrent story reviews, or the final responses that complete a story's acclaim conditions.
    async fn race_story_content(
        &mut self,
        before: &State,
        after: &State,
        f: &Fault,
        story: usize,
    ) -> Result<bool, Failure> {
        let (prelude, ts) = faults::world_race_steps(before, f);
        let mut st = before.clone();
        for t in &prelude {
            // the revision that makes the final responses complete the acclaim conditions
            let Some(r) = self.request(&st, t).await? else {
                return Ok(false);
            };
            if class(&r) != crate::model::expect(&st, t) {
                return Err(self.violation(
                    Invariant::ModelAgreement,
                    format!(
                        "{t:?}: the model predicted {:?}, the platform answered {}",
                        crate::model::expect(&st, t),
                        r.status
                    ),
                ));
            }
            self.remember(&st, t, &r.body);
            st = crate::model::step(st, t);
        }
        let res = self.race_transitions(&st, &ts).await?;
        let ok = res.iter().filter(|r| class(r) == Expect::Ok).count();
        // read back first: a story that met the acclaim conditions and is not acclaimed
        // names itself (14-story-acclaim)
        let probe = ts.last().cloned();
        if let Some(t) = probe {
            self.check_world_step(after, &t).await?;
        }
        if ok != ts.len() {
            let statuses: Vec<u16> = res.iter().map(|r| r.status).collect();
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{} concurrent {} on story {story}: {ok} succeeded (all may; statuses {statuses:?})",
                    ts.len(),
                    if matches!(f, Fault::RaceAcclaim { .. }) { "final responses" } else { "reviews by different agents" }
                ),
            ));
        }
        Ok(true)
    }

    /// Approvals and rejections of one pending event at once: exactly one decision wins.
    async fn race_event_decision(
        &mut self,
        before: &State,
        f: &Fault,
        event: usize,
        deciders: &[(usize, bool)],
    ) -> Result<bool, Failure> {
        let ts = faults::world_race_steps(before, f).1;
        let res = self.race_transitions(before, &ts).await?;
        let winners: Vec<&Transition> = ts
            .iter()
            .zip(&res)
            .filter(|(_, r)| class(r) == Expect::Ok)
            .map(|(t, _)| t)
            .collect();
        // the model follows the decision that won (approve and reject lead to the same
        // "decided" state for every later prediction; only the read-back needs which)
        if let Some(w) = winners.first() {
            let actual = crate::model::step(before.clone(), w);
            self.check_world_step(&actual, w).await?;
            self.actual_after = Some(faults::step_counted(actual, f));
        }
        if winners.len() != 1 {
            return Err(self.violation(
                Invariant::EventDecision,
                format!(
                    "{} concurrent decisions on event {event} ({deciders:?}): {} were told they decided it",
                    ts.len(),
                    winners.len()
                ),
            ));
        }
        if let Some(r) = first_unexpected(&res, &[400, 409]) {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "a losing concurrent decision on event {event} answered {}",
                    r.status
                ),
            ));
        }
        Ok(true)
    }

    /// A request sent twice (duplicate) or whose first response is dropped (lost response),
    /// without an idempotency key (keyed retries are `retry_keyed`): the repeat must be refused.
    async fn retry(
        &mut self,
        before: &State,
        after: &State,
        f: &Fault,
        inner: &Transition,
    ) -> Result<bool, Failure> {
        let lost = matches!(f, Fault::LostResponse { .. });
        self.idem = None;
        let Some(r1) = self.request(before, inner).await? else {
            return Ok(false); // not sendable here (no admin key)
        };
        self.first_attempt(before, inner, &r1, lost)?;
        let Some(r2) = self.request(before, inner).await? else {
            return Ok(false);
        };
        self.record_attempt(inner, &r2);
        if class(&r2) != repeat_rejection(inner) {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{inner:?} repeated as a network retry answered {}; an applied request must be refused as {:?}",
                    r2.status,
                    repeat_rejection(inner)
                ),
            ));
        }
        if lost {
            // the driver never saw the first answer: what it knows comes from the retry
            self.remember(before, inner, &r2.body);
        }
        self.check_step(after, inner).await?;
        Ok(true)
    }

    /// The first attempt of a retried create (bare or keyed): recorded, it must succeed as the
    /// model predicts, and unless its answer is the one the fault drops, the driver learns its ids.
    pub(super) fn first_attempt(
        &mut self,
        before: &State,
        inner: &Transition,
        r1: &RawResponse,
        lost: bool,
    ) -> Result<(), Failure> {
        self.record_attempt(inner, r1);
        if class(r1) != Expect::Ok {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{inner:?}: the model predicted Ok, the platform answered {}",
                    r1.status
                ),
            ));
        }
        if !lost {
            self.remember(before, inner, &r1.body);
        }
        Ok(())
    }

    pub(super) fn record_attempt(&mut self, t: &Transition, r: &RawResponse) {
        let actor = actor_of(t);
        if let Some(rec) = &mut self.last_fault {
            rec.attempts.push(Racer {
                actor,
                method: String::new(),
                path: format!("{:?}", t.rule()),
                status: (r.status != 0).then_some(r.status),
                replayed: r.replayed,
            });
        }
    }

    /// Releases `reqs` together behind one barrier on separate connections; records the race. On
    /// the embedded platform with fault control each racer carries its seeded schedule
    /// (`interleaving.rs`), so the platform, not the runtime, decides who passes its race window when.
    pub(super) async fn race(&mut self, reqs: Vec<Request>) -> Result<Vec<RawResponse>, Failure> {
        let barrier = Arc::new(tokio::sync::Barrier::new(reqs.len()));
        let mut handles = Vec::with_capacity(reqs.len());
        let tags = self.race_tags(reqs.len());
        for (
            k,
            Request {
                client,
                method: m,
                path,
                body,
                ..
            },
        ) in reqs.iter().cloned().enumerate()
        {
            let client = match &tags {
                Some(t) => client.with_header("x-dst-race", &t[k]),
                None => client,
            };
            let b = barrier.clone();
            handles.push(tokio::spawn(async move {
                b.wait().await;
                client.send_raw(m, &path, body.as_ref()).await
            }));
        }
        let mut out = Vec::with_capacity(reqs.len());
        let mut failure = None;
        for (
            Request {
                actor,
                method: m,
                path,
                ..
            },
            h,
        ) in reqs.iter().zip(handles)
        {
            let r = match h.await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => RawResponse {
                    status: 0,
                    replayed: false,
                    body: Value::Null,
                    text: e.to_string(),
                },
                Err(e) => RawResponse {
                    status: 0,
                    replayed: false,
                    body: Value::Null,
                    text: e.to_string(),
                },
            };
            if failure.is_none() && r.status == 0 {
                failure = Some(self.unreachable(&format!("{m} {path} in a race"), &r.text));
            } else if failure.is_none() && r.status >= 500 {
                failure = Some(self.violation(
                    Invariant::No5xx,
                    format!(
                        "{m} {path} in a race answered {}",
                        server_error(r.status, &r.text)
                    ),
                ));
            }
            if let Some(rec) = &mut self.last_fault {
                rec.raced.push(racer(*actor, m, path, &r));
            }
            out.push(r);
        }
        if let Some(f) = failure {
            return Err(f);
        }
        Ok(out)
    }
}

/// The first response of a race that is neither a success nor one of the `refusals` a losing racer
/// may get.
pub(super) fn first_unexpected<'a>(
    res: &'a [RawResponse],
    refusals: &[u16],
) -> Option<&'a RawResponse> {
    res.iter()
        .find(|r| class(r) != Expect::Ok && !refusals.contains(&r.status))
}

/// A response body without `_agent_context`: the real platform's outermost middleware
/// (middleware/agent_context.py) adds a fresh one to every authenticated answer, a replay included,
/// so it says nothing about whether a keyed retry ran again.
pub(super) fn without_context(body: &Value) -> Value {
    let mut b = body.clone();
    if let Some(m) = b.as_object_mut() {
        m.remove("_agent_context");
    }
    b
}

#[cfg(test)]
mod tests {
    use super::det_uuid;

    #[test]
    fn idempotency_keys_are_uuids_and_deterministic() {
        let a = det_uuid("dst-s1-t0", 7);
        assert_eq!(a, det_uuid("dst-s1-t0", 7));
        assert_ne!(a, det_uuid("dst-s1-t0", 8));
        assert_ne!(a, det_uuid("dst-s2-t0", 7));
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert_eq!(&a[14..15], "4");
    }
}
