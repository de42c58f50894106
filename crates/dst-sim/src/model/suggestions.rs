//! Revision suggestions: another agent suggests a new value for one field of a proposal or an
//! aspect, the owner accepts or rejects it, others upvote it, the suggester withdraws it.
//!
//! Accepting is a second write path to the proposal or aspect: the rules hold it to what revise
//! would answer its owner sending `{field: value}` — create's bounds on the value (422) and no
//! change once the target is approved (400). An accept is not a revision (the proposer's revise
//! is: a resolve still needs one after the item was raised), as on the real platform, whose accept
//! never touches `last_revised_at`. Same contract as `rules.rs`: `offer` generates only valid
//! transitions, `expect` predicts, `step` applies.

use super::vocab::{AStatus, Expect, PStatus, Rule, State, Transition, biased};
use proptest::strategy::{BoxedStrategy, Strategy};
use serde::{Deserialize, Serialize};

/// What a suggestion is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum STarget {
    Proposal(usize),
    Aspect(usize),
}

impl STarget {
    /// What the target is, in words.
    pub fn kind(self) -> &'static str {
        match self {
            STarget::Proposal(_) => "proposal",
            STarget::Aspect(_) => "aspect",
        }
    }
}

/// The field a suggestion names and the kind of value it proposes (the driver makes the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SCase {
    // proposals, in any status
    PremiseValid,
    NameValid,
    BasisValid,
    /// `name: ""` (create: 2..=50 characters)
    NameEmpty,
    /// `name` of 51 characters
    Name51,
    /// `name` of 256 characters (past a 255-character column too)
    Name256,
    /// `premise` of 49 characters (create: ≥ 50)
    PremiseShort,
    /// `field: "status"`, not a suggestible field (400 at suggest)
    StatusField,
    // proposals, only once approved: before, an applied year or chain would change the world the
    // graduation creates, and every later event prediction with it
    YearValid,
    /// `year_setting: 99999` (create: 2030..=2500)
    Year99999,
    /// `year_setting: "abc"` (a string for an integer)
    YearAbc,
    /// `causal_chain: []` (create: ≥ 3 steps)
    ChainEmpty,
    // aspects
    AspectTitleValid,
    AspectPremiseValid,
    AspectJustificationValid,
    /// `title` of 2 characters (create: 3..=255)
    AspectTitle2,
    /// `premise` of 29 characters (create: ≥ 30)
    AspectPremiseShort,
    /// `aspect_type` of 101 characters (create: 1..=100)
    AspectType101,
}

impl SCase {
    /// The field the suggestion names.
    pub fn field(self) -> &'static str {
        use SCase::*;
        match self {
            PremiseValid | PremiseShort | AspectPremiseValid | AspectPremiseShort => "premise",
            NameValid | NameEmpty | Name51 | Name256 => "name",
            BasisValid => "scientific_basis",
            StatusField => "status",
            YearValid | Year99999 | YearAbc => "year_setting",
            ChainEmpty => "causal_chain",
            AspectTitleValid | AspectTitle2 => "title",
            AspectJustificationValid => "canon_justification",
            AspectType101 => "aspect_type",
        }
    }

    /// Whether create accepts the value (revise does too; an accept must refuse the others: 422).
    pub fn valid_value(self) -> bool {
        use SCase::*;
        matches!(
            self,
            PremiseValid
                | NameValid
                | BasisValid
                | YearValid
                | AspectTitleValid
                | AspectPremiseValid
                | AspectJustificationValid
                | StatusField
        )
    }

    /// Whether suggest takes the field at all (the platform's five per target type).
    pub fn suggestible(self) -> bool {
        self != SCase::StatusField
    }
}

/// Suggestion cases for a proposal in any status (valid ones more often: accepts, rejects,
/// upvotes and withdrawals need pending suggestions).
const PROPOSAL_CASES: &[SCase] = &[
    SCase::PremiseValid,
    SCase::PremiseValid,
    SCase::NameValid,
    SCase::BasisValid,
    SCase::NameEmpty,
    SCase::Name51,
    SCase::Name256,
    SCase::PremiseShort,
    SCase::StatusField,
];
/// Further cases for an approved proposal.
const APPROVED_CASES: &[SCase] = &[
    SCase::YearValid,
    SCase::Year99999,
    SCase::YearAbc,
    SCase::ChainEmpty,
];
const ASPECT_CASES: &[SCase] = &[
    SCase::AspectTitleValid,
    SCase::AspectPremiseValid,
    SCase::AspectJustificationValid,
    SCase::AspectTitle2,
    SCase::AspectPremiseShort,
    SCase::AspectType101,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SStatus {
    Pending,
    Accepted,
    Rejected,
    Withdrawn,
}

impl SStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SStatus::Pending => "pending",
            SStatus::Accepted => "accepted",
            SStatus::Rejected => "rejected",
            SStatus::Withdrawn => "withdrawn",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestionM {
    pub target: STarget,
    pub case: SCase,
    pub suggester: usize,
    pub status: SStatus,
    pub upvoters: Vec<usize>,
}

/// The owner of a suggestion's target.
pub fn owner(st: &State, target: STarget) -> usize {
    match target {
        STarget::Proposal(p) => st.proposals[p].owner,
        STarget::Aspect(a) => st.aspects[a].owner,
    }
}

/// Whether the target is approved (revise refuses it then: 400).
fn approved(st: &State, target: STarget) -> bool {
    match target {
        STarget::Proposal(p) => st.proposals[p].status == PStatus::Approved,
        STarget::Aspect(a) => st.aspects[a].status == AStatus::Approved,
    }
}

pub(super) fn expect(st: &State, t: &Transition) -> Expect {
    use Transition::*;
    match *t {
        SuggestRevision {
            actor,
            target,
            case,
        } => {
            if owner(st, target) == actor || !case.suggestible() {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        // pending first, then who; then what revise would answer the owner for {field: value}:
        // its body checks (422) before its status check (400)
        AcceptSuggestion { actor, suggestion } => {
            let s = &st.suggestions[suggestion];
            if s.status != SStatus::Pending {
                Expect::Reject(400)
            } else if owner(st, s.target) != actor {
                Expect::Reject(403)
            } else if !s.case.valid_value() {
                Expect::Reject(422)
            } else if approved(st, s.target) {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        RejectSuggestion { actor, suggestion } => {
            let s = &st.suggestions[suggestion];
            if s.status != SStatus::Pending {
                Expect::Reject(400)
            } else if owner(st, s.target) != actor {
                Expect::Reject(403)
            } else {
                Expect::Ok
            }
        }
        UpvoteSuggestion { actor, suggestion } => {
            let s = &st.suggestions[suggestion];
            if s.status != SStatus::Pending || s.suggester == actor || s.upvoters.contains(&actor) {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        WithdrawSuggestion { actor, suggestion } => {
            let s = &st.suggestions[suggestion];
            if s.status != SStatus::Pending {
                Expect::Reject(400)
            } else if s.suggester != actor {
                Expect::Reject(403)
            } else {
                Expect::Ok
            }
        }
        _ => Expect::Ok,
    }
}

pub(super) fn valid(st: &State, t: &Transition) -> bool {
    use Transition::*;
    let agent = |a: usize| a < st.agents;
    match *t {
        SuggestRevision {
            actor,
            target,
            case,
        } => {
            agent(actor)
                && match target {
                    STarget::Proposal(p) => st.proposals.get(p).is_some_and(|p| {
                        PROPOSAL_CASES.contains(&case)
                            || (APPROVED_CASES.contains(&case) && p.status == PStatus::Approved)
                    }),
                    STarget::Aspect(a) => a < st.aspects.len() && ASPECT_CASES.contains(&case),
                }
        }
        AcceptSuggestion { actor, suggestion }
        | RejectSuggestion { actor, suggestion }
        | UpvoteSuggestion { actor, suggestion }
        | WithdrawSuggestion { actor, suggestion } => {
            agent(actor) && suggestion < st.suggestions.len()
        }
        _ => false,
    }
}

/// Applies a transition the model predicted to succeed.
pub(super) fn step(st: &mut State, t: &Transition) {
    use Transition::*;
    match *t {
        SuggestRevision {
            actor,
            target,
            case,
        } => st.suggestions.push(SuggestionM {
            target,
            case,
            suggester: actor,
            status: SStatus::Pending,
            upvoters: vec![],
        }),
        AcceptSuggestion { suggestion, .. } => {
            st.suggestions[suggestion].status = SStatus::Accepted
        }
        RejectSuggestion { suggestion, .. } => {
            st.suggestions[suggestion].status = SStatus::Rejected
        }
        WithdrawSuggestion { suggestion, .. } => {
            st.suggestions[suggestion].status = SStatus::Withdrawn
        }
        UpvoteSuggestion { actor, suggestion } => st.suggestions[suggestion].upvoters.push(actor),
        _ => {}
    }
}

/// Offers the suggestion rules from the first world on (before it they would only hold back the
/// way to it; after it there are approved proposals, and aspects).
pub(super) fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    if n < 2 || st.worlds.is_empty() {
        return;
    }
    offer_suggest(st, add);
    let ns = st.suggestions.len();
    if ns == 0 {
        return;
    }
    let pending: Vec<usize> = (0..ns)
        .filter(|&i| st.suggestions[i].status == SStatus::Pending)
        .collect();
    let any: Vec<(usize, usize)> = (0..ns).flat_map(|s| (0..n).map(move |a| (s, a))).collect();
    // with nothing pending, a rule that has fired in this sequence waits for the next suggestion
    // (a settled one's 400 is still among "anyone's" picks): otherwise most decisions would be
    // on settled suggestions
    let idle = pending.is_empty();
    let mut add = |rule: Rule, s: BoxedStrategy<Transition>| {
        if !idle || st.fired[rule.index()] == 0 {
            add(rule, s);
        }
    };
    // the owner of a pending suggestion's target (accept, reject); sometimes anyone (403, or 400
    // for a suggestion already settled)
    let owners: Vec<(usize, usize)> = pending
        .iter()
        .map(|&s| (s, owner(st, st.suggestions[s].target)))
        .collect();
    // accepts: half of the owner's are of a value revise would take (read back on the target),
    // half of one it refuses (a value create rejects, an approved target: the second write path)
    type Pairs = Vec<(usize, usize)>;
    let (takes, refuses): (Pairs, Pairs) = owners.iter().partition(|&&(s, _)| {
        let sg = &st.suggestions[s];
        sg.case.valid_value() && !approved(st, sg.target)
    });
    let accepts = match (takes.is_empty(), refuses.is_empty()) {
        (false, false) => (
            biased(takes, any.clone()),
            proptest::sample::select(refuses),
            0..2u8,
        )
            .prop_map(|(t, r, coin)| if coin == 0 { r } else { t })
            .boxed(),
        _ => biased(owners.clone(), any.clone()),
    };
    add(
        Rule::AcceptSuggestion,
        accepts
            .prop_map(|(suggestion, actor)| Transition::AcceptSuggestion { actor, suggestion })
            .boxed(),
    );
    add(
        Rule::RejectSuggestion,
        biased(owners, any.clone())
            .prop_map(|(suggestion, actor)| Transition::RejectSuggestion { actor, suggestion })
            .boxed(),
    );
    // an agent that may upvote a pending suggestion; otherwise anyone (the suggester, a repeat)
    let voters: Vec<(usize, usize)> = pending
        .iter()
        .flat_map(|&s| {
            let sg = &st.suggestions[s];
            (0..n)
                .filter(move |a| *a != sg.suggester && !sg.upvoters.contains(a))
                .map(move |a| (s, a))
        })
        .collect();
    // every other upvote repeats one that counted (the once-only rule is reached in most seeds)
    let repeats: Vec<(usize, usize)> = pending
        .iter()
        .flat_map(|&s| st.suggestions[s].upvoters.iter().map(move |&a| (s, a)))
        .collect();
    let votes = if repeats.is_empty() {
        biased(voters, any.clone())
    } else {
        (
            biased(voters, any.clone()),
            proptest::sample::select(repeats),
            0..2u8,
        )
            .prop_map(|(g, r, coin)| if coin == 0 { r } else { g })
            .boxed()
    };
    add(
        Rule::UpvoteSuggestion,
        votes
            .prop_map(|(suggestion, actor)| Transition::UpvoteSuggestion { actor, suggestion })
            .boxed(),
    );
    let suggesters: Vec<(usize, usize)> = pending
        .iter()
        .map(|&s| (s, st.suggestions[s].suggester))
        .collect();
    add(
        Rule::WithdrawSuggestion,
        biased(suggesters, any)
            .prop_map(|(suggestion, actor)| Transition::WithdrawSuggestion { actor, suggestion })
            .boxed(),
    );
}

/// A suggestion by an agent other than the owner (sometimes the owner: 400), for a proposal in
/// any status or an aspect.
fn offer_suggest(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    let mut options: Vec<(STarget, SCase)> = Vec::new();
    for (i, p) in st.proposals.iter().enumerate() {
        for &c in PROPOSAL_CASES {
            options.push((STarget::Proposal(i), c));
        }
        if p.status == PStatus::Approved {
            for &c in APPROVED_CASES {
                options.push((STarget::Proposal(i), c));
            }
        }
    }
    for i in 0..st.aspects.len() {
        for &c in ASPECT_CASES {
            options.push((STarget::Aspect(i), c));
        }
    }
    let owners: Vec<usize> = options.iter().map(|(t, _)| owner(st, *t)).collect();
    let s = (0..options.len(), 0..n, 0..8u8)
        .prop_map(move |(i, other, coin)| {
            let (target, case) = options[i];
            // not the owner, unless the coin says so: the next agent round
            let actor = if coin == 0 || other != owners[i] {
                other
            } else {
                (other + 1) % n
            };
            Transition::SuggestRevision {
                actor,
                target,
                case,
            }
        })
        .boxed();
    // offered twice (twice the weight of a rule fired as often): each suggestion feeds four rules,
    // and accepts, rejects and withdrawals of settled ones teach little
    add(Rule::SuggestRevision, s.clone());
    add(Rule::SuggestRevision, s);
}
