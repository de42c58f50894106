//! The driver for dweller actions through `POST /api/actions` (`model/actions.rs`): the requests of
//! the four rules, the ids of what they created, the read-backs of invariant 23, and the two
//! at-most-once races (escalate, confirm) with their keep-going.
//!
//! Read-backs: `GET /api/actions/{id}` (actor, eligibility, `escalation_status`, nominations, the
//! confirmer, the event it was escalated to) and, per world, the escalation events of
//! `GET /api/events/worlds/{w}/events`, each read with `GET /api/events/{id}` for the action it came
//! from (`origin_action`): every escalated action has exactly the events the model gave it (one),
//! every other action none.

use super::faults::{class, first_unexpected};
use super::requests::text;
use super::{Driver, str_at};
use crate::invariants::{Failure, Invariant};
use crate::model::actions::{adopt_race, race_steps};
use crate::model::{Expect, Fault, State, Transition};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};
use std::collections::BTreeMap;

impl Driver {
    /// Builds and sends the request of an action rule.
    pub(super) async fn request_actions(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<RawResponse, Failure> {
        let post = Method::POST;
        match *t {
            Transition::PostAction {
                actor,
                dweller,
                importance,
            } => {
                let body = json!({"dweller_id": self.dwellers[dweller], "action_type": "observe",
                    "content": text(60, &format!("Action {} of the seed:", st.actions.len())),
                    "importance": f64::from(importance) / 100.0});
                self.send(self.agent(actor), post, "/api/actions", Some(body))
                    .await
            }
            Transition::ConfirmImportance { actor, action } => {
                let path = format!(
                    "/api/actions/{}/confirm-importance",
                    self.world.actions[action]
                );
                let body = json!({"rationale": text(48, "This changes how the district trades")});
                self.send(self.agent(actor), post, &path, Some(body)).await
            }
            Transition::EscalateAction {
                actor,
                action,
                year,
            } => {
                let path = format!("/api/actions/{}/escalate", self.world.actions[action]);
                let body = json!({"title": format!("{} escalation of action {action}", self.prefix),
                    "description": text(90, &format!("Action {action} reshaped the district:")),
                    "year_in_world": year, "affected_regions": []});
                self.send(self.agent(actor), post, &path, Some(body)).await
            }
            Transition::NominateAction { actor, action } => {
                let path = format!("/api/actions/{}/nominate", self.world.actions[action]);
                self.send(self.agent(actor), post, &path, Some(json!({})))
                    .await
            }
            _ => Err(self.violation(
                Invariant::ModelAgreement,
                format!("{t:?} is not an action rule"),
            )),
        }
    }

    /// Records the ids of what a successful action step created (an action; an escalation's event).
    pub(super) fn remember_action(&mut self, t: &Transition, body: &Value) {
        let id = |ptr: &str| str_at(body, ptr).unwrap_or_default().to_string();
        match t {
            Transition::PostAction { .. } => self.world.actions.push(id("/action/id")),
            Transition::EscalateAction { .. } => self.world.events.push(id("/event/id")),
            _ => {}
        }
    }

    /// The read-backs after an action step.
    pub(super) async fn check_action_step(
        &mut self,
        after: &State,
        t: &Transition,
    ) -> Result<(), Failure> {
        let action = match *t {
            Transition::PostAction { .. } => {
                match after.actions.len().checked_sub(1) {
                    Some(i) if i < self.world.actions.len() => i,
                    _ => return Ok(()), // refused as predicted: nothing to read
                }
            }
            Transition::ConfirmImportance { action, .. }
            | Transition::EscalateAction { action, .. }
            | Transition::NominateAction { action, .. } => action,
            _ => return Ok(()),
        };
        self.check_action(after, action).await?;
        if matches!(t, Transition::EscalateAction { .. }) {
            let world = after.dwellers[after.actions[action].dweller].world;
            self.check_escalations(after, world).await?;
            for &e in &after.actions[action].events {
                self.check_event(after, e).await?;
            }
        }
        Ok(())
    }

    /// Every action of the seed, and every world's escalation events, at the end.
    pub(super) async fn check_actions_all(&mut self, after: &State) -> Result<(), Failure> {
        let n = self.world.actions.len().min(after.actions.len());
        for i in 0..n {
            self.check_action(after, i).await?;
        }
        let mut worlds: Vec<usize> = after.actions[..n]
            .iter()
            .map(|a| after.dwellers[a.dweller].world)
            .collect();
        worlds.sort_unstable();
        worlds.dedup();
        for w in worlds {
            self.check_escalations(after, w).await?;
        }
        Ok(())
    }

    /// `GET /api/actions/{id}` against the model (invariant 23). An action a race escalated more
    /// than once is not read: the target's answer then has no single event to name (the real
    /// platform fails it with a 500), and the race already reported it.
    async fn check_action(&mut self, after: &State, i: usize) -> Result<(), Failure> {
        let m = after.actions[i].clone();
        if m.events.len() > 1 {
            return Ok(());
        }
        let id = self.world.actions[i].clone();
        let body = self
            .read(&format!("/api/actions/{id}"), Invariant::ActionEscalation)
            .await?;
        let a = &body["action"];
        self.count(Invariant::ActionEscalation);
        let fail = |d: &Self, what: String| {
            Err(d.violation(Invariant::ActionEscalation, format!("action {id}: {what}")))
        };
        let actor = self.agents[m.actor].1.clone();
        let confirmer = str_at(a, "/importance_confirmed/confirmed_by/id").map(str::to_string);
        if confirmer.as_deref() == Some(actor.as_str()) {
            return fail(
                self,
                format!("its importance was confirmed by its own actor {actor}"),
            );
        }
        let want = m.confirmer.map(|c| self.agents[c].1.clone());
        if confirmer != want {
            return fail(
                self,
                format!("confirmed by {confirmer:?}; the one confirmation was by {want:?}"),
            );
        }
        let event = str_at(a, "/escalated_to_event/id").map(str::to_string);
        let want = m.events.first().map(|&e| self.world.events[e].clone());
        if event != want {
            return fail(
                self,
                format!("escalated to event {event:?}; the model's escalation made {want:?}"),
            );
        }
        let got = (
            str_at(a, "/actor/id").map(str::to_string),
            a.get("escalation_eligible").and_then(Value::as_bool),
            str_at(a, "/escalation_status").map(str::to_string),
            a.get("nomination_count").and_then(Value::as_u64),
        );
        let want = (
            Some(actor),
            Some(m.eligible()),
            Some(m.status().to_string()),
            Some(u64::from(m.nominations)),
        );
        if got != want {
            return fail(
                self,
                format!(
                    "(actor, escalation_eligible, escalation_status, nomination_count) read back as {got:?}; the rules leave {want:?}"
                ),
            );
        }
        Ok(())
    }

    /// The escalation events of `world` against the model's actions in it: each escalated action
    /// has exactly its event(s) (`origin_action`), every other action none.
    async fn check_escalations(&mut self, after: &State, world: usize) -> Result<(), Failure> {
        let wid = self.world_id(world);
        let path = format!("/api/events/worlds/{wid}/events");
        let list = self.read(&path, Invariant::ActionEscalation).await?;
        let Some(events) = list.get("events").and_then(Value::as_array) else {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!("GET {path}: the read-back has no `events` list"),
            ));
        };
        let escalations: Vec<String> = events
            .iter()
            .filter(|e| str_at(e, "/origin_type") == Some("escalation"))
            .filter_map(|e| str_at(e, "/id").map(str::to_string))
            .collect();
        let mut by_action: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for eid in escalations {
            let e = self
                .read(&format!("/api/events/{eid}"), Invariant::ActionEscalation)
                .await?;
            let origin = str_at(&e, "/event/origin_action/id")
                .unwrap_or("none")
                .to_string();
            by_action.entry(origin).or_default().push(eid);
        }
        self.count(Invariant::ActionEscalation);
        let n = self.world.actions.len().min(after.actions.len());
        for i in 0..n {
            let m = &after.actions[i];
            if after.dwellers[m.dweller].world != world {
                continue;
            }
            let id = &self.world.actions[i];
            let mut got = by_action.get(id).cloned().unwrap_or_default();
            let mut want: Vec<String> = m
                .events
                .iter()
                .map(|&e| self.world.events.get(e).cloned().unwrap_or_default())
                .collect();
            got.sort();
            want.sort();
            if got != want {
                return Err(self.violation(
                    Invariant::ActionEscalation,
                    format!(
                        "action {id} has {} escalation event(s) {got:?} in world {wid}; the rules made {} ({want:?}): an action is escalated once, into one event",
                        got.len(),
                        want.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// N agents escalate (or confirm) one action at once: exactly one succeeds, the others get the
    /// "already" refusal (400); the read-backs then hold the one event (the one confirmer).
    pub(super) async fn race_action(&mut self, before: &State, f: &Fault) -> Result<bool, Failure> {
        let ts = race_steps(f);
        let reqs = self.capture_requests(before, &ts).await?;
        let res = self.race(reqs).await?;
        let winners: Vec<usize> = ts
            .iter()
            .zip(&res)
            .filter(|(_, r)| class(r) == Expect::Ok)
            .filter_map(|(t, _)| match *t {
                Transition::EscalateAction { actor, .. }
                | Transition::ConfirmImportance { actor, .. } => Some(actor),
                _ => None,
            })
            .collect();
        let (action, verb) = match f {
            Fault::RaceEscalate { action, .. } => (*action, "escalat"),
            Fault::RaceConfirm { action, .. } => (*action, "confirm"),
            _ => return Ok(false),
        };
        for (t, r) in ts.iter().zip(&res) {
            if class(r) == Expect::Ok {
                self.remember_action(t, &r.body);
            }
        }
        let stored = if winners.len() > 1 && matches!(f, Fault::RaceConfirm { .. }) {
            self.stored_confirmer(action).await
        } else {
            None
        };
        let actual = adopt_race(before.clone(), f, &winners, stored);
        self.actual_after = Some(actual.clone());
        let id = self.world.actions[action].clone();
        let statuses: Vec<u16> = res.iter().map(|r| r.status).collect();
        if winners.len() > 1 {
            self.count(Invariant::AtMostOnce);
            return Err(self.violation(
                Invariant::AtMostOnce,
                format!(
                    "{} agents {verb}ed action {id} at once and {} were told they {verb}ed it (statuses {statuses:?}); an action is {verb}ed once",
                    ts.len(),
                    winners.len()
                ),
            ));
        }
        self.count(Invariant::AtMostOnce);
        if winners.is_empty() || first_unexpected(&res, &[400, 409]).is_some() {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "{} agents {verb}ed action {id} at once: statuses {statuses:?} (one success, the others 400 expected)",
                    ts.len()
                ),
            ));
        }
        let t = match f {
            Fault::RaceEscalate { .. } => Transition::EscalateAction {
                actor: winners[0],
                action,
                year: crate::model::actions::RACE_YEAR,
            },
            _ => Transition::ConfirmImportance {
                actor: winners[0],
                action,
            },
        };
        self.check_action_step(&actual, &t).await?;
        Ok(true)
    }

    /// The confirmer the target stored for `action`, as a model agent (best effort: None when it
    /// cannot be read or is nobody the model knows).
    async fn stored_confirmer(&self, action: usize) -> Option<usize> {
        let id = &self.world.actions[action];
        let body = self
            .read(&format!("/api/actions/{id}"), Invariant::AtMostOnce)
            .await
            .ok()?;
        let c = str_at(&body, "/action/importance_confirmed/confirmed_by/id")?;
        self.agents.iter().position(|(_, a)| a == c)
    }
}
