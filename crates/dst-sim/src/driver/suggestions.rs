//! The driver for revision suggestions: the requests of the suggestion rules, the ids they create,
//! and their read-backs. An accept the model refuses as revise would (a value create rejects, an
//! approved target) but the target applies is invariant 18 (a second write path skipping revise's
//! rules); an accept that succeeds is read back on its target: the field holds the suggested value.

use super::requests::text;
use super::{Driver, short, str_at};
use crate::invariants::{Failure, Invariant};
use crate::model::suggestions::{SCase, SStatus, STarget, owner};
use crate::model::{self, Expect, State, Transition};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

/// The value suggestion number `index` proposes for `case` (derived, so a read-back can recompute it).
pub(crate) fn suggested_value(prefix: &str, case: SCase, index: usize) -> Value {
    use SCase::*;
    let cut = |s: String, n: usize| -> String { s.chars().take(n).collect() };
    match case {
        PremiseValid | AspectPremiseValid => {
            json!(text(80, &format!("Suggestion {index} premise:")))
        }
        NameValid => json!(cut(format!("S{index} {prefix}"), 50)),
        BasisValid => json!(text(90, &format!("Suggestion {index} basis:"))),
        NameEmpty => json!(""),
        Name51 => json!(cut(format!("S{index} {prefix} {}", "n".repeat(300)), 51)),
        Name256 => json!(cut(format!("S{index} {prefix} {}", "n".repeat(300)), 256)),
        PremiseShort => json!(text(49, &format!("Suggestion {index} premise:"))),
        StatusField => json!("approved"),
        YearValid => json!(2040 + (index % 400) as i64),
        Year99999 => json!(99999),
        YearAbc => json!("abc"),
        ChainEmpty => json!([]),
        AspectTitleValid => json!(cut(format!("S{index} title {prefix}"), 200)),
        AspectJustificationValid => json!(text(80, &format!("Suggestion {index} canon:"))),
        AspectTitle2 => json!("ab"),
        AspectPremiseShort => json!(text(29, &format!("Suggestion {index} premise:"))),
        AspectType101 => json!("t".repeat(101)),
    }
}

impl Driver {
    /// The path and read-back pointer of a suggestion's target (`/api/proposals/{id}`, `/proposal`).
    fn suggestion_target(&self, target: STarget) -> (String, &'static str, &'static str) {
        match target {
            STarget::Proposal(p) => (self.proposals[p].clone(), "proposals", "/proposal"),
            STarget::Aspect(a) => (self.world.aspects[a].clone(), "aspects", "/aspect"),
        }
    }

    pub(super) async fn request_suggestions(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<Option<RawResponse>, Failure> {
        use Transition::*;
        let post = Method::POST;
        let (actor, suggestion, verb) = match *t {
            SuggestRevision {
                actor,
                target,
                case,
            } => {
                let (id, kind, _) = self.suggestion_target(target);
                let body = json!({
                    "field": case.field(),
                    "suggested_value": suggested_value(&self.prefix, case, st.suggestions.len()),
                    "rationale": text(60, "This reads truer to the world's causal chain:"),
                });
                let path = format!("/api/suggestions/{kind}/{id}/suggest-revision");
                let r = self
                    .send(self.agent(actor), post, &path, Some(body))
                    .await?;
                return Ok(Some(r));
            }
            AcceptSuggestion { actor, suggestion } => (actor, suggestion, "accept"),
            RejectSuggestion { actor, suggestion } => (actor, suggestion, "reject"),
            UpvoteSuggestion { actor, suggestion } => (actor, suggestion, "upvote"),
            WithdrawSuggestion { actor, suggestion } => (actor, suggestion, "withdraw"),
            _ => return Ok(None),
        };
        let path = format!("/api/suggestions/{}/{verb}", self.suggestions[suggestion]);
        let body = match verb {
            "accept" => json!({"reason": text(40, "Accepted: it tightens the premise")}),
            "reject" => json!({"reason": text(40, "Rejected: it breaks the timeline")}),
            _ => json!({}),
        };
        let r = self
            .send(self.agent(actor), post, &path, Some(body))
            .await?;
        self.judge_decision(st, t, (actor, suggestion), &r).await?;
        Ok(Some(r))
    }

    /// An accept, reject or withdrawal the rules refuse but the target carried out is named by the
    /// rule it skipped (16: the wrong actor; 18: revise's rules on the accepted value); the model
    /// then follows the target (the suggestion is settled), so one skipped check is one finding.
    /// An accept that succeeded is read back on its target.
    async fn judge_decision(
        &mut self,
        st: &State,
        t: &Transition,
        (actor, suggestion): (usize, usize),
        r: &RawResponse,
    ) -> Result<(), Failure> {
        let s = &st.suggestions[suggestion];
        let status = match *t {
            Transition::AcceptSuggestion { .. } => SStatus::Accepted,
            Transition::RejectSuggestion { .. } => SStatus::Rejected,
            Transition::WithdrawSuggestion { .. } => SStatus::Withdrawn,
            _ => return Ok(()),
        };
        let expected = model::expect(st, t);
        let is_accept = status == SStatus::Accepted;
        let (target_path, kind, ptr) = self.suggestion_target(s.target);
        if expected == Expect::Ok {
            if is_accept && r.status < 300 {
                return self
                    .check_applied(&target_path, kind, ptr, s.case, suggestion)
                    .await;
            }
            return Ok(());
        }
        let responsible = if status == SStatus::Withdrawn {
            s.suggester
        } else {
            owner(st, s.target)
        };
        let by_rights = s.status == SStatus::Pending && actor == responsible;
        if by_rights && is_accept {
            self.count(Invariant::SecondWritePath);
        }
        if r.status >= 300 || s.status != SStatus::Pending {
            return Ok(());
        }
        let mut adopted = model::step(st.clone(), t);
        adopted.suggestions[suggestion].status = status;
        self.actual_after = Some(adopted);
        let target = s.target.kind();
        if by_rights {
            // one class per field and value kind (a value create rejects: 422; an approved
            // target: 400), not per the target's other states
            let why = if expected == Expect::Reject(422) {
                format!("{} {:?}, a value create rejects", s.case.field(), s.case)
            } else {
                format!("{} of an approved {target}", s.case.field())
            };
            return Err(self.violation(
                Invariant::SecondWritePath,
                format!(
                    "the owner's accept of a suggestion ({why}) answered {}: revise refuses it ({expected:?})",
                    r.status
                ),
            ));
        }
        let who = if status == SStatus::Withdrawn {
            "the suggester"
        } else {
            "the target's owner"
        };
        Err(self.violation(
            Invariant::Authorization,
            format!(
                "{:?} of a suggestion on a {target} by an agent that is not {who} answered {} (the rules refuse it: {expected:?})",
                t.rule(),
                r.status
            ),
        ))
    }

    /// After a successful accept: the target reads back the suggested value.
    async fn check_applied(
        &mut self,
        id: &str,
        kind: &str,
        ptr: &str,
        case: SCase,
        index: usize,
    ) -> Result<(), Failure> {
        let path = format!("/api/{kind}/{id}");
        let body = self.read(&path, Invariant::SecondWritePath).await?;
        let want = suggested_value(&self.prefix, case, index);
        let got = body
            .pointer(&format!("{ptr}/{}", case.field()))
            .cloned()
            .unwrap_or(Value::Null);
        self.count(Invariant::SecondWritePath);
        if got != want {
            return Err(self.violation(
                Invariant::SecondWritePath,
                format!(
                    "accepted suggestion #{index} set {} on {path}, which reads back {}; it suggested {}",
                    case.field(),
                    short(&got.to_string()),
                    short(&want.to_string())
                ),
            ));
        }
        Ok(())
    }

    /// Records the id of a suggestion the model created.
    pub(super) fn remember_suggestion(&mut self, t: &Transition, body: &Value) {
        if let Transition::SuggestRevision { .. } = t {
            self.suggestions.push(
                str_at(body, "/suggestion/id")
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }

    /// After a suggestion step: the suggestion it touched reads back as the model has it.
    pub(super) async fn check_suggestion_step(
        &mut self,
        after: &State,
        t: &Transition,
    ) -> Result<(), Failure> {
        let i = match *t {
            Transition::SuggestRevision { .. } => after.suggestions.len().checked_sub(1),
            Transition::AcceptSuggestion { suggestion, .. }
            | Transition::RejectSuggestion { suggestion, .. }
            | Transition::UpvoteSuggestion { suggestion, .. }
            | Transition::WithdrawSuggestion { suggestion, .. } => Some(suggestion),
            _ => None,
        };
        match i.filter(|&i| i < self.suggestions.len()) {
            Some(i) => self.check_suggestion(after, i).await,
            None => Ok(()),
        }
    }

    /// `GET /api/suggestions/{id}`: the model's status, target and field, and as many upvotes as
    /// upvote calls succeeded (3).
    async fn check_suggestion(&mut self, after: &State, i: usize) -> Result<(), Failure> {
        let id = self.suggestions[i].clone();
        let body = self
            .read(&format!("/api/suggestions/{id}"), Invariant::ModelAgreement)
            .await?;
        let s = &after.suggestions[i];
        let (target_id, kind, _) = self.suggestion_target(s.target);
        let status = str_at(&body, "/suggestion/status").unwrap_or("?");
        let target = str_at(&body, "/suggestion/target_id").unwrap_or("?");
        let field = str_at(&body, "/suggestion/field").unwrap_or("?");
        self.count(Invariant::ModelAgreement);
        if status != s.status.as_str() || target != target_id || field != s.case.field() {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "suggestion {id} reads back {status:?} for {field:?} of {target}; the model has {:?} for {:?} of {kind} {target_id}",
                    s.status.as_str(),
                    s.case.field()
                ),
            ));
        }
        let count = body
            .pointer("/suggestion/upvotes_count")
            .and_then(Value::as_u64);
        self.count(Invariant::UpvoteCount);
        if count != Some(s.upvoters.len() as u64) {
            return Err(self.violation(
                Invariant::UpvoteCount,
                format!(
                    "suggestion {id} has upvotes_count {count:?} after {} successful upvote call(s)",
                    s.upvoters.len()
                ),
            ));
        }
        Ok(())
    }

    /// Every suggestion at the end, and each target's list (`GET /api/suggestions/{kind}/{id}/
    /// suggestions`) holds each of its suggestions with the model's status.
    pub(super) async fn check_suggestions_all(&mut self, after: &State) -> Result<(), Failure> {
        let n = self.suggestions.len().min(after.suggestions.len());
        let mut listed: Vec<STarget> = Vec::new();
        for i in 0..n {
            self.check_suggestion(after, i).await?;
            let target = after.suggestions[i].target;
            if listed.contains(&target) {
                continue;
            }
            listed.push(target);
            let (id, kind, _) = self.suggestion_target(target);
            let path = format!("/api/suggestions/{kind}/{id}/suggestions");
            let list = self.read(&path, Invariant::ModelAgreement).await?;
            let rows = list
                .get("suggestions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            self.count(Invariant::ModelAgreement);
            for j in (0..n).filter(|&j| after.suggestions[j].target == target) {
                let sid = &self.suggestions[j];
                let want = after.suggestions[j].status.as_str();
                let got = rows
                    .iter()
                    .find(|r| str_at(r, "/id") == Some(sid.as_str()))
                    .map(|r| str_at(r, "/status").unwrap_or("?"));
                if got != Some(want) {
                    return Err(self.violation(
                        Invariant::ModelAgreement,
                        format!("{path} lists suggestion {sid} as {got:?}; the model has {want:?}"),
                    ));
                }
            }
        }
        Ok(())
    }
}
