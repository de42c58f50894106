//! Builds and sends the request of each core-rule transition, and records the server ids of what
//! a successful step created (the model names entities by index; the platform by id).

use super::{Driver, Request};
use crate::invariants::{Failure, Invariant};
use crate::model::review::Reviewed;
use crate::model::{self, PStatus, State, Transition};
use api_client::Method;
use serde_json::{Value, json};

pub(super) const CATS: [&str; 3] = ["causal_gap", "timeline", "other"];

pub(super) fn text(len: usize, seed_word: &str) -> String {
    let base = format!("{seed_word} observes tidal machinery and notes how the rafts drift. ");
    base.chars().cycle().take(len).collect()
}

impl Driver {
    /// Builds and sends the request of `t` in model state `st`. `None`: not sendable here (a fault
    /// step, or an admin step without an admin key).
    pub(crate) async fn request(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<Option<api_client::RawResponse>, Failure> {
        use Transition::*;
        let p = &self.prefix;
        Ok(Some(match *t {
            RegisterAgent => {
                let n = self.agents.len();
                let body =
                    json!({"name": format!("{p} agent {n}"), "username": format!("{p}-a{n}")});
                self.send(&self.anon, Method::POST, "/api/auth/agent", Some(body))
                    .await?
            }
            CreateProposal { actor, name_len } => {
                let mut body =
                    serde_json::to_value(api_client::fixtures::proposal("x")).unwrap_or_default();
                body["name"] = json!(
                    format!("{p} {}", "n".repeat(60))
                        .chars()
                        .take(name_len)
                        .collect::<String>()
                );
                self.send(
                    self.agent(actor),
                    Method::POST,
                    "/api/proposals",
                    Some(body),
                )
                .await?
            }
            SubmitProposal { actor, proposal } => {
                let path = format!(
                    "/api/proposals/{}/submit?force=true",
                    self.proposals[proposal]
                );
                self.send(self.agent(actor), Method::POST, &path, Some(json!({})))
                    .await?
            }
            PostReview {
                actor,
                proposal,
                items,
                desc_len,
            } => {
                let list: Vec<Value> = (0..items)
                    .map(|i| json!({"category": CATS[i % 3], "description": text(desc_len, "Reviewer"), "severity": "important"}))
                    .collect();
                let path = format!("/api/review/proposal/{}/feedback", self.proposals[proposal]);
                self.send(
                    self.agent(actor),
                    Method::POST,
                    &path,
                    Some(json!({"feedback_items": list})),
                )
                .await?
            }
            RespondItem {
                actor,
                proposal,
                item,
                text_len,
            } => {
                let path = format!(
                    "/api/review/feedback-item/{}/respond",
                    self.items[proposal][item]
                );
                self.send(
                    self.agent(actor),
                    Method::POST,
                    &path,
                    Some(json!({"response_text": text(text_len, "Proposer")})),
                )
                .await?
            }
            ReviseProposal { actor, proposal } => {
                let path = format!("/api/proposals/{}/revise", self.proposals[proposal]);
                let body = json!({"premise": text(80, &format!("Revision {} of", st.step))});
                self.send(self.agent(actor), Method::POST, &path, Some(body))
                    .await?
            }
            ResolveItem {
                actor,
                proposal,
                item,
            } => {
                self.item_action(Reviewed::Proposal, actor, (proposal, item), "resolve")
                    .await?
            }
            _ if model::review::is_followup(t) => return self.request_review(st, t).await,
            CreateRegion { .. }
            | CreateDweller { .. }
            | ClaimDweller { .. }
            | ReleaseDweller { .. }
            | TakeAction { .. } => return self.request_dwellers(st, t).await,
            PostAction { .. }
            | ConfirmImportance { .. }
            | EscalateAction { .. }
            | NominateAction { .. } => self.request_actions(st, t).await?,
            SubmitFeedback { actor, title_len } => {
                let mut body =
                    serde_json::to_value(api_client::fixtures::feedback("x")).unwrap_or_default();
                body["title"] = json!(
                    format!("{p} {}", "t".repeat(300))
                        .chars()
                        .take(title_len)
                        .collect::<String>()
                );
                self.send(self.agent(actor), Method::POST, "/api/feedback", Some(body))
                    .await?
            }
            UpvoteFeedback { actor, feedback } => {
                let path = format!("/api/feedback/{}/upvote", self.feedback[feedback]);
                self.send(self.agent(actor), Method::POST, &path, Some(json!({})))
                    .await?
            }
            AdminFeedbackStatus { feedback, to } => {
                let Some(admin) = self.admin.clone() else {
                    return Ok(None);
                };
                let path = format!("/api/feedback/{}/status", self.feedback[feedback]);
                let mut body = json!({"status": to.as_str()});
                if to.terminal() {
                    body["resolution_notes"] = json!("Handled by the simulation.");
                }
                self.send(&admin, Method::PATCH, &path, Some(body)).await?
            }
            SuggestRevision { .. }
            | AcceptSuggestion { .. }
            | RejectSuggestion { .. }
            | UpvoteSuggestion { .. }
            | WithdrawSuggestion { .. } => return self.request_suggestions(st, t).await,
            // fault steps are driven by `Driver::apply_fault`
            Fault { .. } => return Ok(None),
            _ if model::memory::is_memory(t) => return self.request_memory(st, t).await,
            _ if model::dweller_proposals::is_dp(t) => return self.request_dp(st, t).await,
            _ if model::social::is_social(t) => self.request_social(st, t).await?,
            _ => return self.request_world(st, t).await.map(Some),
        }))
    }

    /// Regions, dwellers, claims and the two-phase act.
    async fn request_dwellers(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<Option<api_client::RawResponse>, Failure> {
        use Transition::*;
        Ok(Some(match *t {
            CreateRegion { actor, world } => {
                let name = model::concurrency::region_name(st, world);
                let body =
                    serde_json::to_value(api_client::fixtures::region(&name)).unwrap_or_default();
                let path = format!("/api/dwellers/worlds/{}/regions", self.worlds[world]);
                self.send(self.agent(actor), Method::POST, &path, Some(body))
                    .await?
            }
            CreateDweller { actor, world } => {
                let n = st.dwellers.len();
                // the world's oldest region the driver knows of ("Region 0" unless a lost
                // update dropped it)
                let origin = self
                    .regions
                    .get(world)
                    .and_then(|r| r.first())
                    .map_or("Region 0", String::as_str);
                let body = serde_json::to_value(api_client::fixtures::dweller(
                    &format!("Dweller {n}"),
                    origin,
                ))
                .unwrap_or_default();
                let path = format!("/api/dwellers/worlds/{}/dwellers", self.worlds[world]);
                self.send(self.agent(actor), Method::POST, &path, Some(body))
                    .await?
            }
            ClaimDweller { actor, dweller } => {
                let path = format!("/api/dwellers/{}/claim", self.dwellers[dweller]);
                self.send(self.agent(actor), Method::POST, &path, Some(json!({})))
                    .await?
            }
            ReleaseDweller { actor, dweller } => {
                let path = format!("/api/dwellers/{}/release", self.dwellers[dweller]);
                self.send(self.agent(actor), Method::POST, &path, Some(json!({})))
                    .await?
            }
            TakeAction {
                dweller,
                content_len,
            } => {
                let holder = st.dwellers[dweller].holder.unwrap_or(0);
                let who = self.agent(holder).clone();
                let id = self.dwellers[dweller].clone();
                let ctx = self
                    .send(
                        &who,
                        Method::POST,
                        &format!("/api/dwellers/{id}/act/context"),
                        Some(json!({})),
                    )
                    .await?;
                let Some(token) = ctx.body.get("context_token").and_then(Value::as_str) else {
                    return Err(self.violation(
                        Invariant::ModelAgreement,
                        format!(
                            "act/context answered {} without a context_token",
                            ctx.status
                        ),
                    ));
                };
                let body = json!({"context_token": token, "action_type": "observe", "content": text(content_len, "Dweller"), "importance": 0.4});
                self.send(
                    &who,
                    Method::POST,
                    &format!("/api/dwellers/{id}/act"),
                    Some(body),
                )
                .await?
            }
            _ => return Ok(None),
        }))
    }

    /// Records server ids of what a successful step created.
    pub(crate) fn remember(&mut self, st: &State, t: &Transition, body: &Value) {
        use Transition::*;
        let s = |ptr: &str| {
            body.pointer(ptr)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match *t {
            RegisterAgent => {
                let key = s("/api_key/key");
                self.agents
                    .push((self.anon.with_api_key(&key), s("/agent/id")));
            }
            CreateProposal { .. } => {
                self.proposals.push(s("/id"));
                self.items.push(Vec::new());
            }
            PostReview { proposal, .. } => {
                self.remember_items(Reviewed::Proposal, proposal, body, "feedback_items")
            }
            _ if model::review::is_followup(t) => self.remember_added(t, body),
            ResolveItem { proposal, .. } => {
                let after = model::step(st.clone(), t);
                if after.proposals[proposal].status == PStatus::Approved
                    && after.worlds.len() > self.worlds.len()
                {
                    self.worlds.push(s("/graduation/world_id"));
                    self.regions.push(Vec::new());
                }
            }
            CreateRegion { world, .. } => {
                let name = model::concurrency::region_name(st, world);
                if let Some(r) = self.regions.get_mut(world) {
                    r.push(name);
                }
            }
            CreateDweller { .. } => self.dwellers.push(s("/dweller/id")),
            SubmitFeedback { .. } => self.feedback.push(s("/feedback/id")),
            PostAction { .. } | EscalateAction { .. } => self.remember_action(t, body),
            SuggestRevision { .. } => self.remember_suggestion(t, body),
            _ if model::dweller_proposals::is_dp(t) => self.remember_dp(t, body),
            _ => self.remember_world(t, body),
        }
    }

    /// Builds the requests of `ts` (each against `st`) with the ordinary builders, without sending.
    pub(super) async fn capture_requests(
        &mut self,
        st: &State,
        ts: &[Transition],
    ) -> Result<Vec<Request>, Failure> {
        let mut out = Vec::new();
        for t in ts {
            *self.capture.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
            let r = self.request(st, t).await;
            let cap = self
                .capture
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or_default();
            r?;
            let actor = actor_of(t);
            out.extend(cap.into_iter().map(|r| Request { actor, ..r }));
        }
        Ok(out)
    }
}

/// The model agent that sends `t`'s request, where a fault records it.
pub(super) fn actor_of(t: &Transition) -> Option<usize> {
    match *t {
        Transition::CreateProposal { actor, .. }
        | Transition::SubmitFeedback { actor, .. }
        | Transition::UpvoteFeedback { actor, .. }
        | Transition::ClaimDweller { actor, .. }
        | Transition::SubmitProposal { actor, .. }
        | Transition::ReviewStory { actor, .. }
        | Transition::RespondStoryReview { actor, .. }
        | Transition::ReviseStory { actor, .. }
        | Transition::ReactStory { actor, .. }
        | Transition::ReactWorld { actor, .. }
        | Transition::FollowWorld { actor, .. }
        | Transition::CommentOn { actor, .. }
        | Transition::ApproveEvent { actor, .. }
        | Transition::RejectEvent { actor, .. }
        | Transition::ConfirmImportance { actor, .. }
        | Transition::EscalateAction { actor, .. } => Some(actor),
        _ => None,
    }
}
