//! The generic probes: steps that never change the game state when the platform is right, run in
//! every ordinary seed beside the game rules (issue 17 item 5).
//!
//! - **Authorization matrix** ([`AuthzOp`]): every mutating operation the model knows, attempted
//!   by an actor the rules refuse it to (non-owner, the owner where self-action is forbidden,
//!   non-reviewer, non-inhabitant, non-admin). The refusal is predicted with the exact status the
//!   ordinary rule predicts for that actor (invariant 16 when it is not refused).
//! - **Validation parity** ([`ParityCase`]): each revise endpoint is sent a value its create
//!   endpoint rejects, by the owner; it must be rejected the same way (invariant 17).
//! - **Hostile values** ([`HostileCase`]): paging and query parameters at and past their bounds on
//!   the list endpoints, malformed ids, NUL bytes and lone surrogate escapes in stored text: any
//!   4xx or 2xx, never a 5xx (invariant 7).
//! - **Second write paths** ([`SecondPathCase`]): an operation refused on one route is sent through
//!   the other route that reaches the same state; both must refuse it (invariant 18).
//!
//! Generation: each probe rule picks the least-probed applicable case of its family in this
//! sequence (so every case comes round in a seed as soon as it applies), then a random refused actor.

use super::hostile::hostile_batch;
pub use super::hostile::{HOSTILE_PER_STEP, HostileCase};
use super::review::{self, Reviewed};
use super::rules;
use super::vocab::{AStatus, Expect, IStatus, PStatus, Rule, State, Transition};
use proptest::strategy::{BoxedStrategy, Just, Strategy};
use serde::{Deserialize, Serialize};

/// A mutating operation sent by an actor who must be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthzOp {
    /// Submit a proposal: not its proposer.
    SubmitProposal,
    /// Revise a proposal: not its proposer.
    ReviseProposal,
    /// Critical review of a proposal: its own proposer.
    ReviewOwnProposal,
    /// Respond to a proposal's feedback item: anyone but the proposer (the reviewer included).
    RespondItem,
    /// Resolve a feedback item: anyone but its reviewer (the proposer included).
    ResolveItem,
    /// Reopen a feedback item: anyone but its reviewer (the proposer, the other reviewers).
    ReopenItem,
    /// Add items to one's review of a proposal: anyone without a review of it (the proposer).
    AddFeedback,
    /// Release a dweller: not its inhabitant.
    ReleaseDweller,
    /// Ask for an action context: not the inhabitant.
    ActContext,
    /// Act as a dweller: not the inhabitant.
    Act,
    /// Submit an aspect: not its proposer.
    SubmitAspect,
    /// Revise an aspect: not its proposer.
    ReviseAspect,
    /// Critical review of an aspect: its own proposer.
    ReviewOwnAspect,
    /// Resolve an aspect's feedback item: anyone but its reviewer.
    ResolveAspectItem,
    /// Reopen an aspect's feedback item: anyone but its reviewer (the aspect's proposer included).
    ReopenAspectItem,
    /// Add items to one's review of an aspect: anyone without a review of it (its proposer).
    AddAspectFeedback,
    /// Review a story (`/api/stories/{id}/review`): its own author.
    ReviewOwnStory,
    /// Answer a story review: not the author.
    RespondStoryReview,
    /// Revise a story: not the author.
    ReviseStory,
    /// Approve a world event: its own proposer.
    ApproveOwnEvent,
    /// Reject a world event: its own proposer.
    RejectOwnEvent,
    /// Upvote feedback: its own submitter.
    UpvoteOwnFeedback,
    /// Change a feedback's status: an agent that is not an admin.
    FeedbackStatus,
    /// Edit a dweller's core memories: not its inhabitant (an empty edit: accepted, it changes nothing).
    EditCoreMemory,
    /// Update a relationship the dweller has: not its inhabitant (no status, no event).
    EditRelationship,
    /// Set the current situation: not the inhabitant (to the situation it has).
    EditSituation,
    /// Merge personality blocks: neither the inhabitant nor the world's creator (no updates).
    EditPersonality,
    /// Act through `POST /api/actions`: not the inhabitant (the second act path).
    PostAction,
    /// Confirm the importance of an action: its own actor.
    ConfirmOwnAction,
    /// Nominate an action for escalation review: not its actor.
    NominateOthersAction,
}

impl AuthzOp {
    pub const ALL: [AuthzOp; 30] = [
        AuthzOp::SubmitProposal,
        AuthzOp::ReviseProposal,
        AuthzOp::ReviewOwnProposal,
        AuthzOp::RespondItem,
        AuthzOp::ResolveItem,
        AuthzOp::ReopenItem,
        AuthzOp::AddFeedback,
        AuthzOp::ReleaseDweller,
        AuthzOp::ActContext,
        AuthzOp::Act,
        AuthzOp::SubmitAspect,
        AuthzOp::ReviseAspect,
        AuthzOp::ReviewOwnAspect,
        AuthzOp::ResolveAspectItem,
        AuthzOp::ReopenAspectItem,
        AuthzOp::AddAspectFeedback,
        AuthzOp::ReviewOwnStory,
        AuthzOp::RespondStoryReview,
        AuthzOp::ReviseStory,
        AuthzOp::ApproveOwnEvent,
        AuthzOp::RejectOwnEvent,
        AuthzOp::UpvoteOwnFeedback,
        AuthzOp::FeedbackStatus,
        AuthzOp::PostAction,
        AuthzOp::ConfirmOwnAction,
        AuthzOp::NominateOthersAction,
        AuthzOp::EditCoreMemory,
        AuthzOp::EditRelationship,
        AuthzOp::EditSituation,
        AuthzOp::EditPersonality,
    ];
    pub const COUNT: usize = Self::ALL.len();
}

/// One authorization probe: `actor`, whom the rules refuse `op`, attempts it on entity `target`
/// (item or review `sub`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthzCase {
    pub op: AuthzOp,
    pub actor: usize,
    pub target: usize,
    pub sub: usize,
}

/// Authorization probes per step: the least-probed operations, one request each.
pub const AUTHZ_PER_STEP: usize = 5;

/// One parity probe: the owner `actor` sends `case` to the revise endpoint of `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParityProbe {
    pub case: ParityCase,
    pub actor: usize,
    pub target: usize,
}

/// Parity probes per step.
pub const PARITY_PER_STEP: usize = 3;

/// A value a create endpoint rejects, sent to the matching revise endpoint by the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParityCase {
    /// Proposal `name` "" (create: 2–50 characters).
    ProposalNameEmpty,
    /// Proposal `name` of 51 characters.
    ProposalNameLong,
    /// Proposal `premise` of 49 characters (create: ≥ 50).
    ProposalPremiseShort,
    /// Proposal `causal_chain` of one step (create: ≥ 3).
    ProposalChainShort,
    /// Proposal `image_prompt` of 1001 characters (create: 30–1000).
    ProposalImageLong,
    /// Aspect `title` of 2 characters (create: 3–255).
    AspectTitleShort,
    /// Aspect `premise` of 29 characters (create: ≥ 30).
    AspectPremiseShort,
    /// Story `title` of 201 characters (create: 1–200).
    StoryTitleLong,
    /// Story `content` of 99 characters (create: ≥ 100).
    StoryContentShort,
}

impl ParityCase {
    pub const ALL: [ParityCase; 9] = [
        ParityCase::ProposalNameEmpty,
        ParityCase::ProposalNameLong,
        ParityCase::ProposalPremiseShort,
        ParityCase::ProposalChainShort,
        ParityCase::ProposalImageLong,
        ParityCase::AspectTitleShort,
        ParityCase::AspectPremiseShort,
        ParityCase::StoryTitleLong,
        ParityCase::StoryContentShort,
    ];
    pub const COUNT: usize = Self::ALL.len();
}

/// An operation sent through the second of two routes that reach the same state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondPathCase {
    /// The author reviews their own story through `/api/stories/{id}/review` and through
    /// `/api/review/story/{id}/feedback`: both must refuse.
    StorySelfReview,
    /// `test-approve` of a draft proposal: graduation through the critical review only ever
    /// approves validating proposals, so this route must refuse it too.
    TestApproveDraft,
    /// `test-approve` of an approved proposal (a second world for it): must be refused.
    TestApproveApproved,
    /// The probe agent's region aspect named as an existing region of world `target` in other
    /// letter case, submitted and test-approved: the approval adds its content to the world's
    /// regions, and region create refuses that name (400, case-insensitive), so the approval must
    /// not list it twice. Test mode only (`driver/aspect_approval.rs`).
    RegionAspectDuplicate,
    /// The probe agent's region aspect whose content has no name, test-approved in a world of the
    /// probe agent's own (test-approved from its own proposal): region create requires a name, and
    /// a nameless region breaks every route that reads the world's region names, so it is sent only
    /// where nothing of the model lives. Test mode only (`driver/aspect_approval.rs`).
    RegionAspectNameless,
}

impl SecondPathCase {
    pub const ALL: [SecondPathCase; 5] = [
        SecondPathCase::StorySelfReview,
        SecondPathCase::TestApproveDraft,
        SecondPathCase::TestApproveApproved,
        SecondPathCase::RegionAspectDuplicate,
        SecondPathCase::RegionAspectNameless,
    ];
    pub const COUNT: usize = Self::ALL.len();
}

/// Per-sequence counts of each probe case (drives "least probed first").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probed {
    pub authz: [u32; AuthzOp::COUNT],
    pub parity: [u32; ParityCase::COUNT],
    pub second: [u32; SecondPathCase::COUNT],
    /// Position of the next hostile case in [`HostileCase::ALL`].
    pub hostile_next: usize,
}

fn idx<T: PartialEq>(all: &[T], x: &T) -> usize {
    all.iter().position(|y| y == x).unwrap_or(0)
}

/// The ordinary transition an authorization probe sends, where the model has one (its request
/// builder and its prediction are reused). `None`: the probe's own request (act, admin status).
pub fn authz_inner(c: &AuthzCase) -> Option<Transition> {
    use Transition as T;
    let AuthzCase {
        op,
        actor,
        target,
        sub,
    } = *c;
    Some(match op {
        AuthzOp::SubmitProposal => T::SubmitProposal {
            actor,
            proposal: target,
        },
        AuthzOp::ReviseProposal => T::ReviseProposal {
            actor,
            proposal: target,
        },
        AuthzOp::ReviewOwnProposal => T::PostReview {
            actor,
            proposal: target,
            items: 1,
            desc_len: 40,
        },
        AuthzOp::RespondItem => T::RespondItem {
            actor,
            proposal: target,
            item: sub,
            text_len: 60,
        },
        AuthzOp::ResolveItem => T::ResolveItem {
            actor,
            proposal: target,
            item: sub,
        },
        AuthzOp::ReopenItem => Reviewed::Proposal.reopen(actor, target, sub),
        AuthzOp::AddFeedback => Reviewed::Proposal.add(actor, target, 1),
        AuthzOp::ReopenAspectItem => Reviewed::Aspect.reopen(actor, target, sub),
        AuthzOp::AddAspectFeedback => Reviewed::Aspect.add(actor, target, 1),
        AuthzOp::ReleaseDweller => T::ReleaseDweller {
            actor,
            dweller: target,
        },
        AuthzOp::SubmitAspect => T::SubmitAspect {
            actor,
            aspect: target,
        },
        AuthzOp::ReviseAspect => T::ReviseAspect {
            actor,
            aspect: target,
        },
        AuthzOp::ReviewOwnAspect => T::ReviewAspect {
            actor,
            aspect: target,
            items: 1,
        },
        AuthzOp::ResolveAspectItem => T::ResolveAspectItem {
            actor,
            aspect: target,
            item: sub,
        },
        AuthzOp::ReviewOwnStory => T::ReviewStory {
            actor,
            story: target,
            acclaim: false,
            notes_len: 80,
        },
        AuthzOp::RespondStoryReview => T::RespondStoryReview {
            actor,
            story: target,
            review: sub,
        },
        AuthzOp::ReviseStory => T::ReviseStory {
            actor,
            story: target,
            same: false,
        },
        AuthzOp::ApproveOwnEvent => T::ApproveEvent {
            actor,
            event: target,
        },
        AuthzOp::RejectOwnEvent => T::RejectEvent {
            actor,
            event: target,
        },
        AuthzOp::UpvoteOwnFeedback => T::UpvoteFeedback {
            actor,
            feedback: target,
        },
        AuthzOp::PostAction => T::PostAction {
            actor,
            dweller: target,
            importance: 90,
        },
        AuthzOp::ConfirmOwnAction => T::ConfirmImportance {
            actor,
            action: target,
        },
        AuthzOp::NominateOthersAction => T::NominateAction {
            actor,
            action: target,
        },
        AuthzOp::EditCoreMemory => T::EditCoreMemory {
            actor,
            dweller: target,
            add: vec![],
            remove: vec![],
        },
        AuthzOp::EditRelationship => T::EditRelationship {
            actor,
            dweller: target,
            target: sub,
            status: super::memory::RelStatus::Keep,
            event: super::memory::RelEvent::None,
        },
        AuthzOp::EditSituation => T::EditSituation {
            actor,
            dweller: target,
            text: super::memory::SituationText::Same,
        },
        AuthzOp::EditPersonality => T::EditPersonality {
            actor,
            dweller: target,
            updates: Some(vec![]),
        },
        AuthzOp::ActContext | AuthzOp::Act | AuthzOp::FeedbackStatus => return None,
    })
}

/// Every (actor, target, sub) the rules refuse `op` to, in state `st`.
fn authz_cases(st: &State, op: AuthzOp) -> Vec<(usize, usize, usize)> {
    let n = st.agents;
    let others = |owner: usize| (0..n).filter(move |&a| a != owner);
    let mut out = Vec::new();
    match op {
        AuthzOp::SubmitProposal | AuthzOp::ReviseProposal => {
            for (p, pr) in st.proposals.iter().enumerate() {
                out.extend(others(pr.owner).map(|a| (a, p, 0)));
            }
        }
        AuthzOp::ReviewOwnProposal => {
            out.extend(
                st.proposals
                    .iter()
                    .enumerate()
                    .map(|(p, pr)| (pr.owner, p, 0)),
            );
        }
        AuthzOp::RespondItem | AuthzOp::ResolveItem => {
            for (p, pr) in st.proposals.iter().enumerate() {
                for (i, it) in pr.items.iter().enumerate() {
                    // respond is tried on items already in the status it sets: who may call it
                    // does not depend on it, and a wrongly accepted probe then leaves the item as
                    // the model has it (invariant 22 reads item statuses back, so one broken
                    // check is one finding, not two; reopen likewise, in `review.rs`)
                    if op == AuthzOp::RespondItem && it.status != IStatus::Addressed {
                        continue;
                    }
                    let allowed = if op == AuthzOp::RespondItem {
                        pr.owner
                    } else {
                        it.reviewer
                    };
                    out.extend(others(allowed).map(|a| (a, p, i)));
                }
            }
        }
        AuthzOp::ReopenItem => out = review::authz_cases(st, Reviewed::Proposal, true),
        AuthzOp::AddFeedback => out = review::authz_cases(st, Reviewed::Proposal, false),
        AuthzOp::ReopenAspectItem => out = review::authz_cases(st, Reviewed::Aspect, true),
        AuthzOp::AddAspectFeedback => out = review::authz_cases(st, Reviewed::Aspect, false),
        AuthzOp::ReleaseDweller | AuthzOp::ActContext | AuthzOp::Act => {
            for (d, dw) in st.dwellers.iter().enumerate() {
                out.extend((0..n).filter(|&a| dw.holder != Some(a)).map(|a| (a, d, 0)));
            }
        }
        AuthzOp::SubmitAspect | AuthzOp::ReviseAspect => {
            for (x, a) in st.aspects.iter().enumerate() {
                out.extend(others(a.owner).map(|ag| (ag, x, 0)));
            }
        }
        AuthzOp::ReviewOwnAspect => {
            out.extend(st.aspects.iter().enumerate().map(|(x, a)| (a.owner, x, 0)));
        }
        AuthzOp::ResolveAspectItem => {
            for (x, a) in st.aspects.iter().enumerate() {
                for (i, it) in a.items.iter().enumerate() {
                    out.extend(others(it.reviewer).map(|ag| (ag, x, i)));
                }
            }
        }
        AuthzOp::ReviewOwnStory => {
            out.extend(st.stories.iter().enumerate().map(|(s, x)| (x.author, s, 0)));
        }
        AuthzOp::RespondStoryReview => {
            for (s, x) in st.stories.iter().enumerate() {
                for r in 0..x.reviews.len() {
                    out.extend(others(x.author).map(|a| (a, s, r)));
                }
            }
        }
        AuthzOp::ReviseStory => {
            for (s, x) in st.stories.iter().enumerate() {
                out.extend(others(x.author).map(|a| (a, s, 0)));
            }
        }
        AuthzOp::ApproveOwnEvent | AuthzOp::RejectOwnEvent => {
            out.extend(
                st.events
                    .iter()
                    .enumerate()
                    .map(|(e, x)| (x.proposer, e, 0)),
            );
        }
        AuthzOp::UpvoteOwnFeedback => {
            out.extend(st.feedback.iter().enumerate().map(|(f, x)| (x.owner, f, 0)));
        }
        AuthzOp::FeedbackStatus => {
            for f in 0..st.feedback.len() {
                out.extend((0..n).map(|a| (a, f, 0)));
            }
        }
        AuthzOp::EditCoreMemory
        | AuthzOp::EditRelationship
        | AuthzOp::EditSituation
        | AuthzOp::EditPersonality => out = super::memory::authz_cases(st, op),
        AuthzOp::PostAction | AuthzOp::ConfirmOwnAction | AuthzOp::NominateOthersAction => {
            out = super::actions::authz_cases(st, op)
        }
    }
    out
}

/// Whether the authorization probe should go now: an action can be confirmed only until the next
/// confirm (the confirm rule fires soon after an action is posted), so the case of its own actor
/// confirming it has a window of a few steps, which the probe must not miss in a seed.
pub fn authz_window_open(st: &State) -> bool {
    let op = AuthzOp::ConfirmOwnAction;
    st.probed.authz[idx(&AuthzOp::ALL, &op)] == 0 && !authz_cases(st, op).is_empty()
}

/// Whether some second-path case applies and has not been probed in this sequence (generation
/// weighs the rule up until it has).
pub fn second_path_pending(st: &State) -> bool {
    SecondPathCase::ALL
        .iter()
        .enumerate()
        .any(|(i, &c)| st.probed.second[i] == 0 && !second_targets(st, c).is_empty())
}

/// The (owner, target) pairs a parity case can be sent to.
fn parity_targets(st: &State, case: ParityCase) -> Vec<(usize, usize)> {
    use ParityCase::*;
    match case {
        ProposalNameEmpty | ProposalNameLong | ProposalPremiseShort | ProposalChainShort
        | ProposalImageLong => st
            .proposals
            .iter()
            .enumerate()
            // only revisable ones: an approved proposal's revise is refused for its status
            .filter(|(_, x)| x.status != PStatus::Approved)
            .map(|(p, x)| (x.owner, p))
            .collect(),
        AspectTitleShort | AspectPremiseShort => st
            .aspects
            .iter()
            .enumerate()
            .filter(|(_, x)| x.status != AStatus::Approved)
            .map(|(a, x)| (x.owner, a))
            .collect(),
        StoryTitleLong | StoryContentShort => st
            .stories
            .iter()
            .enumerate()
            .map(|(s, x)| (x.author, s))
            .collect(),
    }
}

/// The (actor, target) pairs a second-path case can be sent to.
fn second_targets(st: &State, case: SecondPathCase) -> Vec<(usize, usize)> {
    let proposals = |want: PStatus| -> Vec<(usize, usize)> {
        st.proposals
            .iter()
            .enumerate()
            .filter(|(_, p)| p.status == want)
            .flat_map(|(i, p)| {
                // any agent may call test-approve: the proposer and one other
                [(p.owner, i), ((p.owner + 1) % st.agents.max(1), i)]
            })
            .collect()
    };
    match case {
        SecondPathCase::StorySelfReview => st
            .stories
            .iter()
            .enumerate()
            .map(|(s, x)| (x.author, s))
            .collect(),
        SecondPathCase::TestApproveDraft => proposals(PStatus::Draft),
        SecondPathCase::TestApproveApproved => proposals(PStatus::Approved),
        // the probe agent (outside the model) sends it: the actor is a placeholder
        SecondPathCase::RegionAspectDuplicate if !st.test_mode_off => (0..st.worlds.len())
            .filter(|&w| st.worlds[w].regions > 0)
            .map(|w| (0, w))
            .collect(),
        SecondPathCase::RegionAspectDuplicate => vec![],
        // actor and target are placeholders: the probe agent sends it in a world of its own
        SecondPathCase::RegionAspectNameless if !st.test_mode_off && !st.worlds.is_empty() => {
            vec![(0, 0)]
        }
        SecondPathCase::RegionAspectNameless => vec![],
    }
}

/// The least-probed entries of `applicable` (indices into a family's counters).
fn least<T: Copy>(applicable: Vec<(T, usize)>, counts: &[u32]) -> Vec<T> {
    let min = applicable.iter().map(|&(_, i)| counts[i]).min();
    applicable
        .into_iter()
        .filter(|&(_, i)| Some(counts[i]) == min)
        .map(|(t, _)| t)
        .collect()
}

/// The `k` least-probed entries of `applicable` (stable: declaration order breaks ties).
fn fewest<T: Copy>(mut applicable: Vec<(T, usize)>, counts: &[u32], k: usize) -> Vec<T> {
    applicable.sort_by_key(|&(_, i)| (counts[i], i));
    applicable.into_iter().take(k).map(|(t, _)| t).collect()
}

/// Adds the probe rules that apply in `st`.
pub fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    // from the first world on: the way there is the game's bottleneck, and by then most
    // operations have something to be refused on
    if st.agents < 2 || st.worlds.is_empty() {
        return;
    }
    let ops: Vec<(AuthzOp, usize)> = AuthzOp::ALL
        .iter()
        .enumerate()
        .map(|(i, &op)| (op, i))
        .filter(|&(op, _)| !authz_cases(st, op).is_empty())
        .collect();
    let picks: Vec<BoxedStrategy<AuthzCase>> = fewest(ops, &st.probed.authz, AUTHZ_PER_STEP)
        .into_iter()
        .map(|op| {
            let pool: Vec<AuthzCase> = authz_cases(st, op)
                .into_iter()
                .map(|(actor, target, sub)| AuthzCase {
                    op,
                    actor,
                    target,
                    sub,
                })
                .collect();
            proptest::sample::select(pool).boxed()
        })
        .collect();
    if !picks.is_empty() {
        add(
            Rule::ProbeAuthz,
            picks
                .prop_map(|cases| Transition::ProbeAuthz { cases })
                .boxed(),
        );
    }
    let parity: Vec<(ParityCase, usize)> = ParityCase::ALL
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, i))
        .filter(|&(c, _)| !parity_targets(st, c).is_empty())
        .collect();
    let picks: Vec<BoxedStrategy<ParityProbe>> = fewest(parity, &st.probed.parity, PARITY_PER_STEP)
        .into_iter()
        .map(|case| {
            let pool: Vec<ParityProbe> = parity_targets(st, case)
                .into_iter()
                .map(|(actor, target)| ParityProbe {
                    case,
                    actor,
                    target,
                })
                .collect();
            proptest::sample::select(pool).boxed()
        })
        .collect();
    if !picks.is_empty() {
        add(
            Rule::ProbeParity,
            picks
                .prop_map(|cases| Transition::ProbeParity { cases })
                .boxed(),
        );
    }
    let (batch, _) = hostile_batch(st);
    add(
        Rule::ProbeHostile,
        Just(Transition::ProbeHostile { cases: batch }).boxed(),
    );
    let second: Vec<(SecondPathCase, usize)> = SecondPathCase::ALL
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, i))
        .filter(|&(c, _)| !second_targets(st, c).is_empty())
        .collect();
    let pool: Vec<(SecondPathCase, usize, usize)> = least(second, &st.probed.second)
        .into_iter()
        .flat_map(|c| {
            second_targets(st, c)
                .into_iter()
                .map(move |(a, t)| (c, a, t))
        })
        .collect();
    if !pool.is_empty() {
        add(
            Rule::ProbeSecondPath,
            proptest::sample::select(pool)
                .prop_map(|(case, actor, target)| Transition::ProbeSecondPath {
                    case,
                    actor,
                    target,
                })
                .boxed(),
        );
    }
}

/// The refusal an authorization probe must get: the ordinary rule's status for that actor; 403
/// for the inhabitant-only and admin-only operations the model has no rule for.
pub fn authz_expect(st: &State, c: &AuthzCase) -> Expect {
    match authz_inner(c) {
        Some(inner) => rules::expect(st, &inner),
        None => Expect::Reject(403),
    }
}

/// A probe step passes (Ok) when every request of it got what the model predicts; the driver
/// checks each answer (the refusal status, create's 422, never a 5xx) and names the invariant.
pub fn expect(_st: &State, _t: &Transition) -> Expect {
    Expect::Ok
}

/// Whether the probe still names things that exist and an actor the rules refuse (shrinking).
pub fn valid(st: &State, t: &Transition) -> bool {
    match t {
        Transition::ProbeAuthz { cases } => cases
            .iter()
            .all(|c| authz_cases(st, c.op).contains(&(c.actor, c.target, c.sub))),
        Transition::ProbeParity { cases } => cases
            .iter()
            .all(|c| parity_targets(st, c.case).contains(&(c.actor, c.target))),
        Transition::ProbeHostile { cases } => cases
            .iter()
            .all(|c| !c.needs_world() || !st.worlds.is_empty()),
        Transition::ProbeSecondPath {
            case,
            actor,
            target,
        } => second_targets(st, *case).contains(&(*actor, *target)),
        _ => false,
    }
}

/// A probe changes nothing in the game; it only advances its family's counters.
pub fn step(mut st: State, t: &Transition) -> State {
    st.fired[t.rule().index()] += 1;
    st.step += 1;
    match t {
        Transition::ProbeAuthz { cases } => {
            for c in cases {
                st.probed.authz[idx(&AuthzOp::ALL, &c.op)] += 1;
            }
        }
        Transition::ProbeParity { cases } => {
            for c in cases {
                st.probed.parity[idx(&ParityCase::ALL, &c.case)] += 1;
            }
        }
        Transition::ProbeHostile { cases } => {
            // advance past what this batch consumed (world cases skipped without a world count too)
            let (_, used) = hostile_batch(&st);
            st.probed.hostile_next += if cases.is_empty() { 1 } else { used };
        }
        Transition::ProbeSecondPath { case, .. } => {
            st.probed.second[idx(&SecondPathCase::ALL, case)] += 1
        }
        _ => {}
    }
    st
}

/// Whether `r` is one of the probe rules (they weigh half once fired: see `model/mod.rs`).
pub fn is_probe_rule(r: Rule) -> bool {
    matches!(
        r,
        Rule::ProbeAuthz | Rule::ProbeParity | Rule::ProbeHostile | Rule::ProbeSecondPath
    )
}

/// Whether `t` is a probe (handled by this file).
pub fn is_probe(t: &Transition) -> bool {
    matches!(
        t,
        Transition::ProbeAuthz { .. }
            | Transition::ProbeParity { .. }
            | Transition::ProbeHostile { .. }
            | Transition::ProbeSecondPath { .. }
    )
}
