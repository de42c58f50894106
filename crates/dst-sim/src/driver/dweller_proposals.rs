//! The driver for dweller proposals and their critical review (`model/dweller_proposals.rs`): the
//! requests, the ids they create, and invariant 25's read-backs. A refused step the target carries
//! out is named by the rule it skipped (16: a non-owner's submit or revise, the owner resolving or
//! reopening a reviewer's item; 13: the owner reviewing its own proposal; 17: a revise taking a
//! value create rejects); the model then follows what the target did, so one skipped check is one
//! finding.

use super::requests::text;
use super::{Driver, short, str_at};
use crate::invariants::{Failure, Invariant};
use crate::model::dweller_proposals::{
    BLOCKED_NAME, DpCreate, DpRevise, DwellerProposalM, apply, long_name, values,
};
use crate::model::{self, Expect, IStatus, State, Transition};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

/// Server ids of dweller proposals and of their review items, by model index.
#[derive(Default)]
pub(crate) struct DpIds {
    pub(crate) ids: Vec<String>,
    pub(crate) items: Vec<Vec<String>>,
}

/// A create's body for proposal number `dp` from `region`, with `case`'s value.
fn create_body(dp: usize, region: &str, case: DpCreate) -> Value {
    let v = values(dp, 0);
    let mut body = json!({
        "name": v.name, "origin_region": region, "generation": "Second-gen",
        "name_context": text(60, "The berth naming of the ring"),
        "cultural_identity": text(50, "Raft-born, at home in the creole"),
        "role": v.role, "age": v.age,
        "personality": text(80, "Patient and literal-minded"),
        "background": text(90, "Grew up repairing ballast valves"),
        "core_memories": ["The storm decade"], "current_situation": "On shift at the outer ring",
    });
    match case {
        DpCreate::Valid => {}
        DpCreate::NameEmpty => body["name"] = json!(""),
        DpCreate::Name101 => body["name"] = json!(long_name()),
        DpCreate::RoleEmpty => body["role"] = json!(""),
        DpCreate::NameBlocked => body["name"] = json!(BLOCKED_NAME),
    }
    body
}

/// A revise's body: the next revision's values, or one value create rejects.
fn revise_body(dp: usize, revisions: u32, case: DpRevise) -> Value {
    match case {
        DpRevise::Valid => {
            let v = values(dp, revisions + 1);
            json!({"name": v.name, "role": v.role, "age": v.age})
        }
        DpRevise::NameEmpty => json!({"name": ""}),
        DpRevise::RoleEmpty => json!({"role": ""}),
        DpRevise::Name101 => json!({"name": long_name()}),
        DpRevise::NameBlocked => json!({"name": BLOCKED_NAME}),
        DpRevise::ContextShort => json!({"name_context": "c".repeat(19)}),
    }
}

/// The invariant a refused step the target carried out breaks, and who the actor was.
fn skipped(t: &Transition, st: &State) -> (Invariant, String) {
    use Transition::*;
    let dps = &st.dweller_proposals.list;
    match *t {
        SubmitDwellerProposal { .. } => (
            Invariant::Authorization,
            "a submit by an agent that is not its owner".into(),
        ),
        ReviseDwellerProposal { actor, dp, case } if dps[dp].owner == actor => (
            Invariant::ValidationParity,
            format!(
                "the owner's revise with {case:?}, a value create rejects ({:?})",
                case.create_refuses()
            ),
        ),
        ReviseDwellerProposal { .. } => (
            Invariant::Authorization,
            "a revise by an agent that is not its owner".into(),
        ),
        ReviewDwellerProposal { actor, dp, .. } if dps[dp].owner == actor => (
            Invariant::NoSelfReviewContent,
            "a review by its own owner".into(),
        ),
        ResolveDwellerItem { .. } | ReopenDwellerItem { .. } => (
            Invariant::Authorization,
            format!("{:?} of an item by the owner, not its reviewer", t.rule()),
        ),
        _ => (Invariant::ModelAgreement, format!("{:?}", t.rule())),
    }
}

impl Driver {
    pub(super) async fn request_dp(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<Option<RawResponse>, Failure> {
        use Transition::*;
        let dps = &st.dweller_proposals.list;
        let id = |dp: usize| self.dp.ids.get(dp).cloned().unwrap_or_default();
        let item = |dp: usize, i: usize| {
            let it = self
                .dp
                .items
                .get(dp)
                .and_then(|v| v.get(i))
                .cloned()
                .unwrap_or_default();
            format!("/api/review/feedback-item/{it}")
        };
        let (actor, path, body) = match *t {
            CreateDwellerProposal { actor, world, case } => {
                let region = self
                    .regions
                    .get(world)
                    .and_then(|r| r.first())
                    .map_or("Region 0", String::as_str);
                (
                    actor,
                    format!("/api/dweller-proposals/worlds/{}", self.world_id(world)),
                    create_body(dps.len(), region, case),
                )
            }
            SubmitDwellerProposal { actor, dp } => (
                actor,
                format!("/api/dweller-proposals/{}/submit", id(dp)),
                json!({}),
            ),
            ReviseDwellerProposal { actor, dp, case } => (
                actor,
                format!("/api/dweller-proposals/{}/revise", id(dp)),
                revise_body(dp, dps[dp].revisions, case),
            ),
            ReviewDwellerProposal { actor, dp, items } => {
                let list: Vec<Value> = (0..items)
                    .map(|k| {
                        json!({"category": "other", "severity": "minor",
                        "description": text(40, &format!("Dweller review {k}:"))})
                    })
                    .collect();
                (
                    actor,
                    format!("/api/review/dweller_proposal/{}/feedback", id(dp)),
                    json!({"feedback_items": list}),
                )
            }
            RespondDwellerItem { actor, dp, item: i } => (
                actor,
                format!("{}/respond", item(dp, i)),
                json!({"response_text": text(50, "The owner answers")}),
            ),
            ResolveDwellerItem { actor, dp, item: i } => {
                (actor, format!("{}/resolve", item(dp, i)), json!({}))
            }
            ReopenDwellerItem { actor, dp, item: i } => {
                (actor, format!("{}/reopen", item(dp, i)), json!({}))
            }
            _ => return Ok(None),
        };
        let r = self
            .send(self.agent(actor), Method::POST, &path, Some(body))
            .await?;
        self.judge_dp(st, t, &r)?;
        Ok(Some(r))
    }

    /// A step the rules refuse to this actor (or with this value) but the target carried out: the
    /// invariant its check belongs to, and the model follows the target.
    fn judge_dp(&mut self, st: &State, t: &Transition, r: &RawResponse) -> Result<(), Failure> {
        let expected = model::expect(st, t);
        let (inv, what) = skipped(t, st);
        if inv != Invariant::ModelAgreement && expected != Expect::Ok {
            self.count(inv);
        }
        let Expect::Reject(refusal) = expected else {
            return Ok(());
        };
        if r.status >= 300 {
            return Ok(());
        }
        let mut adopted = model::step(st.clone(), t);
        apply(&mut adopted, t);
        self.remember_dp(t, &r.body);
        self.actual_after = Some(adopted);
        let dp = model::dweller_proposals::dp_of(st, t).unwrap_or_default();
        Err(self.violation(
            inv,
            format!(
                "dweller proposal #{dp}: {what} answered {}; the rules refuse it ({refusal})",
                r.status
            ),
        ))
    }

    /// Records the ids of what a step created (a proposal, review items).
    pub(super) fn remember_dp(&mut self, t: &Transition, body: &Value) {
        match *t {
            Transition::CreateDwellerProposal { .. } => {
                self.dp
                    .ids
                    .push(str_at(body, "/id").unwrap_or_default().to_string());
                self.dp.items.push(Vec::new());
            }
            Transition::ReviewDwellerProposal { dp, .. } => {
                let ids = body
                    .get("feedback_items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|it| str_at(it, "/id").unwrap_or_default().to_string());
                if let Some(items) = self.dp.items.get_mut(dp) {
                    items.extend(ids);
                }
            }
            _ => {}
        }
    }

    /// After a dweller-proposal step: the proposal it touched (its review too, after a review step).
    pub(super) async fn check_dp_step(
        &mut self,
        after: &State,
        t: &Transition,
    ) -> Result<(), Failure> {
        let dp = match *t {
            Transition::CreateDwellerProposal { .. } => {
                after.dweller_proposals.list.len().checked_sub(1)
            }
            _ => model::dweller_proposals::dp_of(after, t),
        };
        let reviews = !matches!(
            t,
            Transition::CreateDwellerProposal { .. } | Transition::SubmitDwellerProposal { .. }
        );
        match dp.filter(|&i| i < self.dp.ids.len() && i < after.dweller_proposals.list.len()) {
            Some(i) => self.check_dp(after, i, reviews).await,
            None => Ok(()),
        }
    }

    /// Every dweller proposal and its review, at the end.
    pub(super) async fn check_dp_all(&mut self, after: &State) -> Result<(), Failure> {
        let n = self.dp.ids.len().min(after.dweller_proposals.list.len());
        for i in 0..n {
            self.check_dp(after, i, true).await?;
        }
        Ok(())
    }

    /// Invariant 25 for proposal `i`: `GET /api/dweller-proposals/{id}`, then (with `reviews`) its
    /// review's items and status route. On a difference the model adopts what was read.
    async fn check_dp(&mut self, after: &State, i: usize, reviews: bool) -> Result<(), Failure> {
        let id = self.dp.ids[i].clone();
        let m = after.dweller_proposals.list[i].clone();
        let body = self
            .read(
                &format!("/api/dweller-proposals/{id}"),
                Invariant::DwellerProposal,
            )
            .await?;
        let p = &body["proposal"];
        let got = (
            str_at(p, "/status").unwrap_or("?").to_string(),
            str_at(p, "/name").map(str::to_string),
            str_at(p, "/role").map(str::to_string),
            p.get("age").and_then(Value::as_u64),
            p.get("revision_count").and_then(Value::as_u64),
        );
        let want = (
            m.status().to_string(),
            Some(m.values.name.clone()),
            Some(m.values.role.clone()),
            Some(u64::from(m.values.age)),
            Some(u64::from(m.revisions)),
        );
        let owner = self.agents[m.owner].1.clone();
        let world = self.world_id(m.world);
        self.count(Invariant::DwellerProposal);
        if got != want {
            let mut read = m.clone();
            read.validating = got.0 == "validating";
            read.values.name = got.1.clone().unwrap_or_default();
            read.values.role = got.2.clone().unwrap_or_default();
            read.values.age = got.3.unwrap_or_default() as u32;
            read.revisions = got.4.unwrap_or_default() as u32;
            self.adopt_dp(after, i, read);
            return Err(self.violation(
                Invariant::DwellerProposal,
                format!(
                    "dweller proposal {id} reads back (status, name, role, age, revisions) {got:?}; its rules left {want:?}"
                ),
            ));
        }
        let dweller = p
            .get("resulting_dweller_id")
            .cloned()
            .unwrap_or(Value::Null);
        if str_at(p, "/agent_id") != Some(owner.as_str())
            || str_at(p, "/world_id") != Some(world.as_str())
            || !dweller.is_null()
        {
            return Err(self.violation(
                Invariant::DwellerProposal,
                format!(
                    "dweller proposal {id}: agent_id {:?}, world_id {:?}, resulting_dweller_id {}; the model has {owner}, {world} and no dweller (nothing turns a dweller proposal into a dweller)",
                    str_at(p, "/agent_id"),
                    str_at(p, "/world_id"),
                    short(&dweller.to_string())
                ),
            ));
        }
        if reviews {
            self.check_dp_review(after, i, &m).await?;
        }
        Ok(())
    }

    /// Keep-going: the model's proposal `i` becomes `read`.
    fn adopt_dp(&mut self, after: &State, i: usize, read: DwellerProposalM) {
        let mut adopted = after.clone();
        adopted.dweller_proposals.list[i] = read;
        self.actual_after = Some(adopted);
    }

    /// The review of proposal `i`: no review by its owner (13), each item with the model's status,
    /// none missing or extra, and the status route's counts and `can_graduate` (25).
    async fn check_dp_review(
        &mut self,
        after: &State,
        i: usize,
        m: &DwellerProposalM,
    ) -> Result<(), Failure> {
        let id = self.dp.ids[i].clone();
        let owner = self.agents[m.owner].1.clone();
        let listing = self
            .read(
                &format!("/api/review/dweller_proposal/{id}/feedback"),
                Invariant::DwellerProposal,
            )
            .await?;
        let reviews: Vec<Value> = listing
            .get("reviews")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        self.count(Invariant::NoSelfReviewContent);
        // (a self-review the step that made it reported is the model's after that step)
        if !m.reviewers.contains(&m.owner)
            && reviews
                .iter()
                .any(|r| str_at(r, "/reviewer_id") == Some(owner.as_str()))
        {
            return Err(self.violation(
                Invariant::NoSelfReviewContent,
                format!("dweller proposal {id} has a review by its own owner {owner}"),
            ));
        }
        let listed: std::collections::HashMap<String, String> = reviews
            .iter()
            .flat_map(|r| r.get("feedback_items").and_then(Value::as_array))
            .flatten()
            .filter_map(|it| Some((str_at(it, "/id")?.into(), str_at(it, "/status")?.into())))
            .collect();
        let name = |s: IStatus| match s {
            IStatus::Open => "open",
            IStatus::Addressed => "addressed",
            IStatus::Resolved => "resolved",
        };
        let ids = self.dp.items[i].clone();
        let mut read = m.clone();
        let mut message = None;
        for (k, iid) in ids.iter().enumerate().take(m.items.len()) {
            let want = name(m.items[k].status);
            match listed.get(iid).map(String::as_str) {
                None => {
                    message.get_or_insert(format!(
                        "dweller proposal {id}: review item {iid} is missing from its feedback"
                    ));
                }
                Some(got) if got != want => {
                    read.items[k].status = match got {
                        "resolved" => IStatus::Resolved,
                        "addressed" => IStatus::Addressed,
                        _ => IStatus::Open,
                    };
                    message.get_or_insert(format!(
                        "dweller proposal {id}: review item {iid} is {got:?}; after this step it must be {want:?}"
                    ));
                }
                Some(_) => {}
            }
        }
        if message.is_none() && listed.len() != m.items.len() {
            message = Some(format!(
                "dweller proposal {id} lists {} review items; {} were raised",
                listed.len(),
                m.items.len()
            ));
        }
        if let Some(message) = message {
            self.adopt_dp(after, i, read);
            return Err(self.violation(Invariant::DwellerProposal, message));
        }
        let status = self
            .read(
                &format!("/api/review/dweller_proposal/{id}/status"),
                Invariant::DwellerProposal,
            )
            .await?;
        let n = |ptr: &str| status.pointer(ptr).and_then(Value::as_u64);
        let count = |s: IStatus| Some(m.items.iter().filter(|x| x.status == s).count() as u64);
        let got = (
            [
                n("/reviewer_count"),
                n("/feedback_items/by_status/open"),
                n("/feedback_items/by_status/addressed"),
                n("/feedback_items/by_status/resolved"),
                n("/feedback_items/total"),
            ],
            status.get("can_graduate").and_then(Value::as_bool),
        );
        let want = (
            [
                Some(m.reviewers.len() as u64),
                count(IStatus::Open),
                count(IStatus::Addressed),
                count(IStatus::Resolved),
                Some(m.items.len() as u64),
            ],
            Some(m.can_graduate()),
        );
        if got != want {
            return Err(self.violation(
                Invariant::DwellerProposal,
                format!(
                    "dweller proposal {id}: its review status (reviewers, open, addressed, resolved, total; can_graduate) is {got:?}; the rules have {want:?}"
                ),
            ));
        }
        Ok(())
    }
}
