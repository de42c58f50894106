//! The `mutants` scorecard: the embedded platform once per planted bug (and once clean) with the
//! fault layer on; each bug must be caught within the seed range, the clean platform must have no
//! violation.

use super::seeds::{run_seeds, shrink_and_write, shutdown};
use crate::invariants::Invariant;
use crate::run::{Execution, RunError, Target};
use reference_platform::Bug;
use std::path::PathBuf;
use std::sync::Arc;

/// One line of the mutants scorecard.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct MutantRecord {
    /// The planted bug, or `clean` for the run without bugs.
    pub bug: String,
    /// For a bug: caught within the seed range. For `clean`: no violation.
    pub caught: bool,
    pub first_failing_seed: Option<u64>,
    pub invariant: Option<Invariant>,
    pub shrunk_steps: Option<usize>,
    pub trace_file: Option<String>,
    /// Seeds run (a bug stops at its first failing chunk).
    pub seeds_run: usize,
    /// Violations seen (the clean run must have none).
    pub violations: usize,
    /// Fault kinds that fired in this run, of those generated.
    pub faults_fired: usize,
}

/// How `dst-sim mutants` runs (validated by the command line).
#[derive(Debug, Clone)]
pub struct MutantsOptions {
    /// The seeds each bug gets to be caught in.
    pub seeds: Vec<u64>,
    pub steps: usize,
    pub jobs: usize,
    /// Where the shrunk trace of each caught bug is written.
    pub out: PathBuf,
    pub shrink_iters: usize,
}

/// `dst-sim mutants`: the scorecard, over `bugs` (in their order), then `clean`.
pub async fn scorecard(
    bugs: &[Bug],
    opts: &MutantsOptions,
    progress: bool,
) -> Result<Vec<MutantRecord>, RunError> {
    let mut records = Vec::new();
    let chunk = (opts.jobs * 4).max(1);
    for bug in bugs.iter().map(Some).chain([None]) {
        let label = bug
            .map(|b| b.name().to_string())
            .unwrap_or_else(|| "clean".into());
        if progress {
            eprintln!("mutants: {label} …");
        }
        let target = Arc::new(
            Target::embedded_with(&bug.map(|b| vec![*b]).unwrap_or_default(), true).await?,
        );
        let mut rec = MutantRecord {
            bug: label.clone(),
            caught: false,
            first_failing_seed: None,
            invariant: None,
            shrunk_steps: None,
            trace_file: None,
            seeds_run: 0,
            violations: 0,
            faults_fired: 0,
        };
        let mut fired = std::collections::BTreeSet::new();
        for part in opts.seeds.chunks(chunk) {
            let results = run_seeds(&target, part, opts.steps, opts.jobs, None).await?;
            rec.seeds_run += part.len();
            for (_, ex) in &results {
                fired.extend(
                    ex.faults
                        .iter()
                        .filter(|(_, c)| c.fired > 0)
                        .map(|(k, _)| *k),
                );
            }
            let failing: Vec<&(u64, Execution)> = results
                .iter()
                .filter(|(_, ex)| ex.violation.is_some())
                .collect();
            rec.violations += failing.len();
            if bug.is_some()
                && let Some((seed, ex)) = failing.first()
            {
                let (trace, file) = shrink_and_write(
                    &target,
                    *seed,
                    opts.steps,
                    ex,
                    opts.shrink_iters,
                    (&opts.out.join(format!("{label}-seed-{seed}.json")), None),
                    None,
                )
                .await?;
                rec.caught = true;
                rec.first_failing_seed = Some(*seed);
                rec.invariant = Some(trace.violation.invariant);
                rec.shrunk_steps = Some(trace.steps.len());
                rec.trace_file = Some(file.display().to_string());
                break;
            }
        }
        if bug.is_none() {
            rec.caught = rec.violations == 0;
        }
        rec.faults_fired = fired.len();
        shutdown(target).await;
        records.push(rec);
    }
    Ok(records)
}

pub fn mutants_table(records: &[MutantRecord]) -> String {
    let mut s = format!(
        "{:<28} {:<8} {:>12} {:>8}  {}\n",
        "planted bug", "caught", "first seed", "shrunk", "invariant"
    );
    for r in records {
        if r.bug == "clean" {
            s.push_str(&format!(
                "{:<28} {:<8} {:>12} {:>8}  {} violation(s) in {} seeds, {} fault kinds fired\n",
                "(clean platform)",
                if r.caught { "ok" } else { "FAILED" },
                "-",
                "-",
                r.violations,
                r.seeds_run,
                r.faults_fired
            ));
        } else {
            s.push_str(&format!(
                "{:<28} {:<8} {:>12} {:>8}  {}\n",
                r.bug,
                if r.caught { "yes" } else { "NO" },
                r.first_failing_seed
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                r.shrunk_steps
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                r.invariant
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| format!("not caught in {} seeds", r.seeds_run))
            ));
        }
    }
    s
}

/// The scorecard as a GitHub step-summary table.
pub fn mutants_markdown(records: &[MutantRecord]) -> String {
    let mut md = String::from(
        "## dst-sim mutants\n\n| planted bug | caught | first failing seed | shrunk steps | invariant |\n|---|---|---:|---:|---|\n",
    );
    for r in records {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.bug,
            r.caught,
            r.first_failing_seed
                .map(|s| s.to_string())
                .unwrap_or_default(),
            r.shrunk_steps.map(|s| s.to_string()).unwrap_or_default(),
            r.invariant.map(|i| i.to_string()).unwrap_or_default()
        ));
    }
    md
}
