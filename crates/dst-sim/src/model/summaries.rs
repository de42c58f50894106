//! Memory summaries and memory search, the rest of the dweller memory family (`memory.rs`):
//! `POST /api/dwellers/{id}/memory/summarize` appends a summary to the dweller's
//! `memory_summaries` (a list-valued field the platform read-modify-writes), and
//! `GET /api/dwellers/{id}/memory/search?q=…&limit=…` finds episodes by word. Both are the
//! inhabitant's only (403 for anyone else), after validation (422: a summary under 20 characters;
//! an empty or missing `q`, a `limit` outside 1–100 or not a number).
//!
//! [`Fault::RaceSummarize`]: the inhabitant sends 2–6 summaries at once, and every one must be
//! kept (invariant 19).

use super::memory::{MemoryM, held, holder};
use super::vocab::{Expect, Fault, FaultKind, Rule, State, Transition, lens};
use proptest::strategy::{BoxedStrategy, Strategy};
use serde::{Deserialize, Serialize};

/// Summary lengths: 19 is one short of the minimum (422), 20 the minimum.
pub const SUMMARY_LENS: &[usize] = &[19, 20, 80, 80, 80];

/// A search's `q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchQuery {
    /// A word of the dweller's latest reflection (one the model knows was written).
    Known,
    /// `q=` (422: at least one character).
    Empty,
    /// No `q` (422).
    Missing,
}

/// A search's `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchLimit {
    /// No `limit` (20).
    Default,
    /// 100, the most allowed.
    Max,
    Zero,
    /// 101, one past the most allowed.
    Over,
    Negative,
    /// 10^20, past any integer type.
    Huge,
    /// `abc`.
    Text,
}

impl SearchLimit {
    /// The query parameter, `None` for the default.
    pub fn param(self) -> Option<&'static str> {
        match self {
            SearchLimit::Default => None,
            SearchLimit::Max => Some("100"),
            SearchLimit::Zero => Some("0"),
            SearchLimit::Over => Some("101"),
            SearchLimit::Negative => Some("-1"),
            SearchLimit::Huge => Some("100000000000000000000"),
            SearchLimit::Text => Some("abc"),
        }
    }
    /// The number of results it allows, `None` when it is refused.
    pub fn allowed(self) -> Option<usize> {
        match self {
            SearchLimit::Default => Some(20),
            SearchLimit::Max => Some(100),
            _ => None,
        }
    }
}

/// The summary a step (and, in a race, its racer `part`) sends, `len` characters long.
pub fn summary_text(stamp: u32, part: usize, len: usize) -> String {
    let base = format!("Summary {stamp}-{part}: the berth argued about ballast and nobody slept. ");
    base.chars().cycle().take(len).collect()
}

/// The word a [`SearchQuery::Known`] search sends for a dweller with memory `m`: the step number
/// of its latest reflection (`"57:"`), or a word no episode of the model holds.
pub fn search_term(m: &MemoryM) -> String {
    m.reflections
        .last()
        .and_then(|r| r.split_whitespace().nth(1))
        .map_or_else(|| "nothing-written-here".to_string(), str::to_string)
}

pub fn expect(st: &State, t: &Transition) -> Expect {
    let (actor, dweller, bad) = match *t {
        Transition::SummarizeMemory {
            actor,
            dweller,
            summary_len,
        } => (actor, dweller, summary_len < 20),
        Transition::SearchMemory {
            actor,
            dweller,
            query,
            limit,
        } => (
            actor,
            dweller,
            query != SearchQuery::Known || limit.allowed().is_none(),
        ),
        _ => return Expect::Ok,
    };
    if bad {
        Expect::Reject(422)
    } else if holder(st, dweller) == Some(actor) {
        Expect::Ok
    } else {
        Expect::Reject(403)
    }
}

pub fn valid(st: &State, t: &Transition) -> bool {
    match *t {
        Transition::SummarizeMemory { actor, dweller, .. }
        | Transition::SearchMemory { actor, dweller, .. } => {
            actor < st.agents && dweller < st.dwellers.len()
        }
        _ => false,
    }
}

/// Applies an accepted summary to its dweller's memory (a search changes nothing).
pub fn apply(m: &mut MemoryM, t: &Transition, stamp: u32) {
    if let Transition::SummarizeMemory { summary_len, .. } = *t {
        m.summaries.push(summary_text(stamp, 0, summary_len));
    }
}

/// Offers summaries and searches from the first dweller on: by the inhabitant of a held dweller,
/// one in eight by another agent (403); while nobody holds one, by anyone (403).
pub fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    if st.dwellers.is_empty() || n == 0 {
        return;
    }
    let held = held(st);
    let pairs = if held.is_empty() {
        (0..st.dwellers.len())
            .flat_map(|d| (0..n).map(move |a| (a, d)))
            .collect()
    } else {
        held
    };
    let who = || {
        (proptest::sample::select(pairs.clone()), 0..n, 0..8u8)
            .prop_map(|((a, d), other, coin)| (if coin == 0 { other } else { a }, d))
    };
    add(
        Rule::SummarizeMemory,
        (who(), lens(SUMMARY_LENS))
            .prop_map(
                |((actor, dweller), summary_len)| Transition::SummarizeMemory {
                    actor,
                    dweller,
                    summary_len,
                },
            )
            .boxed(),
    );
    // a seed's first search is a valid one (refused only to an outsider), the rest a mix
    let first = st.fired[Rule::SearchMemory.index()] == 0;
    let query = proptest::sample::select(if first {
        vec![SearchQuery::Known]
    } else {
        vec![
            SearchQuery::Known,
            SearchQuery::Known,
            SearchQuery::Known,
            SearchQuery::Empty,
            SearchQuery::Missing,
        ]
    });
    let limit = proptest::sample::select(if first {
        vec![SearchLimit::Default, SearchLimit::Max]
    } else {
        vec![
            SearchLimit::Default,
            SearchLimit::Default,
            SearchLimit::Max,
            SearchLimit::Zero,
            SearchLimit::Over,
            SearchLimit::Negative,
            SearchLimit::Huge,
            SearchLimit::Text,
        ]
    });
    add(
        Rule::SearchMemory,
        (who(), query, limit)
            .prop_map(
                |((actor, dweller), query, limit)| Transition::SearchMemory {
                    actor,
                    dweller,
                    query,
                    limit,
                },
            )
            .boxed(),
    );
}

/// The summaries of a race, all by the inhabitant (one summary text per racer).
pub fn race_texts(st: &State, f: &Fault) -> Vec<String> {
    match f {
        Fault::RaceSummarize { n, .. } => {
            (0..*n).map(|k| summary_text(st.step, k + 1, 80)).collect()
        }
        _ => vec![],
    }
}

pub fn owns_fault(f: &Fault) -> bool {
    matches!(f, Fault::RaceSummarize { .. })
}

pub fn fault_valid(st: &State, f: &Fault) -> bool {
    match f {
        Fault::RaceSummarize { dweller, n } => {
            (2..=6).contains(n) && holder(st, *dweller).is_some()
        }
        _ => false,
    }
}

/// The state after a summary race: every summary kept, in the racers' order (the read-back
/// compares them as a set: the platform picks the order).
pub fn fault_step(mut st: State, f: &Fault) -> State {
    if let Fault::RaceSummarize { dweller, .. } = f {
        let texts = race_texts(&st, f);
        st.memories
            .entry(*dweller)
            .or_default()
            .summaries
            .extend(texts);
    }
    st.fault_fired[f.kind().index()] += 1;
    st
}

pub fn offer_faults(st: &State, add: &mut dyn FnMut(FaultKind, BoxedStrategy<Transition>)) {
    let held: Vec<usize> = (0..st.dwellers.len())
        .filter(|&d| holder(st, d).is_some())
        .collect();
    if held.is_empty() {
        return;
    }
    // a dweller is held for a few steps at a time: until the race has fired, it is offered three
    // times over (triple weight), so it fires within the first seeds
    let times = if st.fault_fired[FaultKind::RaceSummarize.index()] == 0 {
        3
    } else {
        1
    };
    for _ in 0..times {
        add(
            FaultKind::RaceSummarize,
            (proptest::sample::select(held.clone()), 2..=6usize)
                .prop_map(|(dweller, n)| Transition::Fault {
                    fault: Fault::RaceSummarize { dweller, n },
                })
                .boxed(),
        );
    }
}
