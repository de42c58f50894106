//! The driver of a comment's reaction (`model/social.rs`, `CommentReaction`): the reaction rides in
//! the comment's body, and after the comment the target's stored reaction counts are read back.
//! A count that grew for an agent who already had a reaction there is a second write path that
//! skips `/api/social/react`'s rule of one reaction per agent and target (18); any other difference
//! is the model's (model agreement). Either way the seed goes on from the counts the target has,
//! so the defect is reported at the comment that showed it and not again at every later read.

use super::Driver;
use crate::invariants::{Failure, Invariant};
use crate::model::reactions::{adopt_story_count, adopt_world_counts, world_reactions};
use crate::model::social::{CTarget, CommentReaction, comment_reaction};
use crate::model::{State, Transition};

impl Driver {
    /// Remembers what comment `t`'s reaction is before it is sent (the read-back needs the state
    /// before the step, which it does not get).
    pub(super) fn note_comment_reaction(&mut self, before: &State, t: &Transition) {
        self.world.comment_reaction = Some(comment_reaction(before, t));
    }

    /// After an accepted comment with a reaction: the target's counts are the model's.
    pub(super) async fn check_comment_reaction(
        &mut self,
        after: &State,
        t: &Transition,
    ) -> Result<(), Failure> {
        let Transition::CommentOn {
            actor,
            target,
            reaction: Some(_),
            ..
        } = *t
        else {
            return Ok(());
        };
        let case = self.world.comment_reaction.take();
        let inv = if case == Some(CommentReaction::Again) {
            Invariant::SecondWritePath
        } else {
            Invariant::ModelAgreement
        };
        let (what, got, want, adopted) = match target {
            CTarget::Story(s) if s < self.world.stories.len() => {
                let got = self.story_reaction_count(s, inv).await?;
                let want = u64::from(after.stories[s].reactions.total());
                let total = u32::try_from(got).unwrap_or(u32::MAX);
                let what = format!("story {}", self.world.stories[s]);
                (
                    what,
                    format!("reaction_count {got}"),
                    format!("{want}"),
                    (got != want).then(|| adopt_story_count(after.clone(), s, total)),
                )
            }
            CTarget::World(w) if w < self.worlds.len() => {
                let got = self.world_reaction_counts(w, inv).await?;
                let want = world_reactions(after, w).counts;
                let what = format!("world {}", self.world_id(w));
                let adopted = (got != Some(want))
                    .then(|| adopt_world_counts(after.clone(), w, got.unwrap_or(want)));
                (
                    what,
                    format!("reaction_counts {got:?}"),
                    format!("{want:?}"),
                    adopted,
                )
            }
            _ => return Ok(()),
        };
        self.count(inv);
        let Some(adopted) = adopted else {
            return Ok(());
        };
        self.actual_after = Some(adopted);
        // the message leaves the reaction's kind out: it is the seed's draw, not the defect's (it
        // showed as one class per kind on the real platform); the counts read back show it
        let agent = &self.agents[actor].1;
        let message = if inv == Invariant::SecondWritePath {
            format!(
                "agent {agent} already had a reaction on {what} and commented on it with a reaction: it reads back {got}, the model {want} (POST /api/social/react keeps one reaction per agent and target, so a comment's reaction must not count the agent again)"
            )
        } else {
            format!(
                "agent {agent} commented on {what} with a reaction (its first reaction there): it reads back {got}, the model {want}"
            )
        };
        Err(self.violation(inv, message))
    }
}
