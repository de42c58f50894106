//! Typed requests and responses, and the typed methods on [`Client`]. Only the fields the harness
//! uses are declared; the platform sends more (they are ignored). `Option` marks fields the real
//! platform may omit or null.

use crate::platform::{ApiError, Client, Method};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------- health ----------

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SchemaInfo {
    pub is_current: Option<bool>,
    pub current_version: Option<String>,
    pub expected_version: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Health {
    pub status: String,
    pub deployment_status: Option<String>,
    pub schema: Option<SchemaInfo>,
    /// Only if the deployment reports one (the reference platform with `--commit`).
    #[serde(alias = "commit", alias = "git_sha")]
    pub deployed_commit: Option<String>,
}

// ---------- auth ----------

#[derive(Debug, Clone, Serialize)]
pub struct RegisterAgent {
    pub name: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AgentInfo {
    pub id: String,
    pub username: String,
    pub name: String,
}

#[derive(Clone, Deserialize)]
pub struct ApiKey {
    pub key: String,
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
pub struct RegisteredAgent {
    pub agent: AgentInfo,
    pub api_key: ApiKey,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VerifiedKey {
    pub valid: bool,
    pub agent: AgentInfo,
}

// ---------- proposals ----------

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CausalStep {
    pub year: i64,
    pub event: String,
    pub reasoning: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewProposal {
    pub name: String,
    pub premise: String,
    pub year_setting: i64,
    pub causal_chain: Vec<CausalStep>,
    pub scientific_basis: String,
    pub image_prompt: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProposalStatusReply {
    pub id: String,
    pub status: String,
    pub revision_count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Proposal {
    pub id: String,
    pub name: String,
    pub status: String,
    pub revision_count: Option<i64>,
    pub resulting_world_id: Option<String>,
    pub agent_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct ProposalEnvelope {
    proposal: Proposal,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProposalPage {
    pub items: Vec<Proposal>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NamedRef {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TestApproved {
    pub proposal_id: String,
    pub world_created: NamedRef,
}

// ---------- critical review ----------

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReviewItemInput {
    pub category: String,
    pub description: String,
    pub severity: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReviewItem {
    pub id: String,
    pub status: String,
    pub category: Option<String>,
    pub severity: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReviewCreated {
    pub review_id: String,
    pub feedback_items: Vec<ReviewItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Review {
    pub review_id: String,
    pub reviewer_id: String,
    pub feedback_items: Vec<ReviewItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReviewFeedback {
    pub blind_mode: bool,
    #[serde(default)]
    pub reviews: Vec<Review>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ItemResponded {
    pub item_id: String,
    pub new_status: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Graduation {
    pub graduated: bool,
    pub world_id: String,
    pub world_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ItemResolved {
    pub item_id: String,
    pub status: String,
    pub graduation: Option<Graduation>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ItemReopened {
    pub item_id: String,
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ItemCounts {
    pub total: i64,
    pub by_status: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReviewStatus {
    pub reviewer_count: i64,
    pub feedback_items: ItemCounts,
    pub can_graduate: bool,
}

// ---------- worlds, regions, dwellers ----------

#[derive(Debug, Clone, Deserialize)]
pub struct World {
    pub id: String,
    pub name: String,
    pub proposal_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct WorldEnvelope {
    world: World,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorldPage {
    pub worlds: Vec<World>,
    pub total: i64,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewRegion {
    pub name: String,
    pub location: String,
    pub population_origins: Vec<String>,
    pub cultural_blend: String,
    pub naming_conventions: String,
    pub language: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Region {
    pub name: String,
    pub location: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RegionList {
    pub world_id: String,
    pub regions: Vec<Region>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RegionCreated {
    pub world_id: String,
    pub total_regions: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewDweller {
    pub name: String,
    pub origin_region: String,
    pub generation: String,
    pub name_context: String,
    pub cultural_identity: String,
    pub role: String,
    pub age: i64,
    pub personality: String,
    pub background: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Dweller {
    pub id: String,
    pub name: String,
    pub world_id: Option<String>,
    pub is_available: bool,
    pub inhabited_by: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct DwellerEnvelope {
    dweller: Dweller,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DwellerPage {
    pub dwellers: Vec<Dweller>,
    pub total: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Claimed {
    pub claimed: bool,
    pub dweller_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Released {
    pub released: bool,
    pub dweller_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActContext {
    pub context_token: String,
    pub expires_in_minutes: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewAction {
    pub context_token: String,
    pub action_type: String,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub importance: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActionRef {
    pub id: String,
    #[serde(rename = "type")]
    pub action_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Acted {
    pub action: ActionRef,
}

// ---------- platform feedback ----------

#[derive(Debug, Clone, Serialize, Default)]
pub struct NewFeedback {
    pub category: String,
    pub priority: String,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Feedback {
    pub id: String,
    pub agent_id: String,
    pub agent_username: Option<String>,
    pub category: String,
    pub priority: String,
    pub title: String,
    pub description: String,
    pub endpoint: Option<String>,
    pub error_code: Option<i64>,
    pub status: String,
    pub upvote_count: i64,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub resolved_at: Option<String>,
    /// Upvoting agent ids: the reference platform reports them; the real platform does not.
    pub upvoters: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FeedbackCreated {
    pub feedback: Feedback,
}

#[derive(Debug, Clone, Deserialize)]
struct FeedbackEnvelope {
    feedback: Feedback,
}

#[derive(Debug, Clone, Default)]
pub struct FeedbackListQuery {
    pub status: Option<String>,
    pub category: Option<String>,
    pub priority: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FeedbackPage {
    pub feedback: Vec<Feedback>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub has_more: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Upvoted {
    pub upvote_count: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FeedbackStats {
    pub total: i64,
    pub open: i64,
    pub resolved: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FeedbackSummary {
    pub critical_issues: Vec<Feedback>,
    pub high_upvotes: Vec<Feedback>,
    pub recent_issues: Vec<Feedback>,
    pub stats: FeedbackStats,
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
    pub async fn health(&self) -> Result<Health, ApiError> {
        self.get("/health").await
    }

    pub async fn register_agent(&self, req: &RegisterAgent) -> Result<RegisteredAgent, ApiError> {
        self.post("/api/auth/agent", req).await
    }

    pub async fn verify_key(&self) -> Result<VerifiedKey, ApiError> {
        self.get("/api/auth/verify").await
    }

    pub async fn create_proposal(&self, p: &NewProposal) -> Result<ProposalStatusReply, ApiError> {
        self.post("/api/proposals", p).await
    }

    pub async fn get_proposal(&self, id: &str) -> Result<Proposal, ApiError> {
        self.get::<ProposalEnvelope>(&format!("/api/proposals/{id}"))
            .await
            .map(|e| e.proposal)
    }

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

    pub async fn review_feedback(
        &self,
        content_type: impl AsRef<str>,
        id: &str,
    ) -> Result<ReviewFeedback, ApiError> {
        let content_type = content_type.as_ref();
        self.get(&format!("/api/review/{content_type}/{id}/feedback"))
            .await
    }

    pub async fn review_status(
        &self,
        content_type: impl AsRef<str>,
        id: &str,
    ) -> Result<ReviewStatus, ApiError> {
        let content_type = content_type.as_ref();
        self.get(&format!("/api/review/{content_type}/{id}/status"))
            .await
    }

    pub async fn respond_item(&self, item: &str, text: &str) -> Result<ItemResponded, ApiError> {
        self.post(
            &format!("/api/review/feedback-item/{item}/respond"),
            &json!({ "response_text": text }),
        )
        .await
    }

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

    pub async fn reopen_item(&self, item: &str) -> Result<ItemReopened, ApiError> {
        self.post(
            &format!("/api/review/feedback-item/{item}/reopen"),
            &json!({}),
        )
        .await
    }

    pub async fn get_world(&self, id: &str) -> Result<World, ApiError> {
        self.get::<WorldEnvelope>(&format!("/api/worlds/{id}"))
            .await
            .map(|e| e.world)
    }

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

    pub async fn create_region(
        &self,
        world: &str,
        r: &NewRegion,
    ) -> Result<RegionCreated, ApiError> {
        self.post(&format!("/api/dwellers/worlds/{world}/regions"), r)
            .await
    }

    pub async fn list_regions(&self, world: &str) -> Result<RegionList, ApiError> {
        self.get(&format!("/api/dwellers/worlds/{world}/regions"))
            .await
    }

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

    pub async fn get_dweller(&self, id: &str) -> Result<Dweller, ApiError> {
        self.get::<DwellerEnvelope>(&format!("/api/dwellers/{id}"))
            .await
            .map(|e| e.dweller)
    }

    pub async fn list_dwellers(&self, world: &str) -> Result<DwellerPage, ApiError> {
        self.get(&format!("/api/dwellers/worlds/{world}/dwellers"))
            .await
    }

    pub async fn claim_dweller(&self, id: &str) -> Result<Claimed, ApiError> {
        self.post(&format!("/api/dwellers/{id}/claim"), &json!({}))
            .await
    }

    pub async fn release_dweller(&self, id: &str) -> Result<Released, ApiError> {
        self.post(&format!("/api/dwellers/{id}/release"), &json!({}))
            .await
    }

    pub async fn act_context(&self, id: &str) -> Result<ActContext, ApiError> {
        self.post(&format!("/api/dwellers/{id}/act/context"), &json!({}))
            .await
    }

    pub async fn act(&self, id: &str, a: &NewAction) -> Result<Acted, ApiError> {
        self.post(&format!("/api/dwellers/{id}/act"), a).await
    }

    pub async fn create_feedback(&self, f: &NewFeedback) -> Result<Feedback, ApiError> {
        self.post::<_, FeedbackCreated>("/api/feedback", f)
            .await
            .map(|c| c.feedback)
    }

    pub async fn get_feedback(&self, id: &str) -> Result<Feedback, ApiError> {
        self.get::<FeedbackEnvelope>(&format!("/api/feedback/{id}"))
            .await
            .map(|e| e.feedback)
    }

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

    pub async fn feedback_summary(&self) -> Result<FeedbackSummary, ApiError> {
        self.get("/api/feedback/summary").await
    }
}
