//! The invariants, checked by API read-back after every step (and over everything at the end of a
//! seed). A read-back that fails is itself a violation, never a skip.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Invariant {
    /// The response class matched the model's prediction (success or the specific rejection).
    ModelAgreement,
    /// 1. Proposal status follows draft → validating → approved only.
    ProposalStatus,
    /// 2. A dweller has at most one holder, and every agent told "claimed" holds it or released it.
    SingleHolder,
    /// 3. Upvote count == distinct upvoters == successful upvote calls.
    UpvoteCount,
    /// 4. No self-upvote exists.
    NoSelfUpvote,
    /// 5. No agent appears twice among a feedback's upvoters.
    NoDuplicateUpvoter,
    /// 6. Terminal feedback states (resolved, wont_fix) never change.
    TerminalFeedback,
    /// 7. No response is a 5xx, ever (read-backs included).
    No5xx,
    /// 8. Each approved proposal has exactly one world, and the world points back to it.
    OneWorldPerProposal,
    /// 9. An agent holds at most the platform's dweller cap (5).
    DwellerCap,
    /// 10. Nobody reviews their own proposal.
    NoSelfReview,
    /// 11. Aspect status follows draft → validating → approved only; exactly the approved aspects
    ///     are in their world's canon.
    AspectStatus,
    /// 12. A story, aspect or event references an existing world (the one it was created in),
    ///     and a failed story create leaves nothing behind.
    WorldReference,
    /// 13. Nobody reviews their own story or aspect.
    NoSelfReviewContent,
    /// 14. A story is acclaimed only once its conditions held (≥2 acclaim reviews, all answered,
    ///     one revision), and a story that met them is acclaimed (liveness: at every read-back of the
    ///     story and over all stories at the end of a seed).
    StoryAcclaim,
    /// 15. A world event is approved or rejected once, never both, and never by its proposer.
    EventDecision,
}

impl Invariant {
    pub const COUNT: usize = 16;
    pub const ALL: [Invariant; Invariant::COUNT] = [
        Invariant::ModelAgreement,
        Invariant::ProposalStatus,
        Invariant::SingleHolder,
        Invariant::UpvoteCount,
        Invariant::NoSelfUpvote,
        Invariant::NoDuplicateUpvoter,
        Invariant::TerminalFeedback,
        Invariant::No5xx,
        Invariant::OneWorldPerProposal,
        Invariant::DwellerCap,
        Invariant::NoSelfReview,
        Invariant::AspectStatus,
        Invariant::WorldReference,
        Invariant::NoSelfReviewContent,
        Invariant::StoryAcclaim,
        Invariant::EventDecision,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Invariant::ModelAgreement => "model-agreement",
            Invariant::ProposalStatus => "1-proposal-status",
            Invariant::SingleHolder => "2-single-holder",
            Invariant::UpvoteCount => "3-upvote-count",
            Invariant::NoSelfUpvote => "4-no-self-upvote",
            Invariant::NoDuplicateUpvoter => "5-no-duplicate-upvoter",
            Invariant::TerminalFeedback => "6-terminal-feedback",
            Invariant::No5xx => "7-no-5xx",
            Invariant::OneWorldPerProposal => "8-one-world-per-proposal",
            Invariant::DwellerCap => "9-dweller-cap",
            Invariant::NoSelfReview => "10-no-self-review",
            Invariant::AspectStatus => "11-aspect-status",
            Invariant::WorldReference => "12-world-reference",
            Invariant::NoSelfReviewContent => "13-no-self-review-content",
            Invariant::StoryAcclaim => "14-story-acclaim",
            Invariant::EventDecision => "15-event-decision",
        }
    }

    pub fn from_name(s: &str) -> Option<Invariant> {
        Self::ALL.iter().copied().find(|i| i.name() == s)
    }

    pub fn index(&self) -> usize {
        Self::ALL.iter().position(|i| i == self).unwrap_or(0)
    }
}

/// A broken invariant, at a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub invariant: Invariant,
    pub step: usize,
    pub message: String,
}
