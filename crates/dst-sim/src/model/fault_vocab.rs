//! The fault layer's vocabulary: one fault step ([`Fault`], naming model entities by index like a
//! [`Transition`]) and the fault kinds counted in the summary ([`FaultKind`]). Moved out of
//! `vocab.rs` (which was passing 900 lines); `vocab.rs` re-exports both.

use super::vocab::{Rule, Transition};
use serde::{Deserialize, Serialize};

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
    /// N different agents not following one world follow it at once: every increment of its
    /// `follower_count` is kept.
    RaceFollow { world: usize, actors: Vec<usize> },
    /// N different agents comment on one world or story at once: every comment is kept and counted
    /// in its `comment_count`.
    RaceComment {
        target: super::social::CTarget,
        actors: Vec<usize>,
    },
    /// A dweller's inhabitant sends N memory summaries at once: every one is kept in its
    /// `memory_summaries`.
    RaceSummarize { dweller: usize, n: usize },
    /// One agent not following a world follows it N times at once: exactly one follow is counted.
    RaceFollowSame {
        world: usize,
        actor: usize,
        n: usize,
    },
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
    RaceFollow,
    RaceComment,
    RaceSummarize,
    RaceFollowSame,
}

crate::vocabulary!(FaultKind);

impl FaultKind {
    /// How many fault kinds there are, for per-kind arrays.
    pub const COUNT: usize = FaultKind::RaceFollowSame as usize + 1;

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
            Fault::RaceFollow { .. } => FaultKind::RaceFollow,
            Fault::RaceComment { .. } => FaultKind::RaceComment,
            Fault::RaceSummarize { .. } => FaultKind::RaceSummarize,
            Fault::RaceFollowSame { .. } => FaultKind::RaceFollowSame,
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
            Fault::RaceFollow { .. } | Fault::RaceFollowSame { .. } => Rule::FollowWorld,
            Fault::RaceComment { .. } => Rule::CommentOn,
            Fault::RaceSummarize { .. } => Rule::SummarizeMemory,
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
