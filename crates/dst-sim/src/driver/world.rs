//! The driver for content that lives in a world: requests for the aspect, story and world-event
//! rules, and the read-backs behind invariants 11–15.

use super::{Driver, text};
use crate::invariants::{Invariant, Violation};
use crate::model::{AStatus, EStatus, State, Transition};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

/// The world a `CreateStory { world: None }` names: a well-formed id no world has.
pub const MISSING_WORLD: &str = "00000000-0000-4000-8000-00000000dead";

/// Server ids, by model index.
#[derive(Default)]
pub(super) struct Ids {
    aspects: Vec<String>,
    aspect_items: Vec<Vec<String>>,
    stories: Vec<String>,
    story_reviews: Vec<Vec<String>>,
    events: Vec<String>,
}

/// A text of exactly `len` characters starting with `head`.
fn sized(head: &str, len: usize) -> String {
    format!("{head} {}", "x".repeat(400))
        .chars()
        .take(len)
        .collect()
}

/// The content of story `story` after `revision` effective revisions (so "unchanged" is knowable).
fn story_content(story: usize, revision: u32) -> String {
    text(160, &format!("Story {story} revision {revision}:"))
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

impl Driver {
    fn world_id(&self, w: usize) -> String {
        self.worlds.get(w).cloned().unwrap_or_default()
    }

    pub(super) async fn request_world(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<RawResponse, Violation> {
        use Transition::*;
        let p = self.prefix.clone();
        let post = Method::POST;
        match *t {
            CreateAspect {
                actor,
                world,
                title_len,
            } => {
                let mut body =
                    serde_json::to_value(api_client::fixtures::aspect("x")).unwrap_or_default();
                body["title"] = json!(sized(&format!("{p} aspect"), title_len));
                let path = format!("/api/aspects/worlds/{}/aspects", self.world_id(world));
                self.send(self.agent(actor), post, &path, Some(body)).await
            }
            SubmitAspect { actor, aspect } => {
                let path = format!(
                    "/api/aspects/{}/submit?force=true",
                    self.world.aspects[aspect]
                );
                self.send(self.agent(actor), post, &path, Some(json!({})))
                    .await
            }
            ReviewAspect {
                actor,
                aspect,
                items,
            } => {
                let list: Vec<Value> = (0..items)
                    .map(|i| json!({"category": super::CATS[i % 3], "description": text(40, "Aspect reviewer"), "severity": "minor"}))
                    .collect();
                let path = format!("/api/review/aspect/{}/feedback", self.world.aspects[aspect]);
                self.send(
                    self.agent(actor),
                    post,
                    &path,
                    Some(json!({"feedback_items": list})),
                )
                .await
            }
            ResolveAspectItem {
                actor,
                aspect,
                item,
            } => {
                let path = format!(
                    "/api/review/feedback-item/{}/resolve",
                    self.world.aspect_items[aspect][item]
                );
                self.send(self.agent(actor), post, &path, Some(json!({})))
                    .await
            }
            ReviseAspect { actor, aspect } => {
                let path = format!("/api/aspects/{}/revise", self.world.aspects[aspect]);
                let body =
                    json!({"premise": text(60, &format!("Aspect revision at step {}", st.step))});
                self.send(self.agent(actor), post, &path, Some(body)).await
            }
            CreateStory {
                actor,
                world,
                dweller,
                title_len,
            } => {
                let wid = match world {
                    Some(w) => self.world_id(w),
                    None => MISSING_WORLD.to_string(),
                };
                let mut s =
                    api_client::fixtures::story(&wid, &sized(&format!("{p} story"), title_len));
                s.content = story_content(st.stories.len(), 0);
                if let Some(d) = dweller {
                    s.perspective = "first_person_dweller".into();
                    s.perspective_dweller_id = self.dwellers.get(d).cloned();
                }
                let body = serde_json::to_value(s).unwrap_or_default();
                self.send(self.agent(actor), post, "/api/stories", Some(body))
                    .await
            }
            ReviewStory {
                actor,
                story,
                acclaim,
                notes_len,
            } => {
                let mut r = api_client::fixtures::story_review(acclaim);
                r.style_notes = sized("Style notes: the pacing", notes_len);
                let body = serde_json::to_value(r).unwrap_or_default();
                let path = format!("/api/stories/{}/review", self.world.stories[story]);
                self.send(self.agent(actor), post, &path, Some(body)).await
            }
            RespondStoryReview {
                actor,
                story,
                review,
            } => {
                let path = format!(
                    "/api/stories/{}/reviews/{}/respond",
                    self.world.stories[story], self.world.story_reviews[story][review]
                );
                let body = json!({"response": text(48, "Thanks; I tightened the scene")});
                self.send(self.agent(actor), post, &path, Some(body)).await
            }
            ReviseStory { actor, story, same } => {
                let revisions = st.stories[story].revisions;
                let content = story_content(story, if same { revisions } else { revisions + 1 });
                let path = format!("/api/stories/{}/revise", self.world.stories[story]);
                self.send(
                    self.agent(actor),
                    post,
                    &path,
                    Some(json!({"content": content})),
                )
                .await
            }
            ProposeEvent { actor, world, year } => {
                let e = api_client::fixtures::world_event(
                    &format!("{p} event {}", st.events.len()),
                    year,
                );
                let path = format!("/api/events/worlds/{}/events", self.world_id(world));
                let body = serde_json::to_value(e).unwrap_or_default();
                self.send(self.agent(actor), post, &path, Some(body)).await
            }
            ApproveEvent { actor, event } => {
                let path = format!("/api/events/{}/approve", self.world.events[event]);
                let body =
                    json!({"canon_update": text(90, &format!("Canon after event {event}:"))});
                self.send(self.agent(actor), post, &path, Some(body)).await
            }
            RejectEvent { actor, event } => {
                let path = format!("/api/events/{}/reject", self.world.events[event]);
                let body = json!({"reason": text(40, "It contradicts the 2070 federation")});
                self.send(self.agent(actor), post, &path, Some(body)).await
            }
            _ => Err(self.violation(
                Invariant::ModelAgreement,
                format!("{t:?} is not a world-content rule"),
            )),
        }
    }

    /// Records server ids of what a successful world-content step created.
    pub(super) fn remember_world(&mut self, t: &Transition, body: &Value) {
        use Transition::*;
        let id = |ptr: &str| str_at(body, ptr).unwrap_or_default().to_string();
        match *t {
            CreateAspect { .. } => {
                self.world.aspects.push(id("/aspect/id"));
                self.world.aspect_items.push(Vec::new());
            }
            ReviewAspect { aspect, .. } => {
                for it in body
                    .get("feedback_items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    self.world.aspect_items[aspect]
                        .push(str_at(it, "/id").unwrap_or_default().to_string());
                }
            }
            CreateStory { .. } => {
                self.world.stories.push(id("/story/id"));
                self.world.story_reviews.push(Vec::new());
            }
            ReviewStory { story, .. } => self.world.story_reviews[story].push(id("/review/id")),
            ProposeEvent { .. } => self.world.events.push(id("/event/id")),
            _ => {}
        }
    }

    pub(crate) async fn check_world_step(
        &mut self,
        after: &State,
        t: &Transition,
    ) -> Result<(), Violation> {
        use Transition::*;
        let last = |n: usize, known: usize| n.checked_sub(1).filter(|&i| i < known);
        match *t {
            CreateAspect { .. } => {
                if let Some(i) = last(after.aspects.len(), self.world.aspects.len()) {
                    self.check_aspect(after, i, false).await?;
                }
            }
            SubmitAspect { aspect, .. } | ReviseAspect { aspect, .. } => {
                self.check_aspect(after, aspect, false).await?
            }
            ResolveAspectItem { aspect, .. } => self.check_aspect(after, aspect, true).await?,
            ReviewAspect { aspect, .. } => {
                self.check_aspect_reviews(after, aspect).await?;
                self.check_aspect(after, aspect, false).await?;
            }
            CreateStory { actor, .. } => {
                self.check_author_stories(after, actor).await?;
                if let Some(i) = last(after.stories.len(), self.world.stories.len())
                    && after.stories[i].author == actor
                {
                    self.check_story(after, i).await?;
                }
            }
            ReviewStory { story, .. } => {
                self.check_story_reviews(after, story).await?;
                self.check_story(after, story).await?;
            }
            RespondStoryReview { story, .. } | ReviseStory { story, .. } => {
                self.check_story(after, story).await?
            }
            ProposeEvent { .. } => {
                if let Some(i) = last(after.events.len(), self.world.events.len()) {
                    self.check_event(after, i).await?;
                }
            }
            ApproveEvent { event, .. } | RejectEvent { event, .. } => {
                self.check_event(after, event).await?
            }
            _ => {}
        }
        Ok(())
    }

    /// Every aspect, story and event of the seed, and every agent's story list, at the end.
    pub(super) async fn check_world_all(&mut self, after: &State) -> Result<(), Violation> {
        for i in 0..self.world.aspects.len().min(after.aspects.len()) {
            self.check_aspect_reviews(after, i).await?;
            self.check_aspect(after, i, true).await?;
        }
        for i in 0..self.world.stories.len().min(after.stories.len()) {
            self.check_story_reviews(after, i).await?;
            self.check_story(after, i).await?;
        }
        for i in 0..self.world.events.len().min(after.events.len()) {
            self.check_event(after, i).await?;
        }
        if !self.world.stories.is_empty() {
            for a in 0..self.agents.len().min(after.agents) {
                self.check_author_stories(after, a).await?;
            }
        }
        Ok(())
    }

    /// Invariant 12 for one reference: `wid` is the model's world, or at least a world that exists.
    async fn check_world_ref(
        &mut self,
        what: &str,
        wid: Option<&str>,
        want: Option<usize>,
    ) -> Result<(), Violation> {
        self.count(Invariant::WorldReference);
        let Some(wid) = wid else {
            return Err(
                self.violation(Invariant::WorldReference, format!("{what} has no world_id"))
            );
        };
        if let Some(w) = want
            && self.worlds.get(w).map(String::as_str) == Some(wid)
        {
            return Ok(());
        }
        if want.is_none() && self.worlds.iter().any(|w| w == wid) {
            return Ok(());
        }
        // not the world it was created in: it must at least exist
        let exists = match self
            .anon
            .send_raw(Method::GET, &format!("/api/worlds/{wid}"), None)
            .await
        {
            Ok(r) if r.status >= 500 => {
                return Err(self.violation(
                    Invariant::No5xx,
                    format!("read-back GET /api/worlds/{wid} answered {}", r.status),
                ));
            }
            Ok(r) => r.status == 200,
            Err(e) => {
                return Err(self.violation(
                    Invariant::WorldReference,
                    format!("read-back GET /api/worlds/{wid} failed: {e}"),
                ));
            }
        };
        let message = if exists {
            format!(
                "{what} is in world {wid}; it was created in {}",
                want.map(|w| self.world_id(w)).unwrap_or_default()
            )
        } else {
            format!("{what} references world {wid}, which does not exist")
        };
        Err(self.violation(Invariant::WorldReference, message))
    }

    async fn check_aspect(
        &mut self,
        after: &State,
        i: usize,
        canon: bool,
    ) -> Result<(), Violation> {
        let id = self.world.aspects[i].clone();
        let m = after.aspects[i].clone();
        let body = self
            .read(&format!("/api/aspects/{id}"), Invariant::AspectStatus)
            .await?;
        self.check_world_ref(
            &format!("aspect {id}"),
            str_at(&body, "/aspect/world_id"),
            Some(m.world),
        )
        .await?;
        let status = str_at(&body, "/aspect/status").unwrap_or("?").to_string();
        self.count(Invariant::AspectStatus);
        if status != m.status.as_str() {
            return Err(self.violation(
                Invariant::AspectStatus,
                format!(
                    "aspect {id} is {status:?}; the rules allow only {:?} after this step",
                    m.status.as_str()
                ),
            ));
        }
        if canon {
            let wid = self.world_id(m.world);
            let canon = self
                .read(
                    &format!("/api/aspects/worlds/{wid}/canon"),
                    Invariant::AspectStatus,
                )
                .await?;
            let listed = canon
                .get("approved_aspects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|a| str_at(a, "/id") == Some(id.as_str()))
                .count();
            let want = usize::from(m.status == AStatus::Approved);
            if listed != want {
                return Err(self.violation(
                    Invariant::AspectStatus,
                    format!(
                        "aspect {id} ({}) is listed {listed} time(s) in its world's canon; expected {want}",
                        m.status.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn check_aspect_reviews(&mut self, after: &State, i: usize) -> Result<(), Violation> {
        let id = self.world.aspects[i].clone();
        let owner = self.agents[after.aspects[i].owner].1.clone();
        let path = format!("/api/review/aspect/{id}/feedback");
        self.check_no_review_by(&path, &owner, || {
            format!("aspect {id} has a review by its own proposer {owner}")
        })
        .await
    }

    async fn check_story_reviews(&mut self, after: &State, i: usize) -> Result<(), Violation> {
        let id = self.world.stories[i].clone();
        let author = self.agents[after.stories[i].author].1.clone();
        let path = format!("/api/stories/{id}/reviews");
        self.check_no_review_by(&path, &author, || {
            format!("story {id} has a review by its own author {author}")
        })
        .await
    }

    /// Invariant 13: no review listed at `path` is by `agent` (the content's own author).
    async fn check_no_review_by(
        &mut self,
        path: &str,
        agent: &str,
        message: impl FnOnce() -> String,
    ) -> Result<(), Violation> {
        let body = self.read(path, Invariant::NoSelfReviewContent).await?;
        self.count(Invariant::NoSelfReviewContent);
        let own = body
            .get("reviews")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|r| str_at(r, "/reviewer_id") == Some(agent));
        if own {
            return Err(self.violation(Invariant::NoSelfReviewContent, message()));
        }
        Ok(())
    }

    async fn check_story(&mut self, after: &State, i: usize) -> Result<(), Violation> {
        let id = self.world.stories[i].clone();
        let m = after.stories[i].clone();
        let body = self
            .read(&format!("/api/stories/{id}"), Invariant::StoryAcclaim)
            .await?;
        self.check_world_ref(
            &format!("story {id}"),
            str_at(&body, "/story/world_id"),
            Some(m.world),
        )
        .await?;
        let status = str_at(&body, "/story/status").unwrap_or("?").to_string();
        let acclaims = m.reviews.iter().filter(|r| r.acclaim).count();
        let unanswered = m.reviews.iter().filter(|r| !r.responded).count();
        let conditions = format!(
            "{acclaims} acclaim review(s), {unanswered} unanswered, {} revision(s)",
            m.revisions
        );
        self.count(Invariant::StoryAcclaim);
        match (status.as_str(), m.acclaimed) {
            ("acclaimed", false) => {
                return Err(self.violation(
                    Invariant::StoryAcclaim,
                    format!(
                        "story {id} is acclaimed, but its conditions never held ({conditions})"
                    ),
                ));
            }
            ("published", true) => {
                return Err(self.violation(
                    Invariant::StoryAcclaim,
                    format!("story {id} met the acclaim conditions ({conditions}) but is still published"),
                ));
            }
            ("acclaimed", true) | ("published", false) => {}
            (other, _) => {
                return Err(self.violation(
                    Invariant::StoryAcclaim,
                    format!("story {id} has status {other:?} (only published → acclaimed exist)"),
                ));
            }
        }
        let got = (
            body.pointer("/story/review_count").and_then(Value::as_u64),
            body.pointer("/story/revision_count")
                .and_then(Value::as_u64),
        );
        let want = (Some(m.reviews.len() as u64), Some(u64::from(m.revisions)));
        if got != want {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "story {id}: (reviews, revisions) read back as {got:?}; the model has {want:?}"
                ),
            ));
        }
        Ok(())
    }

    /// The stories an agent has authored: each in a world that exists, and no more than the
    /// model says succeeded (a failed create leaves nothing behind).
    async fn check_author_stories(&mut self, after: &State, actor: usize) -> Result<(), Violation> {
        let agent = self.agents[actor].1.clone();
        let body = self
            .read(
                &format!("/api/stories?author_id={agent}&limit=50"),
                Invariant::WorldReference,
            )
            .await?;
        let listed: Vec<(String, Option<String>)> = body
            .get("stories")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    str_at(s, "/id").unwrap_or_default().to_string(),
                    str_at(s, "/world_id").map(str::to_string),
                )
            })
            .collect();
        for (sid, wid) in &listed {
            let want = self
                .world
                .stories
                .iter()
                .position(|x| x == sid)
                .filter(|&k| k < after.stories.len())
                .map(|k| after.stories[k].world);
            self.check_world_ref(&format!("story {sid}"), wid.as_deref(), want)
                .await?;
        }
        let want = after.stories.iter().filter(|s| s.author == actor).count();
        if listed.len() != want.min(50) {
            return Err(self.violation(
                Invariant::WorldReference,
                format!(
                    "agent {agent} has {} stories; {want} creates succeeded (a failed create left something behind?)",
                    listed.len()
                ),
            ));
        }
        Ok(())
    }

    async fn check_event(&mut self, after: &State, i: usize) -> Result<(), Violation> {
        let id = self.world.events[i].clone();
        let m = after.events[i].clone();
        let body = self
            .read(&format!("/api/events/{id}"), Invariant::EventDecision)
            .await?;
        self.check_world_ref(
            &format!("event {id}"),
            str_at(&body, "/event/world_id"),
            Some(m.world),
        )
        .await?;
        self.count(Invariant::EventDecision);
        let proposer = self.agents[m.proposer].1.clone();
        let ev = &body["event"];
        for (role, ptr) in [
            ("approved", "/approved_by/id"),
            ("rejected", "/rejected_by/id"),
        ] {
            if str_at(ev, ptr) == Some(proposer.as_str()) {
                return Err(self.violation(
                    Invariant::EventDecision,
                    format!("event {id} was {role} by its own proposer {proposer}"),
                ));
            }
        }
        if let Some(decisions) = ev.get("decisions").and_then(Value::as_array) {
            let want = usize::from(m.status != EStatus::Pending);
            if decisions.len() != want {
                let list: Vec<&str> = decisions
                    .iter()
                    .filter_map(|d| str_at(d, "/decision"))
                    .collect();
                return Err(self.violation(
                    Invariant::EventDecision,
                    format!(
                        "event {id} was decided {} time(s) {list:?}; expected {want}",
                        decisions.len()
                    ),
                ));
            }
        }
        let status = str_at(ev, "/status").unwrap_or("?").to_string();
        if status != m.status.as_str() {
            return Err(self.violation(
                Invariant::EventDecision,
                format!(
                    "event {id} is {status:?}; after this step it must be {:?} (decided once, never by its proposer)",
                    m.status.as_str()
                ),
            ));
        }
        let by = match m.status {
            EStatus::Approved => str_at(ev, "/approved_by/id"),
            EStatus::Rejected => str_at(ev, "/rejected_by/id"),
            EStatus::Pending => None,
        };
        if let (Some(by), Some(d)) = (by, m.decider) {
            let want = &self.agents[d].1;
            if by != want {
                return Err(self.violation(
                    Invariant::EventDecision,
                    format!("event {id} is {status} by {by}; the one decision was by {want}"),
                ));
            }
        }
        Ok(())
    }
}
