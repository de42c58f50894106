//! Reactions, model side: to a story (`POST /api/stories/{id}/react`, or the same reaction through
//! `POST /api/social/react` with `target_type: story`: a second route to one state) and to a world
//! (`POST /api/social/react`), with their races.
//!
//! One reaction per agent and target. A story stores a total `reaction_count`: a new reaction adds
//! 1, the same kind again takes it back (never below 0), another kind changes it and leaves the
//! count alone. A world stores `reaction_counts` per kind: a new reaction adds 1 to its kind, the
//! same kind again takes 1 back, another kind moves 1 from the old kind to the new. Anyone may
//! react (a story's author too), so the rules are never refused. The counts are stored counters:
//! [`Fault::RaceReact`] and [`Fault::RaceReactWorld`] have 2–6 agents without a reaction react at
//! once, and every increment must be kept (invariant 19; the real platform updates both on a loaded
//! row, with no lock).

use super::vocab::{Expect, Fault, FaultKind, Rule, State, Transition};
use api_client::vocab::ReactionType;
use proptest::strategy::{BoxedStrategy, Strategy};

/// What a reaction does to the agent's reaction on its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionChange {
    Added,
    /// From the kind it had.
    Changed(ReactionType),
    Removed,
}

impl ReactionChange {
    /// The answer's `action`: the story route says `changed`, the social route `updated`.
    pub fn wire(self, social: bool) -> &'static str {
        match self {
            ReactionChange::Added => "added",
            ReactionChange::Changed(_) if social => "updated",
            ReactionChange::Changed(_) => "changed",
            ReactionChange::Removed => "removed",
        }
    }
}

/// The reactions on one target: who reacted with what, and the stored counts (by kind, in
/// [`ReactionType::ALL`] order; a story uses their sum). Counts are adopted from the target after
/// a race that lost increments, so they need not match `by`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReactionsM {
    pub by: Vec<(usize, ReactionType)>,
    pub counts: [u32; 4],
}

fn slot(k: ReactionType) -> usize {
    ReactionType::ALL.iter().position(|x| *x == k).unwrap_or(0)
}

impl ReactionsM {
    /// What `actor` reacting with `kind` does.
    pub fn change(&self, actor: usize, kind: ReactionType) -> ReactionChange {
        match self.by.iter().find(|r| r.0 == actor) {
            Some(r) if r.1 == kind => ReactionChange::Removed,
            Some(r) => ReactionChange::Changed(r.1),
            None => ReactionChange::Added,
        }
    }

    /// A story's stored total.
    pub fn total(&self) -> u32 {
        self.counts.iter().sum()
    }

    /// The count of one kind.
    pub fn of(&self, k: ReactionType) -> u32 {
        self.counts[slot(k)]
    }

    /// Applies `actor`'s reaction. A story keeps a total, so its take-back floors the total at 0
    /// (`story`: true), a world floors each kind. A change of kind through `/api/social/react`
    /// (`social`) takes 1 from the total, floored at 0, and adds 1 back: the same total, except
    /// on a story whose total a lost update had already brought to 0 (then it is 1).
    pub fn apply(&mut self, actor: usize, kind: ReactionType, story: bool, social: bool) {
        match self.change(actor, kind) {
            ReactionChange::Removed => {
                self.by.retain(|r| r.0 != actor);
                if story {
                    // the total drops by one, whichever kind held it
                    if let Some(c) = self.counts.iter_mut().rev().find(|c| **c > 0) {
                        *c -= 1;
                    }
                } else {
                    let c = &mut self.counts[slot(kind)];
                    *c = c.saturating_sub(1);
                }
            }
            ReactionChange::Changed(old) => {
                for r in self.by.iter_mut().filter(|r| r.0 == actor) {
                    r.1 = kind;
                }
                if !story {
                    let c = &mut self.counts[slot(old)];
                    *c = c.saturating_sub(1);
                    self.counts[slot(kind)] += 1;
                } else if social && self.total() == 0 {
                    self.counts[slot(kind)] += 1;
                }
            }
            ReactionChange::Added => {
                self.by.push((actor, kind));
                self.counts[slot(kind)] += 1;
            }
        }
    }

    /// Agents without a reaction here.
    fn fresh(&self, agents: usize) -> Vec<usize> {
        (0..agents)
            .filter(|a| !self.by.iter().any(|r| r.0 == *a))
            .collect()
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
        Transition::ReactWorld { actor, world, .. } => actor < st.agents && world < st.worlds.len(),
        _ => false,
    }
}

pub(super) fn step(st: &mut State, t: &Transition) {
    match *t {
        Transition::ReactStory {
            actor,
            story,
            kind,
            social,
        } => st.stories[story].reactions.apply(actor, kind, true, social),
        Transition::ReactWorld { actor, world, kind } => st
            .world_reactions
            .entry(world)
            .or_default()
            .apply(actor, kind, false, true),
        _ => {}
    }
}

/// The reactions on world `w` (none yet: empty).
pub fn world_reactions(st: &State, w: usize) -> ReactionsM {
    st.world_reactions.get(&w).cloned().unwrap_or_default()
}

/// Offers reactions: a random agent and kind on a random story (either route) or world, so adds,
/// changes and take-backs all happen.
pub(super) fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    if st.agents == 0 {
        return;
    }
    let kinds = || proptest::sample::select(ReactionType::ALL);
    if !st.stories.is_empty() {
        add(
            Rule::ReactStory,
            (
                0..st.agents,
                0..st.stories.len(),
                kinds(),
                proptest::bool::ANY,
            )
                .prop_map(|(actor, story, kind, social)| Transition::ReactStory {
                    actor,
                    story,
                    kind,
                    social,
                })
                .boxed(),
        );
    }
    if !st.worlds.is_empty() {
        add(
            Rule::ReactWorld,
            (0..st.agents, 0..st.worlds.len(), kinds())
                .prop_map(|(actor, world, kind)| Transition::ReactWorld { actor, world, kind })
                .boxed(),
        );
    }
}

/// The reactions of a race, one per racer, all `fire` (through the story route for a story).
pub fn race_steps(f: &Fault) -> Vec<Transition> {
    match f {
        Fault::RaceReact { story, actors } => actors
            .iter()
            .map(|&actor| Transition::ReactStory {
                actor,
                story: *story,
                kind: ReactionType::Fire,
                social: false,
            })
            .collect(),
        Fault::RaceReactWorld { world, actors } => actors
            .iter()
            .map(|&actor| Transition::ReactWorld {
                actor,
                world: *world,
                kind: ReactionType::Fire,
            })
            .collect(),
        _ => vec![],
    }
}

pub fn owns_fault(f: &Fault) -> bool {
    matches!(f, Fault::RaceReact { .. } | Fault::RaceReactWorld { .. })
}

pub fn fault_valid(st: &State, f: &Fault) -> bool {
    let (fresh, actors) = match f {
        Fault::RaceReact { story, actors } if *story < st.stories.len() => {
            (st.stories[*story].reactions.fresh(st.agents), actors)
        }
        Fault::RaceReactWorld { world, actors } if *world < st.worlds.len() => {
            (world_reactions(st, *world).fresh(st.agents), actors)
        }
        _ => return false,
    };
    let mut seen = actors.clone();
    seen.sort();
    seen.dedup();
    (2..=6).contains(&actors.len())
        && seen.len() == actors.len()
        && actors.iter().all(|a| fresh.contains(a))
}

pub fn fault_step(mut st: State, f: &Fault) -> State {
    for t in race_steps(f) {
        step(&mut st, &t);
    }
    st.fault_fired[f.kind().index()] += 1;
    st
}

/// Keep-going after a story reaction race: its stored total is what the target reads back (a lost
/// update dropped increments); the reactions themselves are all there.
pub fn adopt_story_count(mut st: State, story: usize, total: u32) -> State {
    let r = &mut st.stories[story].reactions;
    r.counts = [0; 4];
    r.counts[0] = total;
    st
}

/// Keep-going after a world reaction race: its per-kind counts are what the target reads back.
pub fn adopt_world_counts(mut st: State, world: usize, counts: [u32; 4]) -> State {
    st.world_reactions.entry(world).or_default().counts = counts;
    st
}

pub fn offer_faults(st: &State, add: &mut dyn FnMut(FaultKind, BoxedStrategy<Transition>)) {
    let racers = |fresh: Vec<usize>| {
        let max = fresh.len().min(6);
        proptest::sample::subsequence(fresh, 2..=max)
    };
    let stories: Vec<(usize, Vec<usize>)> = (0..st.stories.len())
        .map(|s| (s, st.stories[s].reactions.fresh(st.agents)))
        .filter(|(_, f)| f.len() >= 2)
        .collect();
    if !stories.is_empty() {
        add(
            FaultKind::RaceReact,
            proptest::sample::select(stories)
                .prop_flat_map(move |(story, fresh)| {
                    racers(fresh).prop_map(move |actors| Transition::Fault {
                        fault: Fault::RaceReact { story, actors },
                    })
                })
                .boxed(),
        );
    }
    let worlds: Vec<(usize, Vec<usize>)> = (0..st.worlds.len())
        .map(|w| (w, world_reactions(st, w).fresh(st.agents)))
        .filter(|(_, f)| f.len() >= 2)
        .collect();
    if !worlds.is_empty() {
        add(
            FaultKind::RaceReactWorld,
            proptest::sample::select(worlds)
                .prop_flat_map(move |(world, fresh)| {
                    racers(fresh).prop_map(move |actors| Transition::Fault {
                        fault: Fault::RaceReactWorld { world, actors },
                    })
                })
                .boxed(),
        );
    }
}
