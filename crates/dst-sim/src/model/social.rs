//! Follows and comments, model side: `POST /api/social/follow` and `/unfollow` of a world, and
//! `POST /api/social/comment` on a world or a story, with their races.
//!
//! Follow: anyone may follow a world (never refused); a second follow by the same agent only
//! updates its preferences (`updated_preferences`, the count unchanged); an unfollow of a world the
//! agent does not follow answers `not_following`. A world's stored `follower_count` counts its
//! followers. Comment: anyone may comment on a world or a story; a missing target is 404; the
//! body's text is validated first (422 for a NUL byte or a lone surrogate escape: a text column
//! cannot hold either; an empty text is allowed, the platform declares no minimum); the target's
//! stored `comment_count` counts its comments. Both counts are stored counters:
//! [`Fault::RaceFollow`] and [`Fault::RaceComment`] have 2–6 agents write at once, and every
//! increment must be kept (invariant 19).
//!
//! A comment may carry a `reaction` (fire, mind, heart, thinking): the platform calls comments
//! "merged with reactions", so a comment's reaction is the agent's reaction to its target, a second
//! route to the state `/api/social/react` writes (`reactions.rs`), under that route's rule: one
//! reaction per agent and target. From an agent without a reaction on the target it adds one (the
//! count of its kind grows by 1, and a later react of the same kind takes it back); from an agent
//! that already has one it changes nothing (a comment never takes a reaction back). The driver
//! reads the counts back after each such comment; a count that grew for an agent who already had
//! a reaction is invariant 18's (`CommentReaction::Again`).
//!
//! Every text a step sends comes from the step number (`comment_text`), so the driver sends what
//! the model stores.

use super::reactions::ReactionsM;
use super::vocab::{Expect, Fault, FaultKind, ReactionType, Rule, State, Transition, biased};
use proptest::strategy::{BoxedStrategy, Strategy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a comment is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CTarget {
    World(usize),
    Story(usize),
    /// A world id that does not exist (404).
    Missing,
}

impl CTarget {
    /// The path segment of `GET /api/social/comments/{target_type}/…` and the body's `target_type`.
    pub fn kind(self) -> &'static str {
        match self {
            CTarget::Story(_) => "story",
            _ => "world",
        }
    }
}

/// A comment's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentText {
    /// A text of the step.
    Plain,
    /// `""` (the platform declares no minimum length).
    Empty,
    /// A text of [`LONG_COMMENT`] characters (the platform declares no maximum).
    Long,
    /// A text with a NUL byte (422).
    Nul,
    /// A lone surrogate escape `\ud800` in the raw JSON text (422).
    Surrogate,
}

/// The length of a [`CommentText::Long`] comment.
pub const LONG_COMMENT: usize = 5000;

/// The text a comment of step `stamp` sends (`Surrogate`: the text around the escape).
pub fn comment_text(stamp: u32, text: CommentText) -> String {
    let base = format!("Comment {stamp}: the tide charts disagree with the council. ");
    match text {
        CommentText::Plain | CommentText::Surrogate => base,
        CommentText::Empty => String::new(),
        CommentText::Long => base.chars().cycle().take(LONG_COMMENT).collect(),
        CommentText::Nul => format!("Comment {stamp}: a NUL \u{0} in the middle."),
    }
}

/// The follows and comments of a seed. Counts are the stored ones: adopted from the target after a
/// race that lost increments, so they need not match the lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocialM {
    /// Per world, its followers in follow order.
    pub followers: BTreeMap<usize, Vec<usize>>,
    /// Per world, its stored `follower_count`.
    pub follower_counts: BTreeMap<usize, i64>,
    /// Per target, its comments (author, text) oldest first.
    pub comments: BTreeMap<CTarget, Vec<(usize, String)>>,
    /// Per target, its stored `comment_count`.
    pub comment_counts: BTreeMap<CTarget, i64>,
}

impl SocialM {
    pub fn follows(&self, actor: usize, world: usize) -> bool {
        self.followers
            .get(&world)
            .is_some_and(|f| f.contains(&actor))
    }
    pub fn follower_count(&self, world: usize) -> i64 {
        self.follower_counts.get(&world).copied().unwrap_or(0)
    }
    pub fn comment_count(&self, target: CTarget) -> i64 {
        self.comment_counts.get(&target).copied().unwrap_or(0)
    }
    /// Agents not following `world`.
    fn fresh(&self, agents: usize, world: usize) -> Vec<usize> {
        (0..agents).filter(|&a| !self.follows(a, world)).collect()
    }
}

/// Whether `rule`, fired `fired` times in the sequence, weighs less in generation (`mod.rs`): the
/// rules of this file and of `summaries.rs` each touch one counter or list, so once fired they
/// yield to the others — a follow only after its third firing (the second and third are a repeat
/// half the time: where a follow must not be counted twice), a comment after its second.
pub fn is_light(rule: Rule, fired: u32) -> bool {
    match rule {
        Rule::FollowWorld => fired > 2,
        // the second comment is the hostile one, the third and fourth carry reactions
        Rule::CommentOn => fired > 3,
        Rule::UnfollowWorld | Rule::SummarizeMemory | Rule::SearchMemory => fired > 0,
        _ => false,
    }
}

/// Whether `t` is one of this file's transitions.
pub fn is_social(t: &Transition) -> bool {
    matches!(
        t,
        Transition::FollowWorld { .. }
            | Transition::UnfollowWorld { .. }
            | Transition::CommentOn { .. }
    )
}

/// The answer's `action` a follow or unfollow must give.
pub fn follow_action(st: &State, t: &Transition) -> &'static str {
    match *t {
        Transition::FollowWorld { actor, world } if st.social.follows(actor, world) => {
            "updated_preferences"
        }
        Transition::FollowWorld { .. } => "followed",
        Transition::UnfollowWorld { actor, world } if st.social.follows(actor, world) => {
            "unfollowed"
        }
        _ => "not_following",
    }
}

/// A comment on a missing target carries a plain text: which of the two refusals comes first
/// (404 for the target, 422 for the text) is the platform's choice, and the two platforms choose
/// differently (the real one looks the target up first, api/social.py:455, and takes any text;
/// the reference platform's JSON parser refuses a lone surrogate before any handler runs). Each
/// refusal is tried on its own: hostile texts go to existing targets.
fn missing_target_plain(target: CTarget, text: CommentText) -> CommentText {
    match (target, text) {
        (CTarget::Missing, CommentText::Nul | CommentText::Surrogate) => CommentText::Plain,
        _ => text,
    }
}

/// What a comment's reaction is to the agent's reaction on its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentReaction {
    /// The comment carries none.
    None,
    /// The agent had no reaction there: the comment's is its reaction now.
    New,
    /// The agent already had one: nothing changes (the react route counts an agent once).
    Again,
}

/// The reactions on a comment's target (none on a missing one).
pub fn target_reactions(st: &State, target: CTarget) -> ReactionsM {
    match target {
        CTarget::World(w) => super::reactions::world_reactions(st, w),
        CTarget::Story(s) => st
            .stories
            .get(s)
            .map(|x| x.reactions.clone())
            .unwrap_or_default(),
        CTarget::Missing => ReactionsM::default(),
    }
}

/// What comment `t`'s reaction is, in state `st` (before it).
pub fn comment_reaction(st: &State, t: &Transition) -> CommentReaction {
    match *t {
        Transition::CommentOn {
            actor,
            target,
            reaction: Some(_),
            ..
        } => {
            if target_reactions(st, target).by.iter().any(|r| r.0 == actor) {
                CommentReaction::Again
            } else {
                CommentReaction::New
            }
        }
        _ => CommentReaction::None,
    }
}

pub fn expect(_st: &State, t: &Transition) -> Expect {
    match *t {
        Transition::CommentOn {
            text: CommentText::Nul | CommentText::Surrogate,
            ..
        } => Expect::Reject(422),
        Transition::CommentOn {
            target: CTarget::Missing,
            ..
        } => Expect::Reject(404),
        _ => Expect::Ok,
    }
}

fn target_exists(st: &State, target: CTarget) -> bool {
    match target {
        CTarget::World(w) => w < st.worlds.len(),
        CTarget::Story(s) => s < st.stories.len(),
        CTarget::Missing => true,
    }
}

pub fn valid(st: &State, t: &Transition) -> bool {
    match *t {
        Transition::FollowWorld { actor, world } | Transition::UnfollowWorld { actor, world } => {
            actor < st.agents && world < st.worlds.len()
        }
        Transition::CommentOn {
            actor,
            target,
            text,
            reaction,
        } => {
            actor < st.agents
                && target_exists(st, target)
                && missing_target_plain(target, text) == text
                // a reaction rides on a plain comment to an existing target: its refusals are
                // the text's and the target's, tried on their own
                && (reaction.is_none() || (text == CommentText::Plain && target != CTarget::Missing))
        }
        _ => false,
    }
}

/// Applies an accepted step; `stamp` is the step number the request was built at.
pub fn step(st: &mut State, t: &Transition, stamp: u32) {
    if let (
        CommentReaction::New,
        Transition::CommentOn {
            actor,
            target,
            reaction: Some(kind),
            ..
        },
    ) = (comment_reaction(st, t), t)
    {
        // the agent's first reaction there, as the same reaction through /api/social/react
        let (actor, kind) = (*actor, *kind);
        let react = match *target {
            CTarget::World(world) => Some(Transition::ReactWorld { actor, world, kind }),
            CTarget::Story(story) => Some(Transition::ReactStory {
                actor,
                story,
                kind,
                social: true,
            }),
            CTarget::Missing => None,
        };
        if let Some(r) = react {
            super::reactions::step(st, &r);
        }
    }
    let s = &mut st.social;
    match *t {
        Transition::FollowWorld { actor, world } if !s.follows(actor, world) => {
            s.followers.entry(world).or_default().push(actor);
            *s.follower_counts.entry(world).or_default() += 1;
        }
        Transition::UnfollowWorld { actor, world } if s.follows(actor, world) => {
            s.followers
                .entry(world)
                .or_default()
                .retain(|&a| a != actor);
            *s.follower_counts.entry(world).or_default() -= 1;
        }
        Transition::CommentOn {
            actor,
            target,
            text,
            ..
        } => {
            s.comments
                .entry(target)
                .or_default()
                .push((actor, comment_text(stamp, text)));
            *s.comment_counts.entry(target).or_default() += 1;
        }
        _ => {}
    }
}

/// Offers follows, unfollows and comments from the first world on: a follow mostly by an agent not
/// following yet (sometimes again: `updated_preferences`), an unfollow mostly by a follower
/// (sometimes not: `not_following`), a comment on a world or a story, one in ten on a missing
/// target, with every kind of text.
pub fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    if st.worlds.is_empty() || st.agents == 0 {
        return;
    }
    let pairs: Vec<(usize, usize)> = (0..st.worlds.len())
        .flat_map(|w| (0..st.agents).map(move |a| (a, w)))
        .collect();
    type Pairs = Vec<(usize, usize)>;
    let (following, not): (Pairs, Pairs) =
        pairs.iter().partition(|&&(a, w)| st.social.follows(a, w));
    // a follow again (only the preferences change) one time in two once there is a follow
    let again = if following.is_empty() {
        not.clone()
    } else {
        following.clone()
    };
    let follow = (
        biased(not, pairs.clone()),
        proptest::sample::select(again),
        proptest::bool::ANY,
    )
        .prop_map(|(fresh, again, coin)| if coin { again } else { fresh });
    add(
        Rule::FollowWorld,
        follow
            .prop_map(|(actor, world)| Transition::FollowWorld { actor, world })
            .boxed(),
    );
    add(
        Rule::UnfollowWorld,
        biased(following, pairs)
            .prop_map(|(actor, world)| Transition::UnfollowWorld { actor, world })
            .boxed(),
    );
    offer_comments(st, add);
}

/// Offers a comment on a world or a story, one in ten on a missing target, with every kind of
/// text, and from a seed's third comment on sometimes with a reaction.
fn offer_comments(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let mut targets: Vec<CTarget> = (0..st.worlds.len()).map(CTarget::World).collect();
    targets.extend((0..st.stories.len()).map(CTarget::Story));
    // a seed's first comment is plain, its second hostile (refused), the rest a mix
    let texts = match st.fired[Rule::CommentOn.index()] {
        0 => vec![CommentText::Plain],
        1 => vec![CommentText::Nul, CommentText::Surrogate],
        _ => vec![
            CommentText::Plain,
            CommentText::Plain,
            CommentText::Plain,
            CommentText::Plain,
            CommentText::Empty,
            CommentText::Long,
            CommentText::Nul,
            CommentText::Surrogate,
        ],
    };
    let texts = proptest::sample::select(texts);
    // a seed's first two comments carry no reaction (plain, then hostile); its third carries one
    // from an agent who already reacted to the target (when there is one), its fourth one from an
    // agent who has not; later ones one in three, either way
    let nth = st.fired[Rule::CommentOn.index()];
    let with_reactions = nth >= 2;
    let coins = match nth {
        2 => 0..1u8,
        3 => 1..2u8,
        _ => 0..6u8,
    };
    // (agent, target) pairs where the agent already reacted: a comment's reaction from one of
    // them is the second route's case that matters (CommentReaction::Again)
    let mut reacted: Vec<Option<(usize, CTarget)>> = targets
        .iter()
        .flat_map(|&t| {
            target_reactions(st, t)
                .by
                .into_iter()
                .map(move |(a, _)| (a, t))
        })
        .filter(|&(a, _)| a < st.agents)
        .map(Some)
        .collect();
    if reacted.is_empty() {
        reacted.push(None);
    }
    let mut unreacted: Vec<Option<(usize, CTarget)>> = targets
        .iter()
        .flat_map(|&t| {
            let by = target_reactions(st, t).by;
            (0..st.agents)
                .filter(move |a| !by.iter().any(|r| r.0 == *a))
                .map(move |a| (a, t))
        })
        .map(Some)
        .collect();
    if unreacted.is_empty() {
        unreacted.push(None);
    }
    add(
        Rule::CommentOn,
        (
            (0..st.agents, biased(targets, vec![CTarget::Missing]), texts),
            coins,
            proptest::sample::select(ReactionType::ALL.to_vec()),
            (
                proptest::sample::select(reacted),
                proptest::sample::select(unreacted),
            ),
        )
            .prop_map(
                move |((actor, target, text), coin, kind, (reacted, unreacted))| {
                    // one comment in three carries a reaction, half of those from an agent who
                    // already reacted to its target
                    let plain_with = |actor, target| Transition::CommentOn {
                        actor,
                        target,
                        text: CommentText::Plain,
                        reaction: Some(kind),
                    };
                    match (with_reactions, coin, reacted, unreacted) {
                        (true, 0, Some((a, t)), _) | (true, 1, _, Some((a, t))) => plain_with(a, t),
                        (true, 0 | 1, _, _) if target != CTarget::Missing => {
                            plain_with(actor, target)
                        }
                        _ => Transition::CommentOn {
                            actor,
                            target,
                            text: missing_target_plain(target, text),
                            reaction: None,
                        },
                    }
                },
            )
            .boxed(),
    );
}

/// The follows or comments of a race, one per racer (comments with a plain text).
pub fn race_steps(f: &Fault) -> Vec<Transition> {
    match f {
        Fault::RaceFollow { world, actors } => actors
            .iter()
            .map(|&actor| Transition::FollowWorld {
                actor,
                world: *world,
            })
            .collect(),
        Fault::RaceFollowSame { world, actor, n } => (0..*n)
            .map(|_| Transition::FollowWorld {
                actor: *actor,
                world: *world,
            })
            .collect(),
        Fault::RaceComment { target, actors } => actors
            .iter()
            .map(|&actor| Transition::CommentOn {
                actor,
                target: *target,
                text: CommentText::Plain,
                reaction: None,
            })
            .collect(),
        _ => vec![],
    }
}

pub fn owns_fault(f: &Fault) -> bool {
    matches!(
        f,
        Fault::RaceFollow { .. } | Fault::RaceComment { .. } | Fault::RaceFollowSame { .. }
    )
}

fn distinct(v: &[usize]) -> bool {
    let mut s = v.to_vec();
    s.sort();
    s.dedup();
    s.len() == v.len()
}

pub fn fault_valid(st: &State, f: &Fault) -> bool {
    match f {
        Fault::RaceFollow { world, actors } => {
            *world < st.worlds.len()
                && (2..=6).contains(&actors.len())
                && distinct(actors)
                && actors
                    .iter()
                    .all(|&a| a < st.agents && !st.social.follows(a, *world))
        }
        Fault::RaceFollowSame { world, actor, n } => {
            *world < st.worlds.len()
                && *actor < st.agents
                && (2..=6).contains(n)
                && !st.social.follows(*actor, *world)
        }
        Fault::RaceComment { target, actors } => {
            *target != CTarget::Missing
                && target_exists(st, *target)
                && (2..=6).contains(&actors.len())
                && distinct(actors)
                && actors.iter().all(|&a| a < st.agents)
        }
        _ => false,
    }
}

/// The state after a race: every racer's follow or comment (comments stamped with the step); one
/// agent's concurrent follows count once.
pub fn fault_step(mut st: State, f: &Fault) -> State {
    let stamp = st.step;
    for t in race_steps(f) {
        step(&mut st, &t, stamp);
    }
    st.fault_fired[f.kind().index()] += 1;
    st
}

/// Keep-going after a follow race: the world's stored count is what the target reads back.
pub fn adopt_follower_count(mut st: State, world: usize, count: i64) -> State {
    st.social.follower_counts.insert(world, count);
    st
}

/// Keep-going after a comment race: the target's stored count is what the target reads back.
pub fn adopt_comment_count(mut st: State, target: CTarget, count: i64) -> State {
    st.social.comment_counts.insert(target, count);
    st
}

pub fn offer_faults(st: &State, add: &mut dyn FnMut(FaultKind, BoxedStrategy<Transition>)) {
    let worlds: Vec<(usize, Vec<usize>)> = (0..st.worlds.len())
        .map(|w| (w, st.social.fresh(st.agents, w)))
        .filter(|(_, f)| f.len() >= 2)
        .collect();
    let lone: Vec<(usize, usize)> = worlds
        .iter()
        .flat_map(|(w, fresh)| fresh.iter().map(move |&a| (*w, a)))
        .collect();
    if !lone.is_empty() {
        add(
            FaultKind::RaceFollowSame,
            (proptest::sample::select(lone), 2..=6usize)
                .prop_map(|((world, actor), n)| Transition::Fault {
                    fault: Fault::RaceFollowSame { world, actor, n },
                })
                .boxed(),
        );
    }
    if !worlds.is_empty() {
        add(
            FaultKind::RaceFollow,
            proptest::sample::select(worlds)
                .prop_flat_map(|(world, fresh)| {
                    let max = fresh.len().min(6);
                    proptest::sample::subsequence(fresh, 2..=max).prop_map(move |actors| {
                        Transition::Fault {
                            fault: Fault::RaceFollow { world, actors },
                        }
                    })
                })
                .boxed(),
        );
    }
    if st.agents >= 2 && !st.worlds.is_empty() {
        let mut targets: Vec<CTarget> = (0..st.worlds.len()).map(CTarget::World).collect();
        targets.extend((0..st.stories.len()).map(CTarget::Story));
        let agents: Vec<usize> = (0..st.agents).collect();
        let max = st.agents.min(6);
        add(
            FaultKind::RaceComment,
            (
                proptest::sample::select(targets),
                proptest::sample::subsequence(agents, 2..=max),
            )
                .prop_map(|(target, actors)| Transition::Fault {
                    fault: Fault::RaceComment { target, actors },
                })
                .boxed(),
        );
    }
}
