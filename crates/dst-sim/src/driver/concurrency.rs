//! The concurrency checks of the fault layer, driver side (the model side is
//! `model/concurrency.rs`):
//!
//! - **No lost update** (`19-no-lost-update`): different agents add regions to one world, released
//!   together behind the barrier; the read-back must list every region whose add was told it
//!   succeeded (a read-modify-write of the world's region list loses some).
//! - **At most once** (`20-at-most-once`): a story's author answers one review N times at once;
//!   exactly one answer is accepted, the others get the "already answered" refusal.
//! - **Idempotency keys** (`21-idempotency-key`): N concurrent creates with one key execute once; a
//!   key presented by another agent or on another endpoint is never a replay of the first answer; a
//!   keyed retry (duplicate, lost response) reports whether the first request committed and whether
//!   the retry was replayed or re-executed, comparing answers as parsed JSON (key order is not a
//!   difference).
//!
//! Each keyed request carries a name (proposal) or title (feedback) unique to its step, so what a
//! request created can be counted by reading the list back: that count is the evidence that tells a
//! real double-create from a replay.

use super::faults::{class, det_uuid, first_unexpected, without_context};
use super::{Driver, Request, server_error, short};
use crate::invariants::{Failure, Invariant};
use crate::model::concurrency::{
    adopt_created, adopt_dweller_count, adopt_regions, dweller_count, dweller_steps, region_name,
    region_steps, respond_step,
};
use crate::model::{self, Expect, Fault, State, Transition, faults as mfaults, rules};
use api_client::RawResponse;
use serde_json::{Value, json};

/// What a keyed create makes, for messages.
fn noun(t: &Transition) -> &'static str {
    match t {
        Transition::CreateProposal { .. } => "proposal(s)",
        _ => "feedback item(s)",
    }
}

/// The id of what a keyed create's success answer says it created (as `remember` reads it).
fn created_id(t: &Transition, body: &Value) -> String {
    let id = match t {
        Transition::CreateProposal { .. } => body.get("id"),
        _ => body.pointer("/feedback/id"),
    };
    id.and_then(Value::as_str).unwrap_or_default().to_string()
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl Driver {
    /// Executes one of the concurrency faults and checks its outcome.
    pub(super) async fn concurrency_fault(
        &mut self,
        step: usize,
        before: &State,
        after: &State,
        f: &Fault,
    ) -> Result<bool, Failure> {
        match f {
            Fault::RaceRegion { world, actors } => {
                self.race_region(before, after, *world, actors).await
            }
            Fault::RaceDweller { world, actors } => {
                self.race_dweller(before, after, *world, actors).await
            }
            Fault::RaceRespond { story, review, n } => {
                self.race_respond(before, after, *story, *review, *n).await
            }
            Fault::IdemConcurrent { inner, n } => {
                self.idem_concurrent(step, before, after, f, inner, *n)
                    .await
            }
            Fault::IdemReuse { first, second } => {
                self.idem_reuse(step, before, after, f, first, second).await
            }
            _ => Ok(false),
        }
    }

    /// Builds `t`'s request (in state `st`) with the ordinary builder, without sending it.
    pub(super) async fn one_request(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<Request, Failure> {
        let mut reqs = self.capture_requests(st, std::slice::from_ref(t)).await?;
        if reqs.len() != 1 {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!("a raced transition is not a single request: {t:?}"),
            ));
        }
        Ok(reqs.remove(0))
    }

    /// Sends a built request; a 5xx is a violation, no answer ends the run.
    async fn send_request(&self, r: &Request) -> Result<RawResponse, Failure> {
        match r
            .client
            .send_raw(r.method.clone(), &r.path, r.body.as_ref())
            .await
        {
            Ok(x) if x.status >= 500 => Err(self.violation(
                Invariant::No5xx,
                format!(
                    "{} {} answered {}",
                    r.method,
                    r.path,
                    server_error(x.status, &x.text)
                ),
            )),
            Ok(x) => Ok(x),
            Err(e) => Err(self.unreachable(&format!("{} {}", r.method, r.path), e)),
        }
    }

    /// N different agents add differently named regions to one world at once: every add that was
    /// told it succeeded must be in the world's region list.
    async fn race_region(
        &mut self,
        before: &State,
        after: &State,
        world: usize,
        actors: &[usize],
    ) -> Result<bool, Failure> {
        let mut st = before.clone();
        let mut reqs = Vec::new();
        let mut names = Vec::new();
        for t in region_steps(world, actors) {
            names.push(region_name(&st, world));
            reqs.push(self.one_request(&st, &t).await?);
            st = rules::step(st, &t);
        }
        let res = self.race(reqs).await?;
        let told: Vec<&String> = names
            .iter()
            .zip(&res)
            .filter(|(_, r)| class(r) == Expect::Ok)
            .map(|(n, _)| n)
            .collect();
        let wid = self.world_id(world);
        let body = self
            .read(
                &format!("/api/dwellers/worlds/{wid}/regions"),
                Invariant::NoLostUpdate,
            )
            .await?;
        let listed: Vec<&str> = body
            .get("regions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|r| r.get("name")?.as_str()).collect())
            .unwrap_or_default();
        self.count(Invariant::NoLostUpdate);
        // a seed that goes on past a verdict below follows the world's regions as the target has
        // them, so later region counts and names are judged against what exists
        if let Some(r) = self.regions.get_mut(world) {
            *r = listed.iter().map(|n| n.to_string()).collect();
        }
        self.actual_after = Some(adopt_regions(after.clone(), world, listed.len()));
        let missing: Vec<&&String> = told
            .iter()
            .filter(|n| !listed.contains(&n.as_str()))
            .collect();
        if !missing.is_empty() {
            let totals: Vec<Option<u64>> = res
                .iter()
                .map(|r| r.body.get("total_regions").and_then(Value::as_u64))
                .collect();
            return Err(self.violation(
                Invariant::NoLostUpdate,
                format!(
                    "{} different agents added regions to world {wid} at once and {} were told it was added (total_regions answered {totals:?}); the world lists {} region(s) and misses {missing:?}: a lost update of its region list",
                    actors.len(),
                    told.len(),
                    listed.len()
                ),
            ));
        }
        if told.len() != actors.len() {
            let statuses: Vec<u16> = res.iter().map(|r| r.status).collect();
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{} different agents added differently named regions to world {wid} at once; {} succeeded (all may; statuses {statuses:?})",
                    actors.len(),
                    told.len()
                ),
            ));
        }
        if listed.len() != after.worlds[world].regions {
            return Err(self.violation(
                Invariant::NoLostUpdate,
                format!(
                    "world {wid} lists {} region(s) after a concurrent add; every add so far makes {}",
                    listed.len(),
                    after.worlds[world].regions
                ),
            ));
        }
        Ok(true)
    }

    /// The world's stored `dweller_count` (`GET /api/worlds/{id}`).
    async fn shown_dweller_count(&mut self, world: usize, inv: Invariant) -> Result<u64, Failure> {
        let wid = self.world_id(world);
        let body = self.read(&format!("/api/worlds/{wid}"), inv).await?;
        Ok(body
            .pointer("/world/dweller_count")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX))
    }

    /// After a dweller create: the world counts every dweller made in it.
    pub(super) async fn check_dweller_count(
        &mut self,
        after: &State,
        world: usize,
    ) -> Result<(), Failure> {
        if world >= self.worlds.len() {
            return Ok(());
        }
        let shown = self
            .shown_dweller_count(world, Invariant::ModelAgreement)
            .await?;
        let want = dweller_count(after, world) as u64;
        self.count(Invariant::ModelAgreement);
        if shown != want {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "world {} shows dweller_count {shown}; the model has {want} dweller(s) counted in it",
                    self.world_id(world)
                ),
            ));
        }
        Ok(())
    }

    /// N different agents create a dweller in one world at once: every create is kept, and the
    /// world's stored count grows by N (an unlocked `dweller_count + 1` loses some).
    async fn race_dweller(
        &mut self,
        before: &State,
        _after: &State,
        world: usize,
        actors: &[usize],
    ) -> Result<bool, Failure> {
        let steps = dweller_steps(world, actors);
        let mut st = before.clone();
        let mut reqs = Vec::new();
        for t in &steps {
            reqs.push(self.one_request(&st, t).await?);
            st = rules::step(st, t);
        }
        let was = self
            .shown_dweller_count(world, Invariant::NoLostUpdate)
            .await?;
        let res = self.race(reqs).await?;
        // keep-going: the model follows the dwellers the target made, in request order
        let mut actual = before.clone();
        for (t, r) in steps.iter().zip(&res) {
            if class(r) == Expect::Ok {
                self.remember(&actual, t, &r.body);
                actual = rules::step(actual, t);
            }
        }
        let made = res.iter().filter(|r| class(r) == Expect::Ok).count();
        let shown = self
            .shown_dweller_count(world, Invariant::NoLostUpdate)
            .await?;
        self.count(Invariant::NoLostUpdate);
        let shown_usize = usize::try_from(shown).unwrap_or(usize::MAX);
        self.actual_after = Some(adopt_dweller_count(actual, world, shown_usize));
        let wid = self.world_id(world);
        if shown < was + made as u64 {
            return Err(self.violation(
                Invariant::NoLostUpdate,
                format!(
                    "{} different agents created a dweller in world {wid} at once and {made} were created; its dweller_count went from {was} to {shown}: a lost update of the count",
                    actors.len()
                ),
            ));
        }
        self.all_succeeded(
            &res,
            made,
            format!(
                "{} different agents created a dweller in world {wid} (it has regions) at once",
                actors.len()
            ),
        )?;
        Ok(true)
    }

    /// A race of different agents that may all succeed: a model-agreement violation naming every
    /// answer unless all `res.len()` did (`ok` of them).
    pub(super) fn all_succeeded(
        &self,
        res: &[RawResponse],
        ok: usize,
        what: String,
    ) -> Result<(), Failure> {
        if ok == res.len() {
            return Ok(());
        }
        let answers: Vec<String> = res
            .iter()
            .map(|r| format!("{} {}", r.status, short(&r.text)))
            .collect();
        Err(self.violation(
            Invariant::ModelAgreement,
            format!("{what}; {ok} succeeded (all must): {answers:?}"),
        ))
    }

    /// The author answers one story review N times at once: exactly one answer is accepted.
    async fn race_respond(
        &mut self,
        before: &State,
        after: &State,
        story: usize,
        review: usize,
        n: usize,
    ) -> Result<bool, Failure> {
        let Some(t) = respond_step(before, story, review) else {
            return Ok(false);
        };
        let req = self.one_request(before, &t).await?;
        let res = self.race(vec![req; n]).await?;
        let ok = res.iter().filter(|r| class(r) == Expect::Ok).count();
        let statuses: Vec<u16> = res.iter().map(|r| r.status).collect();
        let (sid, rid) = (
            self.world.stories[story].clone(),
            self.world.story_reviews[story][review].clone(),
        );
        self.count(Invariant::AtMostOnce);
        if ok > 1 {
            return Err(self.violation(
                Invariant::AtMostOnce,
                format!(
                    "the author answered review {rid} of story {sid} {n} times at once and {ok} answers were accepted (statuses {statuses:?}); a review is answered once"
                ),
            ));
        }
        if ok == 0 || first_unexpected(&res, &[400, 409]).is_some() {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "the author answered review {rid} of story {sid} {n} times at once: statuses {statuses:?} (one success, the others 409 expected)"
                ),
            ));
        }
        self.check_world_step(after, &t).await?;
        Ok(true)
    }

    /// `t`'s request with idempotency key `key` and the name/title `marker`, built but not sent.
    async fn keyed_request(
        &mut self,
        st: &State,
        t: &Transition,
        key: &str,
        marker: &str,
    ) -> Result<Request, Failure> {
        self.idem = Some(key.to_string());
        let r = self.one_request(st, t).await;
        self.idem = None;
        let mut r = r?;
        let field = match t {
            Transition::CreateProposal { .. } => "name",
            _ => "title",
        };
        if let Some(b) = r.body.as_mut() {
            b[field] = json!(marker);
        }
        Ok(r)
    }

    /// The ids of the proposals (drafts) or feedback items (new) that carry `marker` as name or
    /// title: what this step's keyed requests created.
    async fn marked(&self, t: &Transition, marker: &str) -> Result<Vec<String>, Failure> {
        let (path, list, field) = match t {
            Transition::CreateProposal { .. } => {
                ("/api/proposals?status=draft&limit=50", "/items", "name")
            }
            _ => (
                "/api/feedback/list?status=new&limit=100",
                "/feedback",
                "title",
            ),
        };
        let body = self.read(path, Invariant::IdempotencyKey).await?;
        Ok(body
            .pointer(list)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|x| x.get(field).and_then(Value::as_str) == Some(marker))
                    .map(|x| x.get("id").and_then(Value::as_str).unwrap_or_default())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Keep-going after a keyed create the target executed more (or other) times than the model
    /// says: `marked` is what exists, `known` the id of the one the driver already took as the
    /// model's (None: it took none, and the model made nothing). The driver takes the others' ids
    /// and the model counts them as the actor's, so later steps (the agent's limit of active
    /// proposals, feedback counts) are judged against what the target holds.
    fn adopt_marked(
        &mut self,
        base: &State,
        inner: &Transition,
        marked: &[String],
        known: Option<&str>,
    ) {
        if known.is_some_and(|k| !marked.iter().any(|m| m == k)) {
            return; // the id the driver holds is the model's one entity; nothing else is known
        }
        let extra: Vec<&String> = marked
            .iter()
            .filter(|m| Some(m.as_str()) != known)
            .collect();
        if extra.is_empty() {
            return;
        }
        for id in &extra {
            let body = match inner {
                Transition::CreateProposal { .. } => json!({ "id": id }),
                _ => json!({ "feedback": { "id": id } }),
            };
            self.remember(base, inner, &body);
        }
        self.actual_after = Some(adopt_created(base.clone(), inner, extra.len()));
    }

    /// One agent sends the same keyed create N times at once: it must execute once.
    async fn idem_concurrent(
        &mut self,
        step: usize,
        before: &State,
        after: &State,
        f: &Fault,
        inner: &Transition,
        n: usize,
    ) -> Result<bool, Failure> {
        let key = det_uuid(&self.prefix, step);
        let marker = format!("{} key {step}", self.prefix);
        let req = self.keyed_request(before, inner, &key, &marker).await?;
        let res = self.race(vec![req; n]).await?;
        let marked = self.marked(inner, &marker).await?;
        let created = marked.len();
        self.count(Invariant::IdempotencyKey);
        let statuses: Vec<String> = res
            .iter()
            .map(|r| format!("{}{}", r.status, if r.replayed { " replay" } else { "" }))
            .collect();
        // the one that ran (not a replay), else any success; the losers may be 409 "in progress";
        // remembered before any verdict, so a seed that goes on past a violation knows its id
        let winner = res
            .iter()
            .find(|r| class(r) == Expect::Ok && !r.replayed)
            .or_else(|| res.iter().find(|r| class(r) == Expect::Ok))
            .cloned();
        if let Some(w) = &winner {
            self.remember(before, inner, &w.body);
            self.adopt_marked(after, inner, &marked, Some(&created_id(inner, &w.body)));
        } else {
            let none = mfaults::step_counted(before.clone(), f);
            self.adopt_marked(&none, inner, &marked, None);
        }
        if created > 1 {
            return Err(self.violation(
                Invariant::IdempotencyKey,
                format!(
                    "{n} concurrent {:?} requests with one X-Idempotency-Key created {created} {} (answers {statuses:?}): the key did not make it execute once",
                    inner.rule(),
                    noun(inner)
                ),
            ));
        }
        let Some(w) = winner.filter(|_| created == 1) else {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{n} concurrent {:?} requests with one X-Idempotency-Key: {created} created, answers {statuses:?} (one execution expected)",
                    inner.rule()
                ),
            ));
        };
        let differing = res
            .iter()
            .filter(|r| {
                class(r) == Expect::Ok
                    && (r.status != w.status
                        || without_context(&r.body) != without_context(&w.body))
            })
            .count();
        if differing > 0 || first_unexpected(&res, &[409]).is_some() {
            return Err(self.violation(
                Invariant::IdempotencyKey,
                format!(
                    "{n} concurrent {:?} requests with one X-Idempotency-Key created one, but the answers differ (answers {statuses:?}; {differing} success(es) differ from the executed one as parsed JSON)",
                    inner.rule()
                ),
            ));
        }
        self.check_step(after, inner).await?;
        Ok(true)
    }

    /// A keyed create, then `second` with the same key by another agent or on another endpoint:
    /// refused (or run afresh), never a replay of the first answer.
    async fn idem_reuse(
        &mut self,
        step: usize,
        before: &State,
        after: &State,
        f: &Fault,
        first: &Transition,
        second: &Transition,
    ) -> Result<bool, Failure> {
        let key = det_uuid(&self.prefix, step);
        let m1 = format!("{} key {step}", self.prefix);
        let m2 = format!("{} key {step} again", self.prefix);
        let r1_req = self.keyed_request(before, first, &key, &m1).await?;
        let r1 = self.send_request(&r1_req).await?;
        if class(&r1) != Expect::Ok {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{first:?} with a fresh X-Idempotency-Key: the model predicted Ok, the platform answered {}",
                    r1.status
                ),
            ));
        }
        self.remember(before, first, &r1.body);
        let st1 = rules::step(before.clone(), first);
        let r2_req = self.keyed_request(&st1, second, &key, &m2).await?;
        let r2 = self.send_request(&r2_req).await?;
        let ran_ids = self.marked(second, &m2).await?;
        let ran = ran_ids.len();
        self.count(Invariant::IdempotencyKey);
        let whose = if mfaults::actor(first) == mfaults::actor(second) {
            format!("the same agent on {} {}", r2_req.method, r2_req.path)
        } else {
            format!("another agent on {} {}", r2_req.method, r2_req.path)
        };
        let same_answer =
            r2.status == r1.status && without_context(&r2.body) == without_context(&r1.body);
        if r2.replayed || (same_answer && ran == 0) {
            self.adopt_marked(after, second, &ran_ids, None);
            return Err(self.violation(
                Invariant::IdempotencyKey,
                format!(
                    "an X-Idempotency-Key first used for {first:?} ({} {}), presented by {whose}: got the first request's stored answer ({}, replayed: {}); its own request was not executed ({ran} {} named {m2:?})",
                    r1_req.method,
                    r1_req.path,
                    r2.status,
                    yes_no(r2.replayed),
                    noun(second)
                ),
            ));
        }
        match (class(&r2), ran) {
            (Expect::Reject(_), 0) => {}
            (Expect::Ok, 1) => {
                // the target ran it afresh under its own scope: legal; the model follows
                self.remember(&st1, second, &r2.body);
                let actual = model::step(st1.clone(), second);
                self.actual_after = Some(mfaults::step_counted(actual.clone(), f));
                self.check_step(&actual, second).await?;
            }
            _ => {
                self.adopt_marked(after, second, &ran_ids, None);
                return Err(self.violation(
                    Invariant::IdempotencyKey,
                    format!(
                        "a reused X-Idempotency-Key presented by {whose} answered {} and {ran} {} named {m2:?} exist (a refusal with none, or a success with one, expected)",
                        r2.status,
                        noun(second)
                    ),
                ));
            }
        }
        self.check_step(after, first).await?;
        Ok(true)
    }

    /// A keyed create sent twice (duplicate) or whose first answer is dropped (lost response): the
    /// retry must replay the first answer. The trace says whether the first request committed and
    /// whether the retry was replayed or re-executed.
    pub(super) async fn retry_keyed(
        &mut self,
        step: usize,
        before: &State,
        after: &State,
        f: &Fault,
        inner: &Transition,
    ) -> Result<bool, Failure> {
        let lost = matches!(f, Fault::LostResponse { .. });
        let key = det_uuid(&self.prefix, step);
        let marker = format!("{} key {step}", self.prefix);
        let req = self.keyed_request(before, inner, &key, &marker).await?;
        let r1 = self.send_request(&req).await?;
        self.first_attempt(before, inner, &r1, lost)?;
        let r2 = self.send_request(&req).await?;
        self.record_attempt(inner, &r2);
        let marked = self.marked(inner, &marker).await?;
        let created = marked.len();
        self.count(Invariant::IdempotencyKey);
        // parsed JSON without `_agent_context` (added fresh to every answer by the real platform):
        // a replay whose keys come in another order is the same answer
        let same = r2.status == r1.status && without_context(&r2.body) == without_context(&r1.body);
        let retry = if created > 1 {
            "re-executed (a real double-create)".to_string()
        } else if same && r2.replayed {
            "replayed".to_string()
        } else if same {
            "answered the same JSON without the replay header".to_string()
        } else {
            format!(
                "answered {} with a different body{}",
                r2.status,
                if r2.replayed {
                    " (marked as a replay)"
                } else {
                    ""
                }
            )
        };
        let order_only = same && r2.text != r1.text;
        let note = format!(
            "first request committed: {} ({created} {} named {marker:?}); retry {retry}{}",
            yes_no(created >= 1),
            noun(inner),
            if order_only {
                ", differing from the first answer only in JSON key order"
            } else {
                ""
            }
        );
        if let Some(rec) = &mut self.last_fault {
            rec.note = Some(note.clone());
        }
        if lost {
            // the driver never saw the first answer: what it knows comes from the retry (or,
            // when the retry is refused, from the first)
            let body = if class(&r2) == Expect::Ok {
                &r2.body
            } else {
                &r1.body
            };
            self.remember(before, inner, body);
        }
        let kept = if lost && class(&r2) == Expect::Ok {
            &r2.body
        } else {
            &r1.body
        };
        self.adopt_marked(after, inner, &marked, Some(&created_id(inner, kept)));
        if created != 1 || !same {
            return Err(self.violation(
                Invariant::IdempotencyKey,
                format!("{inner:?} retried with the same X-Idempotency-Key: {note}"),
            ));
        }
        self.check_step(after, inner).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn answers_are_compared_as_parsed_json_so_key_order_is_no_difference() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"id":"x","n":{"a":1,"b":[1,2]}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"n":{"b":[1,2],"a":1},"id":"x"}"#).unwrap();
        let c: serde_json::Value =
            serde_json::from_str(r#"{"n":{"b":[2,1],"a":1},"id":"x"}"#).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
