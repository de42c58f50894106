//! The revision suggestion rules (`model/suggestions.rs`): generated in every seed of `make dst`,
//! with the cases that matter reached in many seeds: an owner's accept of a value revise refuses
//! (where a second write path that skips revise's rules shows), an accept that succeeds (its value
//! is read back), and a repeated upvote.

use dst_sim::model::suggestions::{SStatus, owner};
use dst_sim::model::{self, Expect, Rule, State, Transition};

const SUGGESTION_RULES: [Rule; 5] = [
    Rule::SuggestRevision,
    Rule::AcceptSuggestion,
    Rule::RejectSuggestion,
    Rule::UpvoteSuggestion,
    Rule::WithdrawSuggestion,
];

#[test]
fn every_suggestion_rule_fires_in_every_seed_and_the_second_write_path_is_tried() {
    let (mut refused, mut applied, mut repeated) = (0, 0, 0);
    for seed in 0..200 {
        let mut st = State::default();
        let mut fired = [0u32; 5];
        let (mut r, mut a, mut u) = (false, false, false);
        for t in dst_sim::run::transitions(seed, dst_sim::SEED_STEPS) {
            if let Some(i) = SUGGESTION_RULES.iter().position(|x| *x == t.rule()) {
                fired[i] += 1;
            }
            let e = model::expect(&st, &t);
            match t {
                Transition::AcceptSuggestion { actor, suggestion } => {
                    let s = &st.suggestions[suggestion];
                    let by_rights = s.status == SStatus::Pending && owner(&st, s.target) == actor;
                    r |= by_rights && e != Expect::Ok;
                    a |= e == Expect::Ok;
                }
                Transition::UpvoteSuggestion { actor, suggestion } => {
                    let s = &st.suggestions[suggestion];
                    u |= s.status == SStatus::Pending && s.upvoters.contains(&actor);
                }
                _ => {}
            }
            st = model::step(st, &t);
        }
        for (rule, n) in SUGGESTION_RULES.iter().zip(fired) {
            assert!(n > 0, "seed {seed}: {rule} never fired");
        }
        refused += u32::from(r);
        applied += u32::from(a);
        repeated += u32::from(u);
    }
    // measured with 60-odd rules: 153, 87 and 43 of 200 (each new rule takes a share of the steps)
    assert!(
        refused >= 120,
        "an owner's refused accept in only {refused}/200 seeds"
    );
    assert!(
        applied >= 60,
        "an accepted suggestion in only {applied}/200 seeds"
    );
    assert!(
        repeated >= 25,
        "a repeated upvote in only {repeated}/200 seeds"
    );
}
