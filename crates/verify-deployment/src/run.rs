//! Runs a [`Plan`]: CI, then backend health; if both pass (or are skipped), frontend, smoke, schema
//! and Logfire together. On success writes the `deploy-verified` marker through [`MarkerStore`].
//!
//! CI and backend health gate the rest: when either fails, the later steps are reported as
//! "not run" (they could only wait for a deploy that is not coming). After them, every step runs
//! and every failure is listed.

use crate::plan::Plan;
use crate::progress::Progress;
use crate::report::{Report, Step, StepReport, Verdict};
use crate::steps;
use markers::{DeployVerified, MarkerError, Timestamp};
use tokio::time::Instant;

fn skipped(plan: &Plan, step: Step) -> Option<StepReport> {
    plan.skipped
        .get(&step)
        .map(|why| StepReport::new(step, Verdict::Skipped, why.clone()))
}

async fn timed<F: std::future::Future<Output = StepReport>>(f: F) -> StepReport {
    let start = Instant::now();
    let mut r = f.await;
    r.elapsed_ms = start.elapsed().as_millis() as u64;
    r
}

/// Runs every step and returns the report (the marker is not written here; see [`finish`]).
pub async fn run(plan: &Plan, progress: &Progress) -> Report {
    let started = Instant::now();
    let run_started_utc = Timestamp::now().to_rfc3339();
    let overall = started + plan.timings.overall;
    let mut reports: Vec<StepReport> = Vec::new();

    // 1. CI
    let mut earliest_run = None;
    let ci = match skipped(plan, Step::Ci) {
        Some(r) => r,
        None => {
            let t0 = Instant::now();
            let out = steps::ci(plan, overall, progress).await;
            earliest_run = out.earliest_run;
            StepReport {
                elapsed_ms: t0.elapsed().as_millis() as u64,
                ..out.report
            }
        }
    };
    let gate_open = ci.verdict != Verdict::Failed;
    reports.push(ci);

    // 2. backend health
    let mut health = None;
    let backend = if !gate_open {
        skipped(plan, Step::Backend).unwrap_or_else(|| not_run(Step::Backend, "ci"))
    } else {
        match skipped(plan, Step::Backend) {
            Some(r) => r,
            None => {
                let t0 = Instant::now();
                let out = steps::backend(plan, overall, progress).await;
                health = out.health;
                StepReport {
                    elapsed_ms: t0.elapsed().as_millis() as u64,
                    ..out.report
                }
            }
        }
    };
    let gate_open = gate_open && backend.verdict != Verdict::Failed;
    let failed_gate = if reports[0].verdict == Verdict::Failed {
        "ci"
    } else {
        "backend"
    };
    reports.push(backend);

    // The Logfire window: --since, the push marker, the first CI run of the SHA, else now.
    let since = plan.since.clone().unwrap_or_else(|| match &earliest_run {
        Some(t) => (t.clone(), "first workflow run of the SHA".into()),
        None => (run_started_utc.clone(), "start of this verification".into()),
    });
    let logfire_since =
        (!plan.skipped.contains_key(&Step::Logfire)).then(|| format!("{} ({})", since.0, since.1));

    // 3–6 together
    if gate_open {
        let frontend = async {
            match skipped(plan, Step::Frontend) {
                Some(r) => r,
                None => timed(steps::frontend(plan, overall, progress)).await,
            }
        };
        let smoke = async {
            match skipped(plan, Step::Smoke) {
                Some(r) => r,
                None => timed(steps::smoke(plan, progress)).await,
            }
        };
        let schema = async {
            match (skipped(plan, Step::Schema), &health) {
                (Some(r), _) => r,
                (None, Some((h, body))) => steps::schema(h, body),
                (None, None) => StepReport::new(
                    Step::Schema,
                    Verdict::Skipped,
                    "no health body to read the schema from",
                ),
            }
        };
        let logfire = async {
            match skipped(plan, Step::Logfire) {
                Some(r) => r,
                None => timed(steps::logfire(plan, &since, overall, progress)).await,
            }
        };
        let (f, s, sc, l) = tokio::join!(frontend, smoke, schema, logfire);
        reports.extend([f, s, sc, l]);
    } else {
        for step in [Step::Frontend, Step::Smoke, Step::Schema, Step::Logfire] {
            reports.push(skipped(plan, step).unwrap_or_else(|| not_run(step, failed_gate)));
        }
    }

    // Skipping every step proves nothing: at least one check must have passed.
    let verified = reports
        .iter()
        .all(|r| matches!(r.verdict, Verdict::Passed | Verdict::Skipped))
        && reports.iter().any(|r| r.verdict == Verdict::Passed);
    Report {
        environment: plan.environment.clone(),
        sha: plan.sha.clone(),
        sha_source: plan.sha_source.clone(),
        repo: plan.repo.as_ref().map(|r| r.to_string()),
        backend_url: plan.backend_url.clone(),
        logfire_since,
        verified,
        marker_written: false,
        steps: reports,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

fn not_run(step: Step, because: &str) -> StepReport {
    StepReport::new(
        step,
        Verdict::NotRun,
        format!("not run because {because} failed"),
    )
}

/// Writes the `deploy-verified` marker when the report is verified; nothing otherwise.
pub fn finish(plan: &Plan, report: &mut Report) -> Result<(), MarkerError> {
    if !report.verified {
        return Ok(());
    }
    plan.store.write_deploy_verified(&DeployVerified {
        environment: plan.environment.clone(),
        sha: plan.sha.clone(),
        time: Timestamp::now(),
        checks: report.passed_checks(),
        time_utc: String::new(),
    })?;
    report.marker_written = true;
    Ok(())
}
