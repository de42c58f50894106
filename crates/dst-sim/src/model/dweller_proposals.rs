//! Dweller proposals and their critical review: any agent proposes a dweller for a world
//! (`POST /api/dweller-proposals/worlds/{w}`), its owner submits and revises it, other agents review
//! it through the critical review (`/api/review/dweller_proposal/…`), the owner responds, each
//! reviewer resolves or reopens its own items.
//!
//! What the real platform's code does is what the rules predict: a review needs no revision before
//! an item is resolved (its resolve checks one only for proposals and stories), and a dweller
//! proposal whose review is complete stays `validating` forever: nothing turns it into a dweller
//! (`resulting_dweller_id` stays null; the review status route says `can_graduate: true`). Create
//! refuses an empty or over-long name or role (422), a name whose parts its blocklist refuses (400),
//! a region the world does not have (400), and a sixth draft-or-validating proposal of one agent
//! (429); revise is held to the same bounds (validation parity, invariant 17).
//!
//! The refused actors are part of the ordinary rules (the authorization matrix of these routes):
//! a non-owner's submit or revise (403), the owner's review of its own proposal (403), the owner
//! resolving or reopening a reviewer's item (403). Each such case is tried early in every sequence
//! (see [`Tried`]), then now and then. Same contract as `rules.rs`: `offer` generates only valid
//! transitions, `expect` predicts, `step` applies.

use super::vocab::{Expect, IStatus, Rule, State, Transition};
use proptest::strategy::{BoxedStrategy, Strategy};
use serde::{Deserialize, Serialize};

/// Draft and validating dweller proposals one agent may have (the next create: 429).
pub const MAX_ACTIVE: usize = 5;

/// What a create sends besides a valid proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpCreate {
    Valid,
    /// `name: ""` (1–100 characters: 422).
    NameEmpty,
    /// `name` of 101 characters (422).
    Name101,
    /// `role: ""` (at least 1 character: 422).
    RoleEmpty,
    /// A name whose parts the blocklist refuses, `Kira Chen` (400).
    NameBlocked,
}

/// What a revise sends: new values, or a value create rejects (sent by the owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpRevise {
    /// A new name, role and age.
    Valid,
    /// `name: ""` (create: 422; the real platform's revise takes it).
    NameEmpty,
    /// `role: ""` (create: 422; the real platform's revise takes it).
    RoleEmpty,
    /// `name` of 101 characters (422 on both routes: a control).
    Name101,
    /// `name: "Kira Chen"` (create: 400; the real platform's revise takes it).
    NameBlocked,
    /// `name_context` of 19 characters (422 on both routes: a control).
    ContextShort,
}

impl DpRevise {
    /// The values create rejects that revise is sent first in every sequence (the real platform's
    /// revise takes these three); the two controls both routes refuse come round now and then.
    pub const PARITY: [DpRevise; 3] = [
        DpRevise::NameEmpty,
        DpRevise::RoleEmpty,
        DpRevise::NameBlocked,
    ];
    pub const ALL_REFUSED: [DpRevise; 5] = [
        DpRevise::NameEmpty,
        DpRevise::RoleEmpty,
        DpRevise::NameBlocked,
        DpRevise::Name101,
        DpRevise::ContextShort,
    ];

    /// Create's answer to the value (`None`: create takes it).
    pub fn create_refuses(self) -> Option<u16> {
        match self {
            DpRevise::Valid => None,
            DpRevise::NameBlocked => Some(400),
            _ => Some(422),
        }
    }

    /// Refused by the field bounds revise's own request declares on the real platform too (422
    /// before who is asking is looked at).
    fn bounds_of_revise(self) -> bool {
        matches!(self, DpRevise::Name101 | DpRevise::ContextShort)
    }
}

/// The blocked name both routes are sent.
pub const BLOCKED_NAME: &str = "Kira Chen";

/// A dweller proposal's fields the model follows (the ones revise changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpValues {
    pub name: String,
    pub role: String,
    pub age: u32,
}

/// The values of proposal `dp` after `revisions` valid revisions.
pub fn values(dp: usize, revisions: u32) -> DpValues {
    if revisions == 0 {
        DpValues {
            name: format!("Tovel Marrask {dp}"),
            role: "ballast technician".into(),
            age: 30 + (dp % 40) as u32,
        }
    } else {
        DpValues {
            name: format!("Tovel Marrask {dp} r{revisions}"),
            role: format!("net mender {revisions}"),
            age: 31 + revisions % 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpItem {
    pub reviewer: usize,
    pub status: IStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DwellerProposalM {
    pub world: usize,
    pub owner: usize,
    /// Submitted (validating); it never goes further.
    pub validating: bool,
    pub reviewers: Vec<usize>,
    pub items: Vec<DpItem>,
    /// Revisions the target took (its `revision_count`).
    pub revisions: u32,
    pub values: DpValues,
}

impl DwellerProposalM {
    pub fn status(&self) -> &'static str {
        if self.validating {
            "validating"
        } else {
            "draft"
        }
    }

    /// What its review status route must say: ≥2 reviewers and every item resolved (it stays
    /// validating: the real platform graduates only world proposals).
    pub fn can_graduate(&self) -> bool {
        self.reviewers.len() >= 2 && self.items.iter().all(|i| i.status == IStatus::Resolved)
    }
}

/// The refused-actor and parity cases a sequence tries early (each once, as soon as it applies),
/// and whether the cap's 429 was met.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tried {
    pub non_owner_submit: bool,
    pub non_owner_revise: bool,
    pub self_review: bool,
    pub owner_resolve: bool,
    pub owner_reopen: bool,
    pub cap: bool,
    /// Per [`DpRevise::PARITY`] case.
    pub parity: [bool; 3],
    /// Some proposal's review was complete (≥2 reviewers, every item resolved) at some point.
    pub complete: bool,
}

/// The dweller proposals of a sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DwellerProposalsM {
    pub list: Vec<DwellerProposalM>,
    pub tried: Tried,
}

/// Whether `t` is a dweller-proposal rule (handled by this file).
pub fn is_dp(t: &Transition) -> bool {
    matches!(
        t,
        Transition::CreateDwellerProposal { .. }
            | Transition::SubmitDwellerProposal { .. }
            | Transition::ReviseDwellerProposal { .. }
            | Transition::ReviewDwellerProposal { .. }
            | Transition::RespondDwellerItem { .. }
            | Transition::ResolveDwellerItem { .. }
            | Transition::ReopenDwellerItem { .. }
    )
}

/// The proposal a step is about (a create: the one it would make).
pub fn dp_of(st: &State, t: &Transition) -> Option<usize> {
    use Transition::*;
    match *t {
        CreateDwellerProposal { .. } => Some(st.dweller_proposals.list.len()),
        SubmitDwellerProposal { dp, .. }
        | ReviseDwellerProposal { dp, .. }
        | ReviewDwellerProposal { dp, .. }
        | RespondDwellerItem { dp, .. }
        | ResolveDwellerItem { dp, .. }
        | ReopenDwellerItem { dp, .. } => Some(dp),
        _ => None,
    }
}

fn active(st: &State, agent: usize) -> usize {
    st.dweller_proposals
        .list
        .iter()
        .filter(|p| p.owner == agent)
        .count()
}

pub(super) fn expect(st: &State, t: &Transition) -> Expect {
    use Transition::*;
    let dps = &st.dweller_proposals.list;
    match *t {
        // the body's bounds (422) before the world, the cap (429), the region and the blocklist
        CreateDwellerProposal { actor, world, case } => match case {
            DpCreate::NameEmpty | DpCreate::Name101 | DpCreate::RoleEmpty => Expect::Reject(422),
            _ if active(st, actor) >= MAX_ACTIVE => Expect::Reject(429),
            _ if st.worlds[world].regions == 0 => Expect::Reject(400),
            DpCreate::NameBlocked => Expect::Reject(400),
            DpCreate::Valid => Expect::Ok,
        },
        SubmitDwellerProposal { actor, dp } => {
            if dps[dp].owner != actor {
                Expect::Reject(403)
            } else if dps[dp].validating {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        ReviseDwellerProposal { actor, dp, case } => {
            if case.bounds_of_revise() {
                Expect::Reject(422)
            } else if dps[dp].owner != actor {
                Expect::Reject(403)
            } else {
                case.create_refuses().map_or(Expect::Ok, Expect::Reject)
            }
        }
        ReviewDwellerProposal { actor, dp, .. } => {
            if dps[dp].owner == actor {
                Expect::Reject(403)
            } else if dps[dp].reviewers.contains(&actor) {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        RespondDwellerItem { actor, dp, .. } => {
            if dps[dp].owner != actor {
                Expect::Reject(403)
            } else {
                Expect::Ok
            }
        }
        ResolveDwellerItem { actor, dp, item } | ReopenDwellerItem { actor, dp, item } => {
            if dps[dp].items[item].reviewer != actor {
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
    let dps = &st.dweller_proposals.list;
    match *t {
        CreateDwellerProposal { actor, world, .. } => agent(actor) && world < st.worlds.len(),
        SubmitDwellerProposal { actor, dp } => agent(actor) && dp < dps.len(),
        // a refused actor sends only valid values (its refusal is then the 403 alone)
        ReviseDwellerProposal { actor, dp, case } => {
            agent(actor)
                && dps
                    .get(dp)
                    .is_some_and(|p| p.owner == actor || case == DpRevise::Valid)
        }
        ReviewDwellerProposal { actor, dp, items } => {
            agent(actor) && (1..=2).contains(&items) && dps.get(dp).is_some_and(|p| p.validating)
        }
        RespondDwellerItem { actor, dp, item } => dps
            .get(dp)
            .is_some_and(|p| p.owner == actor && item < p.items.len()),
        ResolveDwellerItem { actor, dp, item } | ReopenDwellerItem { actor, dp, item } => {
            agent(actor) && dps.get(dp).is_some_and(|p| item < p.items.len())
        }
        _ => false,
    }
}

/// Applies `t` as the target carried it out, whatever the rules predict (keep-going follows a
/// refused step the target accepted with this).
pub fn apply(st: &mut State, t: &Transition) {
    use Transition::*;
    let m = &mut st.dweller_proposals;
    match *t {
        CreateDwellerProposal { actor, world, case } => {
            let dp = m.list.len();
            let mut values = values(dp, 0);
            match case {
                DpCreate::NameEmpty => values.name.clear(),
                DpCreate::Name101 => values.name = long_name(),
                DpCreate::RoleEmpty => values.role.clear(),
                DpCreate::NameBlocked => values.name = BLOCKED_NAME.into(),
                DpCreate::Valid => {}
            }
            m.list.push(DwellerProposalM {
                world,
                owner: actor,
                validating: false,
                reviewers: vec![],
                items: vec![],
                revisions: 0,
                values,
            });
        }
        SubmitDwellerProposal { dp, .. } => m.list[dp].validating = true,
        ReviseDwellerProposal { dp, case, .. } => {
            let p = &mut m.list[dp];
            p.revisions += 1;
            match case {
                DpRevise::Valid => p.values = values(dp, p.revisions),
                DpRevise::NameEmpty => p.values.name.clear(),
                DpRevise::RoleEmpty => p.values.role.clear(),
                DpRevise::Name101 => p.values.name = long_name(),
                DpRevise::NameBlocked => p.values.name = BLOCKED_NAME.into(),
                DpRevise::ContextShort => {}
            }
        }
        ReviewDwellerProposal { actor, dp, items } => {
            let p = &mut m.list[dp];
            p.reviewers.push(actor);
            p.items.extend(std::iter::repeat_n(
                DpItem {
                    reviewer: actor,
                    status: IStatus::Open,
                },
                items,
            ));
        }
        RespondDwellerItem { dp, item, .. } => m.list[dp].items[item].status = IStatus::Addressed,
        ResolveDwellerItem { dp, item, .. } => m.list[dp].items[item].status = IStatus::Resolved,
        ReopenDwellerItem { dp, item, .. } => m.list[dp].items[item].status = IStatus::Open,
        _ => {}
    }
}

/// A name of 101 characters.
pub fn long_name() -> String {
    "Tovel "
        .chars()
        .chain(std::iter::repeat('m'))
        .take(101)
        .collect()
}

/// Notes which early case `t` tried (whatever its outcome), then applies it if the rules let it.
pub(super) fn step(st: &mut State, t: &Transition) {
    use Transition::*;
    let outcome = expect(st, t);
    let dps = &st.dweller_proposals.list;
    let tried = &mut st.dweller_proposals.tried;
    match *t {
        CreateDwellerProposal { .. } if outcome == Expect::Reject(429) => tried.cap = true,
        SubmitDwellerProposal { actor, dp } if dps[dp].owner != actor => {
            tried.non_owner_submit = true
        }
        ReviseDwellerProposal { actor, dp, case } => {
            if dps[dp].owner != actor {
                tried.non_owner_revise = true;
            } else if let Some(i) = DpRevise::PARITY.iter().position(|c| *c == case) {
                tried.parity[i] = true;
            }
        }
        ReviewDwellerProposal { actor, dp, .. } if dps[dp].owner == actor => {
            tried.self_review = true
        }
        ResolveDwellerItem { actor, dp, .. } if dps[dp].owner == actor => {
            tried.owner_resolve = true
        }
        ReopenDwellerItem { actor, dp, .. } if dps[dp].owner == actor => tried.owner_reopen = true,
        _ => {}
    }
    if outcome == Expect::Ok {
        apply(st, t);
    }
    let m = &mut st.dweller_proposals;
    m.tried.complete |= m.list.iter().any(DwellerProposalM::can_graduate);
}

/// Whether a rule whose early cases are done is offered at this step: one step in four (the
/// other rules need their share of a seed's 200 steps; deep states such as an acclaimed story's
/// race are reached only with it).
fn settled(st: &State) -> bool {
    st.step.is_multiple_of(4)
}

/// How many times a rule is offered (its weight multiplied) while one of its early cases has not
/// been tried in the sequence: about the weight of a rule that has not fired yet.
const EARLY: usize = 3;

/// `good` five times in six, `refused` the rest; with `first` (the refused case has not been tried
/// in this sequence, and the rule's own way has succeeded once: the chain to a review is not held
/// up by refusals), one time in two.
fn mix<T: Clone + std::fmt::Debug + 'static>(
    good: Vec<T>,
    refused: Vec<T>,
    first: bool,
) -> Option<BoxedStrategy<T>> {
    let one_in = if first { 2 } else { 6 };
    match (good.is_empty(), refused.is_empty()) {
        (true, true) => None,
        (false, true) => Some(proptest::sample::select(good).boxed()),
        (true, false) => Some(proptest::sample::select(refused).boxed()),
        (false, false) => Some(
            (
                0..one_in,
                proptest::sample::select(good),
                proptest::sample::select(refused),
            )
                .prop_map(|(coin, g, r)| if coin == 0 { r } else { g })
                .boxed(),
        ),
    }
}

/// Offers the dweller-proposal rules from the first world on (they need one).
pub(super) fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    if n < 3 || st.worlds.is_empty() {
        return;
    }
    offer_create(st, add);
    offer_owner(st, add);
    offer_review(st, add);
}

fn offer_create(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let m = &st.dweller_proposals;
    let with_region: Vec<usize> = (0..st.worlds.len())
        .filter(|&w| st.worlds[w].regions > 0)
        .collect();
    // agent 0 proposes valid dwellers, in a world with a region, until the cap refuses it (its
    // sixth): the others review; after that, anyone, anywhere (a world without a region: 400), and
    // now and then a value create rejects (422, 400)
    let capped = m.tried.cap;
    if capped && !settled(st) {
        return;
    }
    let worlds = if capped {
        (0..st.worlds.len()).collect()
    } else if with_region.is_empty() {
        return;
    } else {
        with_region
    };
    let cases: &'static [DpCreate] = if capped {
        &[
            DpCreate::Valid,
            DpCreate::Valid,
            DpCreate::Valid,
            DpCreate::NameEmpty,
            DpCreate::Name101,
            DpCreate::RoleEmpty,
            DpCreate::NameBlocked,
        ]
    } else {
        &[DpCreate::Valid]
    };
    let n = st.agents;
    let s = (
        proptest::sample::select(worlds),
        proptest::sample::select(cases),
        0..n,
    )
        .prop_map(
            move |(world, case, other)| Transition::CreateDwellerProposal {
                actor: if capped { other } else { 0 },
                world,
                case,
            },
        )
        .boxed();
    add(Rule::CreateDwellerProposal, s.clone());
    // until the cap has answered 429, creates weigh twice an early case (six by one agent reach it)
    if !capped {
        for _ in 1..2 * EARLY {
            add(Rule::CreateDwellerProposal, s.clone());
        }
    }
}

/// Submit and revise: the owner, or (the authorization matrix) another agent.
fn offer_owner(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let m = &st.dweller_proposals;
    let n = st.agents;
    let others = |owner: usize| (0..n).filter(move |&a| a != owner);
    let drafts: Vec<(usize, usize)> = (0..m.list.len())
        .filter(|&i| !m.list[i].validating)
        .map(|i| (m.list[i].owner, i))
        .collect();
    let strangers: Vec<(usize, usize)> = drafts
        .iter()
        .flat_map(|&(o, i)| others(o).map(move |a| (a, i)))
        .collect();
    if let Some(s) = mix(
        drafts,
        strangers,
        !m.tried.non_owner_submit && m.list.iter().any(|p| p.validating),
    ) {
        let s = s
            .prop_map(|(actor, dp)| Transition::SubmitDwellerProposal { actor, dp })
            .boxed();
        let done = m.tried.non_owner_submit && m.list.iter().any(|p| p.validating);
        let k = if m.tried.non_owner_submit { 1 } else { EARLY };
        for _ in 0..k {
            if !done || settled(st) {
                add(Rule::SubmitDwellerProposal, s.clone());
            }
        }
    }
    if m.list.is_empty() {
        return;
    }
    // the owner: valid values, or first each value create rejects (once), then now and then one
    let untried: Vec<DpRevise> = DpRevise::PARITY
        .iter()
        .zip(m.tried.parity)
        .filter(|(_, t)| !t)
        .map(|(c, _)| *c)
        .collect();
    let parity: Vec<DpRevise> = if untried.is_empty() {
        DpRevise::ALL_REFUSED.to_vec()
    } else {
        untried.clone()
    };
    let owned: Vec<(usize, usize)> = (0..m.list.len()).map(|i| (m.list[i].owner, i)).collect();
    let one_in = if untried.is_empty() { 5 } else { 1 };
    let by_owner = (
        proptest::sample::select(owned.clone()),
        proptest::sample::select(parity),
        0..one_in,
    )
        .prop_map(
            |((actor, dp), case, coin)| Transition::ReviseDwellerProposal {
                actor,
                dp,
                case: if coin == 0 { case } else { DpRevise::Valid },
            },
        )
        .boxed();
    let strangers: Vec<(usize, usize)> = owned
        .iter()
        .flat_map(|&(o, i)| others(o).map(move |a| (a, i)))
        .collect();
    let by_stranger = proptest::sample::select(strangers)
        .prop_map(|(actor, dp)| Transition::ReviseDwellerProposal {
            actor,
            dp,
            case: DpRevise::Valid,
        })
        .boxed();
    let first = !m.tried.non_owner_revise;
    let s = (0..if first { 2 } else { 8 }, by_owner, by_stranger)
        .prop_map(|(coin, o, x)| if coin == 0 { x } else { o })
        .boxed();
    let k = if untried.is_empty() && !first {
        usize::from(settled(st))
    } else {
        EARLY
    };
    for _ in 0..k {
        add(Rule::ReviseDwellerProposal, s.clone());
    }
}

/// The critical review: reviews, the owner's responses, the reviewers' resolves and reopens. Until
/// some proposal's review is complete (two reviewers, every item resolved: `can_graduate`, and
/// still no dweller), reopens take back only answered items.
fn offer_review(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let m = &st.dweller_proposals;
    let n = st.agents;
    let review_k = if m.tried.self_review { 1 } else { EARLY };
    let resolve_k = if m.tried.owner_resolve { 1 } else { EARLY };
    // once a rule has fired (and tried its refused case), one step in four
    let fired = |r: Rule| st.fired[r.index()] > 0;
    // review effort goes to the oldest validating proposal with fewer than two reviewers
    let validating: Vec<usize> = (0..m.list.len())
        .filter(|&i| m.list[i].validating)
        .collect();
    let focus = validating
        .iter()
        .copied()
        .find(|&i| m.list[i].reviewers.len() < 2)
        .or(validating.first().copied());
    if let Some(f) = focus {
        let p = &m.list[f];
        let good: Vec<(usize, usize)> = (0..n)
            .filter(|a| *a != p.owner && !p.reviewers.contains(a))
            .map(|a| (a, f))
            .collect();
        // the owner (403) and, once there is one, a reviewer again (400)
        let mut refused: Vec<(usize, usize)> =
            validating.iter().map(|&i| (m.list[i].owner, i)).collect();
        if m.tried.self_review {
            refused.extend(
                validating
                    .iter()
                    .flat_map(|&i| m.list[i].reviewers.iter().map(move |&a| (a, i))),
            );
        }
        if let Some(s) = mix(
            good,
            refused,
            !m.tried.self_review && m.list.iter().any(|p| !p.reviewers.is_empty()),
        ) {
            let s = (s, proptest::sample::select(&[1usize, 1, 2][..]))
                .prop_map(|((actor, dp), items)| Transition::ReviewDwellerProposal {
                    actor,
                    dp,
                    items,
                })
                .boxed();
            for _ in 0..review_k {
                add(Rule::ReviewDwellerProposal, s.clone());
            }
        }
    }
    // (proposal, item, owner, reviewer, status)
    type Row = (usize, usize, usize, usize, IStatus);
    let items: Vec<Row> = m
        .list
        .iter()
        .enumerate()
        .flat_map(|(d, p)| {
            p.items
                .iter()
                .enumerate()
                .map(move |(i, it)| (d, i, p.owner, it.reviewer, it.status))
        })
        .collect();
    if items.is_empty() {
        return;
    }
    // an open item; with none, any (the owner may answer an item in any status: it is addressed)
    let mut open: Vec<(usize, usize, usize)> = items
        .iter()
        .filter(|x| x.4 == IStatus::Open)
        .map(|&(d, i, o, _, _)| (o, d, i))
        .collect();
    if open.is_empty() {
        open = items.iter().map(|&(d, i, o, _, _)| (o, d, i)).collect();
    }
    if !open.is_empty() && (!fired(Rule::RespondDwellerItem) || settled(st)) {
        add(
            Rule::RespondDwellerItem,
            proptest::sample::select(open)
                .prop_map(|(actor, dp, item)| Transition::RespondDwellerItem { actor, dp, item })
                .boxed(),
        );
    }
    // the rows `want` picks (all rows if none): by their reviewer, and by the owner (refused)
    type Pairs = (Vec<(usize, usize, usize)>, Vec<(usize, usize, usize)>);
    let pick = |want: &dyn Fn(&Row) -> bool| -> Pairs {
        let chosen: Vec<&Row> = items.iter().filter(|x| want(x)).collect();
        let all: Vec<&Row> = if chosen.is_empty() {
            items.iter().collect()
        } else {
            chosen
        };
        (
            all.iter().map(|&&(d, i, _, r, _)| (r, d, i)).collect(),
            all.iter().map(|&&(d, i, o, _, _)| (o, d, i)).collect(),
        )
    };
    // resolves go to the focus of the review (the oldest proposal with two reviewers) first
    let ripe = (0..m.list.len()).find(|&i| m.list[i].reviewers.len() >= 2);
    let (by_reviewer, by_owner) = pick(&|x| x.4 != IStatus::Resolved && Some(x.0) == ripe);
    let (by_reviewer, by_owner) = if by_reviewer.len() == items.len() {
        pick(&|x| x.4 != IStatus::Resolved)
    } else {
        (by_reviewer, by_owner)
    };
    if let Some(s) = mix(
        by_reviewer,
        by_owner,
        !m.tried.owner_resolve && items.iter().any(|x| x.4 == IStatus::Resolved),
    ) {
        let s = s
            .prop_map(|(actor, dp, item)| Transition::ResolveDwellerItem { actor, dp, item })
            .boxed();
        for _ in 0..resolve_k {
            add(Rule::ResolveDwellerItem, s.clone());
        }
    }
    // a complete review is taken back (then can_graduate is false again); before one, answered items
    let done = (0..m.list.len()).find(|&i| m.list[i].can_graduate());
    let (by_reviewer, by_owner) = match done {
        Some(d) => pick(&|x| x.0 == d),
        None if m.tried.complete => pick(&|x| x.4 != IStatus::Open),
        None => pick(&|x| x.4 == IStatus::Addressed),
    };
    let quiet = m.tried.owner_reopen && fired(Rule::ReopenDwellerItem) && !settled(st);
    if let Some(s) = mix(
        by_reviewer,
        by_owner,
        !m.tried.owner_reopen && fired(Rule::ReopenDwellerItem),
    )
    .filter(|_| !quiet)
    {
        add(
            Rule::ReopenDwellerItem,
            s.prop_map(|(actor, dp, item)| Transition::ReopenDwellerItem { actor, dp, item })
                .boxed(),
        );
    }
}
