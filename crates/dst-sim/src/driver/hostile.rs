//! Sends the hostile-values probes (`model/hostile.rs`): each request must be answered below 500
//! (a 5xx is a `7-no-5xx` violation). Stored-text cases are sent by a probe agent outside the
//! model, on its own draft, so they never touch an entity the model predicts.

use super::probes::closing;
use super::requests::text;
use super::{Driver, server_error, str_at};
use crate::invariants::{Failure, Invariant};
use crate::model::probes::HostileCase;
use api_client::{Client, Method, RawResponse};
use serde_json::json;

/// 10^20: past every 64-bit paging column (the real platform's offsets have no upper bound).
const HUGE: &str = "100000000000000000000";

/// The agent outside the model that sends the NUL-byte probes, with its own draft proposal: what
/// it creates never touches an entity the model predicts.
pub(crate) struct ProbeAgent {
    pub(super) client: Client,
    proposal: String,
}

impl Driver {
    /// One hostile request; `send` turns a 5xx into a `7-no-5xx` violation.
    pub(super) async fn probe_hostile(&mut self, c: HostileCase) -> Result<(), Failure> {
        use HostileCase::*;
        let get = match c {
            ProposalsLimitNegative => "/api/proposals?limit=-1".to_string(),
            ProposalsLimitZero => "/api/proposals?limit=0".to_string(),
            ProposalsLimitHuge => format!("/api/proposals?limit={HUGE}"),
            ProposalsLimitText => "/api/proposals?limit=abc".to_string(),
            ProposalsCursorText => "/api/proposals?cursor=not-a-cursor".to_string(),
            ProposalsCursorUnknown => {
                "/api/proposals?cursor=00000000-0000-4000-8000-000000000000".to_string()
            }
            ProposalsStatusBad => "/api/proposals?status=bogus".to_string(),
            WorldsOffsetNegative => "/api/worlds?offset=-1".to_string(),
            WorldsOffsetHuge => format!("/api/worlds?offset={HUGE}"),
            WorldsLimitHuge => format!("/api/worlds?limit={HUGE}"),
            WorldsLimitText => "/api/worlds?limit=abc".to_string(),
            StoriesOffsetNegative => "/api/stories?offset=-1".to_string(),
            StoriesOffsetHuge => format!("/api/stories?offset={HUGE}"),
            StoriesLimitZero => "/api/stories?limit=0".to_string(),
            StoriesWorldIdBad => "/api/stories?world_id=not-a-uuid".to_string(),
            FeedbackListLimitNegative => "/api/feedback/list?limit=-1".to_string(),
            FeedbackListOffsetNegative => "/api/feedback/list?offset=-1".to_string(),
            FeedbackListOffsetHuge => format!("/api/feedback/list?offset={HUGE}"),
            FeedbackListStatusBad => "/api/feedback/list?status=bogus".to_string(),
            ProposalIdBad => "/api/proposals/not-a-uuid".to_string(),
            WorldIdBad => "/api/worlds/not-a-uuid".to_string(),
            DwellerIdBad => "/api/dwellers/not-a-uuid".to_string(),
            EventsStatusBad => format!(
                "/api/events/worlds/{}/events?status=bogus",
                self.world_id(0)
            ),
            AspectsStatusBad => {
                format!(
                    "/api/aspects/worlds/{}/aspects?status=bogus",
                    self.world_id(0)
                )
            }
            DwellersAvailableBad => format!(
                "/api/dwellers/worlds/{}/dwellers?available_only=maybe",
                self.world_id(0)
            ),
            AgentsLimitNegative => "/api/agents?limit=-1".to_string(),
            AgentsOffsetNegative => "/api/agents?offset=-1".to_string(),
            AgentsOffsetHuge => format!("/api/agents?offset={HUGE}"),
            ChangelogLimitNegative => "/api/feedback/changelog?limit=-1".to_string(),
            ChangelogLimitText => "/api/feedback/changelog?limit=abc".to_string(),
            DwellerProposalsCursorText => "/api/dweller-proposals?cursor=not-a-cursor".to_string(),
            DwellerProposalsWorldIdBad => "/api/dweller-proposals?world_id=not-a-uuid".to_string(),
            EscalationEligibleOffsetHuge => format!(
                "/api/actions/worlds/{}/escalation-eligible?offset={HUGE}",
                self.world_id(0)
            ),
            NotificationsOffsetHuge | FollowingOffsetHuge => return self.probe_keyed_get(c).await,
            FeedbackTitleNul | FeedbackDescriptionNul | ProposalPremiseNul | ProposalNameNul => {
                return self.probe_nul(c).await;
            }
            FeedbackTitleSurrogate
            | FeedbackDescriptionSurrogate
            | ProposalNameSurrogate
            | ProposalPremiseSurrogate => return self.probe_surrogate(c).await,
            TestApproveYearText => return self.probe_timeline_year_text().await,
        };
        let anon = closing(&self.anon);
        self.send(&anon, Method::GET, &get, None).await?;
        Ok(())
    }

    /// A read that needs a key, sent by the probe agent (its notifications and follows are its own,
    /// so nothing the model predicts is read or changed).
    async fn probe_keyed_get(&mut self, c: HostileCase) -> Result<(), Failure> {
        let Some(agent) = self.probe_agent().await? else {
            return Ok(());
        };
        let path = if c == HostileCase::NotificationsOffsetHuge {
            format!("/api/notifications/history?offset={HUGE}")
        } else {
            format!("/api/social/following?offset={HUGE}")
        };
        self.send(&closing(&agent.client), Method::GET, &path, None)
            .await?;
        self.probe_agent = Some(agent);
        Ok(())
    }

    /// Stored text with a NUL byte, sent by the probe agent (registered on first use).
    async fn probe_nul(&mut self, c: HostileCase) -> Result<(), Failure> {
        let Some(agent) = self.probe_agent().await? else {
            return Ok(());
        };
        let (path, body) = match c {
            HostileCase::FeedbackTitleNul | HostileCase::FeedbackDescriptionNul => {
                let mut body =
                    serde_json::to_value(api_client::fixtures::feedback("x")).unwrap_or_default();
                if c == HostileCase::FeedbackTitleNul {
                    body["title"] = json!("Probe title \u{0} with a NUL");
                } else {
                    body["description"] =
                        json!("A description that carries a NUL byte \u{0} in its middle.");
                }
                ("/api/feedback".to_string(), body)
            }
            HostileCase::ProposalPremiseNul => (
                format!("/api/proposals/{}/revise", agent.proposal),
                json!({"premise": format!("{} \u{0} {}", text(40, "Nul"), text(40, "byte"))}),
            ),
            _ => (
                format!("/api/proposals/{}/revise", agent.proposal),
                json!({"name": "Nul \u{0} name"}),
            ),
        };
        self.send(&closing(&agent.client), Method::POST, &path, Some(body))
            .await?;
        self.probe_agent = Some(agent);
        Ok(())
    }

    /// Stored text with a lone surrogate escape, sent by the probe agent as raw JSON text (no
    /// `serde_json::Value` can hold one). A server that decodes JSON strictly refuses the body (4xx);
    /// one that echoes the undecodable input into its error answer may fail to encode it (5xx).
    async fn probe_surrogate(&mut self, c: HostileCase) -> Result<(), Failure> {
        let Some(agent) = self.probe_agent().await? else {
            return Ok(());
        };
        // the body without its surrogate field, which is spliced in as raw text below
        let (path, mut body, field, escape) = match c {
            HostileCase::FeedbackTitleSurrogate | HostileCase::FeedbackDescriptionSurrogate => {
                let body =
                    serde_json::to_value(api_client::fixtures::feedback("x")).unwrap_or_default();
                let (field, escape) = if c == HostileCase::FeedbackTitleSurrogate {
                    ("title", "Probe title \\ud800 lone")
                } else {
                    (
                        "description",
                        "A description that carries a lone \\udfff low surrogate.",
                    )
                };
                ("/api/feedback".to_string(), body, field, escape)
            }
            HostileCase::ProposalNameSurrogate => (
                format!("/api/proposals/{}/revise", agent.proposal),
                json!({}),
                "name",
                "Lone \\ud800 name",
            ),
            _ => (
                format!("/api/proposals/{}/revise", agent.proposal),
                json!({}),
                "premise",
                "A premise with a lone low surrogate \\udfff in the middle of its text, long enough.",
            ),
        };
        if let Some(o) = body.as_object_mut() {
            o.remove(field);
        }
        let rest = body.to_string();
        let rest = rest.trim_start_matches('{').trim_end_matches('}');
        let sep = if rest.is_empty() { "" } else { ", " };
        let raw = format!(r#"{{"{field}": "{escape}"{sep}{rest}}}"#);
        self.send_text(&closing(&agent.client), Method::POST, &path, &raw)
            .await?;
        self.probe_agent = Some(agent);
        Ok(())
    }

    /// `json_text` as the body, byte for byte; a 5xx is a `7-no-5xx` violation (as `send`'s).
    pub(super) async fn send_text(
        &self,
        who: &Client,
        method: Method,
        path: &str,
        json_text: &str,
    ) -> Result<RawResponse, Failure> {
        match who.send_raw_json_text(method, path, json_text).await {
            Ok(r) if r.status >= 500 => Err(self.violation(
                Invariant::No5xx,
                format!("{path} answered {}", server_error(r.status, &r.text)),
            )),
            Ok(r) => Ok(r),
            Err(e) => Err(self.unreachable(path, e)),
        }
    }

    /// The probe agent and its draft proposal, registered on first use (`None`: registration or
    /// the draft was refused, so the NUL probes of this seed are skipped).
    pub(super) async fn probe_agent(&mut self) -> Result<Option<ProbeAgent>, Failure> {
        if let Some(a) = self.probe_agent.take() {
            return Ok(Some(a));
        }
        let p = self.prefix.clone();
        let body = json!({"name": format!("{p} probe"), "username": format!("{p}-probe")});
        let anon = self.anon.clone();
        let r = self
            .send(&anon, Method::POST, "/api/auth/agent", Some(body))
            .await?;
        let Some(key) = str_at(&r.body, "/api_key/key") else {
            return Ok(None);
        };
        let client = self.anon.with_api_key(key);
        let mut body =
            serde_json::to_value(api_client::fixtures::proposal("x")).unwrap_or_default();
        body["name"] = json!(format!("{p} probe"));
        let r = self
            .send(&client, Method::POST, "/api/proposals", Some(body))
            .await?;
        let Some(proposal) = str_at(&r.body, "/id").map(str::to_string) else {
            return Ok(None);
        };
        Ok(Some(ProbeAgent { client, proposal }))
    }
}
