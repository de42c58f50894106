//! The critical review after its first round, one game for every content type the model reviews:
//! the reviewer who raised an item reopens it, and a reviewer adds items to its own review. A
//! proposal and an aspect go through the same functions here ([`Reviewed`] says which), as they go
//! through the same handlers on the platform (`/api/review/{type}/…`). Also the authorization cases
//! of both and what the review status route may say about graduation (invariant 22).

use super::vocab::{AStatus, Expect, IStatus, Item, PStatus, Rule, State, Transition, lens};
use proptest::strategy::{BoxedStrategy, Strategy};

/// Items one `add-feedback` adds: mostly one or two; eleven is one past its limit (422).
pub const ADDED_ITEMS: &[usize] = &[1, 1, 2, 11];
/// The most items one `add-feedback` may add.
pub const MAX_ADDED_ITEMS: usize = 10;

/// The content type of a critical review (`/api/review/{type}/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reviewed {
    Proposal,
    Aspect,
}

impl Reviewed {
    pub const ALL: [Reviewed; 2] = [Reviewed::Proposal, Reviewed::Aspect];

    /// The type as the review routes spell it.
    pub fn path(self) -> &'static str {
        match self {
            Reviewed::Proposal => "proposal",
            Reviewed::Aspect => "aspect",
        }
    }

    fn reopen_rule(self) -> Rule {
        match self {
            Reviewed::Proposal => Rule::ReopenItem,
            Reviewed::Aspect => Rule::ReopenAspectItem,
        }
    }

    fn add_rule(self) -> Rule {
        match self {
            Reviewed::Proposal => Rule::AddFeedback,
            Reviewed::Aspect => Rule::AddAspectFeedback,
        }
    }

    /// The reopen transition of this type.
    pub fn reopen(self, actor: usize, target: usize, item: usize) -> Transition {
        match self {
            Reviewed::Proposal => Transition::ReopenItem {
                actor,
                proposal: target,
                item,
            },
            Reviewed::Aspect => Transition::ReopenAspectItem {
                actor,
                aspect: target,
                item,
            },
        }
    }

    /// The add-feedback transition of this type.
    pub fn add(self, actor: usize, target: usize, items: usize) -> Transition {
        match self {
            Reviewed::Proposal => Transition::AddFeedback {
                actor,
                proposal: target,
                items,
            },
            Reviewed::Aspect => Transition::AddAspectFeedback {
                actor,
                aspect: target,
                items,
            },
        }
    }
}

/// A reopen: (type, actor, target, item).
pub fn reopen_of(t: &Transition) -> Option<(Reviewed, usize, usize, usize)> {
    match *t {
        Transition::ReopenItem {
            actor,
            proposal,
            item,
        } => Some((Reviewed::Proposal, actor, proposal, item)),
        Transition::ReopenAspectItem {
            actor,
            aspect,
            item,
        } => Some((Reviewed::Aspect, actor, aspect, item)),
        _ => None,
    }
}

/// An add-feedback: (type, actor, target, items).
pub fn add_of(t: &Transition) -> Option<(Reviewed, usize, usize, usize)> {
    match *t {
        Transition::AddFeedback {
            actor,
            proposal,
            items,
        } => Some((Reviewed::Proposal, actor, proposal, items)),
        Transition::AddAspectFeedback {
            actor,
            aspect,
            items,
        } => Some((Reviewed::Aspect, actor, aspect, items)),
        _ => None,
    }
}

/// Whether `t` is a reopen or an add-feedback (of any type): this file's.
pub fn is_followup(t: &Transition) -> bool {
    reopen_of(t).is_some() || add_of(t).is_some()
}

/// The reviewed content `target` of `kind`, and the type it is under review: (owner, reviewers,
/// items, submitted), `None` when there is no such content.
fn content(st: &State, kind: Reviewed, target: usize) -> Option<(usize, &[usize], &[Item], bool)> {
    match kind {
        Reviewed::Proposal => st.proposals.get(target).map(|p| {
            let submitted = p.status != PStatus::Draft;
            (p.owner, &p.reviewers[..], &p.items[..], submitted)
        }),
        Reviewed::Aspect => st.aspects.get(target).map(|a| {
            let submitted = a.status != AStatus::Draft;
            (a.owner, &a.reviewers[..], &a.items[..], submitted)
        }),
    }
}

/// The review items of `target` of `kind` (empty when there is no such content).
pub fn items(st: &State, kind: Reviewed, target: usize) -> &[Item] {
    content(st, kind, target).map_or(&[], |c| c.2)
}

/// The reviewers of `target` of `kind`, in review order.
pub fn reviewers(st: &State, kind: Reviewed, target: usize) -> &[usize] {
    content(st, kind, target).map_or(&[], |c| c.1)
}

fn items_mut(st: &mut State, kind: Reviewed, target: usize) -> &mut Vec<Item> {
    match kind {
        Reviewed::Proposal => &mut st.proposals[target].items,
        Reviewed::Aspect => &mut st.aspects[target].items,
    }
}

/// How many pieces of content of `kind` the model has.
fn count(st: &State, kind: Reviewed) -> usize {
    match kind {
        Reviewed::Proposal => st.proposals.len(),
        Reviewed::Aspect => st.aspects.len(),
    }
}

/// What `GET /api/review/{type}/{id}/status` must say in `can_graduate`, when the rules decide it:
/// content that has not graduated (an approved aspect or proposal: `None`, platforms differ on an
/// answer that no longer matters). Where the last resolve graduates (proposals; aspects on a target
/// with review approval) the resolve that meets the conditions graduates at once, so `false`;
/// where it does not (aspects on the real platform), the conditions themselves: ≥ 2 reviewers and
/// every item resolved.
pub fn can_graduate(st: &State, kind: Reviewed, target: usize) -> Option<bool> {
    let approved = match kind {
        Reviewed::Proposal => st.proposals[target].status == PStatus::Approved,
        Reviewed::Aspect => st.aspects[target].status == AStatus::Approved,
    };
    if approved {
        return None;
    }
    if kind == Reviewed::Aspect && st.aspects_need_explicit_approval {
        let a = &st.aspects[target];
        return Some(
            a.reviewers.len() >= 2 && a.items.iter().all(|i| i.status == IStatus::Resolved),
        );
    }
    Some(false)
}

/// The outcome of a reopen or an add-feedback.
pub fn expect(st: &State, t: &Transition) -> Expect {
    // only the reviewer who raised an item reopens it, whatever its status (even after the
    // content graduated: graduation is final, the item is simply open again)
    if let Some((kind, actor, target, item)) = reopen_of(t) {
        return if items(st, kind, target)[item].reviewer != actor {
            Expect::Reject(403)
        } else {
            Expect::Ok
        };
    }
    // new items go on the caller's own review: without one (the owner never has one) 404
    if let Some((kind, actor, target, n)) = add_of(t) {
        return if n > MAX_ADDED_ITEMS {
            Expect::Reject(422)
        } else if !reviewers(st, kind, target).contains(&actor) {
            Expect::Reject(404)
        } else {
            Expect::Ok
        };
    }
    Expect::Ok
}

/// The ordinary steps are sent by the one actor allowed (the authorization probes send the
/// others): the item's reviewer, a reviewer of the content.
pub fn valid(st: &State, t: &Transition) -> bool {
    if let Some((kind, actor, target, item)) = reopen_of(t) {
        return items(st, kind, target)
            .get(item)
            .is_some_and(|it| it.reviewer == actor);
    }
    if let Some((kind, actor, target, n)) = add_of(t) {
        return (1..=MAX_ADDED_ITEMS + 1).contains(&n)
            && reviewers(st, kind, target).contains(&actor);
    }
    false
}

/// Applies a reopen or an add-feedback the model predicted to succeed (`now`: this step).
pub fn step(st: &mut State, t: &Transition, now: u32) {
    if let Some((kind, _, target, item)) = reopen_of(t) {
        items_mut(st, kind, target)[item].status = IStatus::Open;
    }
    if let Some((kind, actor, target, n)) = add_of(t) {
        items_mut(st, kind, target).extend(std::iter::repeat_n(
            Item {
                reviewer: actor,
                status: IStatus::Open,
                created_step: now,
            },
            n,
        ));
    }
}

/// Reopen and add-feedback of every type: reviewers taking back a resolution or raising new items.
/// Offered from the first world on (before it, they would only hold back the way to it).
pub fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    if st.worlds.is_empty() {
        return;
    }
    for kind in Reviewed::ALL {
        offer_kind(st, kind, add);
    }
}

fn offer_kind(st: &State, kind: Reviewed, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let all: Vec<(usize, usize, usize, IStatus)> = (0..count(st, kind))
        .flat_map(|t| {
            items(st, kind, t)
                .iter()
                .enumerate()
                .map(move |(i, it)| (t, i, it.reviewer, it.status))
        })
        .collect();
    if !all.is_empty() {
        // mostly a resolved or addressed item (reopening it holds back graduation, or reopens a
        // graduated item); sometimes one that is open already
        let taken: Vec<(usize, usize, usize)> = all
            .iter()
            .filter(|x| x.3 != IStatus::Open)
            .map(|&(t, i, r, _)| (t, i, r))
            .collect();
        let any: Vec<(usize, usize, usize)> = all.iter().map(|&(t, i, r, _)| (t, i, r)).collect();
        add(
            kind.reopen_rule(),
            super::vocab::biased(taken, any)
                .prop_map(move |(target, item, actor)| kind.reopen(actor, target, item))
                .boxed(),
        );
    }
    let reviews: Vec<(usize, usize)> = (0..count(st, kind))
        .flat_map(|t| reviewers(st, kind, t).iter().map(move |&a| (t, a)))
        .collect();
    if !reviews.is_empty() {
        add(
            kind.add_rule(),
            (proptest::sample::select(reviews), lens(ADDED_ITEMS))
                .prop_map(move |((target, actor), n)| kind.add(actor, target, n))
                .boxed(),
        );
    }
}

/// The authorization cases (actor, target, item) of a reopen (`reopen`) or an add-feedback of
/// `kind`: a reopen by anyone but the item's reviewer, tried on an item that is open already (who
/// may reopen does not depend on the status, and a wrongly accepted probe then leaves the item as
/// the model has it: one finding, 16, not a second one at the next read-back, 22); an add-feedback
/// to submitted content by every agent without a review of it (its owner included).
pub fn authz_cases(st: &State, kind: Reviewed, reopen: bool) -> Vec<(usize, usize, usize)> {
    let n = st.agents;
    let mut out = Vec::new();
    for t in 0..count(st, kind) {
        let Some((_, reviewers, items, submitted)) = content(st, kind, t) else {
            continue;
        };
        if reopen {
            for (i, it) in items.iter().enumerate() {
                if it.status == IStatus::Open {
                    out.extend((0..n).filter(|&a| a != it.reviewer).map(|a| (a, t, i)));
                }
            }
        } else if submitted {
            out.extend((0..n).filter(|a| !reviewers.contains(a)).map(|a| (a, t, 0)));
        }
    }
    out
}
