//! The concurrency checks of the fault layer, model side: read-modify-write races on list-valued
//! fields (regions), "at most once" operations raced by concurrent callers (answering a story
//! review), and idempotency keys (the same key concurrently; a key presented by another agent or on
//! another endpoint).
//!
//! As in `faults.rs`, the state after each is deterministic: N region adds by different agents are
//! all kept; N answers to one review leave it answered once; a keyed create raced N times applies
//! once; a reused key runs nothing (the reference platform refuses it with 409; a target that runs
//! the second request afresh instead is followed by the driver, never a violation).

use super::rules;
use super::vocab::{
    Expect, FStatus, Fault, FaultKind, Feedback, PStatus, Proposal, State, Transition,
};
use proptest::strategy::{BoxedStrategy, Strategy};

/// Whether `t` is a create that may carry an idempotency key here (its repeat would be a second
/// entity, so a replay is the only right answer to it).
fn keyed_create(st: &State, t: &Transition) -> bool {
    super::faults::keyed_inner(t) && rules::valid(st, t) && rules::expect(st, t) == Expect::Ok
}

fn distinct(v: &[usize], n: usize) -> bool {
    let mut s = v.to_vec();
    s.sort();
    s.dedup();
    s.len() == v.len() && v.iter().all(|&a| a < n)
}

/// The review-answering transition of a [`Fault::RaceRespond`].
pub fn respond_step(st: &State, story: usize, review: usize) -> Option<Transition> {
    let s = st.stories.get(story)?;
    Some(Transition::RespondStoryReview {
        actor: s.author,
        story,
        review,
    })
}

/// The region adds of a [`Fault::RaceRegion`], each against the state after the ones before it
/// (so each names a region of its own).
pub fn region_steps(world: usize, actors: &[usize]) -> Vec<Transition> {
    actors
        .iter()
        .map(|&actor| Transition::CreateRegion { actor, world })
        .collect()
}

/// The dweller creates of a [`Fault::RaceDweller`], one per racer.
pub fn dweller_steps(world: usize, actors: &[usize]) -> Vec<Transition> {
    actors
        .iter()
        .map(|&actor| Transition::CreateDweller { actor, world })
        .collect()
}

/// The `dweller_count` the target must show for `world`: its dwellers, less the increments a
/// create race lost earlier in the seed.
pub fn dweller_count(st: &State, world: usize) -> usize {
    let made = st.dwellers.iter().filter(|d| d.world == world).count();
    made.saturating_sub(st.lost_dweller_counts.get(&world).copied().unwrap_or(0))
}

/// Keep-going after a dweller-create race: the world's count is what the target shows.
pub fn adopt_dweller_count(mut st: State, world: usize, shown: usize) -> State {
    let made = st.dwellers.iter().filter(|d| d.world == world).count();
    st.lost_dweller_counts
        .insert(world, made.saturating_sub(shown));
    st
}

/// The name of the next region added to `world`: numbered by every add so far, the ones a lost
/// update dropped included, so it never repeats a name the world has (the platform refuses one).
pub fn region_name(st: &State, world: usize) -> String {
    let lost = st.lost_regions.get(&world).copied().unwrap_or(0);
    format!("Region {}", st.worlds[world].regions + lost)
}

/// Keep-going after a region race: the world has the `listed` regions the target reads back (a
/// lost update dropped the others), and the dropped adds' names stay used.
pub fn adopt_regions(mut st: State, world: usize, listed: usize) -> State {
    let predicted = st.worlds[world].regions;
    if listed < predicted {
        *st.lost_regions.entry(world).or_default() += predicted - listed;
    }
    st.worlds[world].regions = listed;
    st
}

/// Keep-going after a keyed create the target executed more than once: `extra` more of what
/// `inner` creates, owned by its actor, in the state the target lists them in (a draft proposal, a
/// new feedback item). Added whatever the model's limits say: the target made them, and later
/// predictions (the agent's active proposals) must count them.
pub fn adopt_created(mut st: State, inner: &Transition, extra: usize) -> State {
    for _ in 0..extra {
        match *inner {
            Transition::CreateProposal { actor, .. } => st.proposals.push(Proposal {
                owner: actor,
                status: PStatus::Draft,
                reviewers: vec![],
                items: vec![],
                last_revision_step: None,
                world: None,
            }),
            Transition::SubmitFeedback { actor, .. } => st.feedback.push(Feedback {
                owner: actor,
                upvoters: vec![],
                status: FStatus::New,
            }),
            _ => {}
        }
    }
    st
}

/// Whether `f` is one of the faults this file gives meaning to.
pub fn owns(f: &Fault) -> bool {
    matches!(
        f,
        Fault::RaceRegion { .. }
            | Fault::RaceDweller { .. }
            | Fault::RaceRespond { .. }
            | Fault::IdemConcurrent { .. }
            | Fault::IdemReuse { .. }
    )
}

/// Whether a concurrency fault still refers to things that exist and meets its precondition.
pub fn valid(st: &State, f: &Fault) -> bool {
    match f {
        Fault::RaceRegion { world, actors } => {
            *world < st.worlds.len()
                && (2..=6).contains(&actors.len())
                && distinct(actors, st.agents)
        }
        Fault::RaceDweller { world, actors } => {
            *world < st.worlds.len()
                && (2..=6).contains(&actors.len())
                && distinct(actors, st.agents)
                && st.worlds[*world].regions > 0
        }
        Fault::RaceRespond { story, review, n } => {
            (2..=5).contains(n)
                && respond_step(st, *story, *review)
                    .is_some_and(|t| rules::valid(st, &t) && rules::expect(st, &t) == Expect::Ok)
        }
        Fault::IdemConcurrent { inner, n } => (2..=5).contains(n) && keyed_create(st, inner),
        Fault::IdemReuse { first, second } => {
            let a = super::faults::actor(first);
            let b = super::faults::actor(second);
            let shape = if first.rule() == second.rule() {
                a != b
            } else {
                a == b
            };
            shape
                && keyed_create(st, first)
                && keyed_create(&rules::step(st.clone(), first), second)
        }
        _ => false,
    }
}

/// The model state after a concurrency fault (which must be [`valid`]).
pub fn step(st: State, f: &Fault) -> State {
    let mut st = match f {
        Fault::RaceRegion { world, actors } => {
            region_steps(*world, actors).iter().fold(st, rules::step)
        }
        Fault::RaceDweller { world, actors } => {
            dweller_steps(*world, actors).iter().fold(st, rules::step)
        }
        Fault::RaceRespond { story, review, .. } => match respond_step(&st, *story, *review) {
            Some(t) => rules::step(st, &t),
            None => st,
        },
        Fault::IdemConcurrent { inner, .. } => rules::step(st, inner),
        // the second request is refused (409); a target that runs it is followed by the driver
        Fault::IdemReuse { first, .. } => rules::step(st, first),
        _ => st,
    };
    st.fault_fired[f.kind().index()] += 1;
    st
}

/// Adds the concurrency faults whose preconditions hold in `st` to the generation options.
pub fn offer(st: &State, add: &mut dyn FnMut(FaultKind, BoxedStrategy<Transition>)) {
    let fault = |f: Fault| Transition::Fault { fault: f };
    let n = st.agents;
    if !st.worlds.is_empty() && n >= 2 {
        let agents: Vec<usize> = (0..n).collect();
        let max = n.min(6);
        add(
            FaultKind::RaceRegion,
            (
                0..st.worlds.len(),
                proptest::sample::subsequence(agents, 2..=max),
            )
                .prop_map(move |(world, actors)| fault(Fault::RaceRegion { world, actors }))
                .boxed(),
        );
        let peopled: Vec<usize> = (0..st.worlds.len())
            .filter(|&w| st.worlds[w].regions > 0)
            .collect();
        if !peopled.is_empty() {
            let agents: Vec<usize> = (0..n).collect();
            add(
                FaultKind::RaceDweller,
                (
                    proptest::sample::select(peopled),
                    proptest::sample::subsequence(agents, 2..=max),
                )
                    .prop_map(move |(world, actors)| fault(Fault::RaceDweller { world, actors }))
                    .boxed(),
            );
        }
    }
    let open: Vec<(usize, usize)> = (0..st.stories.len())
        .flat_map(|s| (0..st.stories[s].reviews.len()).map(move |r| (s, r)))
        .filter(|&(s, r)| !st.stories[s].reviews[r].responded)
        .collect();
    if !open.is_empty() {
        add(
            FaultKind::RaceRespond,
            (proptest::sample::select(open), 2..=5usize)
                .prop_map(move |((story, review), n)| {
                    fault(Fault::RaceRespond { story, review, n })
                })
                .boxed(),
        );
    }
    let creates: Vec<Transition> = (0..n)
        .flat_map(|a| {
            [
                Transition::CreateProposal {
                    actor: a,
                    name_len: 24,
                },
                Transition::SubmitFeedback {
                    actor: a,
                    title_len: 40,
                },
            ]
        })
        .filter(|t| keyed_create(st, t))
        .collect();
    if creates.is_empty() {
        return;
    }
    add(
        FaultKind::IdemConcurrent,
        (proptest::sample::select(creates.clone()), 2..=5usize)
            .prop_map(move |(t, n)| {
                fault(Fault::IdemConcurrent {
                    inner: Box::new(t),
                    n,
                })
            })
            .boxed(),
    );
    let pairs = |same_rule: bool| -> Vec<(Transition, Transition)> {
        let mut out = Vec::new();
        for a in &creates {
            let after = rules::step(st.clone(), a);
            for b in &creates {
                let other_agent = super::faults::actor(a) != super::faults::actor(b);
                let ok = if same_rule {
                    a.rule() == b.rule() && other_agent
                } else {
                    a.rule() != b.rule() && !other_agent
                };
                if ok && keyed_create(&after, b) {
                    out.push((a.clone(), b.clone()));
                }
            }
        }
        out
    };
    for (kind, same_rule) in [
        (FaultKind::IdemOtherAgent, true),
        (FaultKind::IdemOtherEndpoint, false),
    ] {
        let p = pairs(same_rule);
        if !p.is_empty() {
            add(
                kind,
                proptest::sample::select(p)
                    .prop_map(move |(a, b)| {
                        fault(Fault::IdemReuse {
                            first: Box::new(a),
                            second: Box::new(b),
                        })
                    })
                    .boxed(),
            );
        }
    }
}
