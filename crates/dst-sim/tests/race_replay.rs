//! Races replay (issue 20 item 3): on the embedded platform the seed decides each race's
//! interleaving, so the shrunk trace of a planted race bug reproduces its violation every time.

use dst_sim::cli::{self, ReplayArgs, RunArgs, TargetArgs};
use dst_sim::driver::Interleaving;
use dst_sim::run::Trace;
use reference_platform::Bug;

fn target() -> TargetArgs {
    TargetArgs {
        target: None,
        admin_key: None,
        request_timeout: 30,
        faults: true,
        fault_proxy: None,
    }
}

/// Runs `bug` over a few seeds (fail-fast, as the mutants scorecard does), then replays the first
/// failing seed's shrunk trace 10 times: every replay must break the trace's invariant again.
async fn replays_ten_of_ten(bug: Bug, invariant: &str) {
    let out = tempfile::tempdir().unwrap();
    let args = RunArgs {
        target: target(),
        seeds: 0..8,
        seed: None,
        steps: dst_sim::SEED_STEPS,
        jobs: 2,
        out: out.path().to_path_buf(),
        json: false,
        strict: false,
        floor: 0.9,
        bugs: vec![bug],
        junit: None,
        shard: None,
        shrink_iters: 30,
        known: None,
        write_known: false,
        fail_fast: true,
        check_determinism: false,
        determinism_self_test: false,
    };
    let s = cli::run(&args, false).await.unwrap();
    let f = s
        .failures
        .iter()
        .find(|f| f.invariant.to_string() == invariant)
        .unwrap_or_else(|| panic!("{} not caught by {invariant}: {:?}", bug.name(), s.failures));
    let file = f.trace_file.clone().expect("a trace file");
    let trace: Trace = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(trace.interleaving, Some(Interleaving::Seeded));
    assert!(
        trace.steps.iter().any(|s| s.fault.is_some()),
        "the shrunk trace of {} keeps its race",
        bug.name()
    );
    // what each racer got, race by race, up to the recorded run's last step: the seed decides it,
    // so every replay gets the same. A replay runs the trace's whole transition list (its class
    // need not be the first violation), while the recorded run stopped at its violation: steps
    // past it were never recorded, so they are not compared (they are when the shrinker cut the
    // list there, and were not when it kept the list's tail)
    let last = trace.steps.last().map_or(0, |s| s.index);
    let outcomes = |steps: &[dst_sim::run::TraceStep]| -> Vec<Vec<Option<u16>>> {
        steps
            .iter()
            .filter(|s| s.index <= last)
            .filter_map(|s| s.fault.as_ref())
            .map(|f| f.raced.iter().map(|r| r.status).collect())
            .collect()
    };
    let recorded = outcomes(&trace.steps);
    let mut reproduced = 0;
    for i in 0..10 {
        let (_, ex, same) = cli::replay(&ReplayArgs {
            file: file.clone().into(),
            target: target(),
            json: false,
        })
        .await
        .unwrap();
        assert!(ex.infrastructure.is_none(), "{:?}", ex.infrastructure);
        reproduced += usize::from(same);
        assert_eq!(
            outcomes(&ex.trace),
            recorded,
            "{}: replay {i}'s races ended differently from the recorded ones (trace {}, {} steps; the replay: {} steps, violation {:?})",
            bug.name(),
            file,
            trace.steps.len(),
            ex.trace.len(),
            ex.violation.as_ref().map(|v| (v.step, v.message.clone()))
        );
    }
    assert_eq!(
        reproduced,
        10,
        "{}: the shrunk trace ({} steps) reproduced {reproduced} times of 10",
        bug.name(),
        trace.steps.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graduation_race_trace_replays_ten_of_ten() {
    replays_ten_of_ten(Bug::GraduationRace, "8-one-world-per-proposal").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_race_trace_replays_ten_of_ten() {
    replays_ten_of_ten(Bug::ClaimRace, "2-single-holder").await;
}
