//! The driver of test mode's aspect approval (`model/aspect_approval.rs`): the event and region
//! aspects' create fields, the test-approve request, and invariant 11's read-back of what an
//! approval writes into its world (`GET /api/aspects/worlds/{w}/canon`): the approving summary is
//! the world's canon summary right after it, an approved event aspect's timeline entry is in the
//! world's causal chain exactly once (no other aspect's ever), and an approved region aspect's
//! region is in the world's region list exactly once. Also the probe agent's own aspects: the
//! hostile year-text approval and the second-write-path case of a region aspect whose name an
//! existing region has.

use super::Driver;
use super::requests::text;
use crate::invariants::{Failure, Invariant};
use crate::model::concurrency::adopt_regions;
use crate::model::probes::SecondPathCase;
use crate::model::{State, Transition, aspect_approval};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

/// The year of the event aspects' timeline entries (inside the fixture world's 2031–2090).
const EVENT_YEAR: i64 = 2060;

/// The canon summary test-approve of `aspect` sends, `len` characters long.
fn canon_text(aspect: usize, len: usize) -> String {
    text(len, &format!("Canon after aspect {aspect}:"))
}

/// A region aspect's content: a region named `name`, with the fields the aspect docs ask for
/// (`naming_conventions`) and a location, as region create would take them.
fn region_content(name: &str) -> Value {
    json!({"name": name, "location": "The leeward shelf of the outer raft ring",
        "naming_conventions": "Given names from the founding rafts, family names from the ballast crews."})
}

impl Driver {
    /// The `event` of aspect `aspect`'s timeline entries (unique in the seed: it carries the run's
    /// name prefix).
    fn timeline_event(&self, aspect: usize) -> String {
        format!("{} aspect {aspect} enters the timeline", self.prefix)
    }

    /// The name of the region that aspect `aspect`'s content holds when it is a region aspect
    /// (unique in the run: it carries the run's name prefix, and no "Region N" of the model's
    /// region create starts so).
    fn aspect_region_name(&self, aspect: usize) -> String {
        format!("{} aspect region {aspect}", self.prefix)
    }

    /// Makes the create body of the `index`-th aspect of the seed an event aspect's or a region
    /// aspect's when it is one.
    pub(super) fn aspect_kind_fields(&self, index: usize, body: &mut Value) {
        if aspect_approval::is_event(index) {
            body["aspect_type"] = json!("event");
            body["proposed_timeline_entry"] = json!({"year": EVENT_YEAR, "event": self.timeline_event(index),
                "reasoning": "The raft federations needed a shared storm response."});
        } else if aspect_approval::is_region(index) {
            body["aspect_type"] = json!("region");
            body["content"] = region_content(&self.aspect_region_name(index));
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
        // taken first: a check that fails below must not leave it to the next test-approve's check
        let approved = self.world.test_approved.take();
        if let Some((a, _)) = approved
            && aspect_approval::is_region(a)
        {
            self.check_approved_region(after, a).await?;
        }
        self.check_aspect(after, aspect, true).await?;
        let Some((a, len)) = approved else {
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

    /// After an approval of region aspect `a`: its region is listed exactly once among its world's
    /// regions (from now on the driver knows it as one of them, as after a region create).
    /// Invariant 11, not 12 or 18: the region is one of the approval's writes into the world, as
    /// the canon summary and the timeline entry are (11 reads those back); 12 is about what a
    /// record references, and 18 judges the approval path's rules (its own probe case, with a name
    /// region create refuses; this aspect's name is one it takes).
    async fn check_approved_region(&mut self, after: &State, a: usize) -> Result<(), Failure> {
        let w = after.aspects[a].world;
        let name = self.aspect_region_name(a);
        if let Some(r) = self.regions.get_mut(w) {
            r.push(name.clone());
        }
        let (total, names) = self.listed_regions(w, Invariant::AspectStatus).await?;
        self.count(Invariant::AspectStatus);
        let found = names.iter().filter(|n| **n == name).count();
        if found == 1 {
            return Ok(());
        }
        // keep-going: later steps are judged against the regions the world has
        self.follow_regions(after, w, total, names);
        let (id, wid) = (self.world.aspects[a].clone(), self.world_id(w));
        Err(self.violation(
            Invariant::AspectStatus,
            format!(
                "region aspect {id} was approved, yet its region {name:?} is listed {found} time(s) among world {wid}'s regions; expected once"
            ),
        ))
    }

    /// World `w`'s regions as `GET /api/dwellers/worlds/{w}/regions` lists them: how many, and
    /// the names of those that have one (a failed read is `inv`).
    async fn listed_regions(
        &mut self,
        w: usize,
        inv: Invariant,
    ) -> Result<(usize, Vec<String>), Failure> {
        let wid = self.world_id(w);
        let body = self
            .read(&format!("/api/dwellers/worlds/{wid}/regions"), inv)
            .await?;
        let list = body
            .get("regions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let names = list
            .iter()
            .filter_map(|r| r.get("name")?.as_str().map(str::to_string))
            .collect();
        Ok((list.len(), names))
    }

    /// Keep-going after a region read-back that differs from the model: the driver's names and the
    /// model's count become the world's (`concurrency::adopt_regions`, as after a region race), on
    /// top of what this step already adopted.
    fn follow_regions(&mut self, after: &State, w: usize, total: usize, names: Vec<String>) {
        if let Some(r) = self.regions.get_mut(w) {
            *r = names;
        }
        let base = self.actual_after.take().unwrap_or_else(|| after.clone());
        self.actual_after = Some(adopt_regions(base, w, total));
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
    /// The probe agent's client (outside the model) for a probe that needs test mode: `None`
    /// without test mode (test-approve answers 403) or without a probe agent.
    async fn test_mode_probe_client(&mut self) -> Result<Option<api_client::Client>, Failure> {
        if !self
            .capabilities
            .has(crate::capabilities::Capability::TestMode)
        {
            return Ok(None);
        }
        let Some(agent) = self.probe_agent().await? else {
            return Ok(None);
        };
        let who = super::probes::closing(&agent.client);
        self.probe_agent = Some(agent);
        Ok(Some(who))
    }

    /// The probe agent's own aspect in world `wid`: `title` and `fields` over the fixture aspect,
    /// created, submitted (`?force=true`) and test-approved with `approval`. The test-approve's
    /// answer; `None` when create or submit did not take it (the probe has nothing to check).
    async fn probe_aspect_test_approved(
        &mut self,
        who: &api_client::Client,
        wid: &str,
        fields: Value,
        approval: Value,
    ) -> Result<Option<RawResponse>, Failure> {
        let mut body = serde_json::to_value(api_client::fixtures::aspect("x")).unwrap_or_default();
        if let (Some(b), Value::Object(f)) = (body.as_object_mut(), fields) {
            b.extend(f);
        }
        let path = format!("/api/aspects/worlds/{wid}/aspects");
        let r = self.send(who, Method::POST, &path, Some(body)).await?;
        let Some(id) = super::str_at(&r.body, "/aspect/id").map(str::to_string) else {
            return Ok(None);
        };
        let submit = format!("/api/aspects/{id}/submit?force=true");
        let r = self
            .send(who, Method::POST, &submit, Some(json!({})))
            .await?;
        if r.status >= 300 {
            return Ok(None);
        }
        let approve = format!("/api/aspects/{id}/test-approve");
        Ok(Some(
            self.send(who, Method::POST, &approve, Some(approval))
                .await?,
        ))
    }

    /// Hostile case `TestApproveYearText`: the probe agent (outside the model) creates and submits
    /// an event aspect of its own in world 0 and test-approves it with a timeline entry whose year
    /// is text (create refuses such a year with 400). Any answer below 500 passes: a platform that
    /// compares the text year with the chain's years fails. Not sent without test mode (403).
    pub(super) async fn probe_timeline_year_text(&mut self) -> Result<(), Failure> {
        let Some(who) = self.test_mode_probe_client().await? else {
            return Ok(());
        };
        let fields = json!({"title": format!("{} probe event", self.prefix), "aspect_type": "event",
            "proposed_timeline_entry": {"year": EVENT_YEAR, "event": "A probe's event", "reasoning": "A hostile probe."}});
        let approval = json!({"verdict": "approve", "updated_canon_summary": canon_text(0, 80),
            "approved_timeline_entry": {"year": "abc", "event": "A probe's event", "reasoning": "A hostile probe."}});
        let wid = self.world_id(0);
        self.probe_aspect_test_approved(&who, &wid, fields, approval)
            .await?;
        Ok(())
    }
}

/// `name` in other letter case: upper case, or lower case when that is the same.
fn other_case(name: &str) -> String {
    let upper = name.to_uppercase();
    if upper == name {
        name.to_lowercase()
    } else {
        upper
    }
}

impl Driver {
    /// Second-path case `RegionAspectDuplicate` in world `w` (`model/probes.rs`): the probe agent
    /// (outside the model) creates a region aspect whose content names the world's oldest region in
    /// other letter case, submits it, test-approves it, and reads the world's regions. Region create
    /// refuses that name (400, case-insensitive), so a name listed twice is the approval path
    /// skipping create's rules (18). Whatever the target did, the seed goes on from the regions it
    /// lists, so later read-backs do not report the same duplicate again. Not sent without test mode.
    pub(super) async fn probe_region_duplicate(
        &mut self,
        st: &State,
        actor: usize,
        w: usize,
    ) -> Result<(), Failure> {
        let Some(existing) = self.regions.get(w).and_then(|r| r.first()).cloned() else {
            return Ok(());
        };
        let Some(who) = self.test_mode_probe_client().await? else {
            return Ok(());
        };
        let dup = other_case(&existing);
        let fields = json!({"title": format!("{} probe region", self.prefix), "aspect_type": "region",
            "content": region_content(&dup)});
        let approval = json!({"verdict": "approve", "updated_canon_summary": canon_text(0, 80)});
        let wid = self.world_id(w);
        let Some(answer) = self
            .probe_aspect_test_approved(&who, &wid, fields, approval)
            .await?
        else {
            return Ok(());
        };
        let (total, names) = self.listed_regions(w, Invariant::SecondWritePath).await?;
        let twins: Vec<String> = names
            .iter()
            .filter(|n| n.to_lowercase() == dup.to_lowercase())
            .cloned()
            .collect();
        if total != st.worlds[w].regions || twins.len() > 1 {
            let t = Transition::ProbeSecondPath {
                case: SecondPathCase::RegionAspectDuplicate,
                actor,
                target: w,
            };
            self.follow_regions(&crate::model::step(st.clone(), &t), w, total, names);
        }
        if twins.len() > 1 {
            return Err(self.violation(
                Invariant::SecondWritePath,
                format!(
                    "test-approve of a region aspect named {dup:?} in world {wid}, which has region {existing:?}, answered {}; the world now lists {twins:?}: region create refuses a duplicate name (400, case-insensitive), the approval path must too",
                    answer.status
                ),
            ));
        }
        Ok(())
    }
}

impl Driver {
    /// A world of the probe agent's own: its proposal (a fresh one each time, named by the step)
    /// submitted and test-approved. `None` when the target refused a step of the way.
    async fn probe_world(&mut self, who: &api_client::Client) -> Result<Option<String>, Failure> {
        let mut body =
            serde_json::to_value(api_client::fixtures::proposal("x")).unwrap_or_default();
        body["name"] = json!(format!("{} probe world {}", self.prefix, self.step));
        let r = self
            .send(who, Method::POST, "/api/proposals", Some(body))
            .await?;
        let Some(id) = super::str_at(&r.body, "/id").map(str::to_string) else {
            return Ok(None);
        };
        let submit = format!("/api/proposals/{id}/submit?force=true");
        let r = self
            .send(who, Method::POST, &submit, Some(json!({})))
            .await?;
        if r.status >= 300 {
            return Ok(None);
        }
        let approve = format!("/api/proposals/{id}/test-approve");
        let r = self
            .send(who, Method::POST, &approve, Some(json!({})))
            .await?;
        if r.status >= 300 {
            return Ok(None);
        }
        Ok(super::str_at(&r.body, "/world_created/id").map(str::to_string))
    }

    /// Second-path case `RegionAspectNameless` (`model/probes.rs`): in a world of its own, the
    /// probe agent creates, submits and test-approves a region aspect whose content has no name,
    /// then reads that world's regions. Region create requires a name (422), so a listed region
    /// without one is the approval path skipping create's rules (18). The real platform appends
    /// such a content as it is, after which every route that reads the world's region names fails
    /// (a KeyError 500): hence the world of its own, which no later step of the seed uses.
    pub(super) async fn probe_region_nameless(&mut self) -> Result<(), Failure> {
        let Some(who) = self.test_mode_probe_client().await? else {
            return Ok(());
        };
        let Some(wid) = self.probe_world(&who).await? else {
            return Ok(());
        };
        let mut content = region_content("x");
        if let Some(c) = content.as_object_mut() {
            c.remove("name");
        }
        let fields = json!({"title": format!("{} probe nameless region", self.prefix),
            "aspect_type": "region", "content": content});
        let approval = json!({"verdict": "approve", "updated_canon_summary": canon_text(0, 80)});
        let Some(answer) = self
            .probe_aspect_test_approved(&who, &wid, fields, approval)
            .await?
        else {
            return Ok(());
        };
        let list = self
            .read(
                &format!("/api/dwellers/worlds/{wid}/regions"),
                Invariant::SecondWritePath,
            )
            .await?;
        let nameless = list
            .get("regions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| {
                r.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
            })
            .count();
        if nameless > 0 {
            return Err(self.violation(
                Invariant::SecondWritePath,
                format!(
                    "test-approve of a region aspect whose content has no name answered {}; its world {wid} now lists {nameless} region(s) without a name: region create requires a name (422), and the routes that read the world's region names fail on one",
                    answer.status
                ),
            ));
        }
        Ok(())
    }
}
