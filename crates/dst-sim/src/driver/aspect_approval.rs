//! The driver of test mode's aspect approval (`model/aspect_approval.rs`): the event aspects'
//! create fields, the test-approve request, and invariant 11's read-back of what an approval
//! writes into its world (`GET /api/aspects/worlds/{w}/canon`): the approving summary is the
//! world's canon summary right after it, and an approved event aspect's timeline entry is in the
//! world's causal chain exactly once (no other aspect's ever).

use super::Driver;
use super::requests::text;
use crate::invariants::{Failure, Invariant};
use crate::model::{State, Transition, aspect_approval};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

/// The year of the event aspects' timeline entries (inside the fixture world's 2031–2090).
const EVENT_YEAR: i64 = 2060;

/// The canon summary test-approve of `aspect` sends, `len` characters long.
fn canon_text(aspect: usize, len: usize) -> String {
    text(len, &format!("Canon after aspect {aspect}:"))
}

impl Driver {
    /// The `event` of aspect `aspect`'s timeline entries (unique in the seed: it carries the run's
    /// name prefix).
    fn timeline_event(&self, aspect: usize) -> String {
        format!("{} aspect {aspect} enters the timeline", self.prefix)
    }

    /// Makes the create body of the `index`-th aspect of the seed an event aspect's when it is one.
    pub(super) fn event_aspect_fields(&self, index: usize, body: &mut Value) {
        if aspect_approval::is_event(index) {
            body["aspect_type"] = json!("event");
            body["proposed_timeline_entry"] = json!({"year": EVENT_YEAR, "event": self.timeline_event(index),
                "reasoning": "The raft federations needed a shared storm response."});
        }
    }

    pub(super) async fn request_test_approve(
        &mut self,
        t: &Transition,
    ) -> Result<RawResponse, Failure> {
        let Transition::TestApproveAspect {
            actor,
            aspect,
            canon_len,
            timeline,
        } = *t
        else {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!("{t:?} is not a test-approve"),
            ));
        };
        let mut body = json!({"verdict": "approve", "critique": "Test-mode validation of the simulation.",
            "updated_canon_summary": canon_text(aspect, canon_len)});
        if timeline {
            body["approved_timeline_entry"] = json!({"year": EVENT_YEAR, "event": self.timeline_event(aspect),
                "reasoning": "Accepted as proposed."});
        }
        let path = format!(
            "/api/aspects/{}/test-approve",
            self.world.aspects.get(aspect).cloned().unwrap_or_default()
        );
        self.send(self.agent(actor), Method::POST, &path, Some(body))
            .await
    }

    /// A test-approve the model predicted and the target gave: its summary is checked next.
    pub(super) fn remember_test_approve(&mut self, t: &Transition) {
        if let Transition::TestApproveAspect {
            aspect, canon_len, ..
        } = *t
        {
            self.world.test_approved = Some((aspect, canon_len));
        }
    }

    /// After a test-approve: the aspect's status, canon listing and timeline (11), and, when it
    /// approved the aspect, the world's canon summary is the one it sent.
    pub(super) async fn check_test_approval(
        &mut self,
        after: &State,
        aspect: usize,
    ) -> Result<(), Failure> {
        if aspect >= self.world.aspects.len() {
            return Ok(());
        }
        self.check_aspect(after, aspect, true).await?;
        let Some((a, len)) = self.world.test_approved.take() else {
            return Ok(());
        };
        let wid = self.world_id(after.aspects[a].world);
        let canon = self
            .read(
                &format!("/api/aspects/worlds/{wid}/canon"),
                Invariant::AspectStatus,
            )
            .await?;
        let want = canon_text(a, len);
        let got = canon.get("canon_summary").and_then(Value::as_str);
        if got != Some(want.as_str()) {
            let id = &self.world.aspects[a];
            return Err(self.violation(
                Invariant::AspectStatus,
                format!(
                    "aspect {id} was approved with a new canon summary, yet its world {wid} reads back canon_summary {:?}",
                    got.map(|s| s.chars().take(40).collect::<String>())
                ),
            ));
        }
        Ok(())
    }

    /// Invariant 11 on a canon already read: aspect `i`'s timeline entry is in the world's causal
    /// chain once when its approval put it there, and never otherwise.
    pub(super) fn check_timeline(
        &mut self,
        after: &State,
        i: usize,
        canon: &Value,
    ) -> Result<(), Failure> {
        let event = self.timeline_event(i);
        let found = canon
            .get("causal_chain")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|s| s.get("event").and_then(Value::as_str) == Some(event.as_str()))
            .count();
        let m = &after.aspects[i];
        let want = usize::from(m.timeline);
        if found != want {
            let id = &self.world.aspects[i];
            let kind = if m.event { "event" } else { "non-event" };
            return Err(self.violation(
                Invariant::AspectStatus,
                format!(
                    "{kind} aspect {id} ({}) has its timeline entry {found} time(s) in its world's causal chain; expected {want}",
                    m.status.as_str()
                ),
            ));
        }
        Ok(())
    }
}

impl Driver {
    /// Hostile case `TestApproveYearText`: the probe agent (outside the model) creates and submits
    /// an event aspect of its own in world 0 and test-approves it with a timeline entry whose year
    /// is text (create refuses such a year with 400). Any answer below 500 passes: a platform that
    /// compares the text year with the chain's years fails. Not sent without test mode (403).
    pub(super) async fn probe_timeline_year_text(&mut self) -> Result<(), Failure> {
        if !self
            .capabilities
            .has(crate::capabilities::Capability::TestMode)
        {
            return Ok(());
        }
        let Some(agent) = self.probe_agent().await? else {
            return Ok(());
        };
        let who = super::probes::closing(&agent.client);
        self.probe_agent = Some(agent);
        let mut body = serde_json::to_value(api_client::fixtures::aspect("x")).unwrap_or_default();
        body["title"] = json!(format!("{} probe event", self.prefix));
        body["aspect_type"] = json!("event");
        body["proposed_timeline_entry"] = json!({"year": EVENT_YEAR, "event": "A probe's event", "reasoning": "A hostile probe."});
        let path = format!("/api/aspects/worlds/{}/aspects", self.world_id(0));
        let r = self.send(&who, Method::POST, &path, Some(body)).await?;
        let Some(id) = super::str_at(&r.body, "/aspect/id").map(str::to_string) else {
            return Ok(());
        };
        let r = self
            .send(
                &who,
                Method::POST,
                &format!("/api/aspects/{id}/submit?force=true"),
                Some(json!({})),
            )
            .await?;
        if r.status >= 300 {
            return Ok(());
        }
        let body = json!({"verdict": "approve", "updated_canon_summary": canon_text(0, 80),
            "approved_timeline_entry": {"year": "abc", "event": "A probe's event", "reasoning": "A hostile probe."}});
        self.send(
            &who,
            Method::POST,
            &format!("/api/aspects/{id}/test-approve"),
            Some(body),
        )
        .await?;
        Ok(())
    }
}
