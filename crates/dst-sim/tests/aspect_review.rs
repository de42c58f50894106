//! The aspect review's follow-ups and test mode's approval (`model/review.rs`,
//! `model/aspect_approval.rs`): generated in every seed of `make dst`, with the cases that matter
//! reached in many seeds: a test-approve that approves an event aspect (its timeline entry) and
//! one that approves another aspect, one refused for its short summary, a reopen of an approved
//! aspect's item (where a reopen that takes the approval back shows), and an add-feedback.

use dst_sim::model::{self, AStatus, Expect, Rule, State, Transition};

const ASPECT_RULES: [Rule; 3] = [
    Rule::ReopenAspectItem,
    Rule::AddAspectFeedback,
    Rule::TestApproveAspect,
];

#[test]
fn every_aspect_review_rule_fires_in_every_seed_and_the_cases_that_matter_are_reached() {
    let (mut event, mut other, mut short, mut reopened, mut added) = (0, 0, 0, 0, 0);
    let mut missing = Vec::new();
    for seed in 0..200 {
        let mut st = State::default();
        let mut fired = [0u32; 3];
        let mut seen = [false; 5];
        for t in dst_sim::run::transitions(seed, dst_sim::SEED_STEPS) {
            if let Some(i) = ASPECT_RULES.iter().position(|x| *x == t.rule()) {
                fired[i] += 1;
            }
            let ok = model::expect(&st, &t) == Expect::Ok;
            match t {
                Transition::TestApproveAspect {
                    aspect, canon_len, ..
                } => {
                    let a = &st.aspects[aspect];
                    seen[0] |= ok && a.event;
                    seen[1] |= ok && !a.event;
                    seen[2] |= a.status == AStatus::Validating
                        && canon_len < model::aspect_approval::MIN_CANON_SUMMARY;
                }
                Transition::ReopenAspectItem { aspect, .. } => {
                    seen[3] |= ok && st.aspects[aspect].status == AStatus::Approved;
                }
                Transition::AddAspectFeedback { .. } => seen[4] |= ok,
                _ => {}
            }
            st = model::step(st, &t);
        }
        for (rule, n) in ASPECT_RULES.iter().zip(fired) {
            if n == 0 {
                missing.push(format!("seed {seed}: {rule} never fired"));
            }
        }
        for (count, s) in [
            &mut event,
            &mut other,
            &mut short,
            &mut reopened,
            &mut added,
        ]
        .into_iter()
        .zip(seen)
        {
            *count += u32::from(s);
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
    // measured with 75-odd rules: 49, 101, 32, 74 and 188 of 200 (every second aspect is an event
    // aspect, and the first one is the review's)
    assert!(
        event >= 35,
        "an event aspect approved in only {event}/200 seeds"
    );
    assert!(
        other >= 75,
        "another aspect approved in only {other}/200 seeds"
    );
    assert!(
        short >= 20,
        "a short summary refused in only {short}/200 seeds"
    );
    assert!(
        reopened >= 50,
        "an approved aspect's item reopened in only {reopened}/200 seeds"
    );
    assert!(
        added >= 150,
        "an add-feedback to an aspect in only {added}/200 seeds"
    );
}

/// Region aspects (`aspect_approval::is_region`): a test-approve that adds one's region to its
/// world (read back by 11) in many seeds, and the second-path cases of a region aspect named as an
/// existing region of the world (`SecondPathCase::RegionAspectDuplicate`, 18) and of one with no
/// name (`RegionAspectNameless`) in every seed.
#[test]
fn a_region_aspect_is_approved_in_many_seeds_and_its_second_path_cases_probed_in_every_seed() {
    let (mut approved, mut missing) = (0, Vec::new());
    for seed in 0..200 {
        let mut st = State::default();
        let (mut region, mut probed) = (false, [false; 2]);
        for t in dst_sim::run::transitions(seed, dst_sim::SEED_STEPS) {
            match t {
                Transition::TestApproveAspect { aspect, .. } => {
                    region |= model::expect(&st, &t) == Expect::Ok
                        && model::aspect_approval::is_region(aspect);
                }
                Transition::ProbeSecondPath { case, .. } => {
                    probed[0] |= case == model::SecondPathCase::RegionAspectDuplicate;
                    probed[1] |= case == model::SecondPathCase::RegionAspectNameless;
                }
                _ => {}
            }
            st = model::step(st, &t);
        }
        approved += u32::from(region);
        if probed != [true; 2] {
            missing.push((seed, probed));
        }
    }
    eprintln!("region aspect approved in {approved}/200 seeds; duplicate unprobed in {missing:?}");

    assert!(
        missing.is_empty(),
        "a region aspect case never probed (seed, [duplicate, nameless]): {missing:?}"
    );
    assert!(
        approved >= 1,
        "a region aspect approved in only {approved}/200 seeds"
    );
}
