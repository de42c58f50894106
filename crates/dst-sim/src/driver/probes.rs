//! Sends the generic probes (`model/probes.rs`) and checks their answers: the authorization
//! matrix (16), validation parity (17), hostile values (7: never a 5xx) and second write paths
//! (18). An authorization or parity probe's answer also goes through the ordinary prediction check
//! (the exact refusal status); hostile and second-path steps answer Ok when every request passed.

use super::Driver;
use super::requests::text;
use crate::invariants::{Failure, Invariant};
use crate::model::probes::{
    AuthzCase, AuthzOp, ParityCase, SecondPathCase, authz_expect, authz_inner,
};
use crate::model::{Expect, State, Transition};
use api_client::{Client, Method, RawResponse};
use serde_json::{Value, json};

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
pub(super) fn closing(who: &Client) -> Client {
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
                // every case is sent: a case that fails the same way in every seed must not hide
                // the cases after it in the batch (the first failure is the step's, the others
                // are filed beside it); the target's silence still ends the step
                let mut first = None;
                for &c in cases {
                    match self.probe_hostile(c).await {
                        Ok(()) => {}
                        Err(f @ Failure::Infrastructure { .. }) => return Err(f),
                        Err(f) if first.is_none() => first = Some(f),
                        Err(f) => self.more_violations.push(f),
                    }
                }
                match first {
                    Some(f) => Err(f),
                    None => Ok(Some(passed())),
                }
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
            SecondPathCase::RegionAspectDuplicate => {
                self.probe_region_duplicate(st, actor, target).await?
            }
            SecondPathCase::RegionAspectNameless => self.probe_region_nameless().await?,
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
        AuthzOp::ResolveAspectItem | AuthzOp::ReopenAspectItem => {
            if st.aspects[target].owner == actor {
                "the aspect's proposer, not the item's reviewer"
            } else {
                "not the item's reviewer"
            }
        }
        AuthzOp::AddAspectFeedback => {
            if st.aspects[target].owner == actor {
                "the aspect's proposer, who has no review to add to"
            } else {
                "an agent without a review of it"
            }
        }
        AuthzOp::AddFeedback => {
            if st.proposals[target].owner == actor {
                "the proposer, who has no review to add to"
            } else {
                "a bystander without a review of it"
            }
        }
        AuthzOp::ReleaseDweller
        | AuthzOp::ActContext
        | AuthzOp::Act
        | AuthzOp::PostAction
        | AuthzOp::EditCoreMemory
        | AuthzOp::EditRelationship
        | AuthzOp::EditSituation => "not the inhabitant",
        AuthzOp::EditPersonality => "neither the inhabitant nor the world's creator",
        AuthzOp::ConfirmOwnAction => "the action's own actor",
        AuthzOp::NominateOthersAction => "not the action's actor",
        AuthzOp::FeedbackStatus => "not an admin",
        _ => "not the owner",
    }
}
