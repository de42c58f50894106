//! Follows and comments (`model/social.rs`): each rule fires in every seed of `make dst`, the
//! cases that matter are reached in most (a repeated follow, an unfollow of a followed world,
//! accepted comments and refused hostile ones, a comment's reaction both as an agent's first
//! reaction on its target and from an agent who already reacted there), and with `--faults` the
//! follow (different agents and one agent), comment and summary races are generated within the
//! scorecard's first seeds.

use dst_sim::model::social::{CommentReaction, CommentText};
use dst_sim::model::{self, Expect, FaultKind, Rule, State, Transition};

#[test]
fn every_social_rule_fires_in_every_seed_and_its_cases_are_reached() {
    let (mut again, mut unfollowed, mut hostile) = (0, 0, 0);
    // seeds where a comment's reaction was an agent's first reaction there / came from an agent
    // who already had one (the second route's case that matters)
    let (mut reaction_new, mut reaction_again) = (0, 0);
    for seed in 0..200 {
        let mut st = State::default();
        let mut fired = [0u32; 3];
        let (mut a, mut u, mut h) = (false, false, false);
        let (mut rn, mut ra) = (false, false);
        for t in dst_sim::run::transitions(seed, dst_sim::SEED_STEPS) {
            match t {
                Transition::FollowWorld { actor, world } => {
                    fired[0] += 1;
                    a |= st.social.follows(actor, world);
                }
                Transition::UnfollowWorld { actor, world } => {
                    fired[1] += 1;
                    u |= st.social.follows(actor, world);
                }
                Transition::CommentOn { text, .. } => {
                    fired[2] += 1;
                    h |= matches!(text, CommentText::Nul | CommentText::Surrogate)
                        && model::expect(&st, &t) == Expect::Reject(422);
                    match model::social::comment_reaction(&st, &t) {
                        CommentReaction::New => rn = true,
                        CommentReaction::Again => ra = true,
                        CommentReaction::None => {}
                    }
                }
                _ => {}
            }
            st = model::step(st, &t);
        }
        for (r, n) in [Rule::FollowWorld, Rule::UnfollowWorld, Rule::CommentOn]
            .iter()
            .zip(fired)
        {
            assert!(n > 0, "seed {seed}: {r} never fired");
        }
        again += u32::from(a);
        unfollowed += u32::from(u);
        hostile += u32::from(h);
        reaction_new += u32::from(rn);
        reaction_again += u32::from(ra);
    }

    assert!(again >= 60, "a repeated follow in only {again}/200 seeds");
    assert!(
        unfollowed >= 110,
        "an unfollow of a followed world in only {unfollowed}/200 seeds"
    );
    assert!(
        hostile >= 70,
        "a refused hostile comment in only {hostile}/200 seeds"
    );
    // 163 and 195 at the time of writing
    assert!(
        reaction_new >= 150,
        "a comment's reaction as an agent's first reaction there in only {reaction_new}/200 seeds"
    );
    assert!(
        reaction_again >= 185,
        "a comment's reaction from an agent who already reacted in only {reaction_again}/200 seeds"
    );
}

#[test]
fn the_follow_comment_and_summary_races_are_generated_in_the_scorecards_seeds() {
    let kinds = [
        FaultKind::RaceFollow,
        FaultKind::RaceComment,
        FaultKind::RaceSummarize,
        FaultKind::RaceFollowSame,
    ];
    let mut seeds = [0u32; 4];
    for seed in 0..16 {
        let ts = dst_sim::run::transitions_with(seed, dst_sim::SEED_STEPS, true);
        for (i, k) in kinds.iter().enumerate() {
            seeds[i] += u32::from(ts.iter().any(|t| match t {
                Transition::Fault { fault } => fault.kind() == *k,
                _ => false,
            }));
        }
    }
    for (k, n) in kinds.iter().zip(seeds) {
        assert!(n >= 2, "{k} generated in only {n}/16 seeds");
    }
}
