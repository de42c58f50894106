//! Test mode's approval of an aspect (`POST /api/aspects/{id}/test-approve`, verdict approve): the
//! route the real platform approves aspects through (its critical review never does). Any agent
//! may call it, the aspect's proposer too; only a validating aspect is approved (400 otherwise),
//! and only with an `updated_canon_summary` of ≥ 50 characters (400), and an event aspect only
//! with an `approved_timeline_entry` (400). An approval makes the aspect approved, the summary the
//! world's canon summary, an event aspect's entry one step of the world's causal chain, and a
//! region aspect's content one region of the world (its name is unique in the seed, so region
//! create's rules let it in). Offered only where test mode is on (`State::test_mode_off`: the
//! target's answer is 403).

use super::vocab::{AStatus, Expect, Rule, State, Transition, lens, pick};
use proptest::strategy::{BoxedStrategy, Strategy};

/// The shortest canon summary an approval takes.
pub const MIN_CANON_SUMMARY: usize = 50;
/// Canon summary lengths drawn from the seed: one short of the limit, the limit, and mostly more.
pub const CANON_LENS: &[usize] = &[49, 50, 120, 120, 120, 120];

/// Whether the aspect created as the `index`-th of a seed is an event aspect (every second one:
/// both kinds reach test-approve in a seed).
pub fn is_event(index: usize) -> bool {
    index % 2 == 1
}

/// Whether the aspect created as the `index`-th of a seed (model index `index`) is a region
/// aspect: every fourth, from the third on (2, 6, 10, …). Only even indices, so event aspects stay
/// every second one, and the third aspect of a seed is one: the first is the critical review's and
/// most seeds create few. A region aspect's content is a region named uniquely in the seed; its
/// approval adds that region to the world.
pub fn is_region(index: usize) -> bool {
    index % 4 == 2
}

pub fn expect(st: &State, t: &Transition) -> Expect {
    let Transition::TestApproveAspect {
        aspect,
        canon_len,
        timeline,
        ..
    } = *t
    else {
        return Expect::Ok;
    };
    let a = &st.aspects[aspect];
    if a.status != AStatus::Validating || canon_len < MIN_CANON_SUMMARY || (a.event && !timeline) {
        Expect::Reject(400)
    } else {
        Expect::Ok
    }
}

pub fn valid(st: &State, t: &Transition) -> bool {
    match *t {
        Transition::TestApproveAspect { actor, aspect, .. } => {
            !st.test_mode_off && actor < st.agents && aspect < st.aspects.len()
        }
        _ => false,
    }
}

/// Applies an approval the model predicted to succeed.
pub fn step(st: &mut State, t: &Transition) {
    if let Transition::TestApproveAspect {
        aspect, timeline, ..
    } = *t
    {
        let a = &mut st.aspects[aspect];
        a.status = AStatus::Approved;
        a.timeline = a.event && timeline;
        if is_region(aspect) {
            let w = a.world;
            st.worlds[w].regions += 1;
        }
    }
}

/// Offers test-approve (test mode only): mostly of a validating aspect, sometimes of any aspect
/// (400 unless validating), with a short summary (400), or an event aspect's without its entry.
/// Never of the critical review's focus (the oldest validating aspect) before its first review:
/// the review rules need an aspect under review, and an early approval would leave them none in a
/// seed that submits few.
pub fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let na = st.aspects.len();
    if st.test_mode_off || na == 0 || st.agents == 0 {
        return;
    }
    let focus = (0..na).find(|&i| st.aspects[i].status == AStatus::Validating);
    let open: Vec<usize> = (0..na)
        .filter(|&i| Some(i) != focus || !st.aspects[i].reviewers.is_empty())
        .collect();
    if open.is_empty() {
        return;
    }
    let good: Vec<usize> = open
        .iter()
        .copied()
        .filter(|&i| st.aspects[i].status == AStatus::Validating)
        .collect();
    // an event or region aspect first while one is validating: its timeline entry or region is
    // a rarer write than the canon summary every approval makes
    let events: Vec<usize> = good
        .iter()
        .copied()
        .filter(|&i| st.aspects[i].event || is_region(i))
        .collect();
    let good = if events.is_empty() { good } else { events };
    let is_event: Vec<bool> = st.aspects.iter().map(|a| a.event).collect();
    add(
        Rule::TestApproveAspect,
        (
            super::vocab::biased(good, open),
            pick(st.agents),
            lens(CANON_LENS),
            0..6u8,
        )
            .prop_map(move |(aspect, actor, canon_len, coin)| {
                Transition::TestApproveAspect {
                    actor,
                    aspect,
                    canon_len,
                    // an event aspect's entry is left out 1 in 6 times; a non-event aspect gets
                    // one half the time (it must not reach the timeline)
                    timeline: if is_event[aspect] {
                        coin != 0
                    } else {
                        coin % 2 == 0
                    },
                }
            })
            .boxed(),
    );
}

/// From this step on a seed is late for the aspect chain (three quarters of `make dst`'s 200 steps).
const LATE: u32 = 150;

/// The last links of the aspect chain: they need an aspect under review.
const FOLLOW_UPS: [Rule; 3] = [
    Rule::ReopenAspectItem,
    Rule::AddAspectFeedback,
    Rule::TestApproveAspect,
];

/// Whether `rule` is weighed up as a link of the aspect chain (`model/mod.rs`) while one of the
/// chain's last links has not fired in the sequence: such a last link itself once it is offered,
/// and, in a late seed (its first world came late), the create, submit and review before it, or
/// the seed would end before the follow-ups. Weighing the early links up from the start took a
/// share of the steps that other long chains (dweller actions, story reviews) needed: over 1000
/// seeds the seeds missing some rule went from 37 to 58.
pub fn chain_pending(st: &State, rule: Rule) -> bool {
    let unfired = |r: Rule| st.fired[r.index()] == 0;
    let link = matches!(
        rule,
        Rule::CreateAspect | Rule::SubmitAspect | Rule::ReviewAspect
    ) && st.step >= LATE;
    (link || (FOLLOW_UPS.contains(&rule) && unfired(rule)))
        && FOLLOW_UPS.iter().any(|&r| unfired(r))
}
