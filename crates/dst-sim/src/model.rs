//! The reference model of the game rules (a proptest-state-machine `ReferenceStateMachine`).
//!
//! Transitions name model entities by index (agent 2, proposal 0, …): server ids are unknown when
//! the sequence is generated, so the driver maps indices to ids as it runs. `transitions(state)` only
//! offers rules whose preconditions hold in `state` (generation never relies on rejection), and
//! weights rules that have fired less in this sequence higher, so every rule fires in every seed as
//! soon as it can. `expect(state, t)` is the model's prediction of the outcome class.

use proptest::strategy::{BoxedStrategy, Just, Strategy};
use proptest_state_machine::ReferenceStateMachine;
use serde::{Deserialize, Serialize};

mod world;
pub use world::{AStatus, AspectM, EStatus, EventM, StoryM, StoryReviewM};

pub const MAX_DWELLERS: usize = 5;
pub const MAX_ACTIVE_PROPOSALS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PStatus {
    Draft,
    Validating,
    Approved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IStatus {
    Open,
    Addressed,
    Resolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
pub enum FStatus {
    New,
    Acknowledged,
    InProgress,
    Resolved,
    WontFix,
}

impl FStatus {
    pub const ALL: [FStatus; 5] = [
        FStatus::New,
        FStatus::Acknowledged,
        FStatus::InProgress,
        FStatus::Resolved,
        FStatus::WontFix,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            FStatus::New => "new",
            FStatus::Acknowledged => "acknowledged",
            FStatus::InProgress => "in_progress",
            FStatus::Resolved => "resolved",
            FStatus::WontFix => "wont_fix",
        }
    }
    pub fn terminal(&self) -> bool {
        matches!(self, FStatus::Resolved | FStatus::WontFix)
    }
    pub fn can_move_to(&self, to: FStatus) -> bool {
        use FStatus::*;
        matches!(
            (self, to),
            (New, Acknowledged | InProgress | Resolved | WontFix)
                | (Acknowledged, InProgress | Resolved | WontFix)
                | (InProgress, Resolved | WontFix)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub reviewer: usize,
    pub status: IStatus,
    pub created_step: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub owner: usize,
    pub status: PStatus,
    pub reviewers: Vec<usize>,
    pub items: Vec<Item>,
    pub last_revision_step: Option<u32>,
    pub world: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    pub proposal: usize,
    pub regions: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dweller {
    pub world: usize,
    pub holder: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub owner: usize,
    pub upvoters: Vec<usize>,
    pub status: FStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub agents: usize,
    pub proposals: Vec<Proposal>,
    pub worlds: Vec<World>,
    pub dwellers: Vec<Dweller>,
    pub feedback: Vec<Feedback>,
    pub aspects: Vec<AspectM>,
    pub stories: Vec<StoryM>,
    pub events: Vec<EventM>,
    pub step: u32,
    /// How often each rule was generated in this sequence (drives the coverage weighting).
    pub fired: [u32; Rule::COUNT],
    /// Generate fault steps too (`dst-sim run --faults`); see `faults.rs`.
    pub faults: bool,
    /// How often each fault kind was generated in this sequence.
    pub fault_fired: [u32; crate::faults::KINDS.len()],
}

/// The rules, for coverage accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    RegisterAgent,
    CreateProposal,
    SubmitProposal,
    PostReview,
    RespondItem,
    ReviseProposal,
    ResolveItem,
    CreateRegion,
    CreateDweller,
    ClaimDweller,
    ReleaseDweller,
    TakeAction,
    SubmitFeedback,
    UpvoteFeedback,
    AdminFeedbackStatus,
    CreateAspect,
    SubmitAspect,
    ReviewAspect,
    ResolveAspectItem,
    ReviseAspect,
    CreateStory,
    ReviewStory,
    RespondStoryReview,
    ReviseStory,
    ProposeEvent,
    ApproveEvent,
    RejectEvent,
}

impl Rule {
    pub const COUNT: usize = 27;
    pub const ALL: [Rule; Rule::COUNT] = [
        Rule::RegisterAgent,
        Rule::CreateProposal,
        Rule::SubmitProposal,
        Rule::PostReview,
        Rule::RespondItem,
        Rule::ReviseProposal,
        Rule::ResolveItem,
        Rule::CreateRegion,
        Rule::CreateDweller,
        Rule::ClaimDweller,
        Rule::ReleaseDweller,
        Rule::TakeAction,
        Rule::SubmitFeedback,
        Rule::UpvoteFeedback,
        Rule::AdminFeedbackStatus,
        Rule::CreateAspect,
        Rule::SubmitAspect,
        Rule::ReviewAspect,
        Rule::ResolveAspectItem,
        Rule::ReviseAspect,
        Rule::CreateStory,
        Rule::ReviewStory,
        Rule::RespondStoryReview,
        Rule::ReviseStory,
        Rule::ProposeEvent,
        Rule::ApproveEvent,
        Rule::RejectEvent,
    ];
    pub fn name(&self) -> &'static str {
        match self {
            Rule::RegisterAgent => "register_agent",
            Rule::CreateProposal => "create_proposal",
            Rule::SubmitProposal => "submit_proposal",
            Rule::PostReview => "post_review",
            Rule::RespondItem => "respond_item",
            Rule::ReviseProposal => "revise_proposal",
            Rule::ResolveItem => "resolve_item",
            Rule::CreateRegion => "create_region",
            Rule::CreateDweller => "create_dweller",
            Rule::ClaimDweller => "claim_dweller",
            Rule::ReleaseDweller => "release_dweller",
            Rule::TakeAction => "take_action",
            Rule::SubmitFeedback => "submit_feedback",
            Rule::UpvoteFeedback => "upvote_feedback",
            Rule::AdminFeedbackStatus => "admin_feedback_status",
            Rule::CreateAspect => "create_aspect",
            Rule::SubmitAspect => "submit_aspect",
            Rule::ReviewAspect => "review_aspect",
            Rule::ResolveAspectItem => "resolve_aspect_item",
            Rule::ReviseAspect => "revise_aspect",
            Rule::CreateStory => "create_story",
            Rule::ReviewStory => "review_story",
            Rule::RespondStoryReview => "respond_story_review",
            Rule::ReviseStory => "revise_story",
            Rule::ProposeEvent => "propose_event",
            Rule::ApproveEvent => "approve_event",
            Rule::RejectEvent => "reject_event",
        }
    }
    pub(crate) fn index(&self) -> usize {
        Rule::ALL.iter().position(|r| r == self).unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Transition {
    RegisterAgent,
    CreateProposal {
        actor: usize,
        name_len: usize,
    },
    SubmitProposal {
        actor: usize,
        proposal: usize,
    },
    PostReview {
        actor: usize,
        proposal: usize,
        items: usize,
        desc_len: usize,
    },
    RespondItem {
        actor: usize,
        proposal: usize,
        item: usize,
        text_len: usize,
    },
    ReviseProposal {
        actor: usize,
        proposal: usize,
    },
    ResolveItem {
        actor: usize,
        proposal: usize,
        item: usize,
    },
    CreateRegion {
        actor: usize,
        world: usize,
    },
    CreateDweller {
        actor: usize,
        world: usize,
    },
    ClaimDweller {
        actor: usize,
        dweller: usize,
    },
    ReleaseDweller {
        actor: usize,
        dweller: usize,
    },
    TakeAction {
        dweller: usize,
        content_len: usize,
    },
    SubmitFeedback {
        actor: usize,
        title_len: usize,
    },
    UpvoteFeedback {
        actor: usize,
        feedback: usize,
    },
    AdminFeedbackStatus {
        feedback: usize,
        to: FStatus,
    },
    /// A fault step (only generated with `--faults`): races, retries, database faults.
    Fault {
        fault: crate::faults::Fault,
    },
    CreateAspect {
        actor: usize,
        world: usize,
        title_len: usize,
    },
    SubmitAspect {
        actor: usize,
        aspect: usize,
    },
    ReviewAspect {
        actor: usize,
        aspect: usize,
        items: usize,
    },
    ResolveAspectItem {
        actor: usize,
        aspect: usize,
        item: usize,
    },
    ReviseAspect {
        actor: usize,
        aspect: usize,
    },
    /// `world: None` names a world that does not exist (predicted 404, nothing created).
    CreateStory {
        actor: usize,
        world: Option<usize>,
        dweller: Option<usize>,
        title_len: usize,
    },
    ReviewStory {
        actor: usize,
        story: usize,
        acclaim: bool,
        notes_len: usize,
    },
    RespondStoryReview {
        actor: usize,
        story: usize,
        review: usize,
    },
    /// `same`: send the current content again (200 with no changes; not a revision).
    ReviseStory {
        actor: usize,
        story: usize,
        same: bool,
    },
    ProposeEvent {
        actor: usize,
        world: usize,
        year: i64,
    },
    ApproveEvent {
        actor: usize,
        event: usize,
    },
    RejectEvent {
        actor: usize,
        event: usize,
    },
}

impl Transition {
    pub fn rule(&self) -> Rule {
        match self {
            Transition::RegisterAgent => Rule::RegisterAgent,
            Transition::CreateProposal { .. } => Rule::CreateProposal,
            Transition::SubmitProposal { .. } => Rule::SubmitProposal,
            Transition::PostReview { .. } => Rule::PostReview,
            Transition::RespondItem { .. } => Rule::RespondItem,
            Transition::ReviseProposal { .. } => Rule::ReviseProposal,
            Transition::ResolveItem { .. } => Rule::ResolveItem,
            Transition::CreateRegion { .. } => Rule::CreateRegion,
            Transition::CreateDweller { .. } => Rule::CreateDweller,
            Transition::ClaimDweller { .. } => Rule::ClaimDweller,
            Transition::ReleaseDweller { .. } => Rule::ReleaseDweller,
            Transition::TakeAction { .. } => Rule::TakeAction,
            Transition::SubmitFeedback { .. } => Rule::SubmitFeedback,
            Transition::UpvoteFeedback { .. } => Rule::UpvoteFeedback,
            Transition::AdminFeedbackStatus { .. } => Rule::AdminFeedbackStatus,
            Transition::Fault { fault } => fault.base_rule(),
            Transition::CreateAspect { .. } => Rule::CreateAspect,
            Transition::SubmitAspect { .. } => Rule::SubmitAspect,
            Transition::ReviewAspect { .. } => Rule::ReviewAspect,
            Transition::ResolveAspectItem { .. } => Rule::ResolveAspectItem,
            Transition::ReviseAspect { .. } => Rule::ReviseAspect,
            Transition::CreateStory { .. } => Rule::CreateStory,
            Transition::ReviewStory { .. } => Rule::ReviewStory,
            Transition::RespondStoryReview { .. } => Rule::RespondStoryReview,
            Transition::ReviseStory { .. } => Rule::ReviseStory,
            Transition::ProposeEvent { .. } => Rule::ProposeEvent,
            Transition::ApproveEvent { .. } => Rule::ApproveEvent,
            Transition::RejectEvent { .. } => Rule::RejectEvent,
        }
    }
}

/// The model's prediction for one transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expect {
    Ok,
    /// A rejection with exactly this status.
    Reject(u16),
}

// Boundary lengths drawn from the seed: the limits themselves and one past them.
pub const PROPOSAL_NAME_LENS: &[usize] = &[2, 12, 50, 51];
pub const REVIEW_DESC_LENS: &[usize] = &[10, 40, 2000, 2001];
pub const RESPONSE_LENS: &[usize] = &[10, 60, 2000];
pub const FEEDBACK_TITLE_LENS: &[usize] = &[4, 5, 40, 100, 101, 255, 256];
pub const ACTION_LENS: &[usize] = &[1, 80];
/// Admin status targets: every status, terminal ones twice (so invariant 6 is reached in every seed).
pub const ADMIN_TARGETS: &[FStatus] = &[
    FStatus::New,
    FStatus::Acknowledged,
    FStatus::InProgress,
    FStatus::Resolved,
    FStatus::Resolved,
    FStatus::WontFix,
    FStatus::WontFix,
];

fn active(st: &State, agent: usize) -> usize {
    st.proposals
        .iter()
        .filter(|p| p.owner == agent && matches!(p.status, PStatus::Draft | PStatus::Validating))
        .count()
}

fn held(st: &State, agent: usize) -> usize {
    st.dwellers
        .iter()
        .filter(|d| d.holder == Some(agent))
        .count()
}

fn can_graduate(p: &Proposal) -> bool {
    p.status == PStatus::Validating
        && p.reviewers.len() >= 2
        && p.items.iter().all(|i| i.status == IStatus::Resolved)
}

/// The outcome the platform must give for `t` in state `st`.
pub fn expect(st: &State, t: &Transition) -> Expect {
    use Transition::*;
    match *t {
        // a fault step's outcome checks are its own (fault_driver.rs)
        Fault { .. } => Expect::Ok,
        RegisterAgent => Expect::Ok,
        CreateProposal { actor, name_len } => {
            if name_len > 50 {
                Expect::Reject(422)
            } else if active(st, actor) >= MAX_ACTIVE_PROPOSALS {
                Expect::Reject(429)
            } else {
                Expect::Ok
            }
        }
        SubmitProposal { actor, proposal } => {
            let p = &st.proposals[proposal];
            if p.owner != actor {
                Expect::Reject(403)
            } else if p.status != PStatus::Draft {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        PostReview {
            actor,
            proposal,
            desc_len,
            ..
        } => {
            let p = &st.proposals[proposal];
            if desc_len > 2000 {
                Expect::Reject(422)
            } else if p.owner == actor {
                Expect::Reject(403)
            } else if p.reviewers.contains(&actor) {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        RespondItem { .. } => Expect::Ok,
        ReviseProposal { actor, proposal } => {
            let p = &st.proposals[proposal];
            if p.owner != actor {
                Expect::Reject(403)
            } else if p.status == PStatus::Approved {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        ResolveItem {
            actor,
            proposal,
            item,
        } => {
            let p = &st.proposals[proposal];
            let it = &p.items[item];
            if it.reviewer != actor {
                Expect::Reject(403)
            } else if p.last_revision_step.is_none_or(|r| r < it.created_step) {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        CreateRegion { .. } => Expect::Ok,
        CreateDweller { world, .. } => {
            if st.worlds[world].regions == 0 {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        ClaimDweller { actor, dweller } => {
            if st.dwellers[dweller].holder.is_some() || held(st, actor) >= MAX_DWELLERS {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        ReleaseDweller { actor, dweller } => {
            if st.dwellers[dweller].holder == Some(actor) {
                Expect::Ok
            } else {
                Expect::Reject(403)
            }
        }
        TakeAction { .. } => Expect::Ok,
        SubmitFeedback { title_len, .. } => {
            if !(5..=255).contains(&title_len) {
                Expect::Reject(422)
            } else {
                Expect::Ok
            }
        }
        UpvoteFeedback { actor, feedback } => {
            let f = &st.feedback[feedback];
            if f.upvoters.contains(&actor) || f.owner == actor {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        AdminFeedbackStatus { feedback, to } => {
            if st.feedback[feedback].status.can_move_to(to) {
                Expect::Ok
            } else {
                Expect::Reject(400)
            }
        }
        _ => world::expect(st, t),
    }
}

/// Whether `t` refers only to things that exist in `st` and follows the generation rules
/// (shrinking can break both; such candidates are skipped).
pub fn valid(st: &State, t: &Transition) -> bool {
    use Transition::*;
    let agent = |a: usize| a < st.agents;
    match *t {
        Fault { ref fault } => crate::faults::valid(st, fault),
        RegisterAgent => true,
        CreateProposal { actor, .. } => agent(actor),
        SubmitProposal { actor, proposal } => agent(actor) && proposal < st.proposals.len(),
        PostReview {
            actor,
            proposal,
            items,
            ..
        } => {
            agent(actor)
                && (1..=3).contains(&items)
                && st
                    .proposals
                    .get(proposal)
                    .is_some_and(|p| p.status == PStatus::Validating)
        }
        RespondItem {
            actor,
            proposal,
            item,
            ..
        } => st
            .proposals
            .get(proposal)
            .is_some_and(|p| p.owner == actor && item < p.items.len()),
        ReviseProposal { actor, proposal } => agent(actor) && proposal < st.proposals.len(),
        ResolveItem {
            actor,
            proposal,
            item,
        } => {
            agent(actor)
                && st
                    .proposals
                    .get(proposal)
                    .is_some_and(|p| item < p.items.len())
        }
        CreateRegion { actor, world } | CreateDweller { actor, world } => {
            agent(actor) && world < st.worlds.len()
        }
        ClaimDweller { actor, dweller } | ReleaseDweller { actor, dweller } => {
            agent(actor) && dweller < st.dwellers.len()
        }
        TakeAction { dweller, .. } => st.dwellers.get(dweller).is_some_and(|d| d.holder.is_some()),
        SubmitFeedback { actor, .. } => agent(actor),
        UpvoteFeedback { actor, feedback } => agent(actor) && feedback < st.feedback.len(),
        AdminFeedbackStatus { feedback, .. } => feedback < st.feedback.len(),
        _ => world::valid(st, t),
    }
}

/// The state after `t`, assuming the platform did what the model predicts.
pub fn step(mut st: State, t: &Transition) -> State {
    if let Transition::Fault { fault } = t {
        return crate::faults::step(st, fault);
    }
    let outcome = expect(&st, t);
    st.fired[t.rule().index()] += 1;
    st.step += 1;
    let now = st.step;
    if outcome != Expect::Ok {
        return st;
    }
    use Transition::*;
    match *t {
        RegisterAgent => st.agents += 1,
        CreateProposal { actor, .. } => st.proposals.push(Proposal {
            owner: actor,
            status: PStatus::Draft,
            reviewers: vec![],
            items: vec![],
            last_revision_step: None,
            world: None,
        }),
        SubmitProposal { proposal, .. } => st.proposals[proposal].status = PStatus::Validating,
        PostReview {
            actor,
            proposal,
            items,
            ..
        } => {
            let p = &mut st.proposals[proposal];
            p.reviewers.push(actor);
            for _ in 0..items {
                p.items.push(Item {
                    reviewer: actor,
                    status: IStatus::Open,
                    created_step: now,
                });
            }
        }
        RespondItem { proposal, item, .. } => {
            st.proposals[proposal].items[item].status = IStatus::Addressed
        }
        ReviseProposal { proposal, .. } => st.proposals[proposal].last_revision_step = Some(now),
        ResolveItem { proposal, item, .. } => {
            st.proposals[proposal].items[item].status = IStatus::Resolved;
            if can_graduate(&st.proposals[proposal]) {
                st.proposals[proposal].status = PStatus::Approved;
                st.proposals[proposal].world = Some(st.worlds.len());
                st.worlds.push(World {
                    proposal,
                    regions: 0,
                });
            }
        }
        CreateRegion { world, .. } => st.worlds[world].regions += 1,
        CreateDweller { world, .. } => st.dwellers.push(Dweller {
            world,
            holder: None,
        }),
        ClaimDweller { actor, dweller } => st.dwellers[dweller].holder = Some(actor),
        ReleaseDweller { dweller, .. } => st.dwellers[dweller].holder = None,
        TakeAction { .. } => {}
        SubmitFeedback { actor, .. } => st.feedback.push(Feedback {
            owner: actor,
            upvoters: vec![],
            status: FStatus::New,
        }),
        UpvoteFeedback { actor, feedback } => st.feedback[feedback].upvoters.push(actor),
        AdminFeedbackStatus { feedback, to } => st.feedback[feedback].status = to,
        Fault { .. } => {}
        _ => world::step(&mut st, t),
    }
    st
}

pub struct Model;

fn pick(n: usize) -> BoxedStrategy<usize> {
    (0..n.max(1)).boxed()
}

/// Picks from `good` five times in six (when there is one), otherwise from `any`.
fn biased<T: Clone + std::fmt::Debug + 'static>(good: Vec<T>, any: Vec<T>) -> BoxedStrategy<T> {
    if good.is_empty() {
        return proptest::sample::select(any).boxed();
    }
    (
        0..6u8,
        proptest::sample::select(good),
        proptest::sample::select(any),
    )
        .prop_map(|(coin, g, a)| if coin == 0 { a } else { g })
        .boxed()
}

fn lens(options: &'static [usize]) -> BoxedStrategy<usize> {
    proptest::sample::select(options).boxed()
}

impl ReferenceStateMachine for Model {
    type State = State;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<State> {
        Just(State::default()).boxed()
    }

    fn transitions(st: &State) -> BoxedStrategy<Transition> {
        let mut options: Vec<(u32, BoxedStrategy<Transition>)> = Vec::new();
        // Rules fired less often in this sequence weigh more, and a rule that has not fired yet
        // outweighs the rest: every rule fires as soon as it can. Until the first world exists,
        // the steps that lead to one weigh triple (worlds unlock most rules), and the first three
        // agents register first.
        let no_world = st.worlds.is_empty();
        let mut add = |rule: Rule, s: BoxedStrategy<Transition>| {
            let fired = st.fired[rule.index()];
            let mut w = if fired == 0 {
                200
            } else {
                64 / (1 + fired).min(16) + 1
            };
            if no_world
                && matches!(
                    rule,
                    Rule::SubmitProposal
                        | Rule::PostReview
                        | Rule::ReviseProposal
                        | Rule::ResolveItem
                )
            {
                w *= 3;
            }
            // a proposal needs two reviewers besides its proposer
            if rule == Rule::RegisterAgent && st.agents < 3 {
                w = 1000;
            }
            options.push((w, s));
        };
        let n = st.agents;
        if n < 4 || st.step.is_multiple_of(23) {
            add(Rule::RegisterAgent, Just(Transition::RegisterAgent).boxed());
        }
        if n > 0 {
            add(
                Rule::CreateProposal,
                (pick(n), lens(PROPOSAL_NAME_LENS))
                    .prop_map(|(actor, name_len)| Transition::CreateProposal { actor, name_len })
                    .boxed(),
            );
            add(
                Rule::SubmitFeedback,
                (pick(n), lens(FEEDBACK_TITLE_LENS))
                    .prop_map(|(actor, title_len)| Transition::SubmitFeedback { actor, title_len })
                    .boxed(),
            );
        }
        let drafts: Vec<usize> = (0..st.proposals.len())
            .filter(|&i| st.proposals[i].status == PStatus::Draft)
            .collect();
        if !drafts.is_empty() {
            let owners: Vec<(usize, usize)> =
                drafts.iter().map(|&i| (st.proposals[i].owner, i)).collect();
            // mostly the owner; sometimes another agent (predicted 403)
            let s = (proptest::sample::select(owners), pick(n), 0..8u8)
                .prop_map(
                    |((owner, proposal), other, coin)| Transition::SubmitProposal {
                        actor: if coin == 0 { other } else { owner },
                        proposal,
                    },
                )
                .boxed();
            add(Rule::SubmitProposal, s);
        }
        let validating: Vec<usize> = (0..st.proposals.len())
            .filter(|&i| st.proposals[i].status == PStatus::Validating)
            .collect();
        // The oldest validating proposal is the focus: pushing one through the review to a world
        // beats spreading reviews thin (worlds unlock every dweller rule).
        let focus = validating.first().copied();
        if !validating.is_empty() && n >= 2 {
            // mostly an agent that may review (not the owner, not yet a reviewer); sometimes anyone
            // (two reviewers are enough: more would only add items to resolve before the world)
            let good: Vec<(usize, usize)> = focus
                .iter()
                .filter(|&&p| st.proposals[p].reviewers.len() < 2)
                .flat_map(|&p| {
                    (0..n)
                        .filter(move |a| {
                            *a != st.proposals[p].owner && !st.proposals[p].reviewers.contains(a)
                        })
                        .map(move |a| (p, a))
                })
                .collect();
            let any: Vec<(usize, usize)> = validating
                .iter()
                .flat_map(|&p| (0..n).map(move |a| (p, a)))
                .collect();
            let s = (biased(good, any), 1..=2usize, lens(REVIEW_DESC_LENS))
                .prop_map(
                    |((proposal, actor), items, desc_len)| Transition::PostReview {
                        actor,
                        proposal,
                        items,
                        desc_len,
                    },
                )
                .boxed();
            add(Rule::PostReview, s);
        }
        if !st.proposals.is_empty() {
            // mostly a proposal with feedback newer than its last revision; sometimes any (approved → 400)
            let needs: Vec<(usize, usize)> = (0..st.proposals.len())
                .filter(|&i| {
                    let p = &st.proposals[i];
                    Some(i) == focus
                        && p.items
                            .iter()
                            .any(|it| p.last_revision_step.is_none_or(|r| r < it.created_step))
                })
                .map(|i| (st.proposals[i].owner, i))
                .collect();
            let any: Vec<(usize, usize)> = (0..st.proposals.len())
                .map(|i| (st.proposals[i].owner, i))
                .collect();
            add(
                Rule::ReviseProposal,
                biased(needs, any)
                    .prop_map(|(actor, proposal)| Transition::ReviseProposal { actor, proposal })
                    .boxed(),
            );
        }
        let items: Vec<(usize, usize, usize, usize)> = st
            .proposals
            .iter()
            .enumerate()
            .flat_map(|(pi, p)| {
                p.items
                    .iter()
                    .enumerate()
                    .map(move |(ii, it)| (pi, ii, p.owner, it.reviewer))
            })
            .collect();
        let open: Vec<(usize, usize, usize)> = items
            .iter()
            .filter(|(pi, ii, _, _)| st.proposals[*pi].items[*ii].status == IStatus::Open)
            .map(|&(pi, ii, owner, _)| (pi, ii, owner))
            .collect();
        if !open.is_empty() {
            add(
                Rule::RespondItem,
                (proptest::sample::select(open), lens(RESPONSE_LENS))
                    .prop_map(
                        |((proposal, item, actor), text_len)| Transition::RespondItem {
                            actor,
                            proposal,
                            item,
                            text_len,
                        },
                    )
                    .boxed(),
            );
        }
        let unresolved: Vec<(usize, usize, usize)> = items
            .iter()
            .filter(|(pi, ii, _, _)| {
                st.proposals[*pi].items[*ii].status != IStatus::Resolved
                    && st.proposals[*pi].status == PStatus::Validating
            })
            .map(|&(pi, ii, _, reviewer)| (pi, ii, reviewer))
            .collect();
        if !unresolved.is_empty() {
            // mostly items revised since they were raised; sometimes too early (predicted 400)
            let ready: Vec<(usize, usize, usize)> = unresolved
                .iter()
                .copied()
                .filter(|&(pi, ii, _)| {
                    Some(pi) == focus
                        && st.proposals[pi]
                            .last_revision_step
                            .is_some_and(|r| r >= st.proposals[pi].items[ii].created_step)
                })
                .collect();
            add(
                Rule::ResolveItem,
                biased(ready, unresolved)
                    .prop_map(|(proposal, item, actor)| Transition::ResolveItem {
                        actor,
                        proposal,
                        item,
                    })
                    .boxed(),
            );
        }
        if !st.worlds.is_empty() {
            let w = st.worlds.len();
            add(
                Rule::CreateRegion,
                (pick(n), pick(w))
                    .prop_map(|(actor, world)| Transition::CreateRegion { actor, world })
                    .boxed(),
            );
            let with_regions: Vec<usize> = (0..w).filter(|&i| st.worlds[i].regions > 0).collect();
            if !with_regions.is_empty() {
                add(
                    Rule::CreateDweller,
                    (pick(n), proptest::sample::select(with_regions))
                        .prop_map(|(actor, world)| Transition::CreateDweller { actor, world })
                        .boxed(),
                );
            }
        }
        if !st.dwellers.is_empty() {
            let d = st.dwellers.len();
            let free: Vec<(usize, usize)> = (0..d)
                .filter(|&i| st.dwellers[i].holder.is_none())
                .flat_map(|i| {
                    (0..n)
                        .filter(|&a| held(st, a) < MAX_DWELLERS)
                        .map(move |a| (a, i))
                })
                .collect();
            let any: Vec<(usize, usize)> =
                (0..d).flat_map(|i| (0..n).map(move |a| (a, i))).collect();
            add(
                Rule::ClaimDweller,
                biased(free, any)
                    .prop_map(|(actor, dweller)| Transition::ClaimDweller { actor, dweller })
                    .boxed(),
            );
            let held: Vec<(usize, usize)> = (0..d)
                .filter_map(|i| st.dwellers[i].holder.map(|h| (h, i)))
                .collect();
            if !held.is_empty() {
                let s = (proptest::sample::select(held.clone()), pick(n), 0..6u8)
                    .prop_map(
                        |((holder, dweller), other, coin)| Transition::ReleaseDweller {
                            actor: if coin == 0 { other } else { holder },
                            dweller,
                        },
                    )
                    .boxed();
                add(Rule::ReleaseDweller, s);
                add(
                    Rule::TakeAction,
                    (proptest::sample::select(held), lens(ACTION_LENS))
                        .prop_map(|((_, dweller), content_len)| Transition::TakeAction {
                            dweller,
                            content_len,
                        })
                        .boxed(),
                );
            }
        }
        if !st.feedback.is_empty() {
            let f = st.feedback.len();
            add(
                Rule::UpvoteFeedback,
                (pick(n), pick(f))
                    .prop_map(|(actor, feedback)| Transition::UpvoteFeedback { actor, feedback })
                    .boxed(),
            );
            add(
                Rule::AdminFeedbackStatus,
                (pick(f), proptest::sample::select(ADMIN_TARGETS))
                    .prop_map(|(feedback, to)| Transition::AdminFeedbackStatus { feedback, to })
                    .boxed(),
            );
        }
        world::offer(st, &mut add);
        if st.faults {
            crate::faults::options(st, &mut options);
        }
        proptest::strategy::Union::new_weighted(options).boxed()
    }

    fn preconditions(st: &State, t: &Transition) -> bool {
        valid(st, t)
    }

    fn apply(st: State, t: &Transition) -> State {
        step(st, t)
    }
}

/// The model with the fault layer on: same rules, plus fault steps (`dst-sim run --faults`).
pub struct FaultModel;

impl ReferenceStateMachine for FaultModel {
    type State = State;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<State> {
        Just(State {
            faults: true,
            ..State::default()
        })
        .boxed()
    }

    fn transitions(st: &State) -> BoxedStrategy<Transition> {
        Model::transitions(st)
    }

    fn preconditions(st: &State, t: &Transition) -> bool {
        valid(st, t)
    }

    fn apply(st: State, t: &Transition) -> State {
        step(st, t)
    }
}
