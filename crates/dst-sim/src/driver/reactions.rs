//! Reactions, driver side (the model is `model/reactions.rs`): sends a reaction to a story (either
//! route) or a world, checks what the answer says it did against the model, reads the stored
//! counts back, and runs the reaction races (2–6 agents at once: every increment kept, invariant
//! `19-no-lost-update`).

use super::{Driver, told_count, told_word};
use crate::invariants::{Failure, Invariant};
use crate::model::reactions::{
    ReactionsM, adopt_story_count, adopt_world_counts, race_steps, world_reactions,
};
use crate::model::{Fault, State, Transition, rules};
use api_client::vocab::ReactionType;
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

/// The per-kind counts in a world's `reaction_counts` (a kind it lacks counts 0).
fn kind_counts(v: Option<&Value>) -> Option<[u32; 4]> {
    let m = v?.as_object()?;
    let mut out = [0u32; 4];
    for (i, k) in ReactionType::ALL.iter().enumerate() {
        out[i] = m
            .get(k.as_str())
            .and_then(Value::as_u64)
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    }
    Some(out)
}

impl Driver {
    /// The request of a reaction and the model's reactions on its target before it.
    fn reaction_request(
        &self,
        st: &State,
        t: &Transition,
    ) -> Option<(usize, String, Value, ReactionsM, bool)> {
        match *t {
            Transition::ReactStory {
                actor,
                story,
                kind,
                social,
            } => {
                let sid = self.world.stories.get(story)?.clone();
                let (path, body) = if social {
                    (
                        "/api/social/react".to_string(),
                        json!({"target_type": "story", "target_id": sid, "reaction_type": kind.as_str()}),
                    )
                } else {
                    (
                        format!("/api/stories/{sid}/react"),
                        json!({"reaction_type": kind.as_str()}),
                    )
                };
                Some((
                    actor,
                    path,
                    body,
                    st.stories[story].reactions.clone(),
                    social,
                ))
            }
            Transition::ReactWorld { actor, world, kind } => Some((
                actor,
                "/api/social/react".to_string(),
                json!({"target_type": "world", "target_id": self.world_id(world), "reaction_type": kind.as_str()}),
                world_reactions(st, world),
                true,
            )),
            _ => None,
        }
    }

    /// A reaction; a success must say what the model says it did (added, changed/updated,
    /// removed) and, on the story route, the count it left.
    pub(super) async fn request_react(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<RawResponse, Failure> {
        let Some((actor, path, body, before, social)) = self.reaction_request(st, t) else {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!("{t:?} is not a reaction"),
            ));
        };
        let r = self
            .send(self.agent(actor), Method::POST, &path, Some(body))
            .await?;
        if r.status != 200 {
            return Ok(r);
        }
        let (kind, story) = match *t {
            Transition::ReactStory { kind, .. } => (kind, true),
            Transition::ReactWorld { kind, .. } => (kind, false),
            _ => return Ok(r),
        };
        let action = before.change(actor, kind).wire(social);
        let mut after = before.clone();
        after.apply(actor, kind, story, social);
        let got_action = r.body.get("action").and_then(Value::as_str);
        let count_ok = social
            || r.body.get("new_reaction_count").and_then(Value::as_u64)
                == Some(u64::from(after.total()));
        if got_action != Some(action) || !count_ok {
            self.adopt_reaction(st, t, actor, kind, got_action).await;
            // the answer is named by its action and count, not quoted: a quote carries the
            // seed's kind, and one defect showed as one class per kind
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "a reaction through {path} was told {:?}{}; the model has action {action:?}{}",
                    told_word(&r),
                    r.body
                        .get("new_reaction_count")
                        .map(|n| format!(" (new_reaction_count {n})"))
                        .unwrap_or_default(),
                    if social {
                        String::new()
                    } else {
                        format!(", new_reaction_count {}", after.total())
                    }
                ),
            ));
        }
        Ok(r)
    }

    /// Keep-going after a reaction the target did otherwise than the model: the agent's reaction
    /// is what the answer's action says (none after `removed`), the counts are what the target
    /// reads back. Without this a later read-back reported the same defect a second time.
    async fn adopt_reaction(
        &mut self,
        st: &State,
        t: &Transition,
        actor: usize,
        kind: ReactionType,
        told: Option<&str>,
    ) {
        let mut adopted = crate::model::step(st.clone(), t);
        let set = |m: &mut ReactionsM| {
            m.by.retain(|r| r.0 != actor);
            if told != Some("removed") {
                m.by.push((actor, kind));
            }
        };
        match *t {
            Transition::ReactStory { story, .. } => {
                if let Ok(n) = self
                    .story_reaction_count(story, Invariant::ModelAgreement)
                    .await
                {
                    let total = u32::try_from(n).unwrap_or(u32::MAX);
                    adopted = adopt_story_count(adopted, story, total);
                }
                set(&mut adopted.stories[story].reactions);
            }
            Transition::ReactWorld { world, .. } => {
                if let Ok(Some(c)) = self
                    .world_reaction_counts(world, Invariant::ModelAgreement)
                    .await
                {
                    adopted = adopt_world_counts(adopted, world, c);
                }
                set(adopted.world_reactions.entry(world).or_default());
            }
            _ => return,
        }
        self.actual_after = Some(adopted);
    }

    /// The story's stored reaction count, as `GET /api/stories/{id}` shows it.
    pub(super) async fn story_reaction_count(
        &mut self,
        story: usize,
        inv: Invariant,
    ) -> Result<u64, Failure> {
        let id = self.world.stories[story].clone();
        let body = self.read(&format!("/api/stories/{id}"), inv).await?;
        Ok(body
            .pointer("/story/reaction_count")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX))
    }

    /// The world's stored per-kind counts, as `GET /api/worlds/{id}` shows them.
    pub(super) async fn world_reaction_counts(
        &mut self,
        world: usize,
        inv: Invariant,
    ) -> Result<Option<[u32; 4]>, Failure> {
        let wid = self.world_id(world);
        let body = self.read(&format!("/api/worlds/{wid}"), inv).await?;
        Ok(kind_counts(body.pointer("/world/reaction_counts")))
    }

    /// After a story reaction: the story's count is the model's.
    pub(super) async fn check_reactions(
        &mut self,
        after: &State,
        story: usize,
    ) -> Result<(), Failure> {
        if story >= self.world.stories.len() {
            return Ok(());
        }
        let got = self
            .story_reaction_count(story, Invariant::ModelAgreement)
            .await?;
        let m = &after.stories[story].reactions;
        self.count(Invariant::ModelAgreement);
        if got != u64::from(m.total()) {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "story {} reads back reaction_count {got}; the model has {} ({} agent(s) reacting)",
                    self.world.stories[story],
                    m.total(),
                    m.by.len()
                ),
            ));
        }
        Ok(())
    }

    /// After a world reaction: the world's per-kind counts are the model's.
    pub(super) async fn check_world_reactions(
        &mut self,
        after: &State,
        world: usize,
    ) -> Result<(), Failure> {
        if world >= self.worlds.len() {
            return Ok(());
        }
        let got = self
            .world_reaction_counts(world, Invariant::ModelAgreement)
            .await?;
        let want = world_reactions(after, world).counts;
        self.count(Invariant::ModelAgreement);
        if got != Some(want) {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "world {} reads back reaction_counts {got:?} (fire, mind, heart, thinking); the model has {want:?}",
                    self.world_id(world)
                ),
            ));
        }
        Ok(())
    }

    /// 2–6 agents without a reaction react to one story or world at once: each is told "added",
    /// so its count (of `fire`) must have grown by as many.
    pub(super) async fn race_react(
        &mut self,
        before: &State,
        after: &State,
        f: &Fault,
    ) -> Result<bool, Failure> {
        let steps = race_steps(f);
        let mut reqs = Vec::new();
        let mut st = before.clone();
        for t in &steps {
            reqs.push(self.one_request(&st, t).await?);
            st = rules::step(st, t);
        }
        let res = self.race(reqs).await?;
        let added = told_count(&res, "added");
        let (what, was, got) = match *f {
            Fault::RaceReact { story, .. } => {
                let got = self
                    .story_reaction_count(story, Invariant::NoLostUpdate)
                    .await?;
                // keep going from the count the target has
                let total = u32::try_from(got).unwrap_or(u32::MAX);
                self.actual_after = Some(adopt_story_count(after.clone(), story, total));
                let what = format!("story {}", self.world.stories[story]);
                (what, before.stories[story].reactions.total(), got)
            }
            Fault::RaceReactWorld { world, .. } => {
                let counts = self
                    .world_reaction_counts(world, Invariant::NoLostUpdate)
                    .await?
                    .unwrap_or([0; 4]);
                self.actual_after = Some(adopt_world_counts(after.clone(), world, counts));
                let what = format!("world {} (fire)", self.world_id(world));
                let was = world_reactions(before, world).of(ReactionType::Fire);
                (what, was, u64::from(counts[0]))
            }
            _ => return Ok(false),
        };
        self.count(Invariant::NoLostUpdate);
        if got < u64::from(was) + added as u64 {
            let told: Vec<String> = res.iter().map(told_word).collect();
            return Err(self.violation(
                Invariant::NoLostUpdate,
                format!(
                    "{} different agents reacted to {what} at once and {added} were told their reaction was added ({told:?}); its reaction count went from {was} to {got}: a lost update of the count",
                    steps.len()
                ),
            ));
        }
        self.all_succeeded(
            &res,
            added,
            format!(
                "{} different agents without a reaction reacted to {what} at once (each must be added)",
                steps.len()
            ),
        )?;
        Ok(true)
    }
}
