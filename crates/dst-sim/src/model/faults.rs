//! The fault layer's model side: which faults exist, when each may be generated (its precondition on
//! model state) and what state the model is in afterwards.
//!
//! Every fault is built so that the model state after it is *deterministic* even though the platform
//! decides the interleaving: a concurrent claim is followed by the winner releasing the dweller (so
//! "who won" never enters the model); N distinct upvoters all succeed; the same agent N times yields one
//! upvote; N concurrent final resolves yield one approved proposal with one world; a retried request
//! converges to "applied once". The driver side (`driver/faults.rs`) checks the outcomes ("exactly one
//! winner", "no lost update", "replayed, not re-run") and records which requests raced.

use super::vocab::{
    EStatus, Expect, FStatus, Fault, FaultKind, IStatus, Item, MAX_ACTIVE_PROPOSALS, MAX_DWELLERS,
    PStatus, Proposal, State, Transition, World,
};
use super::{concurrency, rules};
use proptest::strategy::{BoxedStrategy, Strategy};

/// Whether a request may carry an idempotency key in a fault (creates) or is retried bare
/// (state changes whose repeat is rejected deterministically).
pub fn keyed_inner(t: &Transition) -> bool {
    matches!(
        t,
        Transition::CreateProposal { .. } | Transition::SubmitFeedback { .. }
    )
}

/// The rejection a bare repeat of an applied `t` gets (the platform's "already" answers).
pub fn repeat_rejection(t: &Transition) -> Expect {
    match t {
        Transition::ReleaseDweller { .. } => Expect::Reject(403),
        _ => Expect::Reject(400),
    }
}

fn eligible_upvoters(st: &State, f: usize) -> Vec<usize> {
    let fb = &st.feedback[f];
    (0..st.agents)
        .filter(|a| *a != fb.owner && !fb.upvoters.contains(a))
        .collect()
}

fn eligible_reviewers(st: &State, p: usize) -> Vec<usize> {
    let pr = &st.proposals[p];
    (0..st.agents)
        .filter(|a| *a != pr.owner && !pr.reviewers.contains(a))
        .collect()
}

fn can_claim(st: &State, a: usize) -> bool {
    st.dwellers.iter().filter(|d| d.holder == Some(a)).count() < MAX_DWELLERS
}

fn active(st: &State, a: usize) -> usize {
    st.proposals
        .iter()
        .filter(|p| p.owner == a && matches!(p.status, PStatus::Draft | PStatus::Validating))
        .count()
}

/// Unresolved items of `p` when resolving them all graduates it (all revised since raised).
pub fn graduation_items(st: &State, p: usize) -> Option<Vec<usize>> {
    let pr = st.proposals.get(p)?;
    if pr.status != PStatus::Validating || pr.reviewers.len() < 2 {
        return None;
    }
    let open: Vec<usize> = (0..pr.items.len())
        .filter(|&i| pr.items[i].status != IStatus::Resolved)
        .collect();
    let ready = open.iter().all(|&i| {
        pr.last_revision_step
            .is_some_and(|r| r >= pr.items[i].created_step)
    });
    (!open.is_empty() && ready).then_some(open)
}

fn distinct_in(v: &[usize], n: usize) -> bool {
    let mut s = v.to_vec();
    s.sort();
    s.dedup();
    s.len() == v.len() && v.iter().all(|&a| a < n)
}

/// The agent that sends a keyed create (the requests an idempotency fault wraps).
pub fn actor(t: &Transition) -> Option<usize> {
    match *t {
        Transition::CreateProposal { actor, .. } | Transition::SubmitFeedback { actor, .. } => {
            Some(actor)
        }
        _ => None,
    }
}

/// Whether `f` still refers to things that exist and meets its precondition (shrinking can break both).
pub fn valid(st: &State, f: &Fault) -> bool {
    if concurrency::owns(f) {
        return concurrency::valid(st, f);
    }
    if super::actions::owns_fault(f) {
        return super::actions::fault_valid(st, f);
    }
    if super::reactions::owns_fault(f) {
        return super::reactions::fault_valid(st, f);
    }
    if super::social::owns_fault(f) {
        return super::social::fault_valid(st, f);
    }
    if super::summaries::owns_fault(f) {
        return super::summaries::fault_valid(st, f);
    }
    match f {
        Fault::RaceClaim { dweller, actors } => {
            (2..=5).contains(&actors.len())
                && distinct_in(actors, st.agents)
                && st
                    .dwellers
                    .get(*dweller)
                    .is_some_and(|d| d.holder.is_none())
                && actors.iter().all(|&a| can_claim(st, a))
        }
        Fault::RaceUpvote { feedback, actors } => {
            *feedback < st.feedback.len()
                && (2..=5).contains(&actors.len())
                && distinct_in(actors, st.agents)
                && actors
                    .iter()
                    .all(|a| eligible_upvoters(st, *feedback).contains(a))
        }
        Fault::RaceUpvoteSame { feedback, actor, n } => {
            *feedback < st.feedback.len()
                && (2..=5).contains(n)
                && eligible_upvoters(st, *feedback).contains(actor)
        }
        Fault::RaceGraduation { proposal, n } => {
            (2..=5).contains(n) && graduation_items(st, *proposal).is_some()
        }
        Fault::RaceReview { proposal, actors } => {
            st.proposals
                .get(*proposal)
                .is_some_and(|p| p.status == PStatus::Validating)
                && (2..=5).contains(&actors.len())
                && distinct_in(actors, st.agents)
                && actors
                    .iter()
                    .all(|a| eligible_reviewers(st, *proposal).contains(a))
        }
        Fault::RaceCreate { actor, n } => {
            *actor < st.agents && (2..=5).contains(n) && active(st, *actor) < MAX_ACTIVE_PROPOSALS
        }
        Fault::Duplicate { inner, keyed } | Fault::LostResponse { inner, keyed } => {
            *keyed == keyed_inner(inner)
                && rules::valid(st, inner)
                && rules::expect(st, inner) == Expect::Ok
        }
        Fault::DbFail { inner } | Fault::DbStall { inner, .. } => {
            rules::valid(st, inner) && rules::expect(st, inner) == Expect::Ok
        }
        Fault::RaceStoryReview { story, actors, .. } => {
            st.stories.get(*story).is_some_and(|s| !s.acclaimed)
                && (2..=5).contains(&actors.len())
                && distinct_in(actors, st.agents)
                && actors
                    .iter()
                    .all(|a| story_reviewers(st, *story).contains(a))
        }
        Fault::RaceEventDecision { event, deciders } => {
            let agents: Vec<usize> = deciders.iter().map(|d| d.0).collect();
            st.events
                .get(*event)
                .is_some_and(|e| e.status == EStatus::Pending && !agents.contains(&e.proposer))
                && (2..=4).contains(&deciders.len())
                && distinct_in(&agents, st.agents)
                && deciders.iter().any(|d| d.1)
                && deciders.iter().any(|d| !d.1)
        }
        Fault::RaceAcclaim { story } => acclaim_ready(st, *story),
        Fault::RaceReact { .. } | Fault::RaceReactWorld { .. } => {
            super::reactions::fault_valid(st, f)
        }
        Fault::RaceRegion { .. }
        | Fault::RaceDweller { .. }
        | Fault::RaceRespond { .. }
        | Fault::IdemConcurrent { .. }
        | Fault::IdemReuse { .. } => concurrency::valid(st, f),
        Fault::RaceEscalate { .. } | Fault::RaceConfirm { .. } => {
            super::actions::fault_valid(st, f)
        }
        Fault::RaceFollow { .. } | Fault::RaceComment { .. } | Fault::RaceFollowSame { .. } => {
            super::social::fault_valid(st, f)
        }
        Fault::RaceSummarize { .. } => super::summaries::fault_valid(st, f),
    }
}

fn story_reviewers(st: &State, story: usize) -> Vec<usize> {
    let s = &st.stories[story];
    (0..st.agents)
        .filter(|a| *a != s.author && !s.reviews.iter().any(|r| r.reviewer == *a))
        .collect()
}

/// A story whose open reviews (at least two), answered together, complete its acclaim conditions.
fn acclaim_ready(st: &State, story: usize) -> bool {
    st.stories.get(story).is_some_and(|s| {
        !s.acclaimed
            && s.reviews.iter().filter(|r| !r.responded).count() >= 2
            && s.reviews.iter().filter(|r| r.acclaim).count() >= 2
    })
}

/// The ordinary transitions a world-content race is made of: (sequential prelude, raced steps).
pub fn world_race_steps(st: &State, f: &Fault) -> (Vec<Transition>, Vec<Transition>) {
    match f {
        Fault::RaceStoryReview {
            story,
            actors,
            acclaim,
        } => (
            vec![],
            actors
                .iter()
                .map(|&actor| Transition::ReviewStory {
                    actor,
                    story: *story,
                    acclaim: *acclaim,
                    notes_len: 80,
                })
                .collect(),
        ),
        Fault::RaceEventDecision { event, deciders } => (
            vec![],
            deciders
                .iter()
                .map(|&(actor, approve)| {
                    if approve {
                        Transition::ApproveEvent {
                            actor,
                            event: *event,
                        }
                    } else {
                        Transition::RejectEvent {
                            actor,
                            event: *event,
                        }
                    }
                })
                .collect(),
        ),
        Fault::RaceAcclaim { story } => {
            let s = &st.stories[*story];
            let prelude = if s.revisions == 0 {
                vec![Transition::ReviseStory {
                    actor: s.author,
                    story: *story,
                    same: false,
                }]
            } else {
                vec![]
            };
            let ts = (0..s.reviews.len())
                .filter(|&r| !s.reviews[r].responded)
                .map(|review| Transition::RespondStoryReview {
                    actor: s.author,
                    story: *story,
                    review,
                })
                .collect();
            (prelude, ts)
        }
        _ => (vec![], vec![]),
    }
}

/// Counts fault `f` in a state that already holds its effects.
pub fn step_counted(mut st: State, f: &Fault) -> State {
    st.fault_fired[f.kind().index()] += 1;
    st
}

/// Successful creates of a [`Fault::RaceCreate`]: the agent's free slots, at most `n`.
pub fn race_create_wins(st: &State, actor: usize, n: usize) -> usize {
    n.min(MAX_ACTIVE_PROPOSALS.saturating_sub(active(st, actor)))
}

/// The model state after `f` (which must be [`valid`]).
pub fn step(mut st: State, f: &Fault) -> State {
    if concurrency::owns(f) {
        return concurrency::step(st, f);
    }
    if super::actions::owns_fault(f) {
        return super::actions::fault_step(st, f);
    }
    if super::reactions::owns_fault(f) {
        return super::reactions::fault_step(st, f);
    }
    if super::social::owns_fault(f) {
        return super::social::fault_step(st, f);
    }
    if super::summaries::owns_fault(f) {
        return super::summaries::fault_step(st, f);
    }
    match f {
        Fault::RaceStoryReview { .. } | Fault::RaceAcclaim { .. } => {
            let (prelude, ts) = world_race_steps(&st, f);
            for t in prelude.iter().chain(&ts) {
                st = rules::step(st, t);
            }
            return step_counted(st, f);
        }
        Fault::RaceEventDecision { .. } => {
            // the model assumes the first decider wins; the driver follows the one that did
            let ts = world_race_steps(&st, f).1;
            if let Some(t) = ts.first() {
                st = rules::step(st, t);
            }
            return step_counted(st, f);
        }
        _ => {}
    }
    if let Some(inner) = f.inner() {
        let mut after = rules::step(st, inner);
        after.fault_fired[f.kind().index()] += 1;
        return after;
    }
    st.fault_fired[f.kind().index()] += 1;
    st.fired[f.base_rule().index()] += 1;
    st.step += 1;
    let now = st.step;
    match f {
        Fault::RaceClaim { .. } => {} // the winner releases it again
        Fault::RaceUpvote { feedback, actors } => st.feedback[*feedback]
            .upvoters
            .extend(actors.iter().copied()),
        Fault::RaceUpvoteSame {
            feedback, actor, ..
        } => st.feedback[*feedback].upvoters.push(*actor),
        Fault::RaceGraduation { proposal, .. } => {
            let world = st.worlds.len();
            let p = &mut st.proposals[*proposal];
            for it in &mut p.items {
                it.status = IStatus::Resolved;
            }
            p.status = PStatus::Approved;
            p.world = Some(world);
            st.worlds.push(World {
                proposal: *proposal,
                regions: 0,
            });
        }
        Fault::RaceReview { proposal, actors } => {
            let p = &mut st.proposals[*proposal];
            for &a in actors {
                p.reviewers.push(a);
                p.items.push(Item {
                    reviewer: a,
                    status: IStatus::Open,
                    created_step: now,
                });
            }
        }
        Fault::RaceCreate { actor, n } => {
            for _ in 0..race_create_wins(&st, *actor, *n) {
                st.proposals.push(Proposal {
                    owner: *actor,
                    status: PStatus::Draft,
                    reviewers: vec![],
                    items: vec![],
                    last_revision_step: None,
                    world: None,
                });
            }
        }
        _ => {}
    }
    st
}

/// Requests a retry fault can wrap in state `st`: (keyed creates, bare state changes).
fn retry_candidates(st: &State) -> (Vec<Transition>, Vec<Transition>) {
    let mut keyed = Vec::new();
    let mut bare = Vec::new();
    for a in 0..st.agents {
        if active(st, a) < MAX_ACTIVE_PROPOSALS {
            keyed.push(Transition::CreateProposal {
                actor: a,
                name_len: 24,
            });
        }
        keyed.push(Transition::SubmitFeedback {
            actor: a,
            title_len: 40,
        });
    }
    for (f, fb) in st.feedback.iter().enumerate() {
        if let Some(&actor) = eligible_upvoters(st, f).first() {
            bare.push(Transition::UpvoteFeedback { actor, feedback: f });
        }
        if let Some(to) = FStatus::ALL
            .iter()
            .copied()
            .find(|to| fb.status.can_move_to(*to))
        {
            bare.push(Transition::AdminFeedbackStatus { feedback: f, to });
        }
    }
    for (d, dw) in st.dwellers.iter().enumerate() {
        if dw.holder.is_none()
            && let Some(actor) = (0..st.agents).find(|&a| can_claim(st, a))
        {
            bare.push(Transition::ClaimDweller { actor, dweller: d });
        }
    }
    for (p, pr) in st.proposals.iter().enumerate() {
        if pr.status == PStatus::Draft {
            bare.push(Transition::SubmitProposal {
                actor: pr.owner,
                proposal: p,
            });
        }
    }
    (keyed, bare)
}

fn fault(f: Fault) -> Transition {
    Transition::Fault { fault: f }
}

/// Adds the faults whose preconditions hold in `st` to the generation options. A fault weighs more
/// until it has fired twice in this sequence, then little: the layer stays around one step in seven,
/// so the rules still reach deep states.
pub fn options(st: &State, options: &mut Vec<(u32, BoxedStrategy<Transition>)>) {
    let mut add = |kind: FaultKind, s: BoxedStrategy<Transition>| {
        let fired = st.fault_fired[kind.index()];
        options.push((if fired < 2 { 6 } else { 1 }, s));
    };
    offer_races(st, &mut add);
    offer_world_races(st, &mut add);
    offer_retries(st, &mut add);
    concurrency::offer(st, &mut add);
    super::actions::offer_faults(st, &mut add);
    super::reactions::offer_faults(st, &mut add);
    super::social::offer_faults(st, &mut add);
    super::summaries::offer_faults(st, &mut add);
}

/// Races of the core rules: claims, upvotes, final resolves, reviews, creates.
fn offer_races(st: &State, add: &mut dyn FnMut(FaultKind, BoxedStrategy<Transition>)) {
    let n = st.agents;
    // concurrent claim: a free dweller, at least two agents under the cap
    let claimers: Vec<usize> = (0..n).filter(|&a| can_claim(st, a)).collect();
    let free: Vec<usize> = (0..st.dwellers.len())
        .filter(|&d| st.dwellers[d].holder.is_none())
        .collect();
    if claimers.len() >= 2 && !free.is_empty() {
        let max = claimers.len().min(5);
        add(
            FaultKind::RaceClaim,
            (
                proptest::sample::select(free),
                proptest::sample::subsequence(claimers, 2..=max),
            )
                .prop_map(|(dweller, actors)| fault(Fault::RaceClaim { dweller, actors }))
                .boxed(),
        );
    }
    // concurrent upvotes
    let fbs: Vec<(usize, Vec<usize>)> = (0..st.feedback.len())
        .map(|f| (f, eligible_upvoters(st, f)))
        .filter(|(_, e)| !e.is_empty())
        .collect();
    let multi: Vec<(usize, Vec<usize>)> =
        fbs.iter().filter(|(_, e)| e.len() >= 2).cloned().collect();
    if !multi.is_empty() {
        add(
            FaultKind::RaceUpvote,
            proptest::sample::select(multi)
                .prop_flat_map(|(feedback, e)| {
                    let max = e.len().min(5);
                    proptest::sample::subsequence(e, 2..=max)
                        .prop_map(move |actors| fault(Fault::RaceUpvote { feedback, actors }))
                })
                .boxed(),
        );
    }
    if !fbs.is_empty() {
        add(
            FaultKind::RaceUpvoteSame,
            (proptest::sample::select(fbs), 2..=5usize, any_index())
                .prop_map(|((feedback, e), n, pick)| {
                    fault(Fault::RaceUpvoteSame {
                        feedback,
                        actor: e[pick % e.len()],
                        n,
                    })
                })
                .boxed(),
        );
    }
    // concurrent final resolves
    let grads: Vec<usize> = (0..st.proposals.len())
        .filter(|&p| graduation_items(st, p).is_some())
        .collect();
    if !grads.is_empty() {
        add(
            FaultKind::RaceGraduation,
            (proptest::sample::select(grads), 2..=5usize)
                .prop_map(|(proposal, n)| fault(Fault::RaceGraduation { proposal, n }))
                .boxed(),
        );
    }
    // concurrent reviews by different reviewers
    let reviewable: Vec<(usize, Vec<usize>)> = (0..st.proposals.len())
        .filter(|&p| st.proposals[p].status == PStatus::Validating)
        .map(|p| (p, eligible_reviewers(st, p)))
        .filter(|(_, e)| e.len() >= 2)
        .collect();
    if !reviewable.is_empty() {
        add(
            FaultKind::RaceReview,
            proptest::sample::select(reviewable)
                .prop_flat_map(|(proposal, e)| {
                    let max = e.len().min(5);
                    proptest::sample::subsequence(e, 2..=max)
                        .prop_map(move |actors| fault(Fault::RaceReview { proposal, actors }))
                })
                .boxed(),
        );
    }
    // concurrent same-title creates by one agent
    let creators: Vec<usize> = (0..n)
        .filter(|&a| active(st, a) < MAX_ACTIVE_PROPOSALS)
        .collect();
    if !creators.is_empty() {
        add(
            FaultKind::RaceCreate,
            (proptest::sample::select(creators), 2..=5usize)
                .prop_map(|(actor, n)| fault(Fault::RaceCreate { actor, n }))
                .boxed(),
        );
    }
}

/// World-content races: concurrent story reviews, approve vs reject, final responses completing
/// acclaim.
fn offer_world_races(st: &State, add: &mut dyn FnMut(FaultKind, BoxedStrategy<Transition>)) {
    let n = st.agents;
    // world content: concurrent story reviews, approve vs reject, final responses completing acclaim
    let stories: Vec<(usize, Vec<usize>)> = (0..st.stories.len())
        .filter(|&i| !st.stories[i].acclaimed)
        .map(|i| (i, story_reviewers(st, i)))
        .filter(|(_, e)| e.len() >= 2)
        .collect();
    if !stories.is_empty() {
        add(
            FaultKind::RaceStoryReview,
            (proptest::sample::select(stories), 0..4u8)
                .prop_flat_map(|((story, e), coin)| {
                    let max = e.len().min(5);
                    proptest::sample::subsequence(e, 2..=max).prop_map(move |actors| {
                        fault(Fault::RaceStoryReview {
                            story,
                            actors,
                            acclaim: coin != 0,
                        })
                    })
                })
                .boxed(),
        );
    }
    let events: Vec<(usize, Vec<usize>)> = (0..st.events.len())
        .filter(|&i| st.events[i].status == EStatus::Pending)
        .map(|i| {
            let p = st.events[i].proposer;
            (i, (0..n).filter(|a| *a != p).collect::<Vec<usize>>())
        })
        .filter(|(_, e)| e.len() >= 2)
        .collect();
    if !events.is_empty() {
        add(
            FaultKind::RaceEventDecision,
            proptest::sample::select(events)
                .prop_flat_map(|(event, e)| {
                    let max = e.len().min(4);
                    (proptest::sample::subsequence(e, 2..=max), 0..2u8).prop_map(
                        move |(agents, first)| {
                            // alternate approve / reject so both are always in the race
                            let deciders = agents
                                .iter()
                                .enumerate()
                                .map(|(i, &a)| (a, (i as u8 + first).is_multiple_of(2)))
                                .collect();
                            fault(Fault::RaceEventDecision { event, deciders })
                        },
                    )
                })
                .boxed(),
        );
    }
    let ready: Vec<usize> = (0..st.stories.len())
        .filter(|&i| acclaim_ready(st, i))
        .collect();
    if !ready.is_empty() {
        add(
            FaultKind::RaceAcclaim,
            proptest::sample::select(ready)
                .prop_map(|story| fault(Fault::RaceAcclaim { story }))
                .boxed(),
        );
    }
}

/// Retries (duplicate, lost response) and database faults around one ordinary request.
fn offer_retries(st: &State, add: &mut dyn FnMut(FaultKind, BoxedStrategy<Transition>)) {
    // retries
    let (keyed, bare) = retry_candidates(st);
    if !bare.is_empty() {
        let b = bare.clone();
        add(
            FaultKind::Duplicate,
            proptest::sample::select(b)
                .prop_map(|t| {
                    fault(Fault::Duplicate {
                        inner: Box::new(t),
                        keyed: false,
                    })
                })
                .boxed(),
        );
        let b = bare.clone();
        add(
            FaultKind::LostResponse,
            proptest::sample::select(b)
                .prop_map(|t| {
                    fault(Fault::LostResponse {
                        inner: Box::new(t),
                        keyed: false,
                    })
                })
                .boxed(),
        );
    }
    if !keyed.is_empty() {
        let k = keyed.clone();
        add(
            FaultKind::DuplicateKeyed,
            proptest::sample::select(k)
                .prop_map(|t| {
                    fault(Fault::Duplicate {
                        inner: Box::new(t),
                        keyed: true,
                    })
                })
                .boxed(),
        );
        let k = keyed.clone();
        add(
            FaultKind::LostResponseKeyed,
            proptest::sample::select(k)
                .prop_map(|t| {
                    fault(Fault::LostResponse {
                        inner: Box::new(t),
                        keyed: true,
                    })
                })
                .boxed(),
        );
    }
    let all: Vec<Transition> = keyed.into_iter().chain(bare).collect();
    if !all.is_empty() {
        add(
            FaultKind::DbFail,
            proptest::sample::select(all.clone())
                .prop_map(|t| fault(Fault::DbFail { inner: Box::new(t) }))
                .boxed(),
        );
        add(
            FaultKind::DbStall,
            (
                proptest::sample::select(all),
                proptest::sample::select(vec![5u64, 20, 60]),
            )
                .prop_map(|(t, ms)| {
                    fault(Fault::DbStall {
                        inner: Box::new(t),
                        ms,
                    })
                })
                .boxed(),
        );
    }
}

fn any_index() -> BoxedStrategy<usize> {
    (0..64usize).boxed()
}
