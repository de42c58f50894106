//! Memory summaries and search, driver side (the model is `model/summaries.rs`; the request of a
//! summary is built with the other memory edits in `memory.rs`, and its read-back is invariant
//! 24's): the search's query string and the check of its answer, and the summary race (the
//! inhabitant's 2–6 summaries at once, every one kept: invariant `19-no-lost-update`).

use super::faults::class;
use super::{Driver, Request, text_field};
use crate::invariants::{Failure, Invariant};
use crate::model::summaries::{SearchQuery, race_texts, search_term};
use crate::model::{Expect, Fault, State, Transition};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

impl Driver {
    /// `memory/search?…` for a search step: the word of the dweller's latest reflection, or an
    /// empty or missing `q`, and the step's `limit`.
    pub(super) fn search_query(&self, st: &State, t: &Transition) -> String {
        let Transition::SearchMemory {
            dweller,
            query,
            limit,
            ..
        } = *t
        else {
            return "memory/search".into();
        };
        let mut params = Vec::new();
        match query {
            SearchQuery::Known => {
                let m = st.memories.get(&dweller).cloned().unwrap_or_default();
                params.push(format!("q={}", search_term(&m).replace(':', "%3A")));
            }
            SearchQuery::Empty => params.push("q=".into()),
            SearchQuery::Missing => {}
        }
        if let Some(l) = limit.param() {
            params.push(format!("limit={l}"));
        }
        format!("memory/search?{}", params.join("&"))
    }

    /// A search's answer: every result holds the word, and (when fewer than the limit came back)
    /// every reflection of the model that holds it is among them (24).
    pub(super) fn check_search(
        &mut self,
        st: &State,
        t: &Transition,
        r: &RawResponse,
    ) -> Result<(), Failure> {
        let Transition::SearchMemory { dweller, limit, .. } = *t else {
            return Ok(());
        };
        let m = st.memories.get(&dweller).cloned().unwrap_or_default();
        let term = search_term(&m).to_lowercase();
        let results: Vec<&Value> = r
            .body
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let text = |e: &Value, k: &str| text_field(e, k).to_lowercase();
        let stray = results
            .iter()
            .filter(|e| !format!("{} {}", text(e, "content"), text(e, "target")).contains(&term))
            .count();
        let contents: Vec<String> = results.iter().map(|e| text_field(e, "content")).collect();
        let allowed = limit.allowed().unwrap_or(20);
        let missing: Vec<&String> = if results.len() < allowed {
            m.reflections
                .iter()
                .filter(|x| x.to_lowercase().contains(&term) && !contents.contains(x))
                .collect()
        } else {
            vec![]
        };
        self.count(Invariant::MemoryPersisted);
        if stray > 0 || !missing.is_empty() || results.len() > allowed {
            return Err(self.violation(
                Invariant::MemoryPersisted,
                format!(
                    "GET /api/dwellers/{}/memory/search?q={term} (limit {allowed}) found {} episode(s), {stray} without the word; it misses {} reflection(s) holding it: {missing:?}",
                    self.dwellers[dweller],
                    results.len(),
                    missing.len()
                ),
            ));
        }
        Ok(())
    }

    /// The inhabitant sends 2–6 summaries of one dweller at once: each must be stored (the public
    /// read's `memory_summaries` holds every one told it was created). Keep-going adopts what was
    /// read.
    pub(super) async fn race_summarize(
        &mut self,
        before: &State,
        after: &State,
        f: &Fault,
    ) -> Result<bool, Failure> {
        let Fault::RaceSummarize { dweller, .. } = *f else {
            return Ok(false);
        };
        let Some(holder) = before.dwellers.get(dweller).and_then(|d| d.holder) else {
            return Ok(false);
        };
        let id = self.dwellers[dweller].clone();
        let path = format!("/api/dwellers/{id}/memory/summarize");
        let texts = race_texts(before, f);
        let reqs = texts
            .iter()
            .map(|s| Request {
                actor: Some(holder),
                client: self.agent(holder).clone(),
                method: Method::POST,
                path: path.clone(),
                body: Some(json!({"period": format!("step {}", before.step), "summary": s})),
            })
            .collect();
        let res = self.race(reqs).await?;
        let ok = res.iter().filter(|r| class(r) == Expect::Ok).count();
        let body = self
            .read(&format!("/api/dwellers/{id}"), Invariant::NoLostUpdate)
            .await?;
        let kept: Vec<String> = body
            .pointer("/dweller/memory_summaries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("summary").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        let lost: Vec<&String> = texts
            .iter()
            .zip(&res)
            .filter(|(s, r)| class(r) == Expect::Ok && !kept.contains(s))
            .map(|(s, _)| s)
            .collect();
        self.count(Invariant::NoLostUpdate);
        if !lost.is_empty() {
            let mut adopted = after.clone();
            adopted.memories.entry(dweller).or_default().summaries = kept.clone();
            self.actual_after = Some(adopted);
            let told: Vec<u16> = res.iter().map(|r| r.status).collect();
            return Err(self.violation(
                Invariant::NoLostUpdate,
                format!(
                    "the inhabitant of dweller {id} sent {} memory summaries at once and {ok} were told they were created (statuses {told:?}); memory_summaries holds {} summaries and lacks {} of them: a lost update of the list",
                    texts.len(),
                    kept.len(),
                    lost.len()
                ),
            ));
        }
        self.all_succeeded(
            &res,
            ok,
            format!(
                "the inhabitant sent {} memory summaries of dweller {id} at once (each must be created)",
                texts.len()
            ),
        )?;
        Ok(true)
    }
}
