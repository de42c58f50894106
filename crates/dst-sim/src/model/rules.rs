//! The core game rules: agents, proposals and their critical review, regions and dwellers,
//! platform feedback. For each transition: `offer` generates it only where its preconditions hold,
//! `expect` predicts the outcome class, `valid` tells whether a (shrunk) step still refers to things
//! that exist, `step` applies it. World content is delegated to `world.rs`; fault steps never reach
//! this file (`mod.rs` sends them to `faults.rs`).

use super::vocab::{
    Dweller, Expect, FStatus, Feedback, IStatus, Item, MAX_ACTIVE_PROPOSALS, MAX_DWELLERS, PStatus,
    Proposal, Rule, State, Transition, World, biased, lens, pick,
};
use super::{actions, memory, review, world};
use proptest::strategy::{BoxedStrategy, Just, Strategy};

// Boundary lengths drawn from the seed: the limits themselves and one past them.
pub const PROPOSAL_NAME_LENS: &[usize] = &[2, 12, 50, 51];
pub const REVIEW_DESC_LENS: &[usize] = &[10, 40, 2000, 2001];
pub const RESPONSE_LENS: &[usize] = &[10, 60, 2000];
pub const FEEDBACK_TITLE_LENS: &[usize] = &[4, 5, 40, 100, 101, 255, 256];
pub const ACTION_LENS: &[usize] = &[1, 80];
/// Admin status targets: every status, terminal ones three times each (so invariant 6 is reached
/// in every seed).
pub const ADMIN_TARGETS: &[FStatus] = &[
    FStatus::Resolved,
    FStatus::New,
    FStatus::WontFix,
    FStatus::Acknowledged,
    FStatus::Resolved,
    FStatus::InProgress,
    FStatus::WontFix,
    FStatus::Resolved,
    FStatus::WontFix,
];

fn active(st: &State, agent: usize) -> usize {
    st.proposals
        .iter()
        .filter(|p| p.owner == agent && matches!(p.status, PStatus::Draft | PStatus::Validating))
        .count()
}

fn held(st: &State, agent: usize) -> usize {
    st.dwellers
        .iter()
        .filter(|d| d.holder == Some(agent))
        .count()
}

fn can_graduate(p: &Proposal) -> bool {
    p.status == PStatus::Validating
        && p.reviewers.len() >= 2
        && p.items.iter().all(|i| i.status == IStatus::Resolved)
}

/// The outcome the platform must give for `t` in state `st`.
pub fn expect(st: &State, t: &Transition) -> Expect {
    use Transition::*;
    match *t {
        // a fault step's outcome checks are its own (driver/faults.rs)
        Fault { .. } => Expect::Ok,
        RegisterAgent => Expect::Ok,
        CreateProposal { actor, name_len } => {
            if name_len > 50 {
                Expect::Reject(422)
            } else if active(st, actor) >= MAX_ACTIVE_PROPOSALS {
                Expect::Reject(429)
            } else {
                Expect::Ok
            }
        }
        SubmitProposal { actor, proposal } => {
            let p = &st.proposals[proposal];
            if p.owner != actor {
                Expect::Reject(403)
            } else if p.status != PStatus::Draft {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        PostReview {
            actor,
            proposal,
            desc_len,
            ..
        } => {
            let p = &st.proposals[proposal];
            if desc_len > 2000 {
                Expect::Reject(422)
            } else if p.owner == actor {
                Expect::Reject(403)
            } else if p.reviewers.contains(&actor) {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        // only the proposer answers its feedback (the real platform lets anyone: D3)
        RespondItem {
            actor, proposal, ..
        } => {
            if st.proposals[proposal].owner != actor {
                Expect::Reject(403)
            } else {
                Expect::Ok
            }
        }
        ReviseProposal { actor, proposal } => {
            let p = &st.proposals[proposal];
            if p.owner != actor {
                Expect::Reject(403)
            } else if p.status == PStatus::Approved {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        ResolveItem {
            actor,
            proposal,
            item,
        } => {
            let p = &st.proposals[proposal];
            let it = &p.items[item];
            if it.reviewer != actor {
                Expect::Reject(403)
            } else if p.last_revision_step.is_none_or(|r| r < it.created_step) {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        _ if review::is_followup(t) => review::expect(st, t),
        CreateRegion { .. } => Expect::Ok,
        CreateDweller { world, .. } => {
            if st.worlds[world].regions == 0 {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        ClaimDweller { actor, dweller } => {
            if st.dwellers[dweller].holder.is_some() || held(st, actor) >= MAX_DWELLERS {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        ReleaseDweller { actor, dweller } => {
            if st.dwellers[dweller].holder == Some(actor) {
                Expect::Ok
            } else {
                Expect::Reject(403)
            }
        }
        TakeAction { .. } => Expect::Ok,
        SubmitFeedback { title_len, .. } => {
            if !(5..=255).contains(&title_len) {
                Expect::Reject(422)
            } else {
                Expect::Ok
            }
        }
        UpvoteFeedback { actor, feedback } => {
            let f = &st.feedback[feedback];
            if f.upvoters.contains(&actor) || f.owner == actor {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        AdminFeedbackStatus { feedback, to } => {
            if st.feedback[feedback].status.can_move_to(to) {
                Expect::Ok
            } else {
                Expect::Reject(400)
            }
        }
        SuggestRevision { .. }
        | AcceptSuggestion { .. }
        | RejectSuggestion { .. }
        | UpvoteSuggestion { .. }
        | WithdrawSuggestion { .. } => super::suggestions::expect(st, t),
        _ if actions::is_action_rule(t) => actions::expect(st, t),
        _ if memory::is_memory(t) => memory::expect(st, t),
        _ if super::social::is_social(t) => super::social::expect(st, t),
        _ if super::dweller_proposals::is_dp(t) => super::dweller_proposals::expect(st, t),
        _ => world::expect(st, t),
    }
}

/// Whether `t` refers only to things that exist in `st` and follows the generation rules
/// (shrinking can break both; such candidates are skipped).
pub fn valid(st: &State, t: &Transition) -> bool {
    use Transition::*;
    let agent = |a: usize| a < st.agents;
    match *t {
        // fault steps are valid by their own preconditions (faults.rs)
        Fault { .. } => false,
        RegisterAgent => true,
        CreateProposal { actor, .. } => agent(actor),
        SubmitProposal { actor, proposal } => agent(actor) && proposal < st.proposals.len(),
        PostReview {
            actor,
            proposal,
            items,
            ..
        } => {
            agent(actor)
                && (1..=3).contains(&items)
                && st
                    .proposals
                    .get(proposal)
                    .is_some_and(|p| p.status == PStatus::Validating)
        }
        RespondItem {
            actor,
            proposal,
            item,
            ..
        } => st
            .proposals
            .get(proposal)
            .is_some_and(|p| p.owner == actor && item < p.items.len()),
        ReviseProposal { actor, proposal } => agent(actor) && proposal < st.proposals.len(),
        ResolveItem {
            actor,
            proposal,
            item,
        } => {
            agent(actor)
                && st
                    .proposals
                    .get(proposal)
                    .is_some_and(|p| item < p.items.len())
        }
        _ if review::is_followup(t) => review::valid(st, t),
        CreateRegion { actor, world } | CreateDweller { actor, world } => {
            agent(actor) && world < st.worlds.len()
        }
        ClaimDweller { actor, dweller } | ReleaseDweller { actor, dweller } => {
            agent(actor) && dweller < st.dwellers.len()
        }
        TakeAction { dweller, .. } => st.dwellers.get(dweller).is_some_and(|d| d.holder.is_some()),
        SubmitFeedback { actor, .. } => agent(actor),
        UpvoteFeedback { actor, feedback } => agent(actor) && feedback < st.feedback.len(),
        AdminFeedbackStatus { feedback, .. } => feedback < st.feedback.len(),
        SuggestRevision { .. }
        | AcceptSuggestion { .. }
        | RejectSuggestion { .. }
        | UpvoteSuggestion { .. }
        | WithdrawSuggestion { .. } => super::suggestions::valid(st, t),
        _ if actions::is_action_rule(t) => actions::valid(st, t),
        _ if memory::is_memory(t) => memory::valid(st, t),
        _ if super::social::is_social(t) => super::social::valid(st, t),
        _ if super::dweller_proposals::is_dp(t) => super::dweller_proposals::valid(st, t),
        _ => world::valid(st, t),
    }
}

/// The state after `t`, assuming the platform did what the model predicts.
pub fn step(mut st: State, t: &Transition) -> State {
    let outcome = expect(&st, t);
    st.fired[t.rule().index()] += 1;
    st.step += 1;
    let now = st.step;
    // a refused dweller-proposal step still counts as tried (its early cases come round once)
    if super::dweller_proposals::is_dp(t) {
        super::dweller_proposals::step(&mut st, t);
        return st;
    }
    if outcome != Expect::Ok {
        return st;
    }
    use Transition::*;
    match *t {
        RegisterAgent => st.agents += 1,
        CreateProposal { actor, .. } => st.proposals.push(Proposal {
            owner: actor,
            status: PStatus::Draft,
            reviewers: vec![],
            items: vec![],
            last_revision_step: None,
            world: None,
        }),
        SubmitProposal { proposal, .. } => st.proposals[proposal].status = PStatus::Validating,
        PostReview {
            actor,
            proposal,
            items,
            ..
        } => {
            let p = &mut st.proposals[proposal];
            p.reviewers.push(actor);
            for _ in 0..items {
                p.items.push(Item {
                    reviewer: actor,
                    status: IStatus::Open,
                    created_step: now,
                });
            }
        }
        RespondItem { proposal, item, .. } => {
            st.proposals[proposal].items[item].status = IStatus::Addressed
        }
        ReviseProposal { proposal, .. } => st.proposals[proposal].last_revision_step = Some(now),
        ResolveItem { proposal, item, .. } => {
            st.proposals[proposal].items[item].status = IStatus::Resolved;
            if can_graduate(&st.proposals[proposal]) {
                st.proposals[proposal].status = PStatus::Approved;
                st.proposals[proposal].world = Some(st.worlds.len());
                st.worlds.push(World {
                    proposal,
                    regions: 0,
                });
            }
        }
        _ if review::is_followup(t) => review::step(&mut st, t, now),
        CreateRegion { world, .. } => st.worlds[world].regions += 1,
        CreateDweller { world, .. } => st.dwellers.push(Dweller {
            world,
            holder: None,
        }),
        ClaimDweller { actor, dweller } => st.dwellers[dweller].holder = Some(actor),
        ReleaseDweller { dweller, .. } => st.dwellers[dweller].holder = None,
        TakeAction { .. } => {}
        SubmitFeedback { actor, .. } => st.feedback.push(Feedback {
            owner: actor,
            upvoters: vec![],
            status: FStatus::New,
        }),
        UpvoteFeedback { actor, feedback } => st.feedback[feedback].upvoters.push(actor),
        AdminFeedbackStatus { feedback, to } => st.feedback[feedback].status = to,
        Fault { .. } => {}
        SuggestRevision { .. }
        | AcceptSuggestion { .. }
        | RejectSuggestion { .. }
        | UpvoteSuggestion { .. }
        | WithdrawSuggestion { .. } => super::suggestions::step(&mut st, t),
        _ if actions::is_action_rule(t) => actions::step(&mut st, t),
        // the texts were built at the step before this one's increment
        _ if memory::is_memory(t) => memory::step(&mut st, t, now - 1),
        _ if super::social::is_social(t) => super::social::step(&mut st, t, now - 1),
        _ => world::step(&mut st, t),
    }
    st
}

/// Adds the core rules whose preconditions hold in `st` to the generation options, in a fixed
/// order (the order is part of what a seed means), then the world content's.
pub fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    offer_creates(st, add);
    offer_review(st, add);
    review::offer(st, add);
    offer_dwellers(st, add);
    actions::offer(st, add);
    memory::offer(st, add);
    super::summaries::offer(st, add);
    offer_feedback(st, add);
    world::offer(st, add);
    super::suggestions::offer(st, add);
    super::social::offer(st, add);
    super::dweller_proposals::offer(st, add);
    super::probes::offer(st, add);
}

/// Registration, new proposals and new feedback.
fn offer_creates(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    if n < 4 || st.step.is_multiple_of(23) {
        add(Rule::RegisterAgent, Just(Transition::RegisterAgent).boxed());
    }
    if n > 0 {
        add(
            Rule::CreateProposal,
            (pick(n), lens(PROPOSAL_NAME_LENS))
                .prop_map(|(actor, name_len)| Transition::CreateProposal { actor, name_len })
                .boxed(),
        );
        add(
            Rule::SubmitFeedback,
            (pick(n), lens(FEEDBACK_TITLE_LENS))
                .prop_map(|(actor, title_len)| Transition::SubmitFeedback { actor, title_len })
                .boxed(),
        );
    }
}

/// A proposal's way through the critical review to a world.
fn offer_review(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    let drafts: Vec<usize> = (0..st.proposals.len())
        .filter(|&i| st.proposals[i].status == PStatus::Draft)
        .collect();
    if !drafts.is_empty() {
        let owners: Vec<(usize, usize)> =
            drafts.iter().map(|&i| (st.proposals[i].owner, i)).collect();
        // mostly the owner; sometimes another agent (predicted 403)
        let s = (proptest::sample::select(owners), pick(n), 0..8u8)
            .prop_map(
                |((owner, proposal), other, coin)| Transition::SubmitProposal {
                    actor: if coin == 0 { other } else { owner },
                    proposal,
                },
            )
            .boxed();
        add(Rule::SubmitProposal, s);
    }
    let validating: Vec<usize> = (0..st.proposals.len())
        .filter(|&i| st.proposals[i].status == PStatus::Validating)
        .collect();
    // The oldest validating proposal is the focus: pushing one through the review to a world
    // beats spreading reviews thin (worlds unlock every dweller rule).
    let focus = validating.first().copied();
    if !validating.is_empty() && n >= 2 {
        // mostly an agent that may review (not the owner, not yet a reviewer); sometimes anyone
        // (two reviewers are enough: more would only add items to resolve before the world)
        let good: Vec<(usize, usize)> = focus
            .iter()
            .filter(|&&p| st.proposals[p].reviewers.len() < 2)
            .flat_map(|&p| {
                (0..n)
                    .filter(move |a| {
                        *a != st.proposals[p].owner && !st.proposals[p].reviewers.contains(a)
                    })
                    .map(move |a| (p, a))
            })
            .collect();
        let any: Vec<(usize, usize)> = validating
            .iter()
            .flat_map(|&p| (0..n).map(move |a| (p, a)))
            .collect();
        let s = (biased(good, any), 1..=2usize, lens(REVIEW_DESC_LENS))
            .prop_map(
                |((proposal, actor), items, desc_len)| Transition::PostReview {
                    actor,
                    proposal,
                    items,
                    desc_len,
                },
            )
            .boxed();
        add(Rule::PostReview, s);
    }
    if !st.proposals.is_empty() {
        // mostly a proposal with feedback newer than its last revision; sometimes any (approved → 400)
        let needs: Vec<(usize, usize)> = (0..st.proposals.len())
            .filter(|&i| {
                let p = &st.proposals[i];
                Some(i) == focus
                    && p.items
                        .iter()
                        .any(|it| p.last_revision_step.is_none_or(|r| r < it.created_step))
            })
            .map(|i| (st.proposals[i].owner, i))
            .collect();
        let any: Vec<(usize, usize)> = (0..st.proposals.len())
            .map(|i| (st.proposals[i].owner, i))
            .collect();
        add(
            Rule::ReviseProposal,
            biased(needs, any)
                .prop_map(|(actor, proposal)| Transition::ReviseProposal { actor, proposal })
                .boxed(),
        );
    }
    let items: Vec<(usize, usize, usize, usize)> = proposal_items(st)
        .map(|(pi, ii, p, it)| (pi, ii, p.owner, it.reviewer))
        .collect();
    let open: Vec<(usize, usize, usize)> = items
        .iter()
        .filter(|(pi, ii, _, _)| st.proposals[*pi].items[*ii].status == IStatus::Open)
        .map(|&(pi, ii, owner, _)| (pi, ii, owner))
        .collect();
    if !open.is_empty() {
        add(
            Rule::RespondItem,
            (proptest::sample::select(open), lens(RESPONSE_LENS))
                .prop_map(
                    |((proposal, item, actor), text_len)| Transition::RespondItem {
                        actor,
                        proposal,
                        item,
                        text_len,
                    },
                )
                .boxed(),
        );
    }
    let unresolved: Vec<(usize, usize, usize)> = items
        .iter()
        .filter(|(pi, ii, _, _)| {
            // an approved proposal's too (reopened or added after graduation): resolving them
            // must never graduate it again
            st.proposals[*pi].items[*ii].status != IStatus::Resolved
                && st.proposals[*pi].status != PStatus::Draft
        })
        .map(|&(pi, ii, _, reviewer)| (pi, ii, reviewer))
        .collect();
    if !unresolved.is_empty() {
        // mostly items revised since they were raised; sometimes too early (predicted 400)
        let ready: Vec<(usize, usize, usize)> = unresolved
            .iter()
            .copied()
            .filter(|&(pi, ii, _)| {
                Some(pi) == focus
                    && st.proposals[pi]
                        .last_revision_step
                        .is_some_and(|r| r >= st.proposals[pi].items[ii].created_step)
            })
            .collect();
        add(
            Rule::ResolveItem,
            biased(ready, unresolved)
                .prop_map(|(proposal, item, actor)| Transition::ResolveItem {
                    actor,
                    proposal,
                    item,
                })
                .boxed(),
        );
    }
}

/// Every review item of every proposal, in order, with its proposal's and its own index.
fn proposal_items(st: &State) -> impl Iterator<Item = (usize, usize, &Proposal, &Item)> {
    st.proposals.iter().enumerate().flat_map(|(pi, p)| {
        p.items
            .iter()
            .enumerate()
            .map(move |(ii, it)| (pi, ii, p, it))
    })
}

/// Regions, dwellers, claims and actions.
fn offer_dwellers(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    if !st.worlds.is_empty() {
        let w = st.worlds.len();
        add(
            Rule::CreateRegion,
            (pick(n), pick(w))
                .prop_map(|(actor, world)| Transition::CreateRegion { actor, world })
                .boxed(),
        );
        let with_regions: Vec<usize> = (0..w).filter(|&i| st.worlds[i].regions > 0).collect();
        if !with_regions.is_empty() {
            add(
                Rule::CreateDweller,
                (pick(n), proptest::sample::select(with_regions))
                    .prop_map(|(actor, world)| Transition::CreateDweller { actor, world })
                    .boxed(),
            );
        }
    }
    if !st.dwellers.is_empty() {
        let d = st.dwellers.len();
        let free: Vec<(usize, usize)> = (0..d)
            .filter(|&i| st.dwellers[i].holder.is_none())
            .flat_map(|i| {
                (0..n)
                    .filter(|&a| held(st, a) < MAX_DWELLERS)
                    .map(move |a| (a, i))
            })
            .collect();
        let any: Vec<(usize, usize)> = (0..d).flat_map(|i| (0..n).map(move |a| (a, i))).collect();
        add(
            Rule::ClaimDweller,
            biased(free, any)
                .prop_map(|(actor, dweller)| Transition::ClaimDweller { actor, dweller })
                .boxed(),
        );
        let held: Vec<(usize, usize)> = (0..d)
            .filter_map(|i| st.dwellers[i].holder.map(|h| (h, i)))
            .collect();
        if !held.is_empty() {
            let s = (proptest::sample::select(held.clone()), pick(n), 0..6u8)
                .prop_map(
                    |((holder, dweller), other, coin)| Transition::ReleaseDweller {
                        actor: if coin == 0 { other } else { holder },
                        dweller,
                    },
                )
                .boxed();
            add(Rule::ReleaseDweller, s);
            add(
                Rule::TakeAction,
                (proptest::sample::select(held), lens(ACTION_LENS))
                    .prop_map(|((_, dweller), content_len)| Transition::TakeAction {
                        dweller,
                        content_len,
                    })
                    .boxed(),
            );
        }
    }
}

/// Upvotes and the admin status changes of feedback.
fn offer_feedback(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    if !st.feedback.is_empty() {
        let f = st.feedback.len();
        add(
            Rule::UpvoteFeedback,
            (pick(n), pick(f))
                .prop_map(|(actor, feedback)| Transition::UpvoteFeedback { actor, feedback })
                .boxed(),
        );
        // until some feedback is closed, the admin closes one (invariant 6 needs a terminal status
        // to check; a seed's few status steps may otherwise never reach one)
        let targets: &'static [FStatus] = if st.feedback.iter().any(|x| x.status.terminal()) {
            ADMIN_TARGETS
        } else {
            &[FStatus::Resolved, FStatus::WontFix]
        };
        add(
            Rule::AdminFeedbackStatus,
            (pick(f), proptest::sample::select(targets))
                .prop_map(|(feedback, to)| Transition::AdminFeedbackStatus { feedback, to })
                .boxed(),
        );
    }
}
