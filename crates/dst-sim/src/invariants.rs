//! The invariants, checked by API read-back after every step (and over everything at the end of a
//! seed). A read-back that fails is itself a violation, never a skip.

use serde::{Deserialize, Serialize};

/// The invariants, named on the command line, in JSON and in tables as `N-what` (`model-agreement`
/// for the prediction check that is not numbered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Invariant {
    /// The response class matched the model's prediction (success or the specific rejection).
    #[value(name = "model-agreement")]
    ModelAgreement,
    /// 1. Proposal status follows draft → validating → approved only.
    #[value(name = "1-proposal-status")]
    ProposalStatus,
    /// 2. A dweller has at most one holder, and every agent told "claimed" holds it or released it.
    #[value(name = "2-single-holder")]
    SingleHolder,
    /// 3. Upvote count == distinct upvoters == successful upvote calls.
    #[value(name = "3-upvote-count")]
    UpvoteCount,
    /// 4. No self-upvote exists.
    #[value(name = "4-no-self-upvote")]
    NoSelfUpvote,
    /// 5. No agent appears twice among a feedback's upvoters.
    #[value(name = "5-no-duplicate-upvoter")]
    NoDuplicateUpvoter,
    /// 6. Terminal feedback states (resolved, wont_fix) never change.
    #[value(name = "6-terminal-feedback")]
    TerminalFeedback,
    /// 7. No response is a 5xx, ever (read-backs included).
    #[value(name = "7-no-5xx")]
    No5xx,
    /// 8. Each approved proposal has exactly one world, and the world points back to it.
    #[value(name = "8-one-world-per-proposal")]
    OneWorldPerProposal,
    /// 9. An agent holds at most the platform's dweller cap (5).
    #[value(name = "9-dweller-cap")]
    DwellerCap,
    /// 10. Nobody reviews their own proposal.
    #[value(name = "10-no-self-review")]
    NoSelfReview,
    /// 11. Aspect status follows draft → validating → approved only; exactly the approved aspects
    ///     are in their world's canon; an approval's writes are in the world (test-approve's canon
    ///     summary right after it, an event aspect's timeline entry once in the causal chain, a
    ///     region aspect's region once in the world's regions).
    #[value(name = "11-aspect-status")]
    AspectStatus,
    /// 12. A story, aspect or event references an existing world (the one it was created in),
    ///     and a failed story create leaves nothing behind.
    #[value(name = "12-world-reference")]
    WorldReference,
    /// 13. Nobody reviews their own story, aspect or dweller proposal.
    #[value(name = "13-no-self-review-content")]
    NoSelfReviewContent,
    /// 14. A story is acclaimed only once its conditions held (≥2 acclaim reviews, all answered,
    ///     one revision), and a story that met them is acclaimed (liveness: at every read-back of the
    ///     story and over all stories at the end of a seed).
    #[value(name = "14-story-acclaim")]
    StoryAcclaim,
    /// 15. A world event is approved or rejected once, never both, and never by its proposer.
    #[value(name = "15-event-decision")]
    EventDecision,
    /// 16. Every mutating operation the model knows is refused to each actor the rules refuse it to
    ///     (non-owner, owner where self-action is forbidden, non-reviewer, non-inhabitant,
    ///     non-admin), through every route that accepts it.
    #[value(name = "16-authorization")]
    Authorization,
    /// 17. An update or revise endpoint rejects every value its create endpoint rejects.
    #[value(name = "17-validation-parity")]
    ValidationParity,
    /// 18. Where two endpoints reach the same state, both enforce the same rules.
    #[value(name = "18-second-write-path")]
    SecondWritePath,
    /// 19. Concurrent writers of one counter or list-valued field (different agents, released
    ///     together): every write that was told it succeeded is in the read-back.
    #[value(name = "19-no-lost-update")]
    NoLostUpdate,
    /// 20. An "at most once" operation (answering a review, deciding, claiming) raced by concurrent
    ///     callers succeeds exactly once.
    #[value(name = "20-at-most-once")]
    AtMostOnce,
    /// 21. An X-Idempotency-Key executes its request once, even when presented concurrently, and
    ///     never replays one agent's answer to another agent or another endpoint.
    #[value(name = "21-idempotency-key")]
    IdempotencyKey,
    /// 22. A proposal's or an aspect's review items read back with the status their last respond,
    ///     resolve or reopen gave them (items added later open), none lost and none extra; its
    ///     review status route counts the same reviewers and items by status, and never says a
    ///     proposal that has not graduated can graduate (it graduates on the resolve that meets the
    ///     conditions; an aspect likewise where the review approves aspects, otherwise it says
    ///     whether the conditions hold).
    #[value(name = "22-review-items")]
    ReviewItems,
    /// 23. A dweller action reads back as its rules left it: its importance confirmed at most once,
    ///     never by its actor; escalated only once confirmed, into exactly one world event that
    ///     names it (`origin_action`), and no event for an action not escalated.
    #[value(name = "23-action-escalation")]
    ActionEscalation,
    /// 24. A dweller's memory reads back exactly as its accepted edits made it: core memories,
    ///     relationships, personality blocks, the current situation and reflections (through
    ///     `GET /api/dwellers/{id}/memory` as the inhabitant, and the public dweller read) — every
    ///     accepted edit kept, nothing else.
    #[value(name = "24-memory-persisted")]
    MemoryPersisted,
    /// 25. A dweller proposal reads back as its rules left it: draft or validating (never more: a
    ///     completed review makes no dweller, `resulting_dweller_id` stays null), the name, role
    ///     and age of its last accepted create or revise, as many revisions; its review items with
    ///     the status their last respond, resolve or reopen gave them, none lost and none extra,
    ///     and its review status route's counts and `can_graduate` (≥2 reviewers, all resolved).
    #[value(name = "25-dweller-proposal")]
    DwellerProposal,
}

crate::vocabulary!(Invariant);

impl Invariant {
    /// How many invariants there are (the last one's position + 1), for per-invariant arrays.
    pub const COUNT: usize = Invariant::DwellerProposal as usize + 1;

    /// The invariant's position, for per-invariant arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Checked only by `--faults` steps (the concurrency checks): a run without faults neither
    /// counts nor requires them, so `make dst --strict` judges the invariants its steps can reach.
    pub fn needs_faults(self) -> bool {
        matches!(
            self,
            Invariant::NoLostUpdate | Invariant::AtMostOnce | Invariant::IdempotencyKey
        )
    }
}

/// A broken invariant, at a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub invariant: Invariant,
    pub step: usize,
    pub message: String,
}

/// Why a step stopped: the platform broke an invariant, or the target gave no answer at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Violation(Violation),
    /// Connection refused or reset, no answer within `--request-timeout`, the target died: the
    /// run cannot go on, and it is never reported as a violation.
    Infrastructure {
        step: usize,
        message: String,
    },
}

impl From<Violation> for Failure {
    fn from(v: Violation) -> Self {
        Failure::Violation(v)
    }
}
