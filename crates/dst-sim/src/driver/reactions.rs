//! Story reactions, driver side (the model is `model/reactions.rs`): sends a reaction, checks what
//! the answer says it did against the model, reads the story's `reaction_count` back, and runs the
//! reaction race (2–6 agents at once: every increment kept, invariant `19-no-lost-update`).

use super::faults::class;
use super::{Driver, short};
use crate::invariants::{Failure, Invariant};
use crate::model::reactions::{adopt_count, outcome, race_steps};
use crate::model::{Expect, State, Transition, rules};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

impl Driver {
    /// `POST /api/stories/{id}/react`; a success must say what the model says it did (added,
    /// changed, removed) and the count it left.
    pub(super) async fn request_react(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<RawResponse, Failure> {
        let Transition::ReactStory { actor, story, kind } = *t else {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!("{t:?} is not a reaction"),
            ));
        };
        let path = format!("/api/stories/{}/react", self.world.stories[story]);
        let body = json!({"reaction_type": kind.as_str()});
        let r = self
            .send(self.agent(actor), Method::POST, &path, Some(body))
            .await?;
        if r.status == 200 {
            let (action, count) = outcome(&st.stories[story], actor, kind);
            let got = (
                r.body.get("action").and_then(Value::as_str),
                r.body.get("new_reaction_count").and_then(Value::as_u64),
            );
            if got != (Some(action), Some(u64::from(count))) {
                return Err(self.violation(
                    Invariant::ModelAgreement,
                    format!(
                        "a {kind} reaction to story {} answered (action, new_reaction_count) = {got:?}; the model has ({action:?}, {count})",
                        self.world.stories[story]
                    ),
                ));
            }
        }
        Ok(r)
    }

    /// The story's stored reaction count, as `GET /api/stories/{id}` shows it.
    async fn reaction_count(&mut self, story: usize, inv: Invariant) -> Result<u64, Failure> {
        let id = self.world.stories[story].clone();
        let body = self.read(&format!("/api/stories/{id}"), inv).await?;
        Ok(body
            .pointer("/story/reaction_count")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX))
    }

    /// After a reaction: the story's count is the model's.
    pub(super) async fn check_reactions(
        &mut self,
        after: &State,
        story: usize,
    ) -> Result<(), Failure> {
        if story >= self.world.stories.len() {
            return Ok(());
        }
        let got = self
            .reaction_count(story, Invariant::ModelAgreement)
            .await?;
        let m = &after.stories[story];
        self.count(Invariant::ModelAgreement);
        if got != u64::from(m.reaction_count) {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "story {} reads back reaction_count {got}; the model has {} ({} agent(s) reacting)",
                    self.world.stories[story],
                    m.reaction_count,
                    m.reactions.len()
                ),
            ));
        }
        Ok(())
    }

    /// N agents that have not reacted to one story react at once: each was told "added", so the
    /// count must have grown by N.
    pub(super) async fn race_react(
        &mut self,
        before: &State,
        after: &State,
        story: usize,
        actors: &[usize],
    ) -> Result<bool, Failure> {
        let mut reqs = Vec::new();
        let mut st = before.clone();
        for t in race_steps(story, actors) {
            reqs.push(self.one_request(&st, &t).await?);
            st = rules::step(st, &t);
        }
        let res = self.race(reqs).await?;
        let added = res
            .iter()
            .filter(|r| {
                class(r) == Expect::Ok
                    && r.body.get("action").and_then(Value::as_str) == Some("added")
            })
            .count();
        let got = self.reaction_count(story, Invariant::NoLostUpdate).await?;
        self.count(Invariant::NoLostUpdate);
        // keep going from the count the target has, so later reactions are judged from there
        let stored = u32::try_from(got).unwrap_or(u32::MAX);
        self.actual_after = Some(adopt_count(after.clone(), story, stored));
        let sid = &self.world.stories[story];
        let was = before.stories[story].reaction_count;
        if got < u64::from(was) + added as u64 {
            let told: Vec<Option<u64>> = res
                .iter()
                .map(|r| r.body.get("new_reaction_count").and_then(Value::as_u64))
                .collect();
            return Err(self.violation(
                Invariant::NoLostUpdate,
                format!(
                    "{} different agents reacted to story {sid} at once and {added} were told their reaction was added (new_reaction_count answered {told:?}); its reaction_count went from {was} to {got}: a lost update of the count",
                    actors.len()
                ),
            ));
        }
        if added != actors.len() {
            let statuses: Vec<String> = res
                .iter()
                .map(|r| format!("{} {}", r.status, short(&r.text)))
                .collect();
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{} different agents without a reaction reacted to story {sid} at once; {added} were added (all must be): {statuses:?}",
                    actors.len()
                ),
            ));
        }
        Ok(true)
    }
}
