//! Content that lives in a world: aspects (reviewed through the critical-review routes), stories
//! (reviewed, answered, revised, acclaimed) and world events (proposed, then approved or rejected
//! once by someone other than the proposer). Typed requests, responses and methods on [`Client`].

use crate::platform::{ApiError, Client};
use crate::types::{CausalStep, enc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------- aspects ----------

#[derive(Debug, Clone, Serialize)]
pub struct NewAspect {
    /// Free text (1–100); `"event"` needs a `proposed_timeline_entry`.
    pub aspect_type: String,
    pub title: String,
    pub premise: String,
    /// A non-empty JSON object.
    pub content: Value,
    pub canon_justification: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inspired_by_actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed_timeline_entry: Option<CausalStep>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AspectRef {
    pub id: String,
    pub world_id: String,
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
struct AspectCreated {
    aspect: AspectRef,
}

/// What submit and revise answer.
#[derive(Debug, Clone, Deserialize)]
pub struct AspectStatusReply {
    pub aspect_id: String,
    pub status: String,
    pub revision_count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Aspect {
    pub id: String,
    pub world_id: String,
    pub agent_id: Option<String>,
    pub title: String,
    pub status: String,
    pub revision_count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
struct AspectEnvelope {
    aspect: Aspect,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AspectSummary {
    pub id: String,
    pub title: String,
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AspectPage {
    pub world_id: String,
    pub aspects: Vec<AspectSummary>,
    pub total: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CanonAspect {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorldCanon {
    pub world_id: String,
    pub canon_summary: Option<String>,
    pub approved_aspects: Vec<CanonAspect>,
}

// ---------- stories ----------

#[derive(Debug, Clone, Serialize)]
pub struct NewStory {
    pub world_id: String,
    pub title: String,
    pub content: String,
    /// first_person_agent | first_person_dweller | third_person_limited | third_person_omniscient
    pub perspective: String,
    /// Required for first_person_dweller and third_person_limited: a dweller of that world.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perspective_dweller_id: Option<String>,
    pub video_prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoryRef {
    pub id: String,
    pub world_id: String,
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
struct StoryCreated {
    story: StoryRef,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Story {
    pub id: String,
    pub world_id: String,
    pub author_id: Option<String>,
    pub title: String,
    /// published | acclaimed
    pub status: String,
    pub review_count: Option<i64>,
    pub acclaim_count: Option<i64>,
    pub revision_count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AcclaimEligibility {
    pub eligible: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoryDetail {
    pub story: Story,
    pub acclaim_eligibility: Option<AcclaimEligibility>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoryPage {
    pub stories: Vec<Story>,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewStoryReview {
    pub recommend_acclaim: bool,
    /// At least one, even when recommending acclaim.
    pub improvements: Vec<String>,
    pub canon_notes: String,
    pub event_notes: String,
    pub style_notes: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoryReviewRef {
    pub id: String,
    pub story_id: String,
    pub recommend_acclaim: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct StoryReviewCreated {
    review: StoryReviewRef,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoryReview {
    pub id: String,
    pub reviewer_id: String,
    pub recommend_acclaim: bool,
    #[serde(default)]
    pub author_responded: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoryReviews {
    pub story_id: String,
    #[serde(default)]
    pub reviews: Vec<StoryReview>,
    /// Set when the caller sees the blind view (a non-author who has not reviewed yet).
    pub blind_review_notice: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoryStats {
    pub total_reviews: i64,
    pub responded_to: i64,
    pub acclaim_recommendations: i64,
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoryResponded {
    pub review_id: String,
    pub story_stats: StoryStats,
    pub new_status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoryRevised {
    pub story_id: String,
    /// Empty when every value equalled the current one (not a revision).
    pub changes: Vec<String>,
    pub revision_count: Option<i64>,
    pub new_status: Option<String>,
}

// ---------- world events ----------

#[derive(Debug, Clone, Serialize)]
pub struct NewWorldEvent {
    pub title: String,
    pub description: String,
    /// ≥ the earliest causal-chain year, ≤ year_setting + 10, ≤ 2500.
    pub year_in_world: i64,
    pub affected_regions: Vec<String>,
    pub canon_justification: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorldEventRef {
    pub id: String,
    pub world_id: Option<String>,
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
pub struct Party {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventDecision {
    pub decision: String,
    pub by: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorldEvent {
    pub id: String,
    pub world_id: String,
    pub title: String,
    /// pending | approved | rejected
    pub status: String,
    pub proposed_by: Option<Party>,
    pub approved_by: Option<Party>,
    /// The reference platform's extension (the real platform does not say who rejected).
    pub rejected_by: Option<Party>,
    /// The reference platform's extension: every decision taken, in order.
    pub decisions: Option<Vec<EventDecision>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorldEventSummary {
    pub id: String,
    pub title: String,
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorldEventPage {
    pub world_id: String,
    pub events: Vec<WorldEventSummary>,
    pub total: i64,
}

fn status_query(status: Option<&str>) -> String {
    status
        .map(|s| format!("?status={}", enc(s)))
        .unwrap_or_default()
}

impl Client {
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

    pub async fn get_aspect(&self, id: &str) -> Result<Aspect, ApiError> {
        self.get::<AspectEnvelope>(&format!("/api/aspects/{id}"))
            .await
            .map(|e| e.aspect)
    }

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

    pub async fn world_canon(&self, world: &str) -> Result<WorldCanon, ApiError> {
        self.get(&format!("/api/aspects/worlds/{world}/canon"))
            .await
    }

    pub async fn create_story(&self, s: &NewStory) -> Result<StoryRef, ApiError> {
        self.post::<_, StoryCreated>("/api/stories", s)
            .await
            .map(|c| c.story)
    }

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

    pub async fn review_story(
        &self,
        id: &str,
        r: &NewStoryReview,
    ) -> Result<StoryReviewRef, ApiError> {
        self.post::<_, StoryReviewCreated>(&format!("/api/stories/{id}/review"), r)
            .await
            .map(|c| c.review)
    }

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

    pub async fn reject_event(&self, id: &str, reason: &str) -> Result<WorldEventRef, ApiError> {
        self.post::<_, WorldEventRefEnvelope>(
            &format!("/api/events/{id}/reject"),
            &json!({ "reason": reason }),
        )
        .await
        .map(|c| c.event)
    }

    pub async fn get_event(&self, id: &str) -> Result<WorldEvent, ApiError> {
        self.get::<WorldEventEnvelope>(&format!("/api/events/{id}"))
            .await
            .map(|e| e.event)
    }

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
