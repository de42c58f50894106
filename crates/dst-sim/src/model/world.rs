//! The model of content that lives in a world: aspects (critical review, graduation into the
//! world's canon), stories (reviews, responses, revisions, acclaim) and world events (approve or
//! reject once, never by the proposer). Same contract as `rules.rs`: `offer` generates only
//! transitions that are valid in the state, `expect` predicts the outcome class, `step` applies it.

use super::vocab::{
    AStatus, AspectM, EStatus, EventM, Expect, IStatus, Item, Rule, State, StoryM, StoryReviewM,
    Transition, biased, lens, pick,
};
use proptest::strategy::{BoxedStrategy, Strategy};

// Boundary values drawn from the seed.
pub const ASPECT_TITLE_LENS: &[usize] = &[2, 3, 60, 60, 60, 255, 256];
pub const STORY_TITLE_LENS: &[usize] = &[1, 40, 200, 201];
/// Review notes must be ≥20 characters; 19 is the one-short case (mostly valid lengths).
pub const STORY_NOTES_LENS: &[usize] = &[19, 20, 80, 80, 80, 80];
/// A world from the fixture proposal: history starts 2031, set in 2090 (+10 allowed). Mostly valid
/// years (an approve or reject needs a pending event), both limits and one past each.
pub const EVENT_YEARS: &[i64] = &[2030, 2031, 2060, 2060, 2060, 2075, 2075, 2100, 2101];
pub const EVENT_FIRST_YEAR: i64 = 2031;
pub const EVENT_LAST_YEAR: i64 = 2100;

/// Whether `author` has a published story with a review it has not answered (story create → 428).
pub fn has_unaddressed(st: &State, author: usize) -> bool {
    st.stories
        .iter()
        .any(|s| s.author == author && !s.acclaimed && s.reviews.iter().any(|r| !r.responded))
}

pub(super) fn expect(st: &State, t: &Transition) -> Expect {
    use Transition::*;
    match *t {
        CreateAspect { title_len, .. } => {
            if !(3..=255).contains(&title_len) {
                Expect::Reject(422)
            } else {
                Expect::Ok
            }
        }
        SubmitAspect { actor, aspect } => {
            let a = &st.aspects[aspect];
            if a.owner != actor {
                Expect::Reject(403)
            } else if a.status != AStatus::Draft {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        ReviewAspect { actor, aspect, .. } => {
            let a = &st.aspects[aspect];
            if a.owner == actor {
                Expect::Reject(403)
            } else if a.reviewers.contains(&actor) {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        // aspects skip the resolve-after-revision gate (as on the real platform)
        ResolveAspectItem {
            actor,
            aspect,
            item,
        } => {
            if st.aspects[aspect].items[item].reviewer != actor {
                Expect::Reject(403)
            } else {
                Expect::Ok
            }
        }
        ReviseAspect { actor, aspect } => {
            let a = &st.aspects[aspect];
            if a.owner != actor {
                Expect::Reject(403)
            } else if a.status == AStatus::Approved {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        CreateStory {
            actor,
            world,
            dweller,
            title_len,
        } => {
            if !(1..=200).contains(&title_len) {
                Expect::Reject(422)
            } else if world.is_none() {
                Expect::Reject(404)
            } else if has_unaddressed(st, actor) {
                Expect::Reject(428)
            } else if dweller.is_some_and(|d| Some(st.dwellers[d].world) != world) {
                Expect::Reject(404)
            } else {
                Expect::Ok
            }
        }
        ReviewStory {
            actor,
            story,
            notes_len,
            ..
        } => {
            let s = &st.stories[story];
            if notes_len < 20 {
                Expect::Reject(422)
            } else if s.author == actor {
                Expect::Reject(403)
            } else if s.reviews.iter().any(|r| r.reviewer == actor) {
                Expect::Reject(409)
            } else {
                Expect::Ok
            }
        }
        RespondStoryReview {
            actor,
            story,
            review,
        } => {
            let s = &st.stories[story];
            if s.author != actor {
                Expect::Reject(403)
            } else if s.reviews[review].responded {
                Expect::Reject(409)
            } else {
                Expect::Ok
            }
        }
        ReviseStory { actor, story, .. } => {
            if st.stories[story].author != actor {
                Expect::Reject(403)
            } else {
                Expect::Ok
            }
        }
        ProposeEvent { year, .. } => {
            if !(EVENT_FIRST_YEAR..=EVENT_LAST_YEAR).contains(&year) {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        ApproveEvent { actor, event } | RejectEvent { actor, event } => {
            let e = &st.events[event];
            if e.status != EStatus::Pending || e.proposer == actor {
                Expect::Reject(400)
            } else {
                Expect::Ok
            }
        }
        ReactStory { .. } | ReactWorld { .. } => super::reactions::expect(st, t),
        TestApproveAspect { .. } => super::aspect_approval::expect(st, t),
        _ => Expect::Ok,
    }
}

pub(super) fn valid(st: &State, t: &Transition) -> bool {
    use Transition::*;
    let agent = |a: usize| a < st.agents;
    match *t {
        CreateAspect { actor, world, .. } | ProposeEvent { actor, world, .. } => {
            agent(actor) && world < st.worlds.len()
        }
        SubmitAspect { actor, aspect } | ReviseAspect { actor, aspect } => {
            agent(actor) && aspect < st.aspects.len()
        }
        ReviewAspect {
            actor,
            aspect,
            items,
        } => {
            agent(actor)
                && (1..=2).contains(&items)
                && st
                    .aspects
                    .get(aspect)
                    .is_some_and(|a| a.status == AStatus::Validating)
        }
        ResolveAspectItem {
            actor,
            aspect,
            item,
        } => agent(actor) && st.aspects.get(aspect).is_some_and(|a| item < a.items.len()),
        CreateStory {
            actor,
            world,
            dweller,
            ..
        } => {
            agent(actor)
                && world.is_none_or(|w| w < st.worlds.len())
                && dweller.is_none_or(|d| d < st.dwellers.len())
        }
        ReviewStory { actor, story, .. } | ReviseStory { actor, story, .. } => {
            agent(actor) && story < st.stories.len()
        }
        RespondStoryReview {
            actor,
            story,
            review,
        } => {
            agent(actor)
                && st
                    .stories
                    .get(story)
                    .is_some_and(|s| review < s.reviews.len())
        }
        ApproveEvent { actor, event } | RejectEvent { actor, event } => {
            agent(actor) && event < st.events.len()
        }
        ReactStory { .. } | ReactWorld { .. } => super::reactions::valid(st, t),
        TestApproveAspect { .. } => super::aspect_approval::valid(st, t),
        _ => false,
    }
}

/// Applies a transition the model predicted to succeed.
pub(super) fn step(st: &mut State, t: &Transition) {
    use Transition::*;
    match *t {
        CreateAspect { actor, world, .. } => st.aspects.push(AspectM {
            world,
            owner: actor,
            status: AStatus::Draft,
            reviewers: vec![],
            items: vec![],
            event: super::aspect_approval::is_event(st.aspects.len()),
            timeline: false,
        }),
        SubmitAspect { aspect, .. } => st.aspects[aspect].status = AStatus::Validating,
        ReviewAspect {
            actor,
            aspect,
            items,
        } => {
            let a = &mut st.aspects[aspect];
            a.reviewers.push(actor);
            a.items.extend(std::iter::repeat_n(
                Item {
                    reviewer: actor,
                    status: IStatus::Open,
                    created_step: st.step,
                },
                items,
            ));
        }
        ResolveAspectItem { aspect, item, .. } => {
            let by_review = !st.aspects_need_explicit_approval;
            let a = &mut st.aspects[aspect];
            a.items[item].status = IStatus::Resolved;
            if by_review
                && a.status == AStatus::Validating
                && a.reviewers.len() >= 2
                && a.items.iter().all(|i| i.status == IStatus::Resolved)
            {
                a.status = AStatus::Approved;
            }
        }
        ReviseAspect { aspect, .. } if st.aspects[aspect].status == AStatus::Approved => {
            st.approved_aspect_revised = true;
        }
        CreateStory { actor, world, .. } => st.stories.push(StoryM {
            world: world.unwrap_or(0),
            author: actor,
            reviews: vec![],
            revisions: 0,
            acclaimed: false,
            reactions: Default::default(),
        }),
        ReviewStory {
            actor,
            story,
            acclaim,
            ..
        } => st.stories[story].reviews.push(StoryReviewM {
            reviewer: actor,
            acclaim,
            responded: false,
        }),
        RespondStoryReview { story, review, .. } => {
            let s = &mut st.stories[story];
            s.reviews[review].responded = true;
            if s.eligible() {
                s.acclaimed = true;
            }
        }
        ReviseStory { story, same, .. } => {
            let s = &mut st.stories[story];
            if !same {
                s.revisions += 1;
                if s.eligible() {
                    s.acclaimed = true;
                }
            }
        }
        ProposeEvent { actor, world, .. } => st.events.push(EventM {
            world,
            proposer: actor,
            status: EStatus::Pending,
            decider: None,
        }),
        ApproveEvent { actor, event } => {
            st.events[event].status = EStatus::Approved;
            st.events[event].decider = Some(actor);
        }
        RejectEvent { actor, event } => {
            st.events[event].status = EStatus::Rejected;
            st.events[event].decider = Some(actor);
        }
        ReactStory { .. } | ReactWorld { .. } => super::reactions::step(st, t),
        TestApproveAspect { .. } => super::aspect_approval::step(st, t),
        _ => {}
    }
}

fn select<T: Clone + std::fmt::Debug + 'static>(v: Vec<T>) -> BoxedStrategy<T> {
    proptest::sample::select(v).boxed()
}

/// Offers the world-content rules that are valid in `st`.
pub(super) fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    let w = st.worlds.len();
    if n < 2 || w == 0 {
        return;
    }
    offer_aspects(st, add);
    super::aspect_approval::offer(st, add);
    offer_stories(st, add);
    super::reactions::offer(st, add);
    offer_events(st, add);
}

/// Aspects: create, submit, review, resolve, revise.
fn offer_aspects(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    let w = st.worlds.len();
    add(
        Rule::CreateAspect,
        (pick(n), pick(w), lens(ASPECT_TITLE_LENS))
            .prop_map(|(actor, world, title_len)| Transition::CreateAspect {
                actor,
                world,
                title_len,
            })
            .boxed(),
    );
    let na = st.aspects.len();
    if na > 0 {
        let drafts: Vec<(usize, usize)> = (0..na)
            .filter(|&i| st.aspects[i].status == AStatus::Draft)
            .map(|i| (st.aspects[i].owner, i))
            .collect();
        if !drafts.is_empty() {
            // mostly the owner; sometimes another agent (403) or an aspect already submitted (400)
            let any: Vec<(usize, usize)> = (0..na).map(|i| (st.aspects[i].owner, i)).collect();
            add(
                Rule::SubmitAspect,
                (biased(drafts, any), pick(n), 0..8u8)
                    .prop_map(|((owner, aspect), other, coin)| Transition::SubmitAspect {
                        actor: if coin == 0 { other } else { owner },
                        aspect,
                    })
                    .boxed(),
            );
        }
        let validating: Vec<usize> = (0..na)
            .filter(|&i| st.aspects[i].status == AStatus::Validating)
            .collect();
        // as with proposals, the oldest validating aspect is the focus so one reaches the canon
        if let Some(&focus) = validating.first() {
            let a = &st.aspects[focus];
            let good: Vec<(usize, usize)> = (0..n)
                .filter(|x| *x != a.owner && !a.reviewers.contains(x))
                .map(|x| (focus, x))
                .collect();
            let any: Vec<(usize, usize)> = validating
                .iter()
                .flat_map(|&i| (0..n).map(move |x| (i, x)))
                .collect();
            add(
                Rule::ReviewAspect,
                (biased(good, any), 1..=2usize)
                    .prop_map(|((aspect, actor), items)| Transition::ReviewAspect {
                        actor,
                        aspect,
                        items,
                    })
                    .boxed(),
            );
        }
        let items: Vec<(usize, usize, usize)> = (0..na)
            .flat_map(|i| {
                st.aspects[i]
                    .items
                    .iter()
                    .enumerate()
                    .map(move |(k, it)| (i, k, it.reviewer))
            })
            .collect();
        if !items.is_empty() {
            let open: Vec<(usize, usize, usize)> = items
                .iter()
                .copied()
                .filter(|&(i, k, _)| {
                    st.aspects[i].status == AStatus::Validating
                        && st.aspects[i].items[k].status != IStatus::Resolved
                })
                .collect();
            // mostly the item's reviewer on an open item; sometimes anyone (403 unless the reviewer)
            add(
                Rule::ResolveAspectItem,
                (biased(open, items), pick(n), 0..6u8)
                    .prop_map(|((aspect, item, reviewer), other, coin)| {
                        Transition::ResolveAspectItem {
                            actor: if coin == 0 { other } else { reviewer },
                            aspect,
                            item,
                        }
                    })
                    .boxed(),
            );
        }
        // mostly the owner (approved aspects are predicted 400), and the owner of the first approved
        // aspect as soon as there is one, until one has been revised (a seed has few revise steps
        // after its first approval); sometimes another agent (403)
        let first = !st.approved_aspect_revised;
        let owners: Vec<(usize, usize)> = (0..na).map(|i| (st.aspects[i].owner, i)).collect();
        let approved: Vec<(usize, usize)> = owners
            .iter()
            .copied()
            .filter(|&(_, i)| st.aspects[i].status == AStatus::Approved)
            .collect();
        add(
            Rule::ReviseAspect,
            (select(owners), maybe(approved), pick(n), 0..8u8)
                .prop_map(
                    move |((owner, aspect), approved, other, coin)| match (coin, approved) {
                        (0, _) => Transition::ReviseAspect {
                            actor: other,
                            aspect,
                        },
                        (_, Some((o, a))) if coin <= 2 || first => Transition::ReviseAspect {
                            actor: o,
                            aspect: a,
                        },
                        _ => Transition::ReviseAspect {
                            actor: owner,
                            aspect,
                        },
                    },
                )
                .boxed(),
        );
    }
}

/// Stories: create, review, respond, revise.
fn offer_stories(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    let w = st.worlds.len();
    let agents: Vec<usize> = (0..n).collect();
    let free_authors: Vec<usize> = (0..n).filter(|&a| !has_unaddressed(st, a)).collect();
    let dwellers = st.dwellers.len();
    add(
        Rule::CreateStory,
        (
            biased(free_authors, agents.clone()),
            pick(w),
            0..12u8,
            pick(dwellers),
            lens(STORY_TITLE_LENS),
        )
            .prop_map(move |(actor, world, coin, d, title_len)| {
                // 1 in 12 names a missing world; 1 in 6 tells it through a dweller's eyes
                let world = (coin != 0).then_some(world);
                let dweller = (dwellers > 0 && coin % 6 == 1).then_some(d);
                Transition::CreateStory {
                    actor,
                    world,
                    dweller,
                    title_len,
                }
            })
            .boxed(),
    );
    let ns = st.stories.len();
    if ns > 0 {
        // the oldest story not yet acclaimed is the focus: reviewing it to acclaim beats spreading thin
        let focus = (0..ns).find(|&i| !st.stories[i].acclaimed);
        let good: Vec<(usize, usize)> = focus
            .iter()
            .flat_map(|&i| {
                let s = &st.stories[i];
                (0..n)
                    .filter(move |x| *x != s.author && !s.reviews.iter().any(|r| r.reviewer == *x))
                    .map(move |x| (i, x))
            })
            .collect();
        let any: Vec<(usize, usize)> = (0..ns).flat_map(|i| (0..n).map(move |x| (i, x))).collect();
        let authors: Vec<(usize, usize)> = (0..ns).map(|i| (i, st.stories[i].author)).collect();
        // mostly a new reviewer of the focus story; 1 in 8 the author itself (403)
        add(
            Rule::ReviewStory,
            (
                biased(good, any),
                select(authors),
                0..48u8,
                lens(STORY_NOTES_LENS),
            )
                .prop_map(|(pair, own, coin, notes_len)| {
                    let (story, actor) = if coin % 8 == 0 { own } else { pair };
                    Transition::ReviewStory {
                        actor,
                        story,
                        acclaim: coin % 6 != 1,
                        notes_len,
                    }
                })
                .boxed(),
        );
        let reviews: Vec<(usize, usize, usize)> = (0..ns)
            .flat_map(|i| {
                let author = st.stories[i].author;
                (0..st.stories[i].reviews.len()).map(move |r| (i, r, author))
            })
            .collect();
        if !reviews.is_empty() {
            let pending: Vec<(usize, usize, usize)> = reviews
                .iter()
                .copied()
                .filter(|&(i, r, _)| !st.stories[i].reviews[r].responded)
                .collect();
            add(
                Rule::RespondStoryReview,
                (biased(pending, reviews), pick(n), 0..8u8)
                    .prop_map(|((story, review, author), other, coin)| {
                        Transition::RespondStoryReview {
                            actor: if coin == 0 { other } else { author },
                            story,
                            review,
                        }
                    })
                    .boxed(),
            );
        }
        // mostly a story whose reviews are all answered and that has not been revised yet (the
        // last acclaim condition comes last, so a platform that skips it is seen); sometimes any
        // story, and sometimes with unchanged content
        let unrevised: Vec<usize> = (0..ns)
            .filter(|&i| {
                let s = &st.stories[i];
                s.reviews.len() >= 2 && s.reviews.iter().all(|r| r.responded) && s.revisions == 0
            })
            .collect();
        // otherwise a story whose acclaim this revision cannot short-cut (already revised or
        // acclaimed, or not the focus and not reviewed)
        let unrevised = if unrevised.is_empty() {
            (0..ns)
                .filter(|&i| {
                    let s = &st.stories[i];
                    s.revisions > 0 || s.acclaimed || (Some(i) != focus && s.reviews.is_empty())
                })
                .collect()
        } else {
            unrevised
        };
        // (with neither, the content is sent unchanged: revising the focus story for real this
        // early would satisfy the revision condition before the others)
        let unchanged = unrevised.is_empty();
        let targets = if unchanged {
            (0..ns).collect()
        } else {
            unrevised
        };
        add(
            Rule::ReviseStory,
            (biased(targets, (0..ns).collect()), pick(n), 0..8u8)
                .prop_map({
                    let authors: Vec<usize> = st.stories.iter().map(|s| s.author).collect();
                    move |(story, other, coin)| Transition::ReviseStory {
                        actor: if coin == 0 { other } else { authors[story] },
                        story,
                        same: unchanged || coin == 1,
                    }
                })
                .boxed(),
        );
    }
}

/// World events: propose, approve, reject.
fn offer_events(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    let w = st.worlds.len();
    add(
        Rule::ProposeEvent,
        (pick(n), pick(w), proptest::sample::select(EVENT_YEARS))
            .prop_map(|(actor, world, year)| Transition::ProposeEvent { actor, world, year })
            .boxed(),
    );
    let ne = st.events.len();
    if ne > 0 {
        // mostly a pending event and a non-proposer; 1 in 8 the proposer of a pending event, and
        // sometimes an event already decided (both 400)
        let pending: Vec<usize> = (0..ne)
            .filter(|&e| st.events[e].status == EStatus::Pending)
            .collect();
        let good: Vec<(usize, usize)> = pending
            .iter()
            .flat_map(|&e| {
                (0..n)
                    .filter(move |a| *a != st.events[e].proposer)
                    .map(move |a| (e, a))
            })
            .collect();
        let any: Vec<(usize, usize)> = (0..ne).flat_map(|e| (0..n).map(move |a| (e, a))).collect();
        let own: Vec<(usize, usize)> = if pending.is_empty() {
            (0..ne).map(|e| (e, st.events[e].proposer)).collect()
        } else {
            pending
                .iter()
                .map(|&e| (e, st.events[e].proposer))
                .collect()
        };
        // the proposer tries to approve its own pending event 1 in 2 times, to reject it 1 in 8
        let pairs = |one_in: u8| {
            (
                biased(good.clone(), any.clone()),
                select(own.clone()),
                0..one_in,
            )
                .prop_map(|(g, p, coin)| if coin == 0 { p } else { g })
        };
        add(
            Rule::ApproveEvent,
            pairs(2)
                .prop_map(|(event, actor)| Transition::ApproveEvent { actor, event })
                .boxed(),
        );
        add(
            Rule::RejectEvent,
            pairs(8)
                .prop_map(|(event, actor)| Transition::RejectEvent { actor, event })
                .boxed(),
        );
    }
}

/// `select` over a possibly empty list, as an `Option`.
fn maybe<T: Clone + std::fmt::Debug + 'static>(v: Vec<T>) -> BoxedStrategy<Option<T>> {
    if v.is_empty() {
        proptest::strategy::Just(None).boxed()
    } else {
        select(v).prop_map(Some).boxed()
    }
}
