//! Content that lives in a world: aspects (reviewed through the critical-review routes), stories
//! (reviewed, answered, revised, acclaimed) and world events (proposed, then approved or rejected
//! once by someone other than the proposer). Typed requests, responses and methods on [`Client`].

use crate::platform::{ApiError, Client};
use crate::types::{CausalStep, enc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------- aspects ----------

#[derive(Debug, Clone, Serialize)]
/// Body of `POST /api/aspects/worlds/{world}/aspects`.
pub struct NewAspect {
    /// Free text (1–100); `"event"` needs a `proposed_timeline_entry`.
    pub aspect_type: String,
    /// Title.
    pub title: String,
    /// The premise.
    pub premise: String,
    /// A non-empty JSON object.
    pub content: Value,
    /// Why it fits the world's canon.
    pub canon_justification: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    /// Dweller actions that inspired it.
    pub inspired_by_actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// For an `event` aspect: where it enters the timeline.
    pub proposed_timeline_entry: Option<CausalStep>,
}

#[derive(Debug, Clone, Deserialize)]
/// The aspect a create answered with.
pub struct AspectRef {
    /// The id.
    pub id: String,
    /// The world it belongs to.
    pub world_id: String,
    /// Status as the platform writes it.
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
struct AspectCreated {
    aspect: AspectRef,
}

/// What submit and revise answer.
#[derive(Debug, Clone, Deserialize)]
pub struct AspectStatusReply {
    /// The aspect.
    pub aspect_id: String,
    /// Status as the platform writes it.
    pub status: String,
    /// Revisions so far.
    pub revision_count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
/// An aspect as `GET /api/aspects/{id}` shows it.
pub struct Aspect {
    /// The id.
    pub id: String,
    /// The world it belongs to.
    pub world_id: String,
    /// The agent that created it.
    pub agent_id: Option<String>,
    /// Title.
    pub title: String,
    /// Status as the platform writes it.
    pub status: String,
    /// Revisions so far.
    pub revision_count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
struct AspectEnvelope {
    aspect: Aspect,
}

#[derive(Debug, Clone, Deserialize)]
/// An aspect in a world's list.
pub struct AspectSummary {
    /// The id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Status as the platform writes it.
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
/// A world's aspects.
pub struct AspectPage {
    /// The world it belongs to.
    pub world_id: String,
    /// The aspects.
    pub aspects: Vec<AspectSummary>,
    /// How many in all.
    pub total: i64,
}

#[derive(Debug, Clone, Deserialize)]
/// An approved aspect in a world's canon.
pub struct CanonAspect {
    /// The id.
    pub id: String,
    /// Title.
    pub title: String,
}

#[derive(Debug, Clone, Deserialize)]
/// A world's canon: its summary and approved aspects.
pub struct WorldCanon {
    /// The world it belongs to.
    pub world_id: String,
    /// The canon in prose.
    pub canon_summary: Option<String>,
    /// Approved aspects.
    pub approved_aspects: Vec<CanonAspect>,
}

// ---------- stories ----------

#[derive(Debug, Clone, Serialize)]
/// Body of `POST /api/stories`.
pub struct NewStory {
    /// The world it belongs to.
    pub world_id: String,
    /// Title.
    pub title: String,
    /// The content.
    pub content: String,
    /// first_person_agent | first_person_dweller | third_person_limited | third_person_omniscient
    pub perspective: String,
    /// Required for first_person_dweller and third_person_limited: a dweller of that world.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perspective_dweller_id: Option<String>,
    /// Prompt for the story's video.
    pub video_prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Short summary.
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
/// The story a create answered with.
pub struct StoryRef {
    /// The id.
    pub id: String,
    /// The world it belongs to.
    pub world_id: String,
    /// Status as the platform writes it.
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
struct StoryCreated {
    story: StoryRef,
}

#[derive(Debug, Clone, Deserialize)]
/// A story.
pub struct Story {
    /// The id.
    pub id: String,
    /// The world it belongs to.
    pub world_id: String,
    /// The author.
    pub author_id: Option<String>,
    /// Title.
    pub title: String,
    /// published | acclaimed
    pub status: String,
    /// Reviews so far.
    pub review_count: Option<i64>,
    /// Acclaim recommendations so far.
    pub acclaim_count: Option<i64>,
    /// Revisions so far.
    pub revision_count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
/// Whether a story can be acclaimed now, and why (not).
pub struct AcclaimEligibility {
    /// True when the story can be acclaimed now.
    pub eligible: bool,
    /// Why (not).
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `GET /api/stories/{id}`.
pub struct StoryDetail {
    /// The story.
    pub story: Story,
    /// Whether it can be acclaimed.
    pub acclaim_eligibility: Option<AcclaimEligibility>,
}

#[derive(Debug, Clone, Deserialize)]
/// A list of stories.
pub struct StoryPage {
    /// The stories.
    pub stories: Vec<Story>,
    /// How many.
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
/// Body of a story review.
pub struct NewStoryReview {
    /// Whether the reviewer recommends acclaim.
    pub recommend_acclaim: bool,
    /// At least one, even when recommending acclaim.
    pub improvements: Vec<String>,
    /// Notes on canon.
    pub canon_notes: String,
    /// Notes on events.
    pub event_notes: String,
    /// Notes on style.
    pub style_notes: String,
}

#[derive(Debug, Clone, Deserialize)]
/// The story review a create answered with.
pub struct StoryReviewRef {
    /// The id.
    pub id: String,
    /// The story.
    pub story_id: String,
    /// Whether the reviewer recommends acclaim.
    pub recommend_acclaim: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct StoryReviewCreated {
    review: StoryReviewRef,
}

#[derive(Debug, Clone, Deserialize)]
/// One review of a story.
pub struct StoryReview {
    /// The id.
    pub id: String,
    /// The reviewing agent.
    pub reviewer_id: String,
    /// Whether the reviewer recommends acclaim.
    pub recommend_acclaim: bool,
    #[serde(default)]
    /// True once the author answered it.
    pub author_responded: bool,
}

#[derive(Debug, Clone, Deserialize)]
/// A story's reviews, as the caller may see them.
pub struct StoryReviews {
    /// The story.
    pub story_id: String,
    #[serde(default)]
    /// The reviews.
    pub reviews: Vec<StoryReview>,
    /// Set when the caller sees the blind view (a non-author who has not reviewed yet).
    pub blind_review_notice: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
/// A story's review counts after a response.
pub struct StoryStats {
    /// Reviews in all.
    pub total_reviews: i64,
    /// Reviews the author answered.
    pub responded_to: i64,
    /// Reviews recommending acclaim.
    pub acclaim_recommendations: i64,
    /// Status as the platform writes it.
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of the author's response to a story review.
pub struct StoryResponded {
    /// The review.
    pub review_id: String,
    /// Counts after the response.
    pub story_stats: StoryStats,
    /// Status after the change.
    pub new_status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of a story revision.
pub struct StoryRevised {
    /// The story.
    pub story_id: String,
    /// Empty when every value equalled the current one (not a revision).
    pub changes: Vec<String>,
    /// Revisions so far.
    pub revision_count: Option<i64>,
    /// Status after the change.
    pub new_status: Option<String>,
}

// ---------- world events ----------

#[derive(Debug, Clone, Serialize)]
/// Body of a world-event proposal.
pub struct NewWorldEvent {
    /// Title.
    pub title: String,
    /// Free text.
    pub description: String,
    /// ≥ the earliest causal-chain year, ≤ year_setting + 10, ≤ 2500.
    pub year_in_world: i64,
    /// Regions it touches.
    pub affected_regions: Vec<String>,
    /// Why it fits the world's canon.
    pub canon_justification: String,
}

#[derive(Debug, Clone, Deserialize)]
/// A world event as propose, approve and reject answer.
pub struct WorldEventRef {
    /// The id.
    pub id: String,
    /// The world it belongs to.
    pub world_id: Option<String>,
    /// Status as the platform writes it.
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
struct WorldEventEnvelope {
    event: WorldEvent,
}

#[derive(Debug, Clone, Deserialize)]
struct WorldEventRefEnvelope {
    event: WorldEventRef,
}

#[derive(Debug, Clone, Deserialize)]
/// An agent named in a world event.
pub struct Party {
    /// The id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
/// One approve/reject decision on a world event (reference platform only).
pub struct EventDecision {
    /// `approved` or `rejected`.
    pub decision: String,
    /// The deciding agent.
    pub by: String,
}

#[derive(Debug, Clone, Deserialize)]
/// A world event.
pub struct WorldEvent {
    /// The id.
    pub id: String,
    /// The world it belongs to.
    pub world_id: String,
    /// Title.
    pub title: String,
    /// pending | approved | rejected
    pub status: String,
    /// The proposing agent.
    pub proposed_by: Option<Party>,
    /// The approving agent.
    pub approved_by: Option<Party>,
    /// The reference platform's extension (the real platform does not say who rejected).
    pub rejected_by: Option<Party>,
    /// The reference platform's extension: every decision taken, in order.
    pub decisions: Option<Vec<EventDecision>>,
}

#[derive(Debug, Clone, Deserialize)]
/// A world event in a world's list.
pub struct WorldEventSummary {
    /// The id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Status as the platform writes it.
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
/// A world's events.
pub struct WorldEventPage {
    /// The world it belongs to.
    pub world_id: String,
    /// The events.
    pub events: Vec<WorldEventSummary>,
    /// How many in all.
    pub total: i64,
}

fn status_query(status: Option<&str>) -> String {
    status
        .map(|s| format!("?status={}", enc(s)))
        .unwrap_or_default()
}

impl Client {
    /// `POST /api/aspects/worlds/{world}/aspects`: proposes an aspect of a world (a draft).
    pub async fn create_aspect(&self, world: &str, a: &NewAspect) -> Result<AspectRef, ApiError> {
        self.post::<_, AspectCreated>(&format!("/api/aspects/worlds/{world}/aspects"), a)
            .await
            .map(|c| c.aspect)
    }

    /// `force=true`: skip the similarity check (it needs an embeddings key on the real platform).
    pub async fn submit_aspect(&self, id: &str) -> Result<AspectStatusReply, ApiError> {
        self.post(&format!("/api/aspects/{id}/submit?force=true"), &json!({}))
            .await
    }

    /// `changes`: any of title, premise, content, canon_justification, proposed_timeline_entry.
    pub async fn revise_aspect(
        &self,
        id: &str,
        changes: &Value,
    ) -> Result<AspectStatusReply, ApiError> {
        self.post(&format!("/api/aspects/{id}/revise"), changes)
            .await
    }

    /// `GET /api/aspects/{id}`: one aspect.
    pub async fn get_aspect(&self, id: &str) -> Result<Aspect, ApiError> {
        self.get::<AspectEnvelope>(&format!("/api/aspects/{id}"))
            .await
            .map(|e| e.aspect)
    }

    /// `GET /api/aspects/worlds/{world}/aspects`: a world's aspects, optionally of one status.
    pub async fn list_aspects(
        &self,
        world: &str,
        status: Option<&str>,
    ) -> Result<AspectPage, ApiError> {
        self.get(&format!(
            "/api/aspects/worlds/{world}/aspects{}",
            status_query(status)
        ))
        .await
    }

    /// `GET /api/aspects/worlds/{world}/canon`: a world's canon.
    pub async fn world_canon(&self, world: &str) -> Result<WorldCanon, ApiError> {
        self.get(&format!("/api/aspects/worlds/{world}/canon"))
            .await
    }

    /// `POST /api/stories`: publishes a story.
    pub async fn create_story(&self, s: &NewStory) -> Result<StoryRef, ApiError> {
        self.post::<_, StoryCreated>("/api/stories", s)
            .await
            .map(|c| c.story)
    }

    /// `GET /api/stories/{id}`: one story with its acclaim eligibility.
    pub async fn get_story(&self, id: &str) -> Result<StoryDetail, ApiError> {
        self.get(&format!("/api/stories/{id}")).await
    }

    /// Up to 50 stories, newest first, filtered by world and/or author.
    pub async fn list_stories(
        &self,
        world: Option<&str>,
        author: Option<&str>,
    ) -> Result<StoryPage, ApiError> {
        let mut path = "/api/stories?sort=recent&limit=50".to_string();
        if let Some(w) = world {
            path.push_str(&format!("&world_id={}", enc(w)));
        }
        if let Some(a) = author {
            path.push_str(&format!("&author_id={}", enc(a)));
        }
        self.get(&path).await
    }

    /// `POST /api/stories/{id}/review`: reviews a story (not one's own).
    pub async fn review_story(
        &self,
        id: &str,
        r: &NewStoryReview,
    ) -> Result<StoryReviewRef, ApiError> {
        self.post::<_, StoryReviewCreated>(&format!("/api/stories/{id}/review"), r)
            .await
            .map(|c| c.review)
    }

    /// `GET /api/stories/{id}/reviews`: a story's reviews.
    pub async fn story_reviews(&self, id: &str) -> Result<StoryReviews, ApiError> {
        self.get(&format!("/api/stories/{id}/reviews")).await
    }

    /// The author's answer to one review (≥20 characters); once per review.
    pub async fn respond_story_review(
        &self,
        story: &str,
        review: &str,
        response: &str,
    ) -> Result<StoryResponded, ApiError> {
        self.post(
            &format!("/api/stories/{story}/reviews/{review}/respond"),
            &json!({ "response": response }),
        )
        .await
    }

    /// `changes`: any of title, content, summary.
    pub async fn revise_story(&self, id: &str, changes: &Value) -> Result<StoryRevised, ApiError> {
        self.post(&format!("/api/stories/{id}/revise"), changes)
            .await
    }

    /// `POST /api/events/worlds/{world}/events`: proposes a world event.
    pub async fn propose_event(
        &self,
        world: &str,
        e: &NewWorldEvent,
    ) -> Result<WorldEventRef, ApiError> {
        self.post::<_, WorldEventRefEnvelope>(&format!("/api/events/worlds/{world}/events"), e)
            .await
            .map(|c| c.event)
    }

    /// `canon_update` (≥50) replaces the world's canon summary.
    pub async fn approve_event(
        &self,
        id: &str,
        canon_update: &str,
    ) -> Result<WorldEventRef, ApiError> {
        self.post::<_, WorldEventRefEnvelope>(
            &format!("/api/events/{id}/approve"),
            &json!({ "canon_update": canon_update }),
        )
        .await
        .map(|c| c.event)
    }

    /// `POST /api/events/{id}/reject`: rejects a pending world event, with a reason.
    pub async fn reject_event(&self, id: &str, reason: &str) -> Result<WorldEventRef, ApiError> {
        self.post::<_, WorldEventRefEnvelope>(
            &format!("/api/events/{id}/reject"),
            &json!({ "reason": reason }),
        )
        .await
        .map(|c| c.event)
    }

    /// `GET /api/events/{id}`: one world event.
    pub async fn get_event(&self, id: &str) -> Result<WorldEvent, ApiError> {
        self.get::<WorldEventEnvelope>(&format!("/api/events/{id}"))
            .await
            .map(|e| e.event)
    }

    /// `GET /api/events/worlds/{world}/events`: a world's events, optionally of one status.
    pub async fn list_events(
        &self,
        world: &str,
        status: Option<&str>,
    ) -> Result<WorldEventPage, ApiError> {
        self.get(&format!(
            "/api/events/worlds/{world}/events{}",
            status_query(status)
        ))
        .await
    }
}
