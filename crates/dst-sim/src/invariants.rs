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
}

impl Invariant {
    pub const ALL: [Invariant; 11] = [
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
