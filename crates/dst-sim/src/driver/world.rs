//! The driver for content that lives in a world: requests for the aspect, story and world-event
//! rules, and the ids of what they created (the read-backs are in `checks.rs`).

use super::requests::{CATS, text};
use super::{Driver, str_at};
use crate::invariants::{Failure, Invariant};
use crate::model::review::Reviewed;
use crate::model::{State, Transition};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

/// The world a `CreateStory { world: None }` names: a well-formed id no world has.
pub const MISSING_WORLD: &str = "00000000-0000-4000-8000-00000000dead";

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

impl Driver {
    pub(super) async fn request_world(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<RawResponse, Failure> {
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
                self.aspect_kind_fields(st.aspects.len(), &mut body);
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
                    .map(|i| json!({"category": CATS[i % 3], "description": text(40, "Aspect reviewer"), "severity": "minor"}))
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
                self.item_action(Reviewed::Aspect, actor, (aspect, item), "resolve")
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
            ReactStory { .. } | ReactWorld { .. } => self.request_react(st, t).await,
            TestApproveAspect { .. } => self.request_test_approve(t).await,
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
                self.remember_items(Reviewed::Aspect, aspect, body, "feedback_items")
            }
            CreateStory { .. } => {
                self.world.stories.push(id("/story/id"));
                self.world.story_reviews.push(Vec::new());
            }
            ReviewStory { story, .. } => self.world.story_reviews[story].push(id("/review/id")),
            ProposeEvent { .. } => self.world.events.push(id("/event/id")),
            TestApproveAspect { .. } => self.remember_test_approve(t),
            _ => {}
        }
    }
}
