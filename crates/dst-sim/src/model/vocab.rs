//! The model's vocabulary: the rules and fault kinds, the transitions (one step each, naming
//! model entities by index), the prediction of a step's outcome, and the model state they act on.
//! Pure data: the rules' meaning is in `rules.rs`, `world.rs` and `faults.rs`.

pub use api_client::vocab::ReactionType;
use proptest::strategy::{BoxedStrategy, Strategy};
use serde::{Deserialize, Serialize};

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
    /// (reviewer, resolved)
    pub items: Vec<(usize, bool)>,
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

/// One fault step. Indices name model entities, as in [`Transition`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// N agents claim one free dweller at once: exactly one wins; the winner then releases it.
    RaceClaim { dweller: usize, actors: Vec<usize> },
    /// N different agents upvote one feedback at once: all succeed and none is lost.
    RaceUpvote { feedback: usize, actors: Vec<usize> },
    /// One agent upvotes one feedback N times at once: exactly one succeeds.
    RaceUpvoteSame {
        feedback: usize,
        actor: usize,
        n: usize,
    },
    /// The last unresolved items of a proposal are resolved N-way at once: one world results.
    RaceGraduation { proposal: usize, n: usize },
    /// N different eligible reviewers review one proposal at once: all succeed.
    RaceReview { proposal: usize, actors: Vec<usize> },
    /// One agent creates N proposals with the same title at once: exactly its free slots succeed.
    RaceCreate { actor: usize, n: usize },
    /// A mutating request is sent twice, as a network retry would (keyed: same X-Idempotency-Key).
    Duplicate { inner: Box<Transition>, keyed: bool },
    /// The request is processed, the client drops its response, then retries.
    LostResponse { inner: Box<Transition>, keyed: bool },
    /// The database fails the request's transaction at commit; then the request is retried.
    DbFail { inner: Box<Transition> },
    /// The database stalls for `ms` while the request runs.
    DbStall { inner: Box<Transition>, ms: u64 },
    /// N different eligible agents review one story at once: all succeed.
    RaceStoryReview {
        story: usize,
        actors: Vec<usize>,
        acclaim: bool,
    },
    /// Approvals and rejections of one pending event at once (none by its proposer): exactly one
    /// decision wins.
    RaceEventDecision {
        event: usize,
        /// (agent, approve?)
        deciders: Vec<(usize, bool)>,
    },
    /// The author answers every open review of a story at once (after a revision if it has none),
    /// completing its acclaim conditions: the story must end up acclaimed.
    RaceAcclaim { story: usize },
    /// N different agents add differently named regions to one world at once: every add is kept
    /// (the world's region list is read-modify-written by each).
    RaceRegion { world: usize, actors: Vec<usize> },
    /// N different agents create a dweller in one world at once: every create is kept and counted
    /// in the world's stored `dweller_count`.
    RaceDweller { world: usize, actors: Vec<usize> },
    /// A story's author answers one of its reviews N times at once: exactly one answer is accepted.
    RaceRespond {
        story: usize,
        review: usize,
        n: usize,
    },
    /// N different agents without a reaction react to one story at once: every increment of its
    /// reaction count is kept.
    RaceReact { story: usize, actors: Vec<usize> },
    /// N different agents without a reaction react to one world at once: every increment of its
    /// per-kind reaction counts is kept.
    RaceReactWorld { world: usize, actors: Vec<usize> },
    /// One agent sends the same create N times at once with one X-Idempotency-Key: it executes once.
    IdemConcurrent { inner: Box<Transition>, n: usize },
    /// A create with an X-Idempotency-Key, then `second` with the same key — by another agent, or by
    /// the same agent on another endpoint: never a replay of the first answer.
    IdemReuse {
        first: Box<Transition>,
        second: Box<Transition>,
    },
    /// N different agents escalate one confirmed action at once: exactly one world event results.
    RaceEscalate { action: usize, actors: Vec<usize> },
    /// N different agents (none its actor) confirm one action at once: exactly one confirms it.
    RaceConfirm { action: usize, actors: Vec<usize> },
}

/// Fault kinds, for "how often did it actually fire" accounting (`--faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum FaultKind {
    RaceClaim,
    RaceUpvote,
    RaceUpvoteSame,
    RaceGraduation,
    RaceReview,
    RaceCreate,
    Duplicate,
    DuplicateKeyed,
    LostResponse,
    LostResponseKeyed,
    DbFail,
    DbStall,
    RaceStoryReview,
    RaceEventDecision,
    RaceAcclaim,
    RaceRegion,
    RaceRespond,
    RaceReact,
    RaceReactWorld,
    RaceDweller,
    IdemConcurrent,
    IdemOtherAgent,
    IdemOtherEndpoint,
    RaceEscalate,
    RaceConfirm,
}

crate::vocabulary!(FaultKind);

impl FaultKind {
    /// How many fault kinds there are, for per-kind arrays.
    pub const COUNT: usize = FaultKind::RaceConfirm as usize + 1;

    /// The kind's position, for per-kind arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::RaceClaim { .. } => FaultKind::RaceClaim,
            Fault::RaceUpvote { .. } => FaultKind::RaceUpvote,
            Fault::RaceUpvoteSame { .. } => FaultKind::RaceUpvoteSame,
            Fault::RaceGraduation { .. } => FaultKind::RaceGraduation,
            Fault::RaceReview { .. } => FaultKind::RaceReview,
            Fault::RaceCreate { .. } => FaultKind::RaceCreate,
            Fault::Duplicate { keyed: false, .. } => FaultKind::Duplicate,
            Fault::Duplicate { keyed: true, .. } => FaultKind::DuplicateKeyed,
            Fault::LostResponse { keyed: false, .. } => FaultKind::LostResponse,
            Fault::LostResponse { keyed: true, .. } => FaultKind::LostResponseKeyed,
            Fault::DbFail { .. } => FaultKind::DbFail,
            Fault::DbStall { .. } => FaultKind::DbStall,
            Fault::RaceStoryReview { .. } => FaultKind::RaceStoryReview,
            Fault::RaceEventDecision { .. } => FaultKind::RaceEventDecision,
            Fault::RaceAcclaim { .. } => FaultKind::RaceAcclaim,
            Fault::RaceRegion { .. } => FaultKind::RaceRegion,
            Fault::RaceRespond { .. } => FaultKind::RaceRespond,
            Fault::RaceReact { .. } => FaultKind::RaceReact,
            Fault::RaceReactWorld { .. } => FaultKind::RaceReactWorld,
            Fault::RaceDweller { .. } => FaultKind::RaceDweller,
            Fault::IdemConcurrent { .. } => FaultKind::IdemConcurrent,
            Fault::IdemReuse { first, second } => {
                if first.rule() == second.rule() {
                    FaultKind::IdemOtherAgent
                } else {
                    FaultKind::IdemOtherEndpoint
                }
            }
            Fault::RaceEscalate { .. } => FaultKind::RaceEscalate,
            Fault::RaceConfirm { .. } => FaultKind::RaceConfirm,
        }
    }

    /// The game rule the fault exercises.
    pub fn base_rule(&self) -> Rule {
        match self {
            Fault::RaceClaim { .. } => Rule::ClaimDweller,
            Fault::RaceUpvote { .. } | Fault::RaceUpvoteSame { .. } => Rule::UpvoteFeedback,
            Fault::RaceGraduation { .. } => Rule::ResolveItem,
            Fault::RaceReview { .. } => Rule::PostReview,
            Fault::RaceCreate { .. } => Rule::CreateProposal,
            Fault::RaceStoryReview { .. } => Rule::ReviewStory,
            Fault::RaceEventDecision { .. } => Rule::ApproveEvent,
            Fault::RaceAcclaim { .. } | Fault::RaceRespond { .. } => Rule::RespondStoryReview,
            Fault::RaceRegion { .. } => Rule::CreateRegion,
            Fault::RaceReact { .. } => Rule::ReactStory,
            Fault::RaceReactWorld { .. } => Rule::ReactWorld,
            Fault::RaceDweller { .. } => Rule::CreateDweller,
            Fault::IdemConcurrent { inner, .. } => inner.rule(),
            Fault::IdemReuse { first, .. } => first.rule(),
            Fault::RaceEscalate { .. } => Rule::EscalateAction,
            Fault::RaceConfirm { .. } => Rule::ConfirmImportance,
            Fault::Duplicate { inner, .. }
            | Fault::LostResponse { inner, .. }
            | Fault::DbFail { inner }
            | Fault::DbStall { inner, .. } => inner.rule(),
        }
    }

    /// Wraps `inner` (a request that is retried) in this fault shape.
    pub fn inner(&self) -> Option<&Transition> {
        match self {
            Fault::Duplicate { inner, .. }
            | Fault::LostResponse { inner, .. }
            | Fault::DbFail { inner }
            | Fault::DbStall { inner, .. } => Some(inner),
            _ => None,
        }
    }
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
