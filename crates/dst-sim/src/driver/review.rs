//! The critical review's follow-ups for every reviewed type (`model/review.rs`): the reopen and
//! add-feedback requests, the ids of the items a review or an addition raised, and invariant 22's
//! read-back of a proposal's or an aspect's items and review status. Proposals and aspects go
//! through the same functions, told apart by [`Reviewed`].

use super::requests::{CATS, text};
use super::{Driver, str_at};
use crate::invariants::{Failure, Invariant};
use crate::model::review::{self, Reviewed};
use crate::model::{IStatus, State, Transition};
use api_client::{Method, RawResponse};
use serde_json::{Value, json};

impl Driver {
    /// The server id of `target` of `kind` ("" when it was never created).
    pub(crate) fn content_id(&self, kind: Reviewed, target: usize) -> String {
        let ids = match kind {
            Reviewed::Proposal => &self.proposals,
            Reviewed::Aspect => &self.world.aspects,
        };
        ids.get(target).cloned().unwrap_or_default()
    }

    /// The server ids of the review items of `target` of `kind`, in the model's order.
    pub(crate) fn item_ids(&self, kind: Reviewed, target: usize) -> &[String] {
        let ids = match kind {
            Reviewed::Proposal => &self.items,
            Reviewed::Aspect => &self.world.aspect_items,
        };
        ids.get(target).map_or(&[], Vec::as_slice)
    }

    /// `POST /api/review/feedback-item/{id}/{verb}` with an empty body (resolve, reopen) by `actor`
    /// on item `item` of `target` of `kind`.
    pub(super) async fn item_action(
        &mut self,
        kind: Reviewed,
        actor: usize,
        (target, item): (usize, usize),
        verb: &str,
    ) -> Result<RawResponse, Failure> {
        let iid = self
            .item_ids(kind, target)
            .get(item)
            .cloned()
            .unwrap_or_default();
        let path = format!("/api/review/feedback-item/{iid}/{verb}");
        self.send(self.agent(actor), Method::POST, &path, Some(json!({})))
            .await
    }

    /// Reopen and add-feedback of any type, by a reviewer (or, from the authorization probes,
    /// anyone).
    pub(super) async fn request_review(
        &mut self,
        st: &State,
        t: &Transition,
    ) -> Result<Option<RawResponse>, Failure> {
        if let Some((kind, actor, target, item)) = review::reopen_of(t) {
            return Ok(Some(
                self.item_action(kind, actor, (target, item), "reopen")
                    .await?,
            ));
        }
        let Some((kind, actor, target, n)) = review::add_of(t) else {
            return Ok(None);
        };
        let list: Vec<Value> = (0..n)
            .map(|i| json!({"category": CATS[i % 3], "description": text(40, &format!("Added at step {}:", st.step)), "severity": "minor"}))
            .collect();
        let path = format!(
            "/api/review/{}/{}/add-feedback",
            kind.path(),
            self.content_id(kind, target)
        );
        let body = json!({"feedback_items": list});
        Ok(Some(
            self.send(self.agent(actor), Method::POST, &path, Some(body))
                .await?,
        ))
    }

    /// Records the ids of the items listed under `key` of a review's answer (`feedback_items` of
    /// a new review, `new_items` of an addition) for `target` of `kind`.
    pub(super) fn remember_items(
        &mut self,
        kind: Reviewed,
        target: usize,
        body: &Value,
        key: &str,
    ) {
        let ids = match kind {
            Reviewed::Proposal => self.items.get_mut(target),
            Reviewed::Aspect => self.world.aspect_items.get_mut(target),
        };
        let Some(ids) = ids else {
            return;
        };
        for it in body
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            ids.push(str_at(it, "/id").unwrap_or_default().to_string());
        }
    }

    /// Records the items a successful add-feedback raised.
    pub(super) fn remember_added(&mut self, t: &Transition, body: &Value) {
        if let Some((kind, _, target, _)) = review::add_of(t) {
            self.remember_items(kind, target, body, "new_items");
        }
    }

    /// Invariant 22 for `target` of `kind`: its review items as listed in `listing` (its feedback
    /// list, read without a key, so not blind), then its review status route.
    pub(super) async fn check_review_items(
        &mut self,
        after: &State,
        kind: Reviewed,
        target: usize,
        listing: &Value,
    ) -> Result<(), Failure> {
        let what = format!("{} {}", kind.path(), self.content_id(kind, target));
        let model_items = review::items(after, kind, target).to_vec();
        let listed: std::collections::HashMap<&str, &str> = listing
            .get("reviews")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|r| r.get("feedback_items").and_then(Value::as_array))
            .flatten()
            .filter_map(|it| Some((str_at(it, "/id")?, str_at(it, "/status")?)))
            .collect();
        let name = |s: IStatus| match s {
            IStatus::Open => "open",
            IStatus::Addressed => "addressed",
            IStatus::Resolved => "resolved",
        };
        self.count(Invariant::ReviewItems);
        let ids = self.item_ids(kind, target);
        for (k, iid) in ids.iter().enumerate().take(model_items.len()) {
            let want = name(model_items[k].status);
            let message = match listed.get(iid.as_str()) {
                None => format!("{what}: review item {iid} is missing from its feedback"),
                Some(&got) if got != want => format!(
                    "{what}: review item {iid} is {got:?}; after this step it must be {want:?}"
                ),
                Some(_) => continue,
            };
            return Err(self.violation(Invariant::ReviewItems, message));
        }
        if listed.len() != model_items.len() {
            return Err(self.violation(
                Invariant::ReviewItems,
                format!(
                    "{what} lists {} review items; {} were raised",
                    listed.len(),
                    model_items.len()
                ),
            ));
        }
        self.check_review_status(after, kind, target, &what).await
    }

    /// `GET /api/review/{type}/{id}/status`: the model's reviewers and items by status, and
    /// `can_graduate` as the rules decide it (`review::can_graduate`).
    async fn check_review_status(
        &mut self,
        after: &State,
        kind: Reviewed,
        target: usize,
        what: &str,
    ) -> Result<(), Failure> {
        let path = format!(
            "/api/review/{}/{}/status",
            kind.path(),
            self.content_id(kind, target)
        );
        let status = self.read(&path, Invariant::ReviewItems).await?;
        let n = |ptr: &str| status.pointer(ptr).and_then(Value::as_u64);
        let items = review::items(after, kind, target);
        let count = |s: IStatus| Some(items.iter().filter(|i| i.status == s).count() as u64);
        let got = [
            n("/reviewer_count"),
            n("/feedback_items/by_status/open"),
            n("/feedback_items/by_status/addressed"),
            n("/feedback_items/by_status/resolved"),
            n("/feedback_items/total"),
        ];
        let want = [
            Some(review::reviewers(after, kind, target).len() as u64),
            count(IStatus::Open),
            count(IStatus::Addressed),
            count(IStatus::Resolved),
            Some(items.len() as u64),
        ];
        if got != want {
            return Err(self.violation(
                Invariant::ReviewItems,
                format!(
                    "{what}: its review status counts (reviewers, open, addressed, resolved, total) {got:?}; the rules have {want:?}"
                ),
            ));
        }
        let said = status.get("can_graduate");
        if let Some(can) = review::can_graduate(after, kind, target)
            && said.and_then(Value::as_bool) != Some(can)
        {
            let message = if can {
                format!(
                    "{what}: its review is complete and nothing approves it on this target, yet its review status says can_graduate {said:?}"
                )
            } else {
                format!(
                    "{what} has not graduated, yet its review status says can_graduate {said:?}"
                )
            };
            return Err(self.violation(Invariant::ReviewItems, message));
        }
        Ok(())
    }
}
