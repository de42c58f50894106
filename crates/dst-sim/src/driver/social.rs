//! Follows and comments, driver side (the model is `model/social.rs`): sends a follow, an unfollow
//! or a comment, checks what the answer says it did, reads back the world's `follower_count`, its
//! followers (`GET /api/social/followers/{id}`), the actor's follows (`GET /api/social/following`),
//! a target's comments (`GET /api/social/comments/{type}/{id}`) and its `comment_count`, and runs
//! the follow and comment races (2–6 agents at once: every increment kept, invariant
//! `19-no-lost-update`). On a difference the model adopts what the target shows (keep-going).

use super::faults::class;
use super::{Driver, short, told_count, told_word};
use crate::invariants::{Failure, Invariant};
use crate::model::social::{
    CTarget, CommentText, adopt_comment_count, adopt_follower_count, comment_text, follow_action,
    race_steps,
};
use crate::model::{Expect, Fault, State, Transition};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

impl Driver {
    /// The server id of a comment target (a fresh UUID for the missing one).
    fn comment_target_id(&self, target: CTarget) -> String {
        match target {
            CTarget::World(w) => self.world_id(w),
            CTarget::Story(s) => self.world.stories.get(s).cloned().unwrap_or_default(),
            CTarget::Missing => "00000000-0000-4000-8000-000000000000".to_string(),
        }
    }

    /// The model agent with server id `id`, if it is one.
    fn agent_index(&self, id: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.1 == id)
    }

    /// A follow, unfollow or comment; a success must say what the model says it did.
    pub(super) async fn request_social(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<RawResponse, Failure> {
        let (actor, path, body, want) = match *t {
            Transition::FollowWorld { actor, world }
            | Transition::UnfollowWorld { actor, world } => {
                let verb = if matches!(t, Transition::FollowWorld { .. }) {
                    "follow"
                } else {
                    "unfollow"
                };
                let body = json!({"target_type": "world", "target_id": self.world_id(world)});
                (
                    actor,
                    format!("/api/social/{verb}"),
                    body,
                    follow_action(st, t),
                )
            }
            Transition::CommentOn {
                actor,
                target,
                text,
                reaction,
            } => {
                let id = self.comment_target_id(target);
                let content = comment_text(st.step, text);
                if text == CommentText::Surrogate {
                    // no `serde_json::Value` holds a lone surrogate: the body is spliced as text
                    let raw = format!(
                        r#"{{"target_type": "{}", "target_id": "{id}", "content": "{} \ud800 lone"}}"#,
                        target.kind(),
                        content.trim_end()
                    );
                    let who = self.agent(actor).clone();
                    return self
                        .send_text(&who, Method::POST, "/api/social/comment", &raw)
                        .await;
                }
                let mut body =
                    json!({"target_type": target.kind(), "target_id": id, "content": content});
                if let Some(kind) = reaction {
                    body["reaction"] = json!(kind.as_str());
                }
                self.note_comment_reaction(st, t);
                (actor, "/api/social/comment".to_string(), body, "commented")
            }
            _ => {
                return Err(self.violation(
                    Invariant::ModelAgreement,
                    format!("{t:?} is not a follow or a comment"),
                ));
            }
        };
        let sent = body.get("content").cloned();
        let r = self
            .send(self.agent(actor), Method::POST, &path, Some(body))
            .await?;
        if r.status != 200 {
            return Ok(r);
        }
        let action = r.body.get("action").and_then(Value::as_str);
        let echoed = sent.is_none() || r.body.pointer("/comment/content") == sent.as_ref();
        if action != Some(want) || !echoed {
            // keep going from what the target did (one defect, one class): the counts and lists
            // its read-backs show become the model's
            let model_after = crate::model::step(st.clone(), t);
            let _ = match *t {
                Transition::FollowWorld { world, .. } | Transition::UnfollowWorld { world, .. } => {
                    self.check_follows(&model_after, world, Invariant::ModelAgreement)
                        .await
                }
                Transition::CommentOn { target, .. } => {
                    self.check_comments(&model_after, target, Invariant::ModelAgreement)
                        .await
                }
                _ => Ok(()),
            };
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{path} answered {}; the model has action {want:?}{}",
                    short(&r.text),
                    if sent.is_some() {
                        " and the comment's content as sent"
                    } else {
                        ""
                    }
                ),
            ));
        }
        Ok(r)
    }

    /// The read-backs after a follow, unfollow or comment.
    pub(super) async fn check_social(
        &mut self,
        after: &State,
        t: &Transition,
    ) -> Result<(), Failure> {
        match *t {
            Transition::FollowWorld { actor, world }
            | Transition::UnfollowWorld { actor, world } => {
                self.check_follows(after, world, Invariant::ModelAgreement)
                    .await?;
                self.check_following(after, actor).await
            }
            Transition::CommentOn { target, .. } if target != CTarget::Missing => {
                self.check_comments(after, target, Invariant::ModelAgreement)
                    .await?;
                self.check_comment_reaction(after, t).await
            }
            _ => Ok(()),
        }
    }

    /// Every followed world, every agent's follows and every commented target, at the end.
    pub(super) async fn check_social_all(&mut self, after: &State) -> Result<(), Failure> {
        let worlds: Vec<usize> = after.social.follower_counts.keys().copied().collect();
        for w in worlds {
            self.check_follows(after, w, Invariant::ModelAgreement)
                .await?;
        }
        if !after.social.follower_counts.is_empty() {
            for a in 0..self.agents.len().min(after.agents) {
                self.check_following(after, a).await?;
            }
        }
        let targets: Vec<CTarget> = after.social.comment_counts.keys().copied().collect();
        for t in targets {
            self.check_comments(after, t, Invariant::ModelAgreement)
                .await?;
        }
        Ok(())
    }

    /// World `w`: its stored `follower_count` (`GET /api/worlds/{id}` and the followers list) and
    /// its followers are the model's. On a difference the model adopts both.
    async fn check_follows(
        &mut self,
        after: &State,
        w: usize,
        inv: Invariant,
    ) -> Result<(), Failure> {
        if w >= self.worlds.len() {
            return Ok(());
        }
        let wid = self.world_id(w);
        let world = self.read(&format!("/api/worlds/{wid}"), inv).await?;
        let page = self
            .read(&format!("/api/social/followers/{wid}?limit=50"), inv)
            .await?;
        let count = world
            .pointer("/world/follower_count")
            .and_then(Value::as_i64);
        let listed_count = page.get("follower_count").and_then(Value::as_i64);
        let mut got: Vec<usize> = page
            .get("followers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.pointer("/user/id").and_then(Value::as_str))
            .filter_map(|id| self.agent_index(id))
            .collect();
        got.sort_unstable();
        let mut want = after.social.followers.get(&w).cloned().unwrap_or_default();
        want.sort_unstable();
        let want_count = after.social.follower_count(w);
        self.count(inv);
        if count == Some(want_count) && listed_count == Some(want_count) && got == want {
            return Ok(());
        }
        let mut adopted = after.clone();
        adopted.social.followers.insert(w, got.clone());
        adopted.social.follower_counts.insert(w, count.unwrap_or(0));
        self.actual_after = Some(adopted);
        Err(self.violation(
            inv,
            format!(
                "world {wid} shows follower_count {count:?} ({listed_count:?} in its followers list) and followers {got:?} (model agents); the model has {want_count} and {want:?}"
            ),
        ))
    }

    /// Agent `a`'s `GET /api/social/following` lists each world it follows once and no other.
    async fn check_following(&mut self, after: &State, a: usize) -> Result<(), Failure> {
        let path = "/api/social/following?limit=50";
        let body = self
            .read_by(Some(a), path, Invariant::ModelAgreement)
            .await?;
        let mut got: Vec<String> = body
            .get("following")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("target_id").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        got.sort();
        let mut want: Vec<String> = after
            .social
            .followers
            .iter()
            .filter(|(_, f)| f.contains(&a))
            .flat_map(|(w, f)| {
                let n = f.iter().filter(|&&x| x == a).count();
                std::iter::repeat_n(self.world_id(*w), n)
            })
            .collect();
        want.sort();
        self.count(Invariant::ModelAgreement);
        if got != want {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "agent {} lists {} followed world(s) in GET /api/social/following; the model has it following {}",
                    self.agents[a].1,
                    got.len(),
                    want.len()
                ),
            ));
        }
        Ok(())
    }

    /// A target's comments (author and text, oldest first) and its stored `comment_count` are the
    /// model's. On a difference the model adopts both.
    async fn check_comments(
        &mut self,
        after: &State,
        target: CTarget,
        inv: Invariant,
    ) -> Result<(), Failure> {
        let id = self.comment_target_id(target);
        let (count_path, ptr) = match target {
            CTarget::World(w) if w < self.worlds.len() => {
                (format!("/api/worlds/{id}"), "/world/comment_count")
            }
            CTarget::Story(s) if s < self.world.stories.len() => {
                (format!("/api/stories/{id}"), "/story/comment_count")
            }
            _ => return Ok(()),
        };
        let count = self
            .read(&count_path, inv)
            .await?
            .pointer(ptr)
            .and_then(Value::as_i64);
        let page = self
            .read(&format!("/api/social/comments/{}/{id}", target.kind()), inv)
            .await?;
        let got: Vec<(usize, String)> = page
            .get("comments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let who = self.agent_index(c.pointer("/user/id").and_then(Value::as_str)?)?;
                Some((who, c.get("content")?.as_str()?.to_string()))
            })
            .collect();
        let want = after
            .social
            .comments
            .get(&target)
            .cloned()
            .unwrap_or_default();
        let want_count = after.social.comment_count(target);
        self.count(inv);
        // racers' comments are made at once: their order is the target's, so compare sorted
        let sorted = |v: &[(usize, String)]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        if count == Some(want_count) && sorted(&got) == sorted(&want) {
            return Ok(());
        }
        let missing = want.iter().filter(|c| !got.contains(c)).count();
        let extra = got.iter().filter(|c| !want.contains(c)).count();
        let mut adopted = after.clone();
        adopted.social.comments.insert(target, got.clone());
        adopted
            .social
            .comment_counts
            .insert(target, count.unwrap_or(0));
        self.actual_after = Some(adopted);
        Err(self.violation(
            inv,
            format!(
                "{} {id} shows comment_count {count:?} and {} comment(s) ({missing} of the model's missing, {extra} it did not make); the model has {want_count} and {}",
                target.kind(),
                got.len(),
                want.len()
            ),
        ))
    }

    /// 2–6 agents follow one world, or comment on one target, at once: each must succeed, and the
    /// stored count must have grown by as many (19).
    pub(super) async fn race_social(
        &mut self,
        before: &State,
        after: &State,
        f: &Fault,
    ) -> Result<bool, Failure> {
        let steps = race_steps(f);
        let mut reqs = Vec::new();
        for t in &steps {
            reqs.push(self.one_request(before, t).await?);
        }
        let res = self.race(reqs).await?;
        let ok = res.iter().filter(|r| class(r) == Expect::Ok).count();
        let told: Vec<u16> = res.iter().map(|r| r.status).collect();
        let (what, was, got) = match *f {
            Fault::RaceFollow { world, .. } => {
                let wid = self.world_id(world);
                let body = self
                    .read(&format!("/api/worlds/{wid}"), Invariant::NoLostUpdate)
                    .await?;
                let got = body
                    .pointer("/world/follower_count")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1);
                self.actual_after = Some(adopt_follower_count(after.clone(), world, got));
                (
                    format!("world {wid}'s follower_count"),
                    before.social.follower_count(world),
                    got,
                )
            }
            Fault::RaceComment { target, .. } => {
                // the comments themselves are read back (and adopted) by the comment check
                let id = self.comment_target_id(target);
                let listed = self
                    .check_comments(after, target, Invariant::NoLostUpdate)
                    .await;
                let st = self.actual_after.take().unwrap_or_else(|| after.clone());
                let got = st.social.comment_count(target);
                self.actual_after = Some(adopt_comment_count(st, target, got));
                listed?;
                (
                    format!("{} {id}'s comment_count", target.kind()),
                    before.social.comment_count(target),
                    got,
                )
            }
            _ => return Ok(false),
        };
        self.count(Invariant::NoLostUpdate);
        if got < was + ok as i64 {
            return Err(self.violation(
                Invariant::NoLostUpdate,
                format!(
                    "{} different agents wrote {what} at once and {ok} were told they succeeded (statuses {told:?}); it went from {was} to {got}: a lost update of the count",
                    steps.len()
                ),
            ));
        }
        self.all_succeeded(
            &res,
            ok,
            format!(
                "{} different agents raced on {what} (each must succeed)",
                steps.len()
            ),
        )?;
        Ok(true)
    }

    /// One agent not following a world follows it 2–6 times at once: exactly one is told
    /// "followed" (the others "updated_preferences"), and the world counts the agent once
    /// (`20-at-most-once`). Keep-going adopts the count and followers read.
    pub(super) async fn race_follow_same(
        &mut self,
        before: &State,
        after: &State,
        f: &Fault,
    ) -> Result<bool, Failure> {
        let Fault::RaceFollowSame { world, actor, n } = *f else {
            return Ok(false);
        };
        let mut reqs = Vec::new();
        for t in &race_steps(f) {
            reqs.push(self.one_request(before, t).await?);
        }
        let res = self.race(reqs).await?;
        let followed = told_count(&res, "followed");
        let ok = res.iter().filter(|r| class(r) == Expect::Ok).count();
        let read = self
            .check_follows(after, world, Invariant::AtMostOnce)
            .await;
        self.count(Invariant::AtMostOnce);
        if followed != 1 {
            let told: Vec<String> = res.iter().map(told_word).collect();
            return Err(self.violation(
                Invariant::AtMostOnce,
                format!(
                    "agent {} followed world {} {n} times at once and {followed} were told \"followed\" (exactly one must be; the others update preferences): {told:?}",
                    self.agents[actor].1,
                    self.world_id(world)
                ),
            ));
        }
        read?;
        self.all_succeeded(
            &res,
            ok,
            format!("one agent followed a world {n} times at once (each must succeed)"),
        )?;
        Ok(true)
    }
}
