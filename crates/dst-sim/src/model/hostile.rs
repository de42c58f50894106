//! The hostile-values probe family: paging and query parameters at and past their bounds on the
//! list endpoints, malformed ids, NUL bytes and lone surrogate escapes in stored text. Any 4xx or
//! 2xx is fine, a 5xx is invariant 7. The cases go round in a fixed rotation ([`HostileCase::ALL`]),
//! [`HOSTILE_PER_STEP`] at a time, so a seed's probe steps cover every case about once.

use super::vocab::State;
use serde::{Deserialize, Serialize};

/// One hostile request: a list endpoint's paging or query parameter at or past its bounds, a
/// malformed id, or stored text with a NUL byte or a lone surrogate escape. Any answer below 500
/// is fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostileCase {
    ProposalsLimitNegative,
    ProposalsLimitZero,
    ProposalsLimitHuge,
    ProposalsLimitText,
    ProposalsCursorText,
    ProposalsCursorUnknown,
    ProposalsStatusBad,
    WorldsOffsetNegative,
    WorldsOffsetHuge,
    WorldsLimitHuge,
    WorldsLimitText,
    StoriesOffsetNegative,
    StoriesOffsetHuge,
    StoriesLimitZero,
    StoriesWorldIdBad,
    FeedbackListLimitNegative,
    FeedbackListOffsetNegative,
    FeedbackListOffsetHuge,
    FeedbackListStatusBad,
    ProposalIdBad,
    WorldIdBad,
    DwellerIdBad,
    /// `GET /api/events/worlds/{w}/events?status=…` (needs a world).
    EventsStatusBad,
    /// `GET /api/aspects/worlds/{w}/aspects?status=…` (needs a world).
    AspectsStatusBad,
    /// `GET /api/dwellers/worlds/{w}/dwellers?available_only=…` (needs a world).
    DwellersAvailableBad,
    /// Feedback create with a NUL byte in the title (a probe agent outside the model sends it).
    FeedbackTitleNul,
    /// Feedback create with a NUL byte in the description.
    FeedbackDescriptionNul,
    /// Proposal revise of the probe agent's own draft with a NUL byte in the premise.
    ProposalPremiseNul,
    /// Proposal revise of the probe agent's own draft with a NUL byte in the name.
    ProposalNameNul,
    /// Feedback create whose JSON body has a lone high surrogate escape (`\ud800`) in the title.
    FeedbackTitleSurrogate,
    /// Feedback create with a lone low surrogate escape (`\udfff`) in the description.
    FeedbackDescriptionSurrogate,
    /// Proposal revise of the probe agent's own draft with a lone `\ud800` in the name.
    ProposalNameSurrogate,
    /// Proposal revise of the probe agent's own draft with a lone `\udfff` in the premise.
    ProposalPremiseSurrogate,
    /// `GET /api/agents?limit=-1` (the agents list: `limit`/`offset`, no bounds declared).
    AgentsLimitNegative,
    AgentsOffsetNegative,
    AgentsOffsetHuge,
    /// `GET /api/feedback/changelog?limit=-1` (recently closed feedback).
    ChangelogLimitNegative,
    ChangelogLimitText,
    /// `GET /api/dweller-proposals?cursor=not-a-cursor`.
    DwellerProposalsCursorText,
    /// `GET /api/dweller-proposals?world_id=not-a-uuid`.
    DwellerProposalsWorldIdBad,
    /// `GET /api/notifications/history?offset=10^20`, as the probe agent (it needs a key).
    NotificationsOffsetHuge,
    /// `GET /api/social/following?offset=10^20`, as the probe agent.
    FollowingOffsetHuge,
    /// `GET /api/actions/worlds/{w}/escalation-eligible?offset=10^20` (needs a world).
    EscalationEligibleOffsetHuge,
    /// Test-approve of the probe agent's own event aspect in world 0 with an
    /// `approved_timeline_entry` whose year is text (create refuses that year; needs a world and
    /// test mode).
    TestApproveYearText,
}

impl HostileCase {
    // a new case goes among the first of the rotation (so it comes round in every seed), after
    // the cases a planted bug needs early (so their first seeds stay put)
    pub const ALL: [HostileCase; 44] = [
        HostileCase::ProposalsLimitNegative,
        HostileCase::WorldsOffsetNegative,
        HostileCase::FeedbackTitleNul,
        HostileCase::ProposalPremiseNul,
        HostileCase::ProposalNameSurrogate,
        HostileCase::AgentsLimitNegative,
        HostileCase::ChangelogLimitNegative,
        HostileCase::DwellerProposalsCursorText,
        HostileCase::NotificationsOffsetHuge,
        HostileCase::EscalationEligibleOffsetHuge,
        HostileCase::TestApproveYearText,
        HostileCase::ProposalsLimitZero,
        HostileCase::WorldsOffsetHuge,
        HostileCase::StoriesOffsetNegative,
        HostileCase::FeedbackListLimitNegative,
        HostileCase::FeedbackTitleSurrogate,
        HostileCase::ProposalsCursorText,
        HostileCase::EventsStatusBad,
        HostileCase::ProposalNameNul,
        HostileCase::ProposalsLimitHuge,
        HostileCase::AgentsOffsetNegative,
        HostileCase::FollowingOffsetHuge,
        HostileCase::WorldsLimitHuge,
        HostileCase::StoriesOffsetHuge,
        HostileCase::ProposalPremiseSurrogate,
        HostileCase::FeedbackListOffsetNegative,
        HostileCase::AspectsStatusBad,
        HostileCase::FeedbackDescriptionNul,
        HostileCase::FeedbackDescriptionSurrogate,
        HostileCase::ProposalsLimitText,
        HostileCase::AgentsOffsetHuge,
        HostileCase::ChangelogLimitText,
        HostileCase::DwellerProposalsWorldIdBad,
        HostileCase::WorldsLimitText,
        HostileCase::StoriesLimitZero,
        HostileCase::FeedbackListOffsetHuge,
        HostileCase::DwellersAvailableBad,
        HostileCase::ProposalsCursorUnknown,
        HostileCase::StoriesWorldIdBad,
        HostileCase::FeedbackListStatusBad,
        HostileCase::ProposalIdBad,
        HostileCase::WorldIdBad,
        HostileCase::DwellerIdBad,
        HostileCase::ProposalsStatusBad,
    ];

    /// Whether the case needs a world of the model (it reads world 0).
    pub fn needs_world(self) -> bool {
        matches!(
            self,
            HostileCase::EventsStatusBad
                | HostileCase::AspectsStatusBad
                | HostileCase::DwellersAvailableBad
                | HostileCase::EscalationEligibleOffsetHuge
                | HostileCase::TestApproveYearText
        )
    }
}

/// How many hostile requests one probe step sends (keeps each step cheap; the rotation covers
/// every case over a seed's probe steps).
pub const HOSTILE_PER_STEP: usize = 8;

/// The hostile cases the next probe step sends (the rotation, skipping world cases without one).
pub(super) fn hostile_batch(st: &State) -> (Vec<HostileCase>, usize) {
    let all = &HostileCase::ALL;
    let mut out = Vec::new();
    let mut used = 0;
    while out.len() < HOSTILE_PER_STEP && used < all.len() {
        let c = all[(st.probed.hostile_next + used) % all.len()];
        used += 1;
        if !c.needs_world() || !st.worlds.is_empty() {
            out.push(c);
        }
    }
    (out, used)
}
