//! Sends the generic probes (`model/probes.rs`) and checks their answers: the authorization
//! matrix (16), validation parity (17), hostile values (7: never a 5xx) and second write paths
//! (18). An authorization or parity probe's answer also goes through the ordinary prediction check
//! (the exact refusal status); hostile and second-path steps answer Ok when every request passed.

use super::requests::text;
use super::{Driver, short, str_at};
use crate::invariants::{Failure, Invariant};
use crate::model::probes::{
    AuthzCase, AuthzOp, HostileCase, ParityCase, SecondPathCase, authz_expect, authz_inner,
};
use crate::model::{Expect, State, Transition};
use api_client::{Client, Method, RawResponse};
use serde_json::{Value, json};

/// 10^20: past every 64-bit paging column (the real platform's offsets have no upper bound).
const HUGE: &str = "100000000000000000000";

/// The agent outside the model that sends the NUL-byte probes, with its own draft proposal: what
/// it creates never touches an entity the model predicts.
pub(crate) struct ProbeAgent {
    client: Client,
    proposal: String,
}

/// The answer a probe step that passed stands for (its real exchanges are in the trace).
fn passed() -> RawResponse {
    RawResponse {
        status: 200,
        replayed: false,
        body: Value::Null,
        text: String::new(),
    }
}

/// The ordinary revise a parity case's accepted request amounts to.
fn parity_revise(case: ParityCase, actor: usize, target: usize) -> Transition {
    use ParityCase::*;
    match case {
        ProposalNameEmpty | ProposalNameLong | ProposalPremiseShort | ProposalChainShort
        | ProposalImageLong => Transition::ReviseProposal {
            actor,
            proposal: target,
        },
        AspectTitleShort | AspectPremiseShort => Transition::ReviseAspect {
            actor,
            aspect: target,
        },
        StoryTitleLong | StoryContentShort => Transition::ReviseStory {
            actor,
            story: target,
            same: false,
        },
    }
}

/// `who` on a connection of its own: a probe may get a 500, after which a server may close the
/// connection (uvicorn does), and the next request must not go out on it (it would be lost as
/// "connection closed before message completed", exit 2, against the real platform).
fn closing(who: &Client) -> Client {
    who.clone().with_header("connection", "close")
}

impl Driver {
    /// Sends probe `t` in model state `st`. `None`: not sendable here.
    pub(crate) async fn request_probe(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<Option<RawResponse>, Failure> {
        match *t {
            Transition::ProbeAuthz { ref cases } => {
                for c in cases {
                    self.probe_authz(st, c).await?;
                }
                Ok(Some(passed()))
            }
            Transition::ProbeParity { ref cases } => {
                for c in cases {
                    if let Err(f) = self.probe_parity(c.case, c.actor, c.target).await {
                        if matches!(&f, Failure::Violation(v) if v.invariant == Invariant::ValidationParity)
                        {
                            // the target accepted the revise: on it that was a revision (the real
                            // platform then lets a reviewer resolve items raised before it), so
                            // keep-going follows with the ordinary revise's state
                            let revise = parity_revise(c.case, c.actor, c.target);
                            self.actual_after = Some(crate::model::step(st.clone(), &revise));
                        }
                        return Err(f);
                    }
                }
                Ok(Some(passed()))
            }
            Transition::ProbeHostile { ref cases } => {
                for &c in cases {
                    self.probe_hostile(c).await?;
                }
                Ok(Some(passed()))
            }
            Transition::ProbeSecondPath {
                case,
                actor,
                target,
            } => self
                .probe_second_path(st, case, actor, target)
                .await
                .map(Some),
            _ => Ok(None),
        }
    }

    /// One authorization probe: accepted is invariant 16; refused with another status than the
    /// ordinary rule predicts for that actor is a model disagreement.
    async fn probe_authz(&mut self, st: &State, c: &AuthzCase) -> Result<(), Failure> {
        let expected = authz_expect(st, c);
        let AuthzCase {
            op,
            actor,
            target,
            sub,
        } = *c;
        let r = match authz_inner(c) {
            Some(inner) => match self.request(st, &inner).await? {
                Some(r) => r,
                None => return Ok(()),
            },
            None => self.authz_own(op, actor, target).await?,
        };
        self.count(Invariant::Authorization);
        let who = role(st, op, actor, target, sub);
        if r.status < 300 {
            return Err(self.violation(
                named_by(op),
                format!(
                    "{op:?} by agent {actor} ({who}) on #{target} answered {}: the rules refuse it ({expected:?})",
                    r.status
                ),
            ));
        }
        if expected != Expect::Reject(r.status) {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{op:?} by agent {actor} ({who}) on #{target}: the model predicted {expected:?}, the platform answered {}",
                    r.status
                ),
            ));
        }
        Ok(())
    }

    /// The operations the model has no ordinary rule for, sent by a non-inhabitant / non-admin.
    async fn authz_own(
        &mut self,
        op: AuthzOp,
        actor: usize,
        target: usize,
    ) -> Result<RawResponse, Failure> {
        let who = self.agent(actor).clone();
        match op {
            AuthzOp::ActContext => {
                let path = format!("/api/dwellers/{}/act/context", self.dwellers[target]);
                self.send(&who, Method::POST, &path, Some(json!({}))).await
            }
            AuthzOp::Act => {
                let path = format!("/api/dwellers/{}/act", self.dwellers[target]);
                let body = json!({"context_token": "00000000-0000-4000-8000-000000000000",
                    "action_type": "observe", "content": text(40, "Intruder"), "importance": 0.4});
                self.send(&who, Method::POST, &path, Some(body)).await
            }
            _ => {
                let path = format!("/api/feedback/{}/status", self.feedback[target]);
                let body = json!({"status": "acknowledged"});
                self.send(&who, Method::PATCH, &path, Some(body)).await
            }
        }
    }

    async fn probe_parity(
        &mut self,
        case: ParityCase,
        actor: usize,
        target: usize,
    ) -> Result<(), Failure> {
        use ParityCase::*;
        let (path, body) = match case {
            ProposalNameEmpty | ProposalNameLong | ProposalPremiseShort | ProposalChainShort
            | ProposalImageLong => {
                let body = match case {
                    ProposalNameEmpty => json!({"name": ""}),
                    ProposalNameLong => json!({"name": "n".repeat(51)}),
                    ProposalPremiseShort => json!({"premise": text(49, "Short")}),
                    ProposalChainShort => json!({"causal_chain": [{"year": 2040,
                        "event": "A single step happens here.", "reasoning": "Because one step is all there is."}]}),
                    _ => json!({"image_prompt": "i".repeat(1001)}),
                };
                (
                    format!("/api/proposals/{}/revise", self.proposals[target]),
                    body,
                )
            }
            AspectTitleShort | AspectPremiseShort => {
                let body = if case == AspectTitleShort {
                    json!({"title": "ab"})
                } else {
                    json!({"premise": text(29, "Short")})
                };
                let id = &self.world.aspects[target];
                (format!("/api/aspects/{id}/revise"), body)
            }
            StoryTitleLong | StoryContentShort => {
                let body = if case == StoryTitleLong {
                    json!({"title": "t".repeat(201)})
                } else {
                    json!({"content": text(99, "Short")})
                };
                let id = &self.world.stories[target];
                (format!("/api/stories/{id}/revise"), body)
            }
        };
        let who = closing(self.agent(actor));
        let r = self.send(&who, Method::POST, &path, Some(body)).await?;
        self.count(Invariant::ValidationParity);
        if r.status < 300 {
            return Err(self.violation(
                Invariant::ValidationParity,
                format!(
                    "{path} ({case:?}) answered {}: its create endpoint rejects this value (422)",
                    r.status
                ),
            ));
        }
        if r.status != 422 {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{path} ({case:?}): create rejects this value with 422, revise answered {}",
                    r.status
                ),
            ));
        }
        Ok(())
    }

    /// One hostile request; `send` turns a 5xx into a `7-no-5xx` violation.
    async fn probe_hostile(&mut self, c: HostileCase) -> Result<(), Failure> {
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
            FeedbackTitleNul | FeedbackDescriptionNul | ProposalPremiseNul | ProposalNameNul => {
                return self.probe_nul(c).await;
            }
            FeedbackTitleSurrogate
            | FeedbackDescriptionSurrogate
            | ProposalNameSurrogate
            | ProposalPremiseSurrogate => return self.probe_surrogate(c).await,
        };
        let anon = closing(&self.anon);
        self.send(&anon, Method::GET, &get, None).await?;
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
    async fn send_text(
        &self,
        who: &Client,
        method: Method,
        path: &str,
        json_text: &str,
    ) -> Result<RawResponse, Failure> {
        match who.send_raw_json_text(method, path, json_text).await {
            Ok(r) if r.status >= 500 => Err(self.violation(
                Invariant::No5xx,
                format!("{path} answered {}: {}", r.status, short(&r.text)),
            )),
            Ok(r) => Ok(r),
            Err(e) => Err(self.unreachable(path, e)),
        }
    }

    /// The probe agent and its draft proposal, registered on first use (`None`: registration or
    /// the draft was refused, so the NUL probes of this seed are skipped).
    async fn probe_agent(&mut self) -> Result<Option<ProbeAgent>, Failure> {
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

    async fn probe_second_path(
        &mut self,
        st: &State,
        case: SecondPathCase,
        actor: usize,
        target: usize,
    ) -> Result<RawResponse, Failure> {
        let who = self.agent(actor).clone();
        self.count(Invariant::SecondWritePath);
        match case {
            SecondPathCase::StorySelfReview => {
                let inner = Transition::ReviewStory {
                    actor,
                    story: target,
                    acclaim: false,
                    notes_len: 80,
                };
                let Some(first) = self.request(st, &inner).await? else {
                    return Ok(passed());
                };
                let path = format!("/api/review/story/{}/feedback", self.world.stories[target]);
                let body = json!({"feedback_items": [{"category": "other",
                    "description": text(60, "Author"), "severity": "minor"}]});
                let second = self.send(&who, Method::POST, &path, Some(body)).await?;
                let refused = |s: u16| (400..500).contains(&s);
                if !refused(first.status) && !refused(second.status) {
                    // both routes agree, and both let the author review: a self-review
                    return Err(self.violation(
                        Invariant::NoSelfReviewContent,
                        format!(
                            "story #{target}'s author reviewed it through both review routes ({} and {})",
                            first.status, second.status
                        ),
                    ));
                }
                if !refused(first.status) || !refused(second.status) {
                    return Err(self.violation(
                        Invariant::SecondWritePath,
                        format!(
                            "story #{target}'s author reviewing it: /api/stories/{{id}}/review answered {}, {path} answered {} (both must refuse)",
                            first.status, second.status
                        ),
                    ));
                }
            }
            SecondPathCase::TestApproveDraft | SecondPathCase::TestApproveApproved => {
                let path = format!("/api/proposals/{}/test-approve", self.proposals[target]);
                let r = self
                    .send(&who, Method::POST, &path, Some(json!({})))
                    .await?;
                // any refusal: 400 (not validating) in test mode, 403 without it
                if r.status < 300 {
                    return Err(self.violation(
                        Invariant::SecondWritePath,
                        format!(
                            "{path} on a {:?} proposal answered {}: graduation through the critical review only approves validating proposals",
                            st.proposals[target].status, r.status
                        ),
                    ));
                }
            }
        }
        Ok(passed())
    }
}

/// The invariant an accepted refused operation breaks: the one that already names it where there
/// is one (self-review, self-upvote, deciding one's own event), else the authorization matrix.
fn named_by(op: AuthzOp) -> Invariant {
    match op {
        AuthzOp::ReviewOwnProposal => Invariant::NoSelfReview,
        AuthzOp::ReviewOwnAspect | AuthzOp::ReviewOwnStory => Invariant::NoSelfReviewContent,
        AuthzOp::UpvoteOwnFeedback => Invariant::NoSelfUpvote,
        AuthzOp::ApproveOwnEvent | AuthzOp::RejectOwnEvent => Invariant::EventDecision,
        _ => Invariant::Authorization,
    }
}

/// Who the refused actor is, for the violation message.
fn role(st: &State, op: AuthzOp, actor: usize, target: usize, sub: usize) -> &'static str {
    match op {
        AuthzOp::ReviewOwnProposal
        | AuthzOp::ReviewOwnAspect
        | AuthzOp::ReviewOwnStory
        | AuthzOp::ApproveOwnEvent
        | AuthzOp::RejectOwnEvent
        | AuthzOp::UpvoteOwnFeedback => "the owner, where self-action is forbidden",
        AuthzOp::RespondItem => {
            if st.proposals[target].items.get(sub).map(|i| i.reviewer) == Some(actor) {
                "the item's reviewer, not the proposer"
            } else {
                "a bystander, not the proposer"
            }
        }
        AuthzOp::ResolveItem | AuthzOp::ReopenItem => {
            if st.proposals[target].owner == actor {
                "the proposer, not the item's reviewer"
            } else {
                "a bystander, not the item's reviewer"
            }
        }
        AuthzOp::ResolveAspectItem => "not the item's reviewer",
        AuthzOp::AddFeedback => {
            if st.proposals[target].owner == actor {
                "the proposer, who has no review to add to"
            } else {
                "a bystander without a review of it"
            }
        }
        AuthzOp::ReleaseDweller | AuthzOp::ActContext | AuthzOp::Act => "not the inhabitant",
        AuthzOp::FeedbackStatus => "not an admin",
        _ => "not the owner",
    }
}
