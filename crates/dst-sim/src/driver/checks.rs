//! The invariants' read-backs: after every step, what it touched is read back through the API and
//! compared with the model (and over everything at the end of a seed). A read-back that fails is
//! itself a violation, never a skip. The outcome checks of a fault step (exactly one winner, no
//! lost update, replayed not re-run) are with the fault in `faults.rs` and end in these read-backs.

use super::{Driver, str_at};
use crate::capabilities::Capability;
use crate::invariants::{Failure, Invariant};
use crate::model::review::Reviewed;
use crate::model::{self, AStatus, EStatus, PStatus, State, Transition};
use api_client::Method;
use serde_json::Value;

impl Driver {
    /// Checks the invariants on what `t` touched; `after` is the model state after it.
    pub async fn check_step(&mut self, after: &State, t: &Transition) -> Result<(), Failure> {
        use Transition::*;
        match *t {
            CreateProposal { .. }
            | SubmitProposal { .. }
            | RespondItem { .. }
            | ReviseProposal { .. }
            | ResolveItem { .. } => {
                let proposal = match *t {
                    CreateProposal { .. } => after.proposals.len().checked_sub(1),
                    SubmitProposal { proposal, .. }
                    | RespondItem { proposal, .. }
                    | ReviseProposal { proposal, .. }
                    | ResolveItem { proposal, .. } => Some(proposal),
                    _ => None,
                };
                if let Some(pi) = proposal.filter(|&pi| pi < self.proposals.len()) {
                    self.check_proposal(after, pi).await?;
                }
            }
            PostReview { proposal, .. }
            | ReopenItem { proposal, .. }
            | AddFeedback { proposal, .. } => {
                self.check_proposal(after, proposal).await?;
                self.check_reviews(after, proposal).await?;
            }
            ClaimDweller { actor, dweller } => {
                self.check_dweller(after, dweller).await?;
                // the cap can only be exceeded by a claim that took effect; the end-of-seed sweep covers the rest
                if after.dwellers[dweller].holder == Some(actor) {
                    self.check_cap(after).await?;
                }
            }
            ReleaseDweller { dweller, .. } | TakeAction { dweller, .. } => {
                self.check_dweller(after, dweller).await?
            }
            UpvoteFeedback { feedback, .. } | AdminFeedbackStatus { feedback, .. } => {
                self.check_feedback(after, feedback).await?
            }
            SubmitFeedback { .. } => {
                if let Some(fi) = after
                    .feedback
                    .len()
                    .checked_sub(1)
                    .filter(|&f| f < self.feedback.len())
                {
                    self.check_feedback(after, fi).await?;
                }
            }
            PostAction { .. }
            | ConfirmImportance { .. }
            | EscalateAction { .. }
            | NominateAction { .. } => self.check_action_step(after, t).await?,
            CreateDweller { world, .. } => self.check_dweller_count(after, world).await?,
            RegisterAgent | CreateRegion { .. } | Fault { .. } => {}
            SuggestRevision { .. }
            | AcceptSuggestion { .. }
            | RejectSuggestion { .. }
            | UpvoteSuggestion { .. }
            | WithdrawSuggestion { .. } => self.check_suggestion_step(after, t).await?,
            _ if model::memory::is_memory(t) => {
                if let Some(d) = model::memory::dweller_of(t).filter(|&d| d < self.dwellers.len()) {
                    self.check_memory(after, d).await?
                }
            }
            _ if model::social::is_social(t) => self.check_social(after, t).await?,
            _ if model::dweller_proposals::is_dp(t) => self.check_dp_step(after, t).await?,
            _ => self.check_world_step(after, t).await?,
        }
        Ok(())
    }

    /// Every entity of the seed, at the end.
    pub async fn check_all(&mut self, after: &State) -> Result<(), Failure> {
        for pi in 0..self.proposals.len().min(after.proposals.len()) {
            self.check_proposal(after, pi).await?;
            self.check_reviews(after, pi).await?;
        }
        for di in 0..self.dwellers.len().min(after.dwellers.len()) {
            self.check_dweller(after, di).await?;
        }
        if !self.dwellers.is_empty() {
            self.check_cap(after).await?;
        }
        for fi in 0..self.feedback.len().min(after.feedback.len()) {
            self.check_feedback(after, fi).await?;
        }
        self.check_world_all(after).await?;
        self.check_memory_all(after).await?;
        self.check_actions_all(after).await?;
        self.check_suggestions_all(after).await?;
        self.check_dp_all(after).await?;
        self.check_social_all(after).await?;
        Ok(())
    }

    pub(crate) async fn check_proposal(&mut self, after: &State, pi: usize) -> Result<(), Failure> {
        let id = self.proposals[pi].clone();
        let body = self
            .read(&format!("/api/proposals/{id}"), Invariant::ProposalStatus)
            .await?;
        let status = body
            .pointer("/proposal/status")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let want = match after.proposals[pi].status {
            PStatus::Draft => "draft",
            PStatus::Validating => "validating",
            PStatus::Approved => "approved",
        };
        self.count(Invariant::ProposalStatus);
        if status != want {
            return Err(self.violation(
                Invariant::ProposalStatus,
                format!(
                    "proposal {id} is {status:?}; the rules allow only {want:?} after this step"
                ),
            ));
        }
        if after.proposals[pi].status == PStatus::Approved {
            let worlds = self
                .read(
                    &format!("/api/worlds?sort=recent&limit=50&proposal_id={id}"),
                    Invariant::OneWorldPerProposal,
                )
                .await?;
            let list: Vec<&Value> = worlds
                .get("worlds")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|w| {
                            w.get("proposal_id").and_then(Value::as_str) == Some(id.as_str())
                        })
                        .collect()
                })
                .unwrap_or_default();
            self.count(Invariant::OneWorldPerProposal);
            if list.len() != 1 {
                return Err(self.violation(
                    Invariant::OneWorldPerProposal,
                    format!("approved proposal {id} has {} worlds", list.len()),
                ));
            }
            let wid = list[0]
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let back = body
                .pointer("/proposal/resulting_world_id")
                .and_then(Value::as_str);
            if back != Some(wid) {
                return Err(self.violation(
                    Invariant::OneWorldPerProposal,
                    format!(
                        "approved proposal {id}: resulting_world_id is {back:?}, its world is {wid}"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(crate) async fn check_reviews(&mut self, after: &State, pi: usize) -> Result<(), Failure> {
        let id = self.proposals[pi].clone();
        let owner = self.agents[after.proposals[pi].owner].1.clone();
        let body = self
            .read(
                &format!("/api/review/proposal/{id}/feedback"),
                Invariant::NoSelfReview,
            )
            .await?;
        self.count(Invariant::NoSelfReview);
        let reviewers: Vec<&str> = self
            .listed(&body, "reviews", "GET /api/review/proposal/{id}/feedback")?
            .iter()
            .filter_map(|r| r.get("reviewer_id").and_then(Value::as_str))
            .collect();
        if reviewers.contains(&owner.as_str()) {
            return Err(self.violation(
                Invariant::NoSelfReview,
                format!("proposal {id} has a review by its own proposer {owner}"),
            ));
        }
        self.check_review_items(after, Reviewed::Proposal, pi, &body)
            .await
    }

    pub(crate) async fn check_dweller(&mut self, after: &State, di: usize) -> Result<(), Failure> {
        let id = self.dwellers[di].clone();
        let body = self
            .read(&format!("/api/dwellers/{id}"), Invariant::SingleHolder)
            .await?;
        let holder = body
            .pointer("/dweller/inhabited_by")
            .and_then(Value::as_str)
            .map(str::to_string);
        let want = after.dwellers[di].holder.map(|a| self.agents[a].1.clone());
        self.count(Invariant::SingleHolder);
        if holder != want {
            return Err(self.violation(Invariant::SingleHolder, format!("dweller {id} is held by {holder:?}; the agent told it claimed it (and has not released it) is {want:?}")));
        }
        Ok(())
    }

    pub(crate) async fn check_cap(&mut self, after: &State) -> Result<(), Failure> {
        let mut counts: std::collections::HashMap<String, usize> = Default::default();
        for wi in 0..self.worlds.len().min(after.worlds.len()) {
            let wid = self.worlds[wi].clone();
            let body = self
                .read(
                    &format!("/api/dwellers/worlds/{wid}/dwellers"),
                    Invariant::DwellerCap,
                )
                .await?;
            for d in self.listed(&body, "dwellers", "GET /api/dwellers/worlds/{w}/dwellers")? {
                if let Some(h) = d.get("inhabited_by").and_then(Value::as_str) {
                    *counts.entry(h.to_string()).or_default() += 1;
                }
            }
        }
        self.count(Invariant::DwellerCap);
        if let Some((agent, n)) = counts.iter().find(|(_, n)| **n > model::MAX_DWELLERS) {
            return Err(self.violation(
                Invariant::DwellerCap,
                format!(
                    "agent {agent} holds {n} dwellers (cap {})",
                    model::MAX_DWELLERS
                ),
            ));
        }
        Ok(())
    }

    pub(crate) async fn check_feedback(&mut self, after: &State, fi: usize) -> Result<(), Failure> {
        let id = self.feedback[fi].clone();
        let body = self
            .read(&format!("/api/feedback/{id}"), Invariant::UpvoteCount)
            .await?;
        let fb = &body["feedback"];
        let count = fb.get("upvote_count").and_then(Value::as_i64).unwrap_or(-1);
        let model_fb = &after.feedback[fi];
        let calls = model_fb.upvoters.len() as i64;
        let owner = self.agents[model_fb.owner].1.clone();
        // a list is checked wherever it is given; the capability makes its absence a violation
        let upvoters = fb.get("upvoters").and_then(Value::as_array);
        if upvoters.is_none() && self.capabilities.has(Capability::FeedbackUpvoters) {
            return Err(self.promised(&format!("feedback {id}"), Capability::FeedbackUpvoters));
        }
        if let Some(upvoters) = upvoters {
            let ids: Vec<&str> = upvoters.iter().filter_map(Value::as_str).collect();
            self.count(Invariant::NoSelfUpvote);
            if ids.contains(&owner.as_str()) {
                return Err(self.violation(
                    Invariant::NoSelfUpvote,
                    format!("feedback {id} is upvoted by its own author {owner}"),
                ));
            }
            let mut distinct = ids.clone();
            distinct.sort();
            distinct.dedup();
            self.count(Invariant::NoDuplicateUpvoter);
            if distinct.len() != ids.len() {
                return Err(self.violation(
                    Invariant::NoDuplicateUpvoter,
                    format!("feedback {id} lists an upvoter twice: {ids:?}"),
                ));
            }
            self.count(Invariant::UpvoteCount);
            if count != distinct.len() as i64 || count != calls {
                return Err(self.violation(Invariant::UpvoteCount, format!("feedback {id}: upvote_count {count}, distinct upvoters {}, successful upvote calls {calls}", distinct.len())));
            }
        } else {
            self.count(Invariant::UpvoteCount);
            if count != calls {
                return Err(self.violation(
                    Invariant::UpvoteCount,
                    format!("feedback {id}: upvote_count {count}, successful upvote calls {calls}"),
                ));
            }
        }
        let status = fb.get("status").and_then(Value::as_str).unwrap_or("?");
        if model_fb.status.terminal() {
            self.count(Invariant::TerminalFeedback);
        }
        if status != model_fb.status.as_str() {
            let inv = if model_fb.status.terminal() {
                Invariant::TerminalFeedback
            } else {
                Invariant::ModelAgreement
            };
            return Err(self.violation(
                inv,
                format!(
                    "feedback {id} is {status:?}; expected {:?}",
                    model_fb.status.as_str()
                ),
            ));
        }
        Ok(())
    }

    pub(crate) async fn check_world_step(
        &mut self,
        after: &State,
        t: &Transition,
    ) -> Result<(), Failure> {
        use Transition::*;
        let last = |n: usize, known: usize| n.checked_sub(1).filter(|&i| i < known);
        match *t {
            CreateAspect { .. } => {
                if let Some(i) = last(after.aspects.len(), self.world.aspects.len()) {
                    self.check_aspect(after, i, false).await?;
                }
            }
            SubmitAspect { aspect, .. } | ReviseAspect { aspect, .. } => {
                self.check_aspect(after, aspect, false).await?
            }
            ResolveAspectItem { aspect, .. } => self.check_aspect(after, aspect, true).await?,
            ReviewAspect { aspect, .. } => {
                self.check_aspect_reviews(after, aspect).await?;
                self.check_aspect(after, aspect, false).await?;
            }
            // a reopen leaves an approved aspect approved (and in its world's canon)
            ReopenAspectItem { aspect, .. } | AddAspectFeedback { aspect, .. } => {
                self.check_aspect_reviews(after, aspect).await?;
                self.check_aspect(after, aspect, true).await?;
            }
            TestApproveAspect { aspect, .. } => self.check_test_approval(after, aspect).await?,
            CreateStory { actor, .. } => {
                self.check_author_stories(after, actor).await?;
                if let Some(i) = last(after.stories.len(), self.world.stories.len())
                    && after.stories[i].author == actor
                {
                    self.check_story(after, i).await?;
                }
            }
            ReviewStory { story, .. } => {
                self.check_story_reviews(after, story).await?;
                self.check_story(after, story).await?;
            }
            RespondStoryReview { story, .. } | ReviseStory { story, .. } => {
                self.check_story(after, story).await?
            }
            ReactStory { story, .. } => self.check_reactions(after, story).await?,
            ReactWorld { world, .. } => self.check_world_reactions(after, world).await?,
            ProposeEvent { .. } => {
                if let Some(i) = last(after.events.len(), self.world.events.len()) {
                    self.check_event(after, i).await?;
                }
            }
            ApproveEvent { event, .. } | RejectEvent { event, .. } => {
                self.check_event(after, event).await?
            }
            _ => {}
        }
        Ok(())
    }

    /// Every aspect, story and event of the seed, and every agent's story list, at the end.
    pub(super) async fn check_world_all(&mut self, after: &State) -> Result<(), Failure> {
        for i in 0..self.world.aspects.len().min(after.aspects.len()) {
            self.check_aspect_reviews(after, i).await?;
            self.check_aspect(after, i, true).await?;
        }
        for i in 0..self.world.stories.len().min(after.stories.len()) {
            self.check_story_reviews(after, i).await?;
            self.check_story(after, i).await?;
            self.check_reactions(after, i).await?;
        }
        for i in 0..self.world.events.len().min(after.events.len()) {
            self.check_event(after, i).await?;
        }
        for w in after.world_reactions.keys().copied().collect::<Vec<_>>() {
            self.check_world_reactions(after, w).await?;
        }
        if !self.world.stories.is_empty() {
            for a in 0..self.agents.len().min(after.agents) {
                self.check_author_stories(after, a).await?;
            }
        }
        Ok(())
    }

    /// Invariant 12 for one reference: `wid` is the model's world, or at least a world that exists.
    async fn check_world_ref(
        &mut self,
        what: &str,
        wid: Option<&str>,
        want: Option<usize>,
    ) -> Result<(), Failure> {
        self.count(Invariant::WorldReference);
        let Some(wid) = wid else {
            return Err(
                self.violation(Invariant::WorldReference, format!("{what} has no world_id"))
            );
        };
        if let Some(w) = want
            && self.worlds.get(w).map(String::as_str) == Some(wid)
        {
            return Ok(());
        }
        if want.is_none() && self.worlds.iter().any(|w| w == wid) {
            return Ok(());
        }
        // not the world it was created in: it must at least exist
        let exists = match self
            .anon
            .send_raw(Method::GET, &format!("/api/worlds/{wid}"), None)
            .await
        {
            Ok(r) if r.status >= 500 => {
                return Err(self.violation(
                    Invariant::No5xx,
                    format!("read-back GET /api/worlds/{wid} answered {}", r.status),
                ));
            }
            Ok(r) => r.status == 200,
            Err(e) => return Err(self.unreachable(&format!("read-back GET /api/worlds/{wid}"), e)),
        };
        let message = if exists {
            format!(
                "{what} is in world {wid}; it was created in {}",
                want.map(|w| self.world_id(w)).unwrap_or_default()
            )
        } else {
            format!("{what} references world {wid}, which does not exist")
        };
        Err(self.violation(Invariant::WorldReference, message))
    }

    pub(super) async fn check_aspect(
        &mut self,
        after: &State,
        i: usize,
        canon: bool,
    ) -> Result<(), Failure> {
        let id = self.world.aspects[i].clone();
        let m = after.aspects[i].clone();
        let body = self
            .read(&format!("/api/aspects/{id}"), Invariant::AspectStatus)
            .await?;
        self.check_world_ref(
            &format!("aspect {id}"),
            str_at(&body, "/aspect/world_id"),
            Some(m.world),
        )
        .await?;
        let status = str_at(&body, "/aspect/status").unwrap_or("?").to_string();
        self.count(Invariant::AspectStatus);
        if status != m.status.as_str() {
            return Err(self.violation(
                Invariant::AspectStatus,
                format!(
                    "aspect {id} is {status:?}; the rules allow only {:?} after this step",
                    m.status.as_str()
                ),
            ));
        }
        if canon {
            let wid = self.world_id(m.world);
            let canon = self
                .read(
                    &format!("/api/aspects/worlds/{wid}/canon"),
                    Invariant::AspectStatus,
                )
                .await?;
            let listed = self
                .listed(
                    &canon,
                    "approved_aspects",
                    "GET /api/aspects/worlds/{w}/canon",
                )?
                .iter()
                .filter(|a| str_at(a, "/id") == Some(id.as_str()))
                .count();
            let want = usize::from(m.status == AStatus::Approved);
            if listed != want {
                return Err(self.violation(
                    Invariant::AspectStatus,
                    format!(
                        "aspect {id} ({}) is listed {listed} time(s) in its world's canon; expected {want}",
                        m.status.as_str()
                    ),
                ));
            }
            self.check_timeline(after, i, &canon)?;
        }
        Ok(())
    }

    /// Invariants 13 and 22 for aspect `i`, from one read of its feedback list.
    async fn check_aspect_reviews(&mut self, after: &State, i: usize) -> Result<(), Failure> {
        let id = self.world.aspects[i].clone();
        let owner = self.agents[after.aspects[i].owner].1.clone();
        let path = format!("/api/review/aspect/{id}/feedback");
        let body = self.read(&path, Invariant::NoSelfReviewContent).await?;
        self.no_review_by(&body, &path, &owner, || {
            format!("aspect {id} has a review by its own proposer {owner}")
        })?;
        self.check_review_items(after, Reviewed::Aspect, i, &body)
            .await
    }

    async fn check_story_reviews(&mut self, after: &State, i: usize) -> Result<(), Failure> {
        let id = self.world.stories[i].clone();
        let author = self.agents[after.stories[i].author].1.clone();
        let path = format!("/api/stories/{id}/reviews");
        self.check_no_review_by(&path, &author, || {
            format!("story {id} has a review by its own author {author}")
        })
        .await
    }

    /// Invariant 13: no review listed at `path` is by `agent` (the content's own author).
    async fn check_no_review_by(
        &mut self,
        path: &str,
        agent: &str,
        message: impl FnOnce() -> String,
    ) -> Result<(), Failure> {
        let body = self.read(path, Invariant::NoSelfReviewContent).await?;
        self.no_review_by(&body, path, agent, message)
    }

    /// Invariant 13 on a list already read from `path`.
    fn no_review_by(
        &mut self,
        body: &Value,
        path: &str,
        agent: &str,
        message: impl FnOnce() -> String,
    ) -> Result<(), Failure> {
        self.count(Invariant::NoSelfReviewContent);
        let own = self
            .listed(body, "reviews", path)?
            .iter()
            .any(|r| str_at(r, "/reviewer_id") == Some(agent));
        if own {
            return Err(self.violation(Invariant::NoSelfReviewContent, message()));
        }
        Ok(())
    }

    async fn check_story(&mut self, after: &State, i: usize) -> Result<(), Failure> {
        let id = self.world.stories[i].clone();
        let m = after.stories[i].clone();
        let body = self
            .read(&format!("/api/stories/{id}"), Invariant::StoryAcclaim)
            .await?;
        self.check_world_ref(
            &format!("story {id}"),
            str_at(&body, "/story/world_id"),
            Some(m.world),
        )
        .await?;
        let status = str_at(&body, "/story/status").unwrap_or("?").to_string();
        let acclaims = m.reviews.iter().filter(|r| r.acclaim).count();
        let unanswered = m.reviews.iter().filter(|r| !r.responded).count();
        let conditions = format!(
            "{acclaims} acclaim review(s), {unanswered} unanswered, {} revision(s)",
            m.revisions
        );
        self.count(Invariant::StoryAcclaim);
        match (status.as_str(), m.acclaimed) {
            ("acclaimed", false) => {
                return Err(self.violation(
                    Invariant::StoryAcclaim,
                    format!(
                        "story {id} is acclaimed, but its conditions never held ({conditions})"
                    ),
                ));
            }
            ("published", true) => {
                return Err(self.violation(
                    Invariant::StoryAcclaim,
                    format!("story {id} met the acclaim conditions ({conditions}) but is still published"),
                ));
            }
            ("acclaimed", true) | ("published", false) => {}
            (other, _) => {
                return Err(self.violation(
                    Invariant::StoryAcclaim,
                    format!("story {id} has status {other:?} (only published → acclaimed exist)"),
                ));
            }
        }
        let got = (
            body.pointer("/story/review_count").and_then(Value::as_u64),
            body.pointer("/story/revision_count")
                .and_then(Value::as_u64),
        );
        let want = (Some(m.reviews.len() as u64), Some(u64::from(m.revisions)));
        if got != want {
            return Err(self.violation(
                Invariant::ModelAgreement,
                format!(
                    "story {id}: (reviews, revisions) read back as {got:?}; the model has {want:?}"
                ),
            ));
        }
        Ok(())
    }

    /// The stories an agent has authored: each in a world that exists, and no more than the
    /// model says succeeded (a failed create leaves nothing behind).
    async fn check_author_stories(&mut self, after: &State, actor: usize) -> Result<(), Failure> {
        let agent = self.agents[actor].1.clone();
        let body = self
            .read(
                &format!("/api/stories?author_id={agent}&limit=50"),
                Invariant::WorldReference,
            )
            .await?;
        let listed: Vec<(String, Option<String>)> = self
            .listed(&body, "stories", "GET /api/stories?author_id=")?
            .iter()
            .map(|s| {
                (
                    str_at(s, "/id").unwrap_or_default().to_string(),
                    str_at(s, "/world_id").map(str::to_string),
                )
            })
            .collect();
        for (sid, wid) in &listed {
            let want = self
                .world
                .stories
                .iter()
                .position(|x| x == sid)
                .filter(|&k| k < after.stories.len())
                .map(|k| after.stories[k].world);
            self.check_world_ref(&format!("story {sid}"), wid.as_deref(), want)
                .await?;
        }
        let want = after.stories.iter().filter(|s| s.author == actor).count();
        if listed.len() != want.min(50) {
            return Err(self.violation(
                Invariant::WorldReference,
                format!(
                    "agent {agent} has {} stories; {want} creates succeeded (a failed create left something behind?)",
                    listed.len()
                ),
            ));
        }
        Ok(())
    }

    pub(super) async fn check_event(&mut self, after: &State, i: usize) -> Result<(), Failure> {
        let id = self.world.events[i].clone();
        let m = after.events[i].clone();
        let body = self
            .read(&format!("/api/events/{id}"), Invariant::EventDecision)
            .await?;
        self.check_world_ref(
            &format!("event {id}"),
            str_at(&body, "/event/world_id"),
            Some(m.world),
        )
        .await?;
        self.count(Invariant::EventDecision);
        let proposer = self.agents[m.proposer].1.clone();
        let ev = &body["event"];
        for (role, ptr) in [
            ("approved", "/approved_by/id"),
            ("rejected", "/rejected_by/id"),
        ] {
            if str_at(ev, ptr) == Some(proposer.as_str()) {
                return Err(self.violation(
                    Invariant::EventDecision,
                    format!("event {id} was {role} by its own proposer {proposer}"),
                ));
            }
        }
        let decisions = ev.get("decisions").and_then(Value::as_array);
        if decisions.is_none() && self.capabilities.has(Capability::EventDecisions) {
            return Err(self.promised(&format!("event {id}"), Capability::EventDecisions));
        }
        if let Some(decisions) = decisions {
            let want = usize::from(m.status != EStatus::Pending);
            if decisions.len() != want {
                let list: Vec<&str> = decisions
                    .iter()
                    .filter_map(|d| str_at(d, "/decision"))
                    .collect();
                return Err(self.violation(
                    Invariant::EventDecision,
                    format!(
                        "event {id} was decided {} time(s) {list:?}; expected {want}",
                        decisions.len()
                    ),
                ));
            }
        }
        let status = str_at(ev, "/status").unwrap_or("?").to_string();
        if status != m.status.as_str() {
            return Err(self.violation(
                Invariant::EventDecision,
                format!(
                    "event {id} is {status:?}; after this step it must be {:?} (decided once, never by its proposer)",
                    m.status.as_str()
                ),
            ));
        }
        let (by, promised) = match m.status {
            EStatus::Approved => (
                str_at(ev, "/approved_by/id"),
                Some(Capability::EventApprovedBy),
            ),
            EStatus::Rejected => (
                str_at(ev, "/rejected_by/id"),
                Some(Capability::EventRejectedBy),
            ),
            EStatus::Pending => (None, None),
        };
        if let Some(c) = promised
            && by.is_none()
            && self.capabilities.has(c)
        {
            return Err(self.promised(&format!("{status} event {id}"), c));
        }
        if let (Some(by), Some(d)) = (by, m.decider) {
            let want = &self.agents[d].1;
            if by != want {
                return Err(self.violation(
                    Invariant::EventDecision,
                    format!("event {id} is {status} by {by}; the one decision was by {want}"),
                ));
            }
        }
        Ok(())
    }

    /// The list `key` of a read-back (`what` names the read), or a violation: an answer without
    /// the list every platform gives is never read as an empty one.
    fn listed<'a>(&self, body: &'a Value, key: &str, what: &str) -> Result<&'a [Value], Failure> {
        match body.get(key).and_then(Value::as_array) {
            Some(list) => Ok(list),
            None => Err(self.violation(
                Invariant::ModelAgreement,
                format!("{what}: the read-back has no `{key}` list"),
            )),
        }
    }

    /// A read-back that lacks what the target's capabilities promise (it was probed to have it):
    /// the answer disagrees with the model of this target, never a skip.
    fn promised(&self, what: &str, c: Capability) -> Failure {
        self.violation(
            Invariant::ModelAgreement,
            format!(
                "{what}: the read-back has no {}; the target was probed to have it (capability {c})",
                c.field()
            ),
        )
    }
}
