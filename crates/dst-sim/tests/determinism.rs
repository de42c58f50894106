//! A seed is a complete description of its run: `--check-determinism` finds no difference over 50
//! seeds with the fault layer on (races included, their order decided by the seed), and it does
//! report a difference when there is one (the hidden self-test switch perturbs every second run).

use assert_cmd::Command;
use dst_sim::cli::{self, RunArgs, TargetArgs};
use dst_sim::driver::Interleaving;
use dst_sim::model::FaultKind;

fn args(seeds: std::ops::Range<u64>, steps: usize, out: &std::path::Path) -> RunArgs {
    RunArgs {
        target: TargetArgs {
            target: None,
            admin_key: None,
            request_timeout: 30,
            faults: true,
            fault_proxy: None,
        },
        seeds,
        seed: None,
        steps,
        jobs: 2,
        out: out.to_path_buf(),
        json: false,
        strict: false,
        floor: 0.9,
        bugs: vec![],
        junit: None,
        shard: None,
        shrink_iters: 10,
        known: None,
        write_known: false,
        fail_fast: false,
        check_determinism: true,
        determinism_self_test: false,
    }
}

/// Races that fire within 40 steps in these seeds and whose answers depend on who goes first
/// (which resolve graduates, which create hits the active-proposal limit, in which order reviews
/// and upvotes are listed).
const RACES: [FaultKind; 4] = [
    FaultKind::RaceGraduation,
    FaultKind::RaceReview,
    FaultKind::RaceUpvote,
    FaultKind::RaceCreate,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_seeds_with_faults_run_twice_alike() {
    let out = tempfile::tempdir().unwrap();
    // 40 steps keep the test short (2 × 50 runs in debug) and still reach graduation races
    let s = cli::run(&args(0..50, 40, out.path()), false).await.unwrap();
    let d = s.determinism.as_ref().expect("a determinism section");
    assert_eq!(d.seeds_checked, 50);
    assert!(
        d.differences.is_empty(),
        "{}",
        d.differences
            .iter()
            .map(|x| x.line())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(s.interleaving, Some(Interleaving::Seeded));
    // not vacuous: races whose winner used to be the runtime's choice were part of the sequences
    for k in RACES {
        let fired = s.faults.get(&k).map_or(0, |c| c.fired);
        assert!(fired > 0, "{k} never fired in 50 seeds");
    }
    assert!(s.failures.is_empty(), "{:?}", s.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_perturbed_second_run_is_reported_for_every_seed() {
    let out = tempfile::tempdir().unwrap();
    let mut a = args(0..3, 25, out.path());
    a.determinism_self_test = true;
    let s = cli::run(&a, false).await.unwrap();
    let d = s.determinism.expect("a determinism section");
    assert_eq!(d.seeds_checked, 3);
    assert_eq!(
        d.differences.iter().map(|x| x.seed).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    for x in &d.differences {
        // the second run lacks the last step: the sequences part where it began
        assert!(x.exchanges[1] < x.exchanges[0], "{x:?}");
        assert!(x.index <= x.exchanges[1], "{x:?}");
        assert!(!x.request.is_empty(), "{x:?}");
        assert_ne!(x.hashes[0], x.hashes[1]);
    }
}

#[test]
fn a_difference_is_a_harness_defect_line_exit_1_and_json() {
    let out = tempfile::tempdir().unwrap();
    let run = |json: bool| {
        let mut c = Command::cargo_bin("dst-sim").unwrap();
        c.args([
            "run",
            "--faults",
            "--seeds",
            "0..2",
            "--steps",
            "15",
            "--check-determinism",
            "--determinism-self-test",
            "--out",
        ])
        .arg(out.path());
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let text = run(false);
    assert_eq!(text.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("HARNESS DEFECT (nondeterminism): seed 0 ")
            && stdout.contains("HARNESS DEFECT (nondeterminism): seed 1 ")
            && stdout.contains("first difference at exchange"),
        "{stdout}"
    );
    let json = run(true);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["determinism"]["seeds_checked"], 2);
    assert_eq!(v["determinism"]["differences"][0]["seed"], 0);
    assert_eq!(v["interleaving"], "seeded");
}

#[test]
fn check_determinism_refuses_a_remote_target() {
    let out = Command::cargo_bin("dst-sim")
        .unwrap()
        .args([
            "run",
            "--check-determinism",
            "--target",
            "http://127.0.0.1:9",
            "--seeds",
            "0..1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--check-determinism"), "{err}");
}
