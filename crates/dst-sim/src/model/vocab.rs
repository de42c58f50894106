//! The model's vocabulary: the rules and fault kinds, the transitions (one step each, naming
//! model entities by index), the prediction of a step's outcome, and the model state they act on.
//! Pure data: the rules' meaning is in `rules.rs`, `world.rs` and `faults.rs`.

pub use api_client::vocab::ReactionType;
use proptest::strategy::{BoxedStrategy, Strategy};
use serde::{Deserialize, Serialize};

pub use super::fault_vocab::{Fault, FaultKind};
use super::probes::{AuthzCase, HostileCase, ParityProbe, Probed, SecondPathCase};

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
    /// Capability of the target (probed at start, `Target::aspects_need_explicit_approval`): its
    /// critical review never approves an aspect, so the last resolve leaves it validating.
    pub aspects_need_explicit_approval: bool,
    /// Capability of the target: test mode is off (its test-approve routes answer 403), so the
    /// test-approve rule is not sent (`aspect_approval.rs`). Off by default: generation assumes the
    /// reference platform's test mode.
    pub test_mode_off: bool,
    pub agents: usize,
    pub proposals: Vec<Proposal>,
    pub worlds: Vec<World>,
    pub dwellers: Vec<Dweller>,
    pub feedback: Vec<Feedback>,
    pub aspects: Vec<AspectM>,
    pub stories: Vec<StoryM>,
    pub events: Vec<EventM>,
    /// Revision suggestions (`suggestions.rs`).
    pub suggestions: Vec<super::suggestions::SuggestionM>,
    /// Actions sent through `POST /api/actions` (`actions.rs`).
    pub actions: Vec<super::actions::ActionM>,
    /// Per dweller (by index), what its accepted memory edits made (`memory.rs`); absent = empty.
    pub memories: std::collections::BTreeMap<usize, super::memory::MemoryM>,
    pub step: u32,
    /// How often each rule was generated in this sequence (drives the coverage weighting).
    pub fired: RuleCounts,
    /// Generate fault steps too (`dst-sim run --faults`); see `faults.rs`.
    pub faults: bool,
    /// How often each fault kind was generated in this sequence.
    pub fault_fired: [u32; FaultKind::COUNT],
    /// How often each probe case was generated in this sequence (`probes.rs`).
    pub probed: Probed,
    /// Per world, region names used by adds the target lost (a lost update a seed went on past):
    /// the next add's name counts them too, so it never repeats a name (`concurrency::region_name`).
    pub lost_regions: std::collections::BTreeMap<usize, usize>,
    /// Per world, increments of its stored `dweller_count` the target lost in a create race (a
    /// seed goes on from the count the target has: `concurrency::dweller_count`).
    pub lost_dweller_counts: std::collections::BTreeMap<usize, usize>,
    /// Whether a revise of an approved aspect was sent in this sequence (generation sends one as
    /// soon as an aspect is approved).
    pub approved_aspect_revised: bool,
    /// Per world, its reactions (`reactions.rs`); absent = none.
    pub world_reactions: std::collections::BTreeMap<usize, super::reactions::ReactionsM>,
    /// Follows of worlds and comments on worlds and stories (`social.rs`).
    pub social: super::social::SocialM,
    /// Dweller proposals and their critical review (`dweller_proposals.rs`).
    pub dweller_proposals: super::dweller_proposals::DwellerProposalsM,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AStatus {
    Draft,
    Validating,
    Approved,
}

impl AStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            AStatus::Draft => "draft",
            AStatus::Validating => "validating",
            AStatus::Approved => "approved",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AspectM {
    pub world: usize,
    pub owner: usize,
    pub status: AStatus,
    pub reviewers: Vec<usize>,
    /// Its review items, as a proposal's (`review.rs`); aspects have no revision gate, so
    /// `created_step` only orders them.
    pub items: Vec<Item>,
    /// An event aspect (created with a proposed timeline entry): its approval takes a timeline
    /// entry into the world's causal chain (`aspect_approval.rs`).
    pub event: bool,
    /// Its test-approve put a timeline entry into the world's causal chain.
    pub timeline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryReviewM {
    pub reviewer: usize,
    pub acclaim: bool,
    pub responded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryM {
    pub world: usize,
    pub author: usize,
    pub reviews: Vec<StoryReviewM>,
    /// Effective revisions (a revise that changes nothing does not count).
    pub revisions: u32,
    pub acclaimed: bool,
    /// Its reactions (the stored total is their counts' sum).
    pub reactions: super::reactions::ReactionsM,
}

impl StoryM {
    /// The acclaim rule: ≥2 acclaim recommendations, every review answered, ≥1 revision.
    pub fn eligible(&self) -> bool {
        self.reviews.iter().filter(|r| r.acclaim).count() >= 2
            && self.reviews.iter().all(|r| r.responded)
            && self.revisions >= 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EStatus {
    Pending,
    Approved,
    Rejected,
}

impl EStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            EStatus::Pending => "pending",
            EStatus::Approved => "approved",
            EStatus::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventM {
    pub world: usize,
    pub proposer: usize,
    pub status: EStatus,
    pub decider: Option<usize>,
}

/// A count per rule, indexed by [`Rule::index`] (an array type of its own: std gives arrays over
/// 32 elements no `Default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCounts(pub [u32; Rule::COUNT]);

impl Default for RuleCounts {
    fn default() -> Self {
        RuleCounts([0; Rule::COUNT])
    }
}

impl std::ops::Index<usize> for RuleCounts {
    type Output = u32;
    fn index(&self, i: usize) -> &u32 {
        &self.0[i]
    }
}

impl std::ops::IndexMut<usize> for RuleCounts {
    fn index_mut(&mut self, i: usize) -> &mut u32 {
        &mut self.0[i]
    }
}

/// The rules, for coverage accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Rule {
    RegisterAgent,
    CreateProposal,
    SubmitProposal,
    PostReview,
    RespondItem,
    ReviseProposal,
    ResolveItem,
    /// The original reviewer reopens one of its items (any status → open).
    ReopenItem,
    /// A reviewer adds items to its own review (`add-feedback`).
    AddFeedback,
    CreateRegion,
    CreateDweller,
    ClaimDweller,
    ReleaseDweller,
    /// The inhabitant adds and removes core memories (`memory.rs`).
    EditCoreMemory,
    /// The inhabitant updates a relationship (status, a history event).
    EditRelationship,
    /// The inhabitant or the world's creator merges personality blocks.
    EditPersonality,
    /// The inhabitant sets the current situation.
    EditSituation,
    /// The inhabitant stores a reflection (an episodic memory of type reflection).
    Reflect,
    TakeAction,
    /// An inhabitant acts through the second act path, `POST /api/actions` (`actions.rs`).
    PostAction,
    /// Another agent confirms a high-importance action (once, never its actor).
    ConfirmImportance,
    /// Any agent escalates a confirmed action into a world event (once).
    EscalateAction,
    /// The actor nominates its own eligible action for escalation review.
    NominateAction,
    SubmitFeedback,
    UpvoteFeedback,
    AdminFeedbackStatus,
    CreateAspect,
    SubmitAspect,
    ReviewAspect,
    ResolveAspectItem,
    ReviseAspect,
    /// The original reviewer reopens one of an aspect's items (`review.rs`, as for proposals).
    ReopenAspectItem,
    /// A reviewer of an aspect adds items to its own review.
    AddAspectFeedback,
    /// Test mode's approval of a validating aspect, with the world's new canon summary and an event
    /// aspect's timeline entry (`aspect_approval.rs`).
    TestApproveAspect,
    CreateStory,
    ReviewStory,
    RespondStoryReview,
    ReviseStory,
    /// A reaction to a story (add, change, take back), through either route.
    ReactStory,
    /// A reaction to a world (`/api/social/react`).
    ReactWorld,
    ProposeEvent,
    ApproveEvent,
    RejectEvent,
    /// Another agent suggests a new value for a field of a proposal or aspect (`suggestions.rs`).
    SuggestRevision,
    /// The target's owner accepts a pending suggestion: the value is applied as revise would.
    AcceptSuggestion,
    /// The target's owner rejects a pending suggestion.
    RejectSuggestion,
    /// An agent other than the suggester upvotes a pending suggestion (once).
    UpvoteSuggestion,
    /// The suggester withdraws its pending suggestion.
    WithdrawSuggestion,
    /// An agent follows a world (again: only its preferences change) (`social.rs`).
    FollowWorld,
    /// An agent unfollows a world (one it does not follow: `not_following`).
    UnfollowWorld,
    /// An agent comments on a world or a story.
    CommentOn,
    /// The inhabitant appends a memory summary (`summaries.rs`).
    SummarizeMemory,
    /// The inhabitant searches the dweller's episodes by word.
    SearchMemory,
    /// Any agent proposes a dweller for a world (`dweller_proposals.rs`).
    CreateDwellerProposal,
    /// The owner submits a draft dweller proposal for review.
    SubmitDwellerProposal,
    /// The owner revises a draft or validating dweller proposal.
    ReviseDwellerProposal,
    /// An agent other than the owner reviews a validating dweller proposal.
    ReviewDwellerProposal,
    /// The owner answers a review item of its dweller proposal.
    RespondDwellerItem,
    /// A reviewer resolves its own item of a dweller proposal.
    ResolveDwellerItem,
    /// A reviewer reopens its own item of a dweller proposal.
    ReopenDwellerItem,
    /// Authorization matrix probe (`probes.rs`): a refused actor attempts an operation.
    ProbeAuthz,
    /// Validation parity probe: a revise endpoint is sent a value its create rejects.
    ProbeParity,
    /// Hostile values probe: paging/query bounds, malformed ids, NUL bytes (never a 5xx).
    ProbeHostile,
    /// Second write path probe: a refused operation through the other route to the same state.
    ProbeSecondPath,
}

crate::vocabulary!(Rule);

impl Rule {
    /// How many rules there are, for per-rule arrays (`State::fired`).
    pub const COUNT: usize = Rule::ProbeSecondPath as usize + 1;

    /// The rule's position, for per-rule arrays.
    pub fn index(self) -> usize {
        self as usize
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
    ReopenItem {
        actor: usize,
        proposal: usize,
        item: usize,
    },
    /// `items` new items on `actor`'s own review of `proposal` (over 10 is refused: 422).
    AddFeedback {
        actor: usize,
        proposal: usize,
        items: usize,
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
    /// Removes, then adds, core memories (indices into `memory::CORE_PHRASES`).
    EditCoreMemory {
        actor: usize,
        dweller: usize,
        add: Vec<usize>,
        remove: Vec<usize>,
    },
    /// The relationship with `memory::RELATION_TARGETS[target]`.
    EditRelationship {
        actor: usize,
        dweller: usize,
        target: usize,
        status: super::memory::RelStatus,
        event: super::memory::RelEvent,
    },
    /// `None`: no `updates` field (422).
    EditPersonality {
        actor: usize,
        dweller: usize,
        updates: Option<Vec<super::memory::PUpdate>>,
    },
    EditSituation {
        actor: usize,
        dweller: usize,
        text: super::memory::SituationText,
    },
    Reflect {
        actor: usize,
        dweller: usize,
        content_len: usize,
        importance: super::memory::Importance,
    },
    TakeAction {
        dweller: usize,
        content_len: usize,
    },
    /// `importance` in hundredths (101 is one past the limit: 422).
    PostAction {
        actor: usize,
        dweller: usize,
        importance: u8,
    },
    ConfirmImportance {
        actor: usize,
        action: usize,
    },
    EscalateAction {
        actor: usize,
        action: usize,
        year: i64,
    },
    NominateAction {
        actor: usize,
        action: usize,
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
        fault: Fault,
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
    ReopenAspectItem {
        actor: usize,
        aspect: usize,
        item: usize,
    },
    /// `items` new items on `actor`'s own review of `aspect` (over 10 is refused: 422).
    AddAspectFeedback {
        actor: usize,
        aspect: usize,
        items: usize,
    },
    /// `canon_len`: the `updated_canon_summary`'s length (under 50 is refused: 400); `timeline`:
    /// whether an `approved_timeline_entry` is sent (an event aspect's approval needs one: 400).
    TestApproveAspect {
        actor: usize,
        aspect: usize,
        canon_len: usize,
        timeline: bool,
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
    /// Add, change or take back `actor`'s reaction to `story` (`social`: through
    /// `/api/social/react`, the second route to the same reaction).
    ReactStory {
        actor: usize,
        story: usize,
        kind: ReactionType,
        social: bool,
    },
    /// Add, change or take back `actor`'s reaction to `world`.
    ReactWorld {
        actor: usize,
        world: usize,
        kind: ReactionType,
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
    SuggestRevision {
        actor: usize,
        target: super::suggestions::STarget,
        case: super::suggestions::SCase,
    },
    AcceptSuggestion {
        actor: usize,
        suggestion: usize,
    },
    RejectSuggestion {
        actor: usize,
        suggestion: usize,
    },
    UpvoteSuggestion {
        actor: usize,
        suggestion: usize,
    },
    WithdrawSuggestion {
        actor: usize,
        suggestion: usize,
    },
    FollowWorld {
        actor: usize,
        world: usize,
    },
    UnfollowWorld {
        actor: usize,
        world: usize,
    },
    CommentOn {
        actor: usize,
        target: super::social::CTarget,
        text: super::social::CommentText,
        /// The comment's `reaction` (`social.rs`: a second route to the target's reactions).
        #[serde(default)]
        reaction: Option<ReactionType>,
    },
    SummarizeMemory {
        actor: usize,
        dweller: usize,
        summary_len: usize,
    },
    SearchMemory {
        actor: usize,
        dweller: usize,
        query: super::summaries::SearchQuery,
        limit: super::summaries::SearchLimit,
    },
    CreateDwellerProposal {
        actor: usize,
        world: usize,
        case: super::dweller_proposals::DpCreate,
    },
    SubmitDwellerProposal {
        actor: usize,
        dp: usize,
    },
    ReviseDwellerProposal {
        actor: usize,
        dp: usize,
        case: super::dweller_proposals::DpRevise,
    },
    ReviewDwellerProposal {
        actor: usize,
        dp: usize,
        items: usize,
    },
    RespondDwellerItem {
        actor: usize,
        dp: usize,
        item: usize,
    },
    ResolveDwellerItem {
        actor: usize,
        dp: usize,
        item: usize,
    },
    ReopenDwellerItem {
        actor: usize,
        dp: usize,
        item: usize,
    },
    /// Actors the rules refuse an operation attempt it (one case per operation, least probed first).
    ProbeAuthz {
        cases: Vec<AuthzCase>,
    },
    /// Owners send create-rejected values to revise endpoints.
    ProbeParity {
        cases: Vec<ParityProbe>,
    },
    /// Hostile requests; any answer below 500 passes.
    ProbeHostile {
        cases: Vec<HostileCase>,
    },
    /// `actor` sends a refused operation through both routes to one state (`target` by case).
    ProbeSecondPath {
        case: SecondPathCase,
        actor: usize,
        target: usize,
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
            Transition::ReopenItem { .. } => Rule::ReopenItem,
            Transition::AddFeedback { .. } => Rule::AddFeedback,
            Transition::CreateRegion { .. } => Rule::CreateRegion,
            Transition::CreateDweller { .. } => Rule::CreateDweller,
            Transition::ClaimDweller { .. } => Rule::ClaimDweller,
            Transition::ReleaseDweller { .. } => Rule::ReleaseDweller,
            Transition::EditCoreMemory { .. } => Rule::EditCoreMemory,
            Transition::EditRelationship { .. } => Rule::EditRelationship,
            Transition::EditPersonality { .. } => Rule::EditPersonality,
            Transition::EditSituation { .. } => Rule::EditSituation,
            Transition::Reflect { .. } => Rule::Reflect,
            Transition::TakeAction { .. } => Rule::TakeAction,
            Transition::PostAction { .. } => Rule::PostAction,
            Transition::ConfirmImportance { .. } => Rule::ConfirmImportance,
            Transition::EscalateAction { .. } => Rule::EscalateAction,
            Transition::NominateAction { .. } => Rule::NominateAction,
            Transition::SubmitFeedback { .. } => Rule::SubmitFeedback,
            Transition::UpvoteFeedback { .. } => Rule::UpvoteFeedback,
            Transition::AdminFeedbackStatus { .. } => Rule::AdminFeedbackStatus,
            Transition::Fault { fault } => fault.base_rule(),
            Transition::CreateAspect { .. } => Rule::CreateAspect,
            Transition::SubmitAspect { .. } => Rule::SubmitAspect,
            Transition::ReviewAspect { .. } => Rule::ReviewAspect,
            Transition::ResolveAspectItem { .. } => Rule::ResolveAspectItem,
            Transition::ReviseAspect { .. } => Rule::ReviseAspect,
            Transition::ReopenAspectItem { .. } => Rule::ReopenAspectItem,
            Transition::AddAspectFeedback { .. } => Rule::AddAspectFeedback,
            Transition::TestApproveAspect { .. } => Rule::TestApproveAspect,
            Transition::CreateStory { .. } => Rule::CreateStory,
            Transition::ReviewStory { .. } => Rule::ReviewStory,
            Transition::RespondStoryReview { .. } => Rule::RespondStoryReview,
            Transition::ReviseStory { .. } => Rule::ReviseStory,
            Transition::ReactStory { .. } => Rule::ReactStory,
            Transition::ReactWorld { .. } => Rule::ReactWorld,
            Transition::ProposeEvent { .. } => Rule::ProposeEvent,
            Transition::ApproveEvent { .. } => Rule::ApproveEvent,
            Transition::RejectEvent { .. } => Rule::RejectEvent,
            Transition::SuggestRevision { .. } => Rule::SuggestRevision,
            Transition::AcceptSuggestion { .. } => Rule::AcceptSuggestion,
            Transition::RejectSuggestion { .. } => Rule::RejectSuggestion,
            Transition::UpvoteSuggestion { .. } => Rule::UpvoteSuggestion,
            Transition::WithdrawSuggestion { .. } => Rule::WithdrawSuggestion,
            Transition::FollowWorld { .. } => Rule::FollowWorld,
            Transition::UnfollowWorld { .. } => Rule::UnfollowWorld,
            Transition::CommentOn { .. } => Rule::CommentOn,
            Transition::SummarizeMemory { .. } => Rule::SummarizeMemory,
            Transition::SearchMemory { .. } => Rule::SearchMemory,
            Transition::CreateDwellerProposal { .. } => Rule::CreateDwellerProposal,
            Transition::SubmitDwellerProposal { .. } => Rule::SubmitDwellerProposal,
            Transition::ReviseDwellerProposal { .. } => Rule::ReviseDwellerProposal,
            Transition::ReviewDwellerProposal { .. } => Rule::ReviewDwellerProposal,
            Transition::RespondDwellerItem { .. } => Rule::RespondDwellerItem,
            Transition::ResolveDwellerItem { .. } => Rule::ResolveDwellerItem,
            Transition::ReopenDwellerItem { .. } => Rule::ReopenDwellerItem,
            Transition::ProbeAuthz { .. } => Rule::ProbeAuthz,
            Transition::ProbeParity { .. } => Rule::ProbeParity,
            Transition::ProbeHostile { .. } => Rule::ProbeHostile,
            Transition::ProbeSecondPath { .. } => Rule::ProbeSecondPath,
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

// Generation helpers shared by the rules and the world content.

pub(super) fn pick(n: usize) -> BoxedStrategy<usize> {
    (0..n.max(1)).boxed()
}

/// Picks from `good` five times in six (when there is one), otherwise from `any`.
pub(super) fn biased<T: Clone + std::fmt::Debug + 'static>(
    good: Vec<T>,
    any: Vec<T>,
) -> BoxedStrategy<T> {
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

pub(super) fn lens(options: &'static [usize]) -> BoxedStrategy<usize> {
    proptest::sample::select(options).boxed()
}
