//! The dweller memory family (`model/memory.rs`): builds each edit's request from the model's
//! texts, and reads back invariant 24: what `GET /api/dwellers/{id}/memory` (as the inhabitant)
//! and the public `GET /api/dwellers/{id}` show is exactly what the accepted edits made.
//!
//! On a difference the model adopts what the platform shows (keep-going): a lost write then shows
//! again only where a later edit is lost again, as the same class.

use super::{Driver, text_field};
use crate::invariants::{Failure, Invariant};
use crate::model::memory::{
    CORE_PHRASES, Importance, LIST_ITEMS, MemoryM, PValue, RELATION_TARGETS, RelEvent, RelStatus,
    RelationM, SENTIMENTS, SituationText, event_text, personality_text, reflection_text,
    situation_text, status_text,
};
use crate::model::summaries::summary_text;
use crate::model::{self, Expect, State, Transition, memory};
use api_client::{Method, RawResponse};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Core memories another rule writes: an escalated world event is propagated into every core
/// memory list of its world's dwellers (`POST /api/actions/{id}/escalate`). They are that rule's,
/// not an edit's, and are left out of the comparison.
const WORLD_FACT: &str = "World fact: ";

impl Driver {
    /// Builds and sends a memory edit (the texts are the model's, from the step number).
    pub(super) async fn request_memory(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<Option<RawResponse>, Failure> {
        use Transition::*;
        let step = st.step;
        let (actor, dweller, method, tail, body) = match *t {
            EditCoreMemory {
                actor,
                dweller,
                ref add,
                ref remove,
            } => {
                let texts = |v: &[usize]| v.iter().map(|&i| CORE_PHRASES[i]).collect::<Vec<_>>();
                let body = json!({"add": texts(add), "remove": texts(remove)});
                (actor, dweller, Method::PATCH, "memory/core", body)
            }
            EditRelationship {
                actor,
                dweller,
                target,
                status,
                event,
            } => {
                let mut body = json!({"target": RELATION_TARGETS[target]});
                match status {
                    RelStatus::Keep => {}
                    RelStatus::Empty => body["new_status"] = json!(""),
                    RelStatus::New => body["new_status"] = json!(status_text(step)),
                }
                match event {
                    RelEvent::None => {}
                    RelEvent::Sentiment(s) => {
                        body["add_event"] =
                            json!({"event": event_text(step), "sentiment": SENTIMENTS[s]})
                    }
                    RelEvent::NoSentiment => body["add_event"] = json!({"event": event_text(step)}),
                    RelEvent::Malformed => {
                        body["add_event"] = json!({"event": event_text(step), "sentiment": 3})
                    }
                }
                (actor, dweller, Method::PATCH, "memory/relationship", body)
            }
            EditPersonality {
                actor,
                dweller,
                ref updates,
            } => {
                let body = match updates {
                    None => json!({}),
                    Some(list) => {
                        let mut map = Map::new();
                        for u in list {
                            let v = if u.remove {
                                Value::Null
                            } else if u.key.is_list() {
                                json!(u.items.iter().map(|&i| LIST_ITEMS[i]).collect::<Vec<_>>())
                            } else {
                                json!(personality_text(u.key, step))
                            };
                            map.insert(u.key.as_str().to_string(), v);
                        }
                        json!({"updates": map})
                    }
                };
                (actor, dweller, Method::PATCH, "memory/personality", body)
            }
            EditSituation {
                actor,
                dweller,
                text,
            } => {
                let body = match text {
                    SituationText::New => json!({"situation": situation_text(step)}),
                    SituationText::Empty => json!({"situation": ""}),
                    SituationText::Same => json!({"situation": st
                        .memories
                        .get(&dweller)
                        .map(|m| m.situation.clone())
                        .unwrap_or_default()}),
                    SituationText::Missing => json!({}),
                };
                (actor, dweller, Method::PATCH, "situation", body)
            }
            Reflect {
                actor,
                dweller,
                content_len,
                importance,
            } => {
                let mut body =
                    json!({"content": reflection_text(step, content_len), "topics": ["tides"]});
                match importance {
                    Importance::Default => {}
                    Importance::Low => body["importance"] = json!(0.3),
                    Importance::Over => body["importance"] = json!(1.5),
                }
                (actor, dweller, Method::POST, "memory/reflect", body)
            }
            SummarizeMemory {
                actor,
                dweller,
                summary_len,
            } => {
                let body = json!({"period": format!("step {step}"), "summary": summary_text(step, 0, summary_len),
                    "key_events": ["the ballast alarm"], "emotional_arc": "wary to resolved"});
                (actor, dweller, Method::POST, "memory/summarize", body)
            }
            SearchMemory { actor, dweller, .. } => {
                let tail = self.search_query(st, t);
                let path = format!("/api/dwellers/{}/{tail}", self.dwellers[dweller]);
                let r = self
                    .send(self.agent(actor), Method::GET, &path, None)
                    .await?;
                if r.status < 300 && model::expect(st, t) == Expect::Reject(403) {
                    return Err(self.edit_by_outsider(st, t, actor, dweller, r.status));
                }
                if r.status == 200 {
                    self.check_search(st, t, &r)?;
                }
                return Ok(Some(r));
            }
            _ => return Ok(None),
        };
        let path = format!("/api/dwellers/{}/{tail}", self.dwellers[dweller]);
        let r = self
            .send(self.agent(actor), method, &path, Some(body))
            .await?;
        if r.status < 300 && model::expect(st, t) == Expect::Reject(403) {
            return Err(self.edit_by_outsider(st, t, actor, dweller, r.status));
        }
        Ok(Some(r))
    }

    /// An edit the platform accepted from an agent who may not make it (invariant 16, whether an
    /// ordinary step or the authorization probe sent it). The model then follows what the platform
    /// did: the edit took effect.
    fn edit_by_outsider(
        &mut self,
        st: &State,
        t: &Transition,
        actor: usize,
        dweller: usize,
        status: u16,
    ) -> Failure {
        let mut adopted = st.clone();
        adopted.fired[t.rule().index()] += 1;
        adopted.step += 1;
        memory::step(&mut adopted, t, st.step);
        self.actual_after = Some(adopted);
        let who = if matches!(t, Transition::EditPersonality { .. }) {
            "neither the inhabitant nor the world's creator"
        } else {
            "not the inhabitant"
        };
        // a search changes nothing; a summary by an outsider is kept as the platform kept it
        self.violation(
            Invariant::Authorization,
            format!(
                "{} of dweller #{dweller} by agent {actor} ({who}) answered {status}: the rules refuse it (Reject(403))",
                t.rule()
            ),
        )
    }

    /// Invariant 24 for every dweller, at the end of the seed.
    pub(super) async fn check_memory_all(&mut self, after: &State) -> Result<(), Failure> {
        for di in 0..self.dwellers.len().min(after.dwellers.len()) {
            self.check_memory(after, di).await?;
        }
        Ok(())
    }

    /// Invariant 24 for dweller `di`: the public read (situation, personality, relationships),
    /// then, while someone inhabits it, the inhabitant's memory read (core memories, reflections,
    /// personality and relationships again). A difference is a violation, and the model adopts
    /// what was read.
    pub(super) async fn check_memory(&mut self, after: &State, di: usize) -> Result<(), Failure> {
        let id = self.dwellers[di].clone();
        let want = after.memories.get(&di).cloned().unwrap_or_default();
        let mut got = want.clone();
        let public = self
            .read(&format!("/api/dwellers/{id}"), Invariant::MemoryPersisted)
            .await?;
        let d = &public["dweller"];
        got.situation = d
            .get("current_situation")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        got.personality = personality(&d["personality_blocks"]);
        got.relationships = relationships(&d["relationship_memories"]);
        got.summaries = d
            .get("memory_summaries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| text_field(s, "summary"))
            .collect();
        self.count(Invariant::MemoryPersisted);
        let mut found = differences(&id, &want, &got, "GET /api/dwellers/{id}");
        if found.is_none()
            && let Some(h) = after.dwellers[di].holder
        {
            let path = format!("/api/dwellers/{id}/memory?episode_limit=1000");
            let body = self
                .read_by(Some(h), &path, Invariant::MemoryPersisted)
                .await?;
            let m = &body["memory"];
            got.core = m
                .get("core_memories")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .filter(|c| !c.starts_with(WORLD_FACT))
                .collect();
            got.personality = personality(&m["personality_blocks"]);
            got.relationships = relationships(&m["relationship_memories"]);
            got.reflections = m
                .get("episodic_memories")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| e.get("type").and_then(Value::as_str) == Some("reflection"))
                .map(|e| text_field(e, "content"))
                .collect();
            found = differences(&id, &want, &got, "GET /api/dwellers/{id}/memory");
        }
        match found {
            None => Ok(()),
            Some(message) => {
                let mut adopted = after.clone();
                adopted.memories.insert(di, got);
                self.actual_after = Some(adopted);
                Err(self.violation(Invariant::MemoryPersisted, message))
            }
        }
    }
}

/// Personality blocks as read back: text stays text, a list of strings is a set (the platform
/// merges lists through a set, so their order is not kept); anything else is shown as JSON text.
fn personality(v: &Value) -> std::collections::BTreeMap<String, PValue> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => PValue::Text(s.clone()),
                Value::Array(a) if a.iter().all(Value::is_string) => PValue::List(
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                ),
                other => PValue::Text(other.to_string()),
            };
            (k.clone(), value)
        })
        .collect()
}

/// Relationship memories as read back: status and (event, sentiment) history per name.
fn relationships(v: &Value) -> std::collections::BTreeMap<String, RelationM> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, r)| {
            let history = r
                .get("history")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|e| (text_field(e, "event"), text_field(e, "sentiment")))
                .collect();
            (
                k.clone(),
                RelationM {
                    status: text_field(r, "current_status"),
                    history,
                },
            )
        })
        .collect()
}

/// The facts a memory holds, one line each (compared as sets; every line carries a digit, so a
/// class's shape collapses the lists).
fn facts(m: &MemoryM) -> [(&'static str, BTreeSet<String>); 3] {
    let rel = m
        .relationships
        .iter()
        .flat_map(|(name, r)| {
            std::iter::once(format!("{name} status {}", r.status)).chain(
                r.history
                    .iter()
                    .enumerate()
                    .map(move |(i, (e, s))| format!("{name} event {i}: {e} ({s})")),
            )
        })
        .collect();
    let per = m
        .personality
        .iter()
        .flat_map(|(k, v)| match v {
            PValue::Text(t) => vec![format!("{k} = {t}")],
            PValue::List(items) => items.iter().map(|i| format!("{k} has {i}")).collect(),
        })
        .collect();
    let refl = m
        .reflections
        .iter()
        .enumerate()
        .map(|(i, r)| format!("#{i} {r}"))
        .collect();
    [
        ("relationship_memories", rel),
        ("personality_blocks", per),
        ("reflections", refl),
    ]
}

/// The first difference between what the edits made (`want`) and what `route` showed (`got`).
fn differences(id: &str, want: &MemoryM, got: &MemoryM, route: &str) -> Option<String> {
    if got.situation != want.situation {
        return Some(format!(
            "dweller {id}: {route} shows current_situation {:?}; the last accepted edit set {:?}",
            got.situation, want.situation
        ));
    }
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    // as a set of texts: racing summaries are stored in the order the target ran them
    if sorted(&got.summaries) != sorted(&want.summaries) {
        let missing: Vec<&String> = want
            .summaries
            .iter()
            .filter(|c| !got.summaries.contains(c))
            .collect();
        let extra: Vec<&String> = got
            .summaries
            .iter()
            .filter(|c| !want.summaries.contains(c))
            .collect();
        return Some(format!(
            "dweller {id}: {route} memory_summaries lack {missing:?} and hold {extra:?} (the accepted summaries made {}, it shows {})",
            want.summaries.len(),
            got.summaries.len()
        ));
    }
    if got.core != want.core {
        let missing: Vec<&String> = want.core.iter().filter(|c| !got.core.contains(c)).collect();
        let extra: Vec<&String> = got.core.iter().filter(|c| !want.core.contains(c)).collect();
        return Some(format!(
            "dweller {id}: {route} core_memories lack {missing:?} and hold {extra:?} (in order: the accepted edits made {} entries, it shows {})",
            want.core.len(),
            got.core.len()
        ));
    }
    for ((field, w), (_, g)) in facts(want).into_iter().zip(facts(got)) {
        if w != g {
            let missing: Vec<&String> = w.difference(&g).collect();
            let extra: Vec<&String> = g.difference(&w).collect();
            return Some(format!(
                "dweller {id}: {route} {field} lack {missing:?} and hold {extra:?} that the accepted edits did not make"
            ));
        }
    }
    None
}
