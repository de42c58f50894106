//! Story reactions (`POST /api/stories/{id}/react`): the rule and its race, model side.
//!
//! One reaction per agent and story: a new one adds 1 to the story's `reaction_count`, the same
//! kind again takes it back (never below 0), another kind changes it and leaves the count alone.
//! Anyone may react, the author included, so the rule is never refused. The count is a stored
//! counter: [`Fault::RaceReact`] has 2–6 agents without a reaction react at once, and every
//! increment must be kept (invariant 19; the real platform writes `reaction_count += 1` on a
//! loaded row, with no lock).

use super::vocab::{Expect, Fault, FaultKind, Rule, State, StoryM, Transition};
use api_client::vocab::ReactionType;
use proptest::strategy::{BoxedStrategy, Strategy};

/// The count a reaction by `actor` of `kind` leaves on `s`, and what the platform says it did.
pub fn outcome(s: &StoryM, actor: usize, kind: ReactionType) -> (&'static str, u32) {
    match s.reactions.iter().find(|r| r.0 == actor) {
        Some(r) if r.1 == kind => ("removed", s.reaction_count.saturating_sub(1)),
        Some(_) => ("changed", s.reaction_count),
        None => ("added", s.reaction_count + 1),
    }
}

pub(super) fn expect(_st: &State, _t: &Transition) -> Expect {
    Expect::Ok
}

pub(super) fn valid(st: &State, t: &Transition) -> bool {
    match *t {
        Transition::ReactStory { actor, story, .. } => {
            actor < st.agents && story < st.stories.len()
        }
        _ => false,
    }
}

pub(super) fn step(st: &mut State, t: &Transition) {
    if let Transition::ReactStory { actor, story, kind } = *t {
        let s = &mut st.stories[story];
        let (action, count) = outcome(s, actor, kind);
        s.reaction_count = count;
        match action {
            "removed" => s.reactions.retain(|r| r.0 != actor),
            "changed" => {
                for r in s.reactions.iter_mut().filter(|r| r.0 == actor) {
                    r.1 = kind;
                }
            }
            _ => s.reactions.push((actor, kind)),
        }
    }
}

/// Offers a reaction: a random agent and kind on a random story (so adds, changes and take-backs
/// all happen).
pub(super) fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    if st.stories.is_empty() || st.agents == 0 {
        return;
    }
    add(
        Rule::ReactStory,
        (
            0..st.agents,
            0..st.stories.len(),
            proptest::sample::select(ReactionType::ALL),
        )
            .prop_map(|(actor, story, kind)| Transition::ReactStory { actor, story, kind })
            .boxed(),
    );
}

/// The reactions of a [`Fault::RaceReact`], one per racer, all of one kind.
pub fn race_steps(story: usize, actors: &[usize]) -> Vec<Transition> {
    actors
        .iter()
        .map(|&actor| Transition::ReactStory {
            actor,
            story,
            kind: ReactionType::Fire,
        })
        .collect()
}

/// The agents that have not reacted to `story` (a race of theirs adds one each).
fn fresh(st: &State, story: usize) -> Vec<usize> {
    (0..st.agents)
        .filter(|a| !st.stories[story].reactions.iter().any(|r| r.0 == *a))
        .collect()
}

pub fn owns_fault(f: &Fault) -> bool {
    matches!(f, Fault::RaceReact { .. })
}

pub fn fault_valid(st: &State, f: &Fault) -> bool {
    let Fault::RaceReact { story, actors } = f else {
        return false;
    };
    if *story >= st.stories.len() || !(2..=6).contains(&actors.len()) {
        return false;
    }
    let fresh = fresh(st, *story);
    let mut seen = actors.clone();
    seen.sort();
    seen.dedup();
    seen.len() == actors.len() && actors.iter().all(|a| fresh.contains(a))
}

pub fn fault_step(st: State, f: &Fault) -> State {
    let mut st = match f {
        Fault::RaceReact { story, actors } => {
            race_steps(*story, actors).iter().fold(st, |mut s, t| {
                step(&mut s, t);
                s
            })
        }
        _ => st,
    };
    st.fault_fired[f.kind().index()] += 1;
    st
}

/// Keep-going after a reaction race: the story's count is what the target reads back (a lost
/// update dropped increments); the reactions themselves are all there.
pub fn adopt_count(mut st: State, story: usize, count: u32) -> State {
    st.stories[story].reaction_count = count;
    st
}

pub fn offer_faults(st: &State, add: &mut dyn FnMut(FaultKind, BoxedStrategy<Transition>)) {
    let stories: Vec<(usize, Vec<usize>)> = (0..st.stories.len())
        .map(|s| (s, fresh(st, s)))
        .filter(|(_, f)| f.len() >= 2)
        .collect();
    if stories.is_empty() {
        return;
    }
    add(
        FaultKind::RaceReact,
        proptest::sample::select(stories)
            .prop_flat_map(|(story, fresh)| {
                let max = fresh.len().min(6);
                proptest::sample::subsequence(fresh, 2..=max).prop_map(move |actors| {
                    Transition::Fault {
                        fault: Fault::RaceReact { story, actors },
                    }
                })
            })
            .boxed(),
    );
}
