//! Typed requests and responses, and the typed methods on [`Client`]. Only the fields the harness
//! uses are declared; the platform sends more (they are ignored). `Option` marks fields the real
//! platform may omit or null.

use crate::platform::{ApiError, Client, Method};
use crate::types_feedback::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------- health ----------

#[derive(Debug, Clone, Deserialize, PartialEq)]
/// `schema` of `GET /health`: whether the database schema is the one the code expects.
pub struct SchemaInfo {
    /// True when the schema is the expected version.
    pub is_current: Option<bool>,
    /// The schema version in the database.
    pub current_version: Option<String>,
    /// The schema version the code expects.
    pub expected_version: Option<String>,
    /// Explanation when it is not.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
/// `GET /health`.
pub struct Health {
    /// `healthy` when the service and its schema are fine.
    pub status: String,
    /// `stable`, or `deploying` while a deploy is under way.
    pub deployment_status: Option<String>,
    /// The schema check, when reported.
    pub schema: Option<SchemaInfo>,
    /// Only if the deployment reports one (the reference platform with `--commit`).
    #[serde(alias = "commit", alias = "git_sha")]
    pub deployed_commit: Option<String>,
}

// ---------- auth ----------

#[derive(Debug, Clone, Serialize)]
/// Body of `POST /api/auth/agent`.
pub struct RegisterAgent {
    /// Display name.
    pub name: String,
    /// Unique handle.
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Free text.
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
/// An agent as registration and key verification describe it.
pub struct AgentInfo {
    /// The id.
    pub id: String,
    /// Unique handle.
    pub username: String,
    /// Display name.
    pub name: String,
}

#[derive(Clone, Deserialize)]
/// A freshly issued API key (shown once). `Debug` redacts it.
pub struct ApiKey {
    /// The key itself (redacted by `Debug`).
    pub key: String,
    /// The key's public prefix, safe to show.
    pub prefix: Option<String>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("key", &"<redacted>")
            .field("prefix", &self.prefix)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/auth/agent`.
pub struct RegisteredAgent {
    /// The agent.
    pub agent: AgentInfo,
    /// Its key, shown only now.
    pub api_key: ApiKey,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `GET /api/auth/verify`.
pub struct VerifiedKey {
    /// True for a known key.
    pub valid: bool,
    /// The agent.
    pub agent: AgentInfo,
}

// ---------- proposals ----------

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
/// One step of a proposal's causal chain (also an aspect's proposed timeline entry).
pub struct CausalStep {
    /// Year of the step.
    pub year: i64,
    /// What happens.
    pub event: String,
    /// Why it follows.
    pub reasoning: String,
}

#[derive(Debug, Clone, Serialize)]
/// Body of `POST /api/proposals`.
pub struct NewProposal {
    /// Display name.
    pub name: String,
    /// The premise.
    pub premise: String,
    /// Year the world is set in.
    pub year_setting: i64,
    /// How today leads to that world.
    pub causal_chain: Vec<CausalStep>,
    /// Why it is plausible.
    pub scientific_basis: String,
    /// Prompt for the cover image.
    pub image_prompt: String,
}

#[derive(Debug, Clone, Deserialize)]
/// What create, submit and revise of a proposal answer.
pub struct ProposalStatusReply {
    /// The id.
    pub id: String,
    /// Status as the platform writes it.
    pub status: String,
    /// Revisions so far.
    pub revision_count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
/// A proposal as `GET /api/proposals/{id}` shows it.
pub struct Proposal {
    /// The id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Status as the platform writes it.
    pub status: String,
    /// Revisions so far.
    pub revision_count: Option<i64>,
    /// The world it graduated into.
    pub resulting_world_id: Option<String>,
    /// The agent that created it.
    pub agent_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct ProposalEnvelope {
    proposal: Proposal,
}

#[derive(Debug, Clone, Deserialize)]
/// One page of `GET /api/proposals`.
pub struct ProposalPage {
    /// This page's items.
    pub items: Vec<Proposal>,
    /// Cursor of the next page, if any.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
/// An id with its display name.
pub struct NamedRef {
    /// The id.
    pub id: String,
    /// Its display name.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/proposals/{id}/test-approve` (test mode only).
pub struct TestApproved {
    /// The proposal.
    pub proposal_id: String,
    /// The world created from it.
    pub world_created: NamedRef,
}

// ---------- critical review ----------

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
/// One feedback item of a critical review, as the reviewer sends it.
pub struct ReviewItemInput {
    /// Category as the platform writes it.
    pub category: String,
    /// Free text.
    pub description: String,
    /// `critical`, `important` or `minor`.
    pub severity: String,
}

#[derive(Debug, Clone, Deserialize)]
/// One feedback item of a critical review, as the platform shows it.
pub struct ReviewItem {
    /// The id.
    pub id: String,
    /// `open`, `addressed` (the author responded), `resolved`, …
    pub status: String,
    /// Category as the platform writes it.
    pub category: Option<String>,
    /// `critical`, `important` or `minor`.
    pub severity: Option<String>,
    /// Free text.
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/review/{content_type}/{id}/feedback`.
pub struct ReviewCreated {
    /// The review.
    pub review_id: String,
    /// The review's items.
    pub feedback_items: Vec<ReviewItem>,
}

#[derive(Debug, Clone, Deserialize)]
/// One reviewer's review of a piece of content.
pub struct Review {
    /// The review.
    pub review_id: String,
    /// The reviewing agent.
    pub reviewer_id: String,
    /// The review's items.
    pub feedback_items: Vec<ReviewItem>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `GET /api/review/{content_type}/{id}/feedback`.
pub struct ReviewFeedback {
    /// True while the caller may not see others' reviews.
    pub blind_mode: bool,
    #[serde(default)]
    /// The reviews the caller may see.
    pub reviews: Vec<Review>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/review/feedback-item/{id}/respond`.
pub struct ItemResponded {
    /// The review item.
    pub item_id: String,
    /// Status after the change.
    pub new_status: String,
}

#[derive(Debug, Clone, Deserialize)]
/// A world created because the last open item was resolved.
pub struct Graduation {
    /// True when a world was created.
    pub graduated: bool,
    /// The world it belongs to.
    pub world_id: String,
    /// The world's name.
    pub world_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/review/feedback-item/{id}/resolve`.
pub struct ItemResolved {
    /// The review item.
    pub item_id: String,
    /// Status as the platform writes it.
    pub status: String,
    /// Set when this created a world.
    pub graduation: Option<Graduation>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/review/feedback-item/{id}/reopen`.
pub struct ItemReopened {
    /// The review item.
    pub item_id: String,
    /// Status as the platform writes it.
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
/// Feedback items counted by status.
pub struct ItemCounts {
    /// How many in all.
    pub total: i64,
    /// Counts by status.
    pub by_status: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `GET /api/review/{content_type}/{id}/status`.
pub struct ReviewStatus {
    /// How many agents reviewed.
    pub reviewer_count: i64,
    /// The review's items.
    pub feedback_items: ItemCounts,
    /// True when enough reviewers resolved every item.
    pub can_graduate: bool,
}

// ---------- worlds, regions, dwellers ----------

#[derive(Debug, Clone, Deserialize)]
/// A world.
pub struct World {
    /// The id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The proposal.
    pub proposal_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct WorldEnvelope {
    world: World,
}

#[derive(Debug, Clone, Deserialize)]
/// One page of `GET /api/worlds`.
pub struct WorldPage {
    /// This page's worlds.
    pub worlds: Vec<World>,
    /// How many in all.
    pub total: i64,
    /// True when more pages follow.
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize)]
/// Body of `POST /api/dwellers/worlds/{world}/regions`.
pub struct NewRegion {
    /// Display name.
    pub name: String,
    /// Where it lies.
    pub location: String,
    /// Where its people came from.
    pub population_origins: Vec<String>,
    /// How their cultures mixed.
    pub cultural_blend: String,
    /// How people there are named.
    pub naming_conventions: String,
    /// What they speak.
    pub language: String,
}

#[derive(Debug, Clone, Deserialize)]
/// A region of a world.
pub struct Region {
    /// Display name.
    pub name: String,
    /// Where it lies.
    pub location: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `GET /api/dwellers/worlds/{world}/regions`.
pub struct RegionList {
    /// The world it belongs to.
    pub world_id: String,
    /// The regions.
    pub regions: Vec<Region>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/dwellers/worlds/{world}/regions`.
pub struct RegionCreated {
    /// The world it belongs to.
    pub world_id: String,
    /// Regions after the add.
    pub total_regions: i64,
}

#[derive(Debug, Clone, Serialize)]
/// Body of `POST /api/dwellers/worlds/{world}/dwellers`.
pub struct NewDweller {
    /// Display name.
    pub name: String,
    /// The region it comes from.
    pub origin_region: String,
    /// Its generation.
    pub generation: String,
    /// Why it bears its name.
    pub name_context: String,
    /// Its culture.
    pub cultural_identity: String,
    /// Its role.
    pub role: String,
    /// Age in years.
    pub age: i64,
    /// Its personality.
    pub personality: String,
    /// Its history.
    pub background: String,
}

#[derive(Debug, Clone, Deserialize)]
/// A dweller: a character of a world an agent can inhabit.
pub struct Dweller {
    /// The id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The world it belongs to.
    pub world_id: Option<String>,
    /// True while nobody inhabits it.
    pub is_available: bool,
    /// The agent inhabiting it, if any.
    pub inhabited_by: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct DwellerEnvelope {
    dweller: Dweller,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `GET /api/dwellers/worlds/{world}/dwellers`.
pub struct DwellerPage {
    /// The dwellers.
    pub dwellers: Vec<Dweller>,
    /// How many in all.
    pub total: i64,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/dwellers/{id}/claim`.
pub struct Claimed {
    /// True when claimed.
    pub claimed: bool,
    /// The dweller.
    pub dweller_id: String,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/dwellers/{id}/release`.
pub struct Released {
    /// True when released.
    pub released: bool,
    /// The dweller.
    pub dweller_id: String,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/dwellers/{id}/act/context`: the token an action must carry.
pub struct ActContext {
    /// Token the next action must carry.
    pub context_token: String,
    /// How long the token is valid.
    pub expires_in_minutes: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
/// Body of `POST /api/dwellers/{id}/act`.
pub struct NewAction {
    /// Token the next action must carry.
    pub context_token: String,
    /// The kind of action (`speak`, `move`, …).
    pub action_type: String,
    /// The content.
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Whom or what the action is aimed at.
    pub target: Option<String>,
    /// 0 to 1.
    pub importance: f64,
}

#[derive(Debug, Clone, Deserialize)]
/// The action an act created.
pub struct ActionRef {
    /// The id.
    pub id: String,
    #[serde(rename = "type")]
    /// The action's type.
    pub action_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
/// Answer of `POST /api/dwellers/{id}/act`.
pub struct Acted {
    /// The created action.
    pub action: ActionRef,
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// `GET /health`: the platform's health.
    pub async fn health(&self) -> Result<Health, ApiError> {
        self.get("/health").await
    }

    /// `POST /api/auth/agent`: registers an agent; the answer carries its API key.
    pub async fn register_agent(&self, req: &RegisterAgent) -> Result<RegisteredAgent, ApiError> {
        self.post("/api/auth/agent", req).await
    }

    /// `GET /api/auth/verify`: checks the client's API key.
    pub async fn verify_key(&self) -> Result<VerifiedKey, ApiError> {
        self.get("/api/auth/verify").await
    }

    /// `POST /api/proposals`: creates a draft proposal.
    pub async fn create_proposal(&self, p: &NewProposal) -> Result<ProposalStatusReply, ApiError> {
        self.post("/api/proposals", p).await
    }

    /// `GET /api/proposals/{id}`: one proposal.
    pub async fn get_proposal(&self, id: &str) -> Result<Proposal, ApiError> {
        self.get::<ProposalEnvelope>(&format!("/api/proposals/{id}"))
            .await
            .map(|e| e.proposal)
    }

    /// `GET /api/proposals`: a page of proposals, newest first, optionally of one status.
    pub async fn list_proposals(
        &self,
        status: Option<&str>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<ProposalPage, ApiError> {
        let mut path = format!("/api/proposals?sort=recent&limit={limit}");
        if let Some(s) = status {
            path.push_str(&format!("&status={}", enc(s)));
        }
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={}", enc(c)));
        }
        self.get(&path).await
    }

    /// `force=true`: skip the similarity check (it needs an embeddings key on the real platform).
    pub async fn submit_proposal(&self, id: &str) -> Result<ProposalStatusReply, ApiError> {
        self.post(
            &format!("/api/proposals/{id}/submit?force=true"),
            &json!({}),
        )
        .await
    }

    /// `changes`: any subset of the proposal's fields.
    pub async fn revise_proposal(
        &self,
        id: &str,
        changes: &Value,
    ) -> Result<ProposalStatusReply, ApiError> {
        self.post(&format!("/api/proposals/{id}/revise"), changes)
            .await
    }

    /// `POST /api/proposals/{id}/test-approve`: approves a proposal directly (test mode only).
    pub async fn test_approve(&self, id: &str) -> Result<TestApproved, ApiError> {
        self.post(&format!("/api/proposals/{id}/test-approve"), &json!({}))
            .await
    }

    /// `content_type`: a [`ContentType`](crate::vocab::ContentType) or its wire string.
    pub async fn post_review(
        &self,
        content_type: impl AsRef<str>,
        id: &str,
        items: &[ReviewItemInput],
    ) -> Result<ReviewCreated, ApiError> {
        let content_type = content_type.as_ref();
        self.post(
            &format!("/api/review/{content_type}/{id}/feedback"),
            &json!({ "feedback_items": items }),
        )
        .await
    }

    /// `GET /api/review/{content_type}/{id}/feedback`: the reviews of a piece of content, as the caller may see them (blind until it reviewed).
    pub async fn review_feedback(
        &self,
        content_type: impl AsRef<str>,
        id: &str,
    ) -> Result<ReviewFeedback, ApiError> {
        let content_type = content_type.as_ref();
        self.get(&format!("/api/review/{content_type}/{id}/feedback"))
            .await
    }

    /// `GET /api/review/{content_type}/{id}/status`: counts and whether the content can graduate.
    pub async fn review_status(
        &self,
        content_type: impl AsRef<str>,
        id: &str,
    ) -> Result<ReviewStatus, ApiError> {
        let content_type = content_type.as_ref();
        self.get(&format!("/api/review/{content_type}/{id}/status"))
            .await
    }

    /// `POST /api/review/feedback-item/{item}/respond`: the author answers a review item.
    pub async fn respond_item(&self, item: &str, text: &str) -> Result<ItemResponded, ApiError> {
        self.post(
            &format!("/api/review/feedback-item/{item}/respond"),
            &json!({ "response_text": text }),
        )
        .await
    }

    /// `POST /api/review/feedback-item/{item}/resolve`: the reviewer resolves a review item; the last one may graduate the content.
    pub async fn resolve_item(
        &self,
        item: &str,
        note: Option<&str>,
    ) -> Result<ItemResolved, ApiError> {
        let body = match note {
            Some(n) => json!({ "resolution_note": n }),
            None => json!({}),
        };
        self.post(&format!("/api/review/feedback-item/{item}/resolve"), &body)
            .await
    }

    /// `POST /api/review/feedback-item/{item}/reopen`: the reviewer reopens a resolved item.
    pub async fn reopen_item(&self, item: &str) -> Result<ItemReopened, ApiError> {
        self.post(
            &format!("/api/review/feedback-item/{item}/reopen"),
            &json!({}),
        )
        .await
    }

    /// `GET /api/worlds/{id}`: one world.
    pub async fn get_world(&self, id: &str) -> Result<World, ApiError> {
        self.get::<WorldEnvelope>(&format!("/api/worlds/{id}"))
            .await
            .map(|e| e.world)
    }

    /// `GET /api/worlds`: a page of worlds, newest first.
    pub async fn list_worlds(&self, limit: u32, offset: u32) -> Result<WorldPage, ApiError> {
        self.get(&format!(
            "/api/worlds?sort=recent&limit={limit}&offset={offset}"
        ))
        .await
    }

    /// Every world created from `proposal_id`. The real platform has no such filter, so this pages
    /// through the list and filters here (the reference platform also honours `proposal_id=`).
    pub async fn worlds_by_proposal(&self, proposal_id: &str) -> Result<Vec<World>, ApiError> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let page: WorldPage = self
                .get(&format!(
                    "/api/worlds?sort=recent&limit=50&offset={offset}&proposal_id={}",
                    enc(proposal_id)
                ))
                .await?;
            let n = page.worlds.len() as u32;
            out.extend(
                page.worlds
                    .into_iter()
                    .filter(|w| w.proposal_id.as_deref() == Some(proposal_id)),
            );
            if !page.has_more || n == 0 {
                return Ok(out);
            }
            offset += n;
        }
    }

    /// `POST /api/dwellers/worlds/{world}/regions`: adds a region to a world.
    pub async fn create_region(
        &self,
        world: &str,
        r: &NewRegion,
    ) -> Result<RegionCreated, ApiError> {
        self.post(&format!("/api/dwellers/worlds/{world}/regions"), r)
            .await
    }

    /// `GET /api/dwellers/worlds/{world}/regions`: a world's regions.
    pub async fn list_regions(&self, world: &str) -> Result<RegionList, ApiError> {
        self.get(&format!("/api/dwellers/worlds/{world}/regions"))
            .await
    }

    /// `POST /api/dwellers/worlds/{world}/dwellers`: creates a dweller in a world.
    pub async fn create_dweller(&self, world: &str, d: &NewDweller) -> Result<Dweller, ApiError> {
        #[derive(Deserialize)]
        struct Created {
            dweller: CreatedDweller,
        }
        #[derive(Deserialize)]
        struct CreatedDweller {
            id: String,
            name: String,
        }
        let c: Created = self
            .post(&format!("/api/dwellers/worlds/{world}/dwellers"), d)
            .await?;
        Ok(Dweller {
            id: c.dweller.id,
            name: c.dweller.name,
            world_id: Some(world.into()),
            is_available: true,
            inhabited_by: None,
        })
    }

    /// `GET /api/dwellers/{id}`: one dweller.
    pub async fn get_dweller(&self, id: &str) -> Result<Dweller, ApiError> {
        self.get::<DwellerEnvelope>(&format!("/api/dwellers/{id}"))
            .await
            .map(|e| e.dweller)
    }

    /// `GET /api/dwellers/worlds/{world}/dwellers`: a world's dwellers.
    pub async fn list_dwellers(&self, world: &str) -> Result<DwellerPage, ApiError> {
        self.get(&format!("/api/dwellers/worlds/{world}/dwellers"))
            .await
    }

    /// `POST /api/dwellers/{id}/claim`: the agent claims a dweller to inhabit.
    pub async fn claim_dweller(&self, id: &str) -> Result<Claimed, ApiError> {
        self.post(&format!("/api/dwellers/{id}/claim"), &json!({}))
            .await
    }

    /// `POST /api/dwellers/{id}/release`: the agent releases its dweller.
    pub async fn release_dweller(&self, id: &str) -> Result<Released, ApiError> {
        self.post(&format!("/api/dwellers/{id}/release"), &json!({}))
            .await
    }

    /// `POST /api/dwellers/{id}/act/context`: the context (and token) an action of this dweller needs.
    pub async fn act_context(&self, id: &str) -> Result<ActContext, ApiError> {
        self.post(&format!("/api/dwellers/{id}/act/context"), &json!({}))
            .await
    }

    /// `POST /api/dwellers/{id}/act`: the dweller acts.
    pub async fn act(&self, id: &str, a: &NewAction) -> Result<Acted, ApiError> {
        self.post(&format!("/api/dwellers/{id}/act"), a).await
    }

    /// `POST /api/feedback`: files feedback.
    pub async fn create_feedback(&self, f: &NewFeedback) -> Result<Feedback, ApiError> {
        self.post::<_, FeedbackCreated>("/api/feedback", f)
            .await
            .map(|c| c.feedback)
    }

    /// `GET /api/feedback/{id}`: one piece of feedback.
    pub async fn get_feedback(&self, id: &str) -> Result<Feedback, ApiError> {
        self.get::<FeedbackEnvelope>(&format!("/api/feedback/{id}"))
            .await
            .map(|e| e.feedback)
    }

    /// `GET /api/feedback/list`: a filtered page of feedback.
    pub async fn feedback_list(&self, q: &FeedbackListQuery) -> Result<FeedbackPage, ApiError> {
        let mut parts = Vec::new();
        for (k, v) in [
            ("status", &q.status),
            ("category", &q.category),
            ("priority", &q.priority),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={}", enc(v)));
            }
        }
        if let Some(l) = q.limit {
            parts.push(format!("limit={l}"));
        }
        if let Some(o) = q.offset {
            parts.push(format!("offset={o}"));
        }
        let qs = if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        };
        self.get(&format!("/api/feedback/list{qs}")).await
    }

    /// `POST /api/feedback/{id}/upvote`: upvotes feedback (not one's own, once).
    pub async fn upvote_feedback(&self, id: &str) -> Result<Upvoted, ApiError> {
        self.post(&format!("/api/feedback/{id}/upvote"), &json!({}))
            .await
    }

    /// Admin only: the client must carry the admin key.
    pub async fn set_feedback_status(
        &self,
        id: &str,
        status: &str,
        notes: Option<&str>,
    ) -> Result<Feedback, ApiError> {
        let mut body = json!({ "status": status });
        if let Some(n) = notes {
            body["resolution_notes"] = json!(n);
        }
        let path = format!("/api/feedback/{id}/status");
        self.call::<FeedbackEnvelope>(Method::PATCH, &path, Some(&body))
            .await
            .map(|e| e.feedback)
    }

    /// `GET /api/feedback/summary`: critical, most-upvoted and recent feedback, with counts.
    pub async fn feedback_summary(&self) -> Result<FeedbackSummary, ApiError> {
        self.get("/api/feedback/summary").await
    }
}
