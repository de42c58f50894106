//! The dweller memory family: core memories, relationships, personality blocks, the current
//! situation and reflections, each edited by the dweller's inhabitant (personality also by the
//! world's creator). Same contract as `rules.rs`: `offer` generates only transitions valid in the
//! state, `expect` predicts the outcome class, `step` applies it.
//!
//! Every text a step sends is derived from the step number and small fixed pools, here, so the
//! driver sends exactly what the model stores (`driver/memory.rs` builds the bodies from these
//! functions). The pools are small on purpose: adds repeat and removes hit, and a field that is
//! already non-empty is edited again (where an in-place JSON mutation loses the write).

use super::probes::AuthzOp;
use super::vocab::{Expect, Rule, State, Transition, biased, lens, pick};
use proptest::strategy::{BoxedStrategy, Just, Strategy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Core memory texts (by index); each carries a digit, so a class's shape hides which one.
pub const CORE_PHRASES: [&str; 6] = [
    "Memory 0: born on berth nine during the storm decade",
    "Memory 1: lost a brother to the ballast failure of the old raft",
    "Memory 2: swore never to trust a sealed valve",
    "Memory 3: trained four apprentices who all left for the city",
    "Memory 4: once steered the raft through a rogue wave alone",
    "Memory 5: keeps her mother's tide tables in a tin",
];
/// Names a relationship is kept with (other dwellers of the world are named like this).
pub const RELATION_TARGETS: [&str; 3] = ["Dweller 0", "Dweller 1", "Dweller 2"];
pub const SENTIMENTS: [&str; 3] = ["positive", "negative", "neutral"];
/// Items of the list-valued personality blocks (`values`, `fears`).
pub const LIST_ITEMS: [&str; 5] = [
    "trait 1: candour",
    "trait 2: thrift",
    "trait 3: the deep water",
    "trait 4: debt",
    "trait 5: silence",
];
/// Reflection lengths: 19 is one short of the minimum (422), 20 the minimum.
pub const REFLECTION_LENS: &[usize] = &[19, 20, 80, 80, 80];

/// A personality block key; `values` and `fears` hold lists (merged as sets), the others text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PKey {
    CommunicationStyle,
    Values,
    Fears,
    Quirks,
}

impl PKey {
    pub const ALL: [PKey; 4] = [
        PKey::CommunicationStyle,
        PKey::Values,
        PKey::Fears,
        PKey::Quirks,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            PKey::CommunicationStyle => "communication_style",
            PKey::Values => "values",
            PKey::Fears => "fears",
            PKey::Quirks => "quirks",
        }
    }
    pub fn is_list(self) -> bool {
        matches!(self, PKey::Values | PKey::Fears)
    }
}

/// One entry of a personality update: remove the key (`null`), or set it (a list key to the
/// `items` of [`LIST_ITEMS`], a text key to a text of the step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PUpdate {
    pub key: PKey,
    pub remove: bool,
    pub items: Vec<usize>,
}

/// A relationship update's `new_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelStatus {
    /// No `new_status` field: the status stays.
    Keep,
    /// `""`: falsy, the status stays.
    Empty,
    /// A new status text of the step.
    New,
}

/// A relationship update's `add_event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelEvent {
    None,
    /// An event with this sentiment (index into [`SENTIMENTS`]).
    Sentiment(usize),
    /// An event without a sentiment (stored as "neutral").
    NoSentiment,
    /// A sentiment that is a number, not a string (the event is a map of strings: 422).
    Malformed,
}

/// A situation update's `situation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SituationText {
    /// A new text of the step.
    New,
    /// `""` (allowed: the field has no minimum).
    Empty,
    /// The current situation again (what an authorization probe sends: accepted, it changes nothing).
    Same,
    /// No `situation` field (422).
    Missing,
}

/// A reflection's `importance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Importance {
    /// Not sent (0.9).
    Default,
    Low,
    /// 1.5: past the 0–1 bound (422).
    Over,
}

/// A personality block's value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PValue {
    Text(String),
    /// Lists are merged as sets on the real platform (`list(set(old + new))`): order is not kept.
    List(BTreeSet<String>),
}

/// A relationship: its status and history events (event, sentiment), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelationM {
    pub status: String,
    pub history: Vec<(String, String)>,
}

/// What the accepted memory edits made of one dweller (created empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryM {
    pub core: Vec<String>,
    pub relationships: BTreeMap<String, RelationM>,
    pub personality: BTreeMap<String, PValue>,
    pub situation: String,
    /// Reflection contents, oldest first.
    pub reflections: Vec<String>,
    /// Memory summaries (`summaries.rs`), oldest first.
    pub summaries: Vec<String>,
}

pub fn status_text(step: u32) -> String {
    format!("ally since step {step}")
}

pub fn event_text(step: u32) -> String {
    format!("Shared a night shift at step {step}")
}

pub fn situation_text(step: u32) -> String {
    format!("At step {step} the ballast alarms ring across the berth")
}

pub fn personality_text(key: PKey, step: u32) -> String {
    format!("{} set at step {step}", key.as_str().replace('_', " "))
}

/// A reflection of `len` characters, unique to the step.
pub fn reflection_text(step: u32, len: usize) -> String {
    let base = format!("Reflection {step}: the tides repeat what the council forgets. ");
    base.chars().cycle().take(len).collect()
}

/// The dweller's world's creator (its proposal's proposer).
pub fn creator(st: &State, dweller: usize) -> Option<usize> {
    let w = st.worlds.get(st.dwellers.get(dweller)?.world)?;
    Some(st.proposals.get(w.proposal)?.owner)
}

/// Who holds (inhabits) `dweller`, if anyone.
pub(super) fn holder(st: &State, dweller: usize) -> Option<usize> {
    st.dwellers.get(dweller).and_then(|d| d.holder)
}

/// (inhabitant, dweller) for every held dweller: who may write a dweller's memory.
pub(super) fn held(st: &State) -> Vec<(usize, usize)> {
    (0..st.dwellers.len())
        .filter_map(|d| holder(st, d).map(|h| (h, d)))
        .collect()
}

/// Whether `t` is one of this file's transitions.
pub fn is_memory(t: &Transition) -> bool {
    matches!(
        t,
        Transition::EditCoreMemory { .. }
            | Transition::EditRelationship { .. }
            | Transition::EditPersonality { .. }
            | Transition::EditSituation { .. }
            | Transition::Reflect { .. }
            | Transition::SummarizeMemory { .. }
            | Transition::SearchMemory { .. }
    )
}

/// The dweller a memory transition edits.
pub fn dweller_of(t: &Transition) -> Option<usize> {
    match *t {
        Transition::EditCoreMemory { dweller, .. }
        | Transition::EditRelationship { dweller, .. }
        | Transition::EditPersonality { dweller, .. }
        | Transition::EditSituation { dweller, .. }
        | Transition::Reflect { dweller, .. }
        | Transition::SummarizeMemory { dweller, .. } => Some(dweller),
        _ => None,
    }
}

/// Body validation comes first (FastAPI answers 422 before the handler runs), then who may edit:
/// the inhabitant (403 for anyone else), for personality also the world's creator.
pub fn expect(st: &State, t: &Transition) -> Expect {
    use Transition::*;
    let inhabitant = |actor: usize, dweller: usize| holder(st, dweller) == Some(actor);
    let only_inhabitant = |actor, dweller| {
        if inhabitant(actor, dweller) {
            Expect::Ok
        } else {
            Expect::Reject(403)
        }
    };
    match *t {
        EditCoreMemory { actor, dweller, .. } => only_inhabitant(actor, dweller),
        EditRelationship {
            actor,
            dweller,
            event,
            ..
        } => {
            if event == RelEvent::Malformed {
                Expect::Reject(422)
            } else {
                only_inhabitant(actor, dweller)
            }
        }
        EditPersonality {
            actor,
            dweller,
            ref updates,
        } => {
            if updates.is_none() {
                Expect::Reject(422)
            } else if inhabitant(actor, dweller) || creator(st, dweller) == Some(actor) {
                Expect::Ok
            } else {
                Expect::Reject(403)
            }
        }
        EditSituation {
            actor,
            dweller,
            text,
        } => {
            if text == SituationText::Missing {
                Expect::Reject(422)
            } else {
                only_inhabitant(actor, dweller)
            }
        }
        Reflect {
            actor,
            dweller,
            content_len,
            importance,
        } => {
            if content_len < 20 || importance == Importance::Over {
                Expect::Reject(422)
            } else {
                only_inhabitant(actor, dweller)
            }
        }
        _ => super::summaries::expect(st, t),
    }
}

/// Whether `t` names things that exist (shrinking can break that).
pub fn valid(st: &State, t: &Transition) -> bool {
    use Transition::*;
    let base = |actor: usize, dweller: usize| actor < st.agents && dweller < st.dwellers.len();
    match *t {
        EditCoreMemory {
            actor,
            dweller,
            ref add,
            ref remove,
        } => base(actor, dweller) && add.iter().chain(remove).all(|&i| i < CORE_PHRASES.len()),
        EditRelationship {
            actor,
            dweller,
            target,
            event,
            ..
        } => {
            base(actor, dweller)
                && target < RELATION_TARGETS.len()
                && !matches!(event, RelEvent::Sentiment(s) if s >= SENTIMENTS.len())
        }
        EditPersonality {
            actor,
            dweller,
            ref updates,
        } => {
            base(actor, dweller)
                && updates.iter().flatten().all(|u| {
                    u.items.iter().all(|&i| i < LIST_ITEMS.len())
                        && (u.remove || !u.key.is_list() || !u.items.is_empty())
                })
        }
        EditSituation { actor, dweller, .. } | Reflect { actor, dweller, .. } => {
            base(actor, dweller)
        }
        _ => super::summaries::valid(st, t),
    }
}

/// Applies an accepted edit; `stamp` is the step number the request was built at (the texts it sent).
pub fn step(st: &mut State, t: &Transition, stamp: u32) {
    use Transition::*;
    let Some(dweller) = dweller_of(t) else {
        return;
    };
    let m = st.memories.entry(dweller).or_default();
    match *t {
        EditCoreMemory {
            ref add,
            ref remove,
            ..
        } => {
            for &i in remove {
                if let Some(p) = m.core.iter().position(|c| c == CORE_PHRASES[i]) {
                    m.core.remove(p);
                }
            }
            for &i in add {
                if !m.core.iter().any(|c| c == CORE_PHRASES[i]) {
                    m.core.push(CORE_PHRASES[i].to_string());
                }
            }
        }
        EditRelationship {
            target,
            status,
            event,
            ..
        } => {
            let r = m
                .relationships
                .entry(RELATION_TARGETS[target].to_string())
                .or_insert_with(|| RelationM {
                    status: "acquaintance".into(),
                    history: vec![],
                });
            if status == RelStatus::New {
                r.status = status_text(stamp);
            }
            match event {
                RelEvent::Sentiment(s) => r
                    .history
                    .push((event_text(stamp), SENTIMENTS[s].to_string())),
                RelEvent::NoSentiment => r.history.push((event_text(stamp), "neutral".into())),
                RelEvent::None | RelEvent::Malformed => {}
            }
        }
        EditPersonality { ref updates, .. } => {
            for u in updates.iter().flatten() {
                let key = u.key.as_str().to_string();
                if u.remove {
                    m.personality.remove(&key);
                } else if u.key.is_list() {
                    let new: BTreeSet<String> =
                        u.items.iter().map(|&i| LIST_ITEMS[i].to_string()).collect();
                    let merged = match m.personality.remove(&key) {
                        Some(PValue::List(old)) => old.union(&new).cloned().collect(),
                        _ => new,
                    };
                    m.personality.insert(key, PValue::List(merged));
                } else {
                    m.personality
                        .insert(key, PValue::Text(personality_text(u.key, stamp)));
                }
            }
        }
        EditSituation { text, .. } => match text {
            SituationText::New => m.situation = situation_text(stamp),
            SituationText::Empty => m.situation.clear(),
            SituationText::Same | SituationText::Missing => {}
        },
        Reflect { content_len, .. } => m.reflections.push(reflection_text(stamp, content_len)),
        _ => super::summaries::apply(m, t, stamp),
    }
}

/// Adds the memory rules from the first dweller on. Edits go to held dwellers by their inhabitant,
/// mostly to one whose field already holds something (a second edit of a non-empty field is where
/// an in-place write gets lost); one in eight by another agent (403). While nobody holds a
/// dweller, an edit is an outsider's (403), so each rule is still exercised. Personality edits
/// also come from the world's creator, held dweller or not.
pub fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    if st.dwellers.is_empty() || n == 0 {
        return;
    }
    let held = held(st);
    let anyone: Vec<(usize, usize)> = (0..st.dwellers.len())
        .flat_map(|d| (0..n).map(move |a| (a, d)))
        .collect();
    let memory = |d: usize| st.memories.get(&d).cloned().unwrap_or_default();
    // (allowed actor, dweller): mostly where `filled` holds, sometimes replaced by another agent
    let by = |pairs: &Vec<(usize, usize)>, filled: &dyn Fn(&MemoryM) -> bool| {
        if pairs.is_empty() {
            return proptest::sample::select(anyone.clone()).boxed();
        }
        let good: Vec<(usize, usize)> = pairs
            .iter()
            .copied()
            .filter(|&(_, d)| filled(&memory(d)))
            .collect();
        (biased(good, pairs.clone()), pick(n), 0..8u8)
            .prop_map(|((a, d), other, coin)| (if coin == 0 { other } else { a }, d))
            .boxed()
    };
    add(
        Rule::EditCoreMemory,
        (
            by(&held, &|m| !m.core.is_empty()),
            proptest::collection::vec(0..CORE_PHRASES.len(), 1..=2),
            proptest::collection::vec(0..CORE_PHRASES.len(), 0..=1),
        )
            .prop_map(
                |((actor, dweller), add, remove)| Transition::EditCoreMemory {
                    actor,
                    dweller,
                    add,
                    remove,
                },
            )
            .boxed(),
    );
    let status = proptest::sample::select(vec![
        RelStatus::Keep,
        RelStatus::Empty,
        RelStatus::New,
        RelStatus::New,
    ]);
    let event = proptest::sample::select(vec![
        RelEvent::None,
        RelEvent::Sentiment(0),
        RelEvent::Sentiment(1),
        RelEvent::Sentiment(2),
        RelEvent::NoSentiment,
        RelEvent::NoSentiment,
        RelEvent::Malformed,
    ]);
    add(
        Rule::EditRelationship,
        (
            by(&held, &|m| !m.relationships.is_empty()),
            0..RELATION_TARGETS.len(),
            status,
            event,
        )
            .prop_map(
                |((actor, dweller), target, status, event)| Transition::EditRelationship {
                    actor,
                    dweller,
                    target,
                    status,
                    event,
                },
            )
            .boxed(),
    );
    // the inhabitant of a held dweller, or the creator of any dweller's world
    let mut editors = held.clone();
    editors.extend((0..st.dwellers.len()).filter_map(|d| creator(st, d).map(|c| (c, d))));
    add(
        Rule::EditPersonality,
        (
            by(&editors, &|m| !m.personality.is_empty()),
            personality_updates(),
        )
            .prop_map(|((actor, dweller), updates)| Transition::EditPersonality {
                actor,
                dweller,
                updates,
            })
            .boxed(),
    );
    let text = proptest::sample::select(vec![
        SituationText::New,
        SituationText::New,
        SituationText::New,
        SituationText::Empty,
        SituationText::Missing,
    ]);
    add(
        Rule::EditSituation,
        (by(&held, &|m| !m.situation.is_empty()), text)
            .prop_map(|((actor, dweller), text)| Transition::EditSituation {
                actor,
                dweller,
                text,
            })
            .boxed(),
    );
    let importance = proptest::sample::select(vec![
        Importance::Default,
        Importance::Default,
        Importance::Low,
        Importance::Over,
    ]);
    add(
        Rule::Reflect,
        (
            by(&held, &|m| !m.reflections.is_empty()),
            lens(REFLECTION_LENS),
            importance,
        )
            .prop_map(
                |((actor, dweller), content_len, importance)| Transition::Reflect {
                    actor,
                    dweller,
                    content_len,
                    importance,
                },
            )
            .boxed(),
    );
}

/// One or two updates with distinct keys; one time in ten no `updates` at all (422).
fn personality_updates() -> BoxedStrategy<Option<Vec<PUpdate>>> {
    let one = (
        proptest::sample::select(PKey::ALL.to_vec()),
        0..5u8,
        proptest::collection::vec(0..LIST_ITEMS.len(), 1..=2),
    )
        .prop_map(|(key, coin, items)| PUpdate {
            key,
            remove: coin == 0,
            items: if key.is_list() && coin != 0 {
                items
            } else {
                vec![]
            },
        });
    let some = proptest::collection::vec(one, 1..=2).prop_map(|mut v| {
        v.dedup_by_key(|u| u.key);
        Some(v)
    });
    proptest::strategy::Union::new_weighted(vec![(9, some.boxed()), (1, Just(None).boxed())])
        .boxed()
}

/// The (actor, dweller, relationship) triples a memory edit must be refused to: every agent but
/// the inhabitant (for personality, but the inhabitant and the world's creator). The probe's edit
/// changes nothing when wrongly accepted, so one missing check is one finding (16), not a second
/// one at the next read-back (23); a relationship probe names one the dweller has already.
pub fn authz_cases(st: &State, op: AuthzOp) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for d in 0..st.dwellers.len() {
        let allowed = |a: usize| {
            holder(st, d) == Some(a)
                || (op == AuthzOp::EditPersonality && creator(st, d) == Some(a))
        };
        let sub = match op {
            AuthzOp::EditRelationship => {
                let Some(name) = st
                    .memories
                    .get(&d)
                    .and_then(|m| m.relationships.keys().next())
                else {
                    continue;
                };
                RELATION_TARGETS.iter().position(|t| t == name).unwrap_or(0)
            }
            _ => 0,
        };
        out.extend((0..st.agents).filter(|&a| !allowed(a)).map(|a| (a, d, sub)));
    }
    out
}
