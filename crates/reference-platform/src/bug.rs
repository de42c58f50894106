//! The planted bugs: each mirrors a real failure of the platform behind a switch and changes only
//! the code path it names (see `docs/reference-platform.md`).
//!
//! [`Bug`] derives `clap::ValueEnum`, so its kebab-case names, the list and the descriptions come
//! from one place: [`BugParser`] gives any CLI `--bug NAME` with the names in `--help` and a typo
//! refused with the list.

use clap::ValueEnum;
use std::sync::LazyLock;

/// A planted bug. The doc comment says what the code does differently; the `help` text is the
/// symptom, as `--list-bugs` and `--help` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum Bug {
    /// Claim checks availability and writes the holder in separate transactions, yielding between.
    #[value(
        help = "two concurrent claims of one dweller can both succeed (check-then-write, no lock)"
    )]
    ClaimRace,
    /// The final resolve checks "can graduate" and creates the world in separate transactions.
    #[value(help = "two concurrent final resolves create two worlds for one proposal")]
    GraduationRace,
    /// Upvote reads the count, yields, and writes count+1 (the upvoter row is still added).
    #[value(help = "concurrent upvotes lose increments (read-modify-write of the count)")]
    UpvoteLostUpdate,
    /// The "already upvoted" check is skipped.
    #[value(help = "the same agent can upvote one feedback twice")]
    DoubleUpvote,
    /// The "cannot upvote own feedback" check is skipped.
    #[value(help = "an agent can upvote its own feedback")]
    SelfUpvote,
    /// The "cannot review your own proposal" check is skipped.
    #[value(help = "a proposer can review its own proposal")]
    SelfReview,
    /// The feedback status graph lets terminal states move again.
    #[value(help = "resolved / wont_fix feedback can change status again")]
    FeedbackStatusBackwards,
    /// Feedback titles over 100 characters fail with a 500, as a too-narrow column would.
    #[value(
        name = "long-text-500",
        help = "a feedback title over 100 characters gives a 500 (column narrower than the API)"
    )]
    LongText500,
    /// Graduation leaves the approved proposal's `resulting_world_id` null.
    #[value(help = "an approved proposal's resulting_world_id stays null")]
    WorldBacklinkNull,
    /// The story-review self-review guard reads the owner field proposals and aspects have
    /// (`agent_id`), which stories lack (`author_id`): authors can review their own story.
    #[value(
        help = "an author can review its own story (the guard checks agent_id; stories have author_id)"
    )]
    StorySelfReview,
    /// Acclaim eligibility skips the "revised at least once" condition.
    #[value(help = "a story is acclaimed without any revision (eligibility skips revision_count)")]
    AcclaimWithoutRevision,
    /// Respond reads the story's reviews, yields, then writes and decides acclaim on the stale
    /// read: two concurrent final responses each miss the other's, and the story is never acclaimed.
    #[value(help = "two concurrent final review responses leave an eligible story unacclaimed")]
    AcclaimRace,
    /// Approve/reject skip the "must be pending" check: a decided event can be decided again.
    #[value(help = "an approved or rejected world event can be approved or rejected again")]
    EventDoubleDecision,
    /// Approve skips the "not your own event" check.
    #[value(help = "the proposer of a world event can approve it")]
    EventSelfApproval,
    /// Approve/reject check "pending" and write the decision in separate transactions.
    #[value(help = "a concurrent approve and reject of one event both succeed (check-then-write)")]
    EventDecisionRace,
    /// Revise accepts an approved aspect and drops it back to validating.
    #[value(help = "revising an approved aspect is accepted and moves it back to validating")]
    AspectStatusBackwards,
    /// Story create skips the world check: a story can point at a world that does not exist.
    #[value(help = "a story can be created in a world that does not exist (world check skipped)")]
    StoryOrphanWorld,
    /// Region add reads the world's region list, yields, then writes the stale list plus the new
    /// region back (an unlocked read-modify-write of a list-valued field).
    #[value(
        help = "concurrent region adds to one world lose all but one (stale list written back)"
    )]
    RegionLostUpdate,
    /// The idempotency layer looks the key up and records it in separate steps, yielding between.
    #[value(
        help = "two concurrent requests with one X-Idempotency-Key both execute (check-then-insert)"
    )]
    IdempotencyCheckThenInsert,
    /// The idempotency layer matches a stored key without comparing its agent or endpoint.
    #[value(
        help = "an X-Idempotency-Key replays one agent's stored answer to another agent or endpoint"
    )]
    IdempotencyKeyUnscoped,
    /// Story review respond checks "not answered yet" and records the answer in separate
    /// transactions, yielding between.
    #[value(help = "concurrent answers to one story review are all accepted (check-then-write)")]
    StoryRespondRace,
    /// Respond skips the "only the content's owner answers its feedback" check (as the real
    /// platform's respond does): a reviewer or a bystander can mark any item addressed.
    #[value(help = "any agent can respond to another's review feedback item (no owner check)")]
    RespondAnyAgent,
    /// Proposal revise checks only the types of its fields, not the bounds create enforces.
    #[value(
        help = "a proposal revise accepts values its create rejects (empty or long name, short premise, short chain)"
    )]
    ReviseSkipsValidation,
    /// The critical-review route (`/api/review/story/{id}/feedback`) skips the author check the
    /// story route (`/api/stories/{id}/review`) makes: two routes to one state, one rule skipped.
    #[value(
        help = "an author can review its own story through /api/review/story/{id}/feedback (the other review route refuses)"
    )]
    ReviewRouteSelfReview,
    /// The worlds list passes a negative `offset` to the database unchecked, which fails.
    #[value(
        name = "hostile-paging-500",
        help = "GET /api/worlds?offset=-1 gives a 500 (paging parameter passed on unchecked)"
    )]
    HostilePaging500,
    /// Proposal create and revise store text with a NUL byte, which the database refuses.
    #[value(
        name = "nul-byte-500",
        help = "a proposal text field with a NUL byte gives a 500 (the database refuses it)"
    )]
    NulByte500,
    /// Reopen skips the "only the original reviewer" check: the proposer or a bystander can reopen
    /// any feedback item (and so hold back any proposal's graduation).
    #[value(help = "any agent can reopen another reviewer's feedback item (no reviewer check)")]
    ReopenAnyAgent,
    /// Reopen marks the item `disputed`, a status the graduation gate does not count as pending
    /// (the real platform's gate counts only open and addressed items): a reopened item no longer
    /// blocks graduation.
    #[value(
        help = "a reopened feedback item does not block graduation (reopen marks it disputed, which the gate skips)"
    )]
    ReopenUnblocksGraduation,
    /// A JSON body with a lone surrogate escape fails in the malformed-body answer, which echoes
    /// the undecodable input and cannot encode it (the real platform's 422 handler does this).
    #[value(
        name = "lone-surrogate-500",
        help = "a JSON body with a lone surrogate escape (\\ud800) gives a 500 instead of the 422"
    )]
    LoneSurrogate500,
    /// The agents list and the feedback changelog pass a negative `limit` on to the database,
    /// which fails (as the real platform's unchecked `limit: int` parameters do).
    #[value(
        name = "negative-limit-500",
        help = "GET /api/agents?limit=-1 and /api/feedback/changelog?limit=-1 give a 500 (limit passed on unchecked)"
    )]
    NegativeLimit500,
    /// A new story reaction reads the story's stored count, yields, then writes that count + 1
    /// (the unlocked `reaction_count += 1` of an ORM object): concurrent reactions lose increments.
    #[value(help = "concurrent reactions to one story lose increments of its reaction_count")]
    ReactionLostUpdate,
    /// A dweller create reads its world's stored `dweller_count`, yields, then writes that count
    /// + 1 (the unlocked `world.dweller_count = world.dweller_count + 1`).
    #[value(help = "concurrent dweller creates in one world lose increments of its dweller_count")]
    DwellerCountLostUpdate,
    /// A world reaction (`POST /api/social/react`) reads the world's per-kind counts, yields, then
    /// writes them back changed by its own delta (the unlocked JSON dict read-modify-write).
    #[value(help = "concurrent reactions to one world lose increments of its reaction_counts")]
    WorldReactionLostUpdate,
    /// Accepting a suggestion writes its value into the proposal or aspect without revise's rules:
    /// no check of the value against create's bounds, none of the target's status (the real
    /// platform's accept does this).
    #[value(
        help = "accepting a revision suggestion applies any value, on any status (no validation, an approved proposal changes)"
    )]
    SuggestionAcceptSkipsValidation,
    /// The "already upvoted" check of a suggestion upvote is skipped.
    #[value(help = "the same agent can upvote one revision suggestion twice")]
    SuggestionUpvoteTwice,
    /// Escalate checks "not escalated yet" and inserts the world event in separate transactions,
    /// yielding between (the real platform's EXISTS-then-INSERT with no lock and no unique index).
    #[value(
        help = "two concurrent escalations of one action create two world events (check-then-insert)"
    )]
    EscalateRace,
    /// Confirm-importance checks "not confirmed yet" and writes the confirmer in separate
    /// transactions, yielding between.
    #[value(
        help = "concurrent importance confirmations of one action are all accepted (check-then-write)"
    )]
    ConfirmRace,
    /// `POST /api/actions` skips the inhabitant check the two-phase act makes: any agent can act
    /// as any dweller through the second act path.
    #[value(
        help = "any agent can act as any dweller through POST /api/actions (no inhabitant check)"
    )]
    ActionsRouteAnyAgent,
    /// Confirm-importance skips the "not your own action" check.
    #[value(help = "an actor can confirm the importance of its own action")]
    ConfirmOwnAction,
    /// A memory edit of a field that already holds something (core memories, relationships,
    /// personality blocks; a reflection on a dweller with episodes) answers with the change but
    /// does not store it, as an in-place mutation of an untracked JSON column does.
    #[value(
        help = "a second memory edit of a non-empty field answers with the change but is not stored"
    )]
    MemoryEditLost,
    /// The dweller memory edits skip the inhabitant check (personality: the creator-or-inhabitant
    /// check): any agent can rewrite any dweller's memory.
    #[value(
        help = "any agent can edit any dweller's memory, situation and personality (no inhabitant check)"
    )]
    MemoryAnyAgent,
    /// A follow reads the world's stored `follower_count`, yields, then writes that count + 1 (an
    /// ORM `world.follower_count += 1` instead of the real platform's SQL `follower_count + 1`).
    #[value(help = "concurrent follows of one world lose increments of its follower_count")]
    FollowLostUpdate,
    /// Follow skips the "already following" check: a second follow by the same agent is stored
    /// again and counted again.
    #[value(help = "following a world twice counts the follower twice")]
    FollowTwiceCountsTwice,
    /// A comment reads its target's stored `comment_count`, yields, then writes that count + 1 (the
    /// real platform's unlocked `target.comment_count = (target.comment_count or 0) + 1`).
    #[value(
        help = "concurrent comments on one world or story lose increments of its comment_count"
    )]
    CommentCountLostUpdate,
    /// A memory summary reads the dweller's `memory_summaries` list, yields, then writes the stale
    /// list plus its own entry back (the real platform's `memory_summaries = old + [entry]`).
    #[value(
        help = "concurrent memory summaries of one dweller lose all but one (stale list written back)"
    )]
    SummaryLostUpdate,
    /// Follow checks "already following" and inserts the follow in separate transactions,
    /// yielding between (the real platform's SELECT then INSERT with no unique index).
    #[value(
        help = "one agent's concurrent follows of one world are all counted (check-then-insert)"
    )]
    FollowRace,
    /// A dweller proposal's revise checks only its own field bounds, as the real platform's does:
    /// an empty name or role, and a name whose parts create's blocklist refuses, are stored.
    #[value(
        help = "a dweller proposal's revise accepts an empty name or role and a blocked name (create refuses them)"
    )]
    DwellerProposalReviseSkipsValidation,
    /// The critical review's "cannot review your own content" check is skipped for dweller
    /// proposals.
    #[value(help = "a dweller proposal's owner can review it")]
    DwellerProposalSelfReview,
    /// Test-approve marks the aspect approved and answers that the world was updated, but writes
    /// neither the new canon summary nor an event aspect's timeline entry into the world.
    #[value(
        help = "an aspect's test-approve answers canon_summary_updated but the world's canon summary and timeline stay unchanged"
    )]
    TestApproveSkipsCanon,
    /// Reopening an item of an approved aspect puts the aspect back under review (validating), as
    /// if the review were still running: an approval taken back by a reviewer's reopen.
    #[value(
        help = "reopening a review item of an approved aspect moves the aspect back to validating"
    )]
    AspectReopenUnapproves,
    /// A region aspect's test-approve adds the aspect's content to the world's regions without
    /// region create's rules: a name in the world already (in any letter case), an empty, missing
    /// or over-long name are all stored, as the real approval appends `content` as it is.
    #[value(
        help = "a region aspect's test-approve adds its content as a region without region create's rules (a duplicate or missing name)"
    )]
    RegionAspectSkipsRegionRules,
    /// A comment's reaction adds 1 to the target's count every time and is not kept as the
    /// agent's reaction, as the real platform's comment handler does: the react routes' one
    /// reaction per agent and target is skipped on this second route.
    #[value(
        help = "a comment's reaction counts again for an agent who already reacted (and is not the agent's reaction)"
    )]
    CommentReactionCountsAgain,
}

/// Each bug's name and description as `'static` text, read once from the derived `ValueEnum`
/// (clap hands them out only as borrows of a temporary), indexed by the variant's position.
static TEXT: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    Bug::value_variants()
        .iter()
        .map(|b| {
            let v = b.to_possible_value().expect("no Bug variant is skipped");
            let help = v.get_help().map(ToString::to_string).unwrap_or_default();
            (v.get_name().to_string(), help)
        })
        .collect()
});

impl Bug {
    /// Every bug, in declaration order (the order of `--list-bugs` and the mutants scorecard).
    pub fn all() -> &'static [Bug] {
        Self::value_variants()
    }

    /// The kebab-case name used on command lines, in traces and in the docs.
    pub fn name(&self) -> &'static str {
        &TEXT[*self as usize].0
    }

    /// The bug of that name, if there is one.
    pub fn from_name(s: &str) -> Option<Bug> {
        <Bug as ValueEnum>::from_str(s, false).ok()
    }

    /// What the bug does, in one line.
    pub fn description(&self) -> &'static str {
        &TEXT[*self as usize].1
    }
}

/// `--bug NAME` for a clap CLI (`#[arg(long, value_parser = BugParser)]`): `--help` lists the
/// names with their descriptions, and an unknown name is refused (exit 2) with the list.
#[derive(Debug, Clone, Copy, Default)]
pub struct BugParser;

impl clap::builder::TypedValueParser for BugParser {
    type Value = Bug;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Bug, clap::Error> {
        let name = value.to_string_lossy();
        Bug::from_name(&name).ok_or_else(|| {
            let names: Vec<&str> = Bug::all().iter().map(|b| b.name()).collect();
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!(
                    "unknown bug {name:?}; the planted bugs are: {}\n",
                    names.join(", ")
                ),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            Bug::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}

/// A pause between check and write, taken only by the planted race bugs so that concurrent
/// requests really interleave there. A request in a seeded race (`schedule.rs`) waits here for its
/// turn in the seeded order instead.
pub(crate) async fn race_window() {
    if crate::schedule::window().await {
        return;
    }
    tokio::task::yield_now().await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_documented_kebab_case_ones_in_order() {
        let names: Vec<&str> = Bug::all().iter().map(|b| b.name()).collect();
        assert_eq!(
            names,
            [
                "claim-race",
                "graduation-race",
                "upvote-lost-update",
                "double-upvote",
                "self-upvote",
                "self-review",
                "feedback-status-backwards",
                "long-text-500",
                "world-backlink-null",
                "story-self-review",
                "acclaim-without-revision",
                "acclaim-race",
                "event-double-decision",
                "event-self-approval",
                "event-decision-race",
                "aspect-status-backwards",
                "story-orphan-world",
                "region-lost-update",
                "idempotency-check-then-insert",
                "idempotency-key-unscoped",
                "story-respond-race",
                "respond-any-agent",
                "revise-skips-validation",
                "review-route-self-review",
                "hostile-paging-500",
                "nul-byte-500",
                "reopen-any-agent",
                "reopen-unblocks-graduation",
                "lone-surrogate-500",
                "negative-limit-500",
                "reaction-lost-update",
                "dweller-count-lost-update",
                "world-reaction-lost-update",
                "suggestion-accept-skips-validation",
                "suggestion-upvote-twice",
                "escalate-race",
                "confirm-race",
                "actions-route-any-agent",
                "confirm-own-action",
                "memory-edit-lost",
                "memory-any-agent",
                "follow-lost-update",
                "follow-twice-counts-twice",
                "comment-count-lost-update",
                "summary-lost-update",
                "follow-race",
                "dweller-proposal-revise-skips-validation",
                "dweller-proposal-self-review",
                "test-approve-skips-canon",
                "aspect-reopen-unapproves",
                "region-aspect-skips-region-rules",
                "comment-reaction-counts-again",
            ]
        );
        for (i, b) in Bug::all().iter().enumerate() {
            assert_eq!(*b as usize, i, "name() indexes by position");
            assert_eq!(Bug::from_name(b.name()), Some(*b));
            assert!(
                !b.description().is_empty(),
                "{} has no description",
                b.name()
            );
        }
        assert_eq!(Bug::from_name("long-text500"), None);
        assert_eq!(
            Bug::ClaimRace.description(),
            "two concurrent claims of one dweller can both succeed (check-then-write, no lock)"
        );
    }
}
