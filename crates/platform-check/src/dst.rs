//! dst-sim against the app: the command, and its `--json` summary read into findings (one per
//! violation class — invariant, operation and message shape — with how many seeds hit it; a
//! summary from a dst-sim without classes gives one per violated invariant).

use crate::error::StepError;
use crate::phase::Phase;
use crate::procs::Group;
use crate::report::{Finding, Severity, Tool};
use rustix::process::Signal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct DstOptions {
    pub binary: PathBuf,
    pub seeds: String,
    pub steps: usize,
    pub jobs: usize,
    /// `K/N`: one shard of the seed range (CI's matrix).
    pub shard: Option<String>,
    pub known: Option<PathBuf>,
    /// dst-sim --strict: coverage warnings (a rule that never fired...) fail the run.
    pub strict: bool,
    /// Where dst-sim writes its JUnit (default: the report directory).
    pub junit: Option<PathBuf>,
    /// Shrink iterations per failing seed: each replays a trace against the live app, so on the
    /// real platform dst-sim's default of 200 would dominate the run.
    pub shrink_iters: usize,
}

/// What one dst-sim run left: its findings, its exit code and where its files are.
#[derive(Debug, Clone)]
pub struct DstOutcome {
    pub findings: Vec<Finding>,
    pub exit_code: i32,
    pub summary_file: PathBuf,
    pub seeds_run: usize,
}

/// Runs dst-sim with `--faults --json` against `target`; exit 2 (or a summary that cannot be
/// read) is an infrastructure error, 0 and 1 are results.
pub fn run(
    opts: &DstOptions,
    target: &str,
    admin_key: &str,
    out_dir: &Path,
    log: &Path,
) -> Result<(DstOutcome, String), StepError> {
    let summary_file = out_dir.join("dst-summary.json");
    let mut c = Command::new(&opts.binary);
    c.args(["run", "--target", target, "--faults", "--json"])
        .args(["--seeds", &opts.seeds])
        .args(["--steps", &opts.steps.to_string()])
        .args(["--jobs", &opts.jobs.to_string()])
        .args(["--shrink-iters", &opts.shrink_iters.to_string()])
        .arg("--out")
        .arg(out_dir.join("dst-out"))
        .arg("--junit")
        .arg(
            opts.junit
                .clone()
                .unwrap_or_else(|| out_dir.join("dst-junit.xml")),
        )
        // The key goes in the environment, never on a command line others can read.
        .env("DSF_ADMIN_KEY", admin_key);
    if let Some(s) = &opts.shard {
        c.args(["--shard", s]);
    }
    if let Some(k) = &opts.known {
        c.arg("--known").arg(k);
    }
    if opts.strict {
        c.arg("--strict");
    }
    let mut g = Group::spawn_split(
        Phase::Dst,
        "dst-sim",
        c,
        Some(&summary_file),
        log,
        Signal::TERM,
    )?;
    let status = g.wait(Some(Duration::from_secs(4 * 3600)));
    let code = status.and_then(|s| s.code()).unwrap_or(-1);
    if code != 0 && code != 1 {
        return Err(
            StepError::new(Phase::Dst, format!("dst-sim could not run (exit {code})"))
                .with_log(log),
        );
    }
    let text = std::fs::read_to_string(&summary_file).unwrap_or_default();
    let summary = extract_json(&text).ok_or_else(|| {
        StepError::new(Phase::Dst, "dst-sim printed no --json summary").with_log(log)
    })?;
    let mut findings = findings(&summary);
    if code == 1 && findings.is_empty() {
        // Exit 1 without a violation: --strict's coverage warnings. They are a finding too, or
        // the flag would be silently ignored.
        findings.push(coverage_finding(&summary));
    }
    let seeds_run = summary["seeds"].as_array().map_or(0, |a| a.len());
    let detail = format!(
        "{seeds_run} seeds, {} violation class(es), exit {code}",
        findings.len()
    );
    Ok((
        DstOutcome {
            findings,
            exit_code: code,
            summary_file,
            seeds_run,
        },
        detail,
    ))
}

/// dst-sim's coverage warnings (under --strict) as one finding.
pub fn coverage_finding(summary: &Value) -> Finding {
    let warnings: Vec<String> = summary["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w.as_str().map(str::to_string))
        .collect();
    Finding {
        tool: Tool::Dst,
        id: "dst:coverage".into(),
        title: "coverage below --strict".into(),
        code: "coverage".into(),
        severity: Severity::Medium,
        operations: Vec::new(),
        count: warnings.len().max(1) as u64,
        examples: warnings.iter().take(10).cloned().collect(),
        detail: warnings.join("\n"),
        reproduce: String::new(),
        known: false,
    }
}

/// The summary object in dst-sim's output: the last top-level `{ ... }` block that parses (the
/// output interleaves stderr lines with the pretty-printed JSON on stdout).
pub fn extract_json(text: &str) -> Option<Value> {
    let lines: Vec<&str> = text.lines().collect();
    let ends: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == "}").collect();
    for &end in ends.iter().rev() {
        for start in (0..=end).rev().filter(|&i| lines[i] == "{") {
            let block = lines[start..=end].join("\n");
            if let Ok(v) = serde_json::from_str::<Value>(&block)
                && v.is_object()
            {
                return Some(v);
            }
        }
    }
    serde_json::from_str(text.trim()).ok()
}

/// One finding per invariant: every failing seed, the first message, whether the known file
/// covers it (`known: true` on the failure record).
pub fn findings(summary: &Value) -> Vec<Finding> {
    match summary["classes"].as_array() {
        Some(classes) if !classes.is_empty() => classes.iter().map(class_finding).collect(),
        _ => invariant_findings(summary),
    }
}

/// One dst-sim violation class. The id is the class key, which dst-sim keeps stable across runs
/// (ids, numbers, names and per-racer lists are taken out), so an accepted report works as a
/// known list; the class's own `known` is dst-sim's known file speaking.
fn class_finding(c: &Value) -> Finding {
    let text = |k: &str| c[k].as_str().unwrap_or("").to_string();
    let key = text("key");
    Finding {
        tool: Tool::Dst,
        id: format!("dst:{key}"),
        title: key,
        code: text("invariant"),
        severity: Severity::High,
        operations: vec![text("operation")]
            .into_iter()
            .filter(|o| !o.is_empty())
            .collect(),
        count: c["seeds"].as_u64().unwrap_or(1),
        examples: c["first_seed"]
            .as_u64()
            .map(|s| vec![format!("first seed {s}")])
            .unwrap_or_default(),
        detail: text("message"),
        reproduce: text("reproduce"),
        known: c["known"].as_bool().unwrap_or(false),
    }
}

/// A summary without classes (`--fail-fast`, or a dst-sim from before keep-going): one finding per
/// violated invariant, with every seed that hit it.
fn invariant_findings(summary: &Value) -> Vec<Finding> {
    let mut by_inv: BTreeMap<String, Finding> = BTreeMap::new();
    let Some(failures) = summary["failures"].as_array() else {
        return Vec::new();
    };
    for f in failures {
        let inv = f["invariant"].as_str().unwrap_or("unknown").to_string();
        let seed = f["seed"].as_u64().map_or("?".into(), |s| s.to_string());
        let known = f["known"].as_bool().unwrap_or(false);
        let e = by_inv.entry(inv.clone()).or_insert_with(|| Finding {
            tool: Tool::Dst,
            id: format!("dst:{inv}"),
            title: inv.clone(),
            code: "invariant".into(),
            severity: Severity::High,
            operations: Vec::new(),
            count: 0,
            examples: Vec::new(),
            detail: f["message"].as_str().unwrap_or("").to_string(),
            reproduce: f["reproduce"].as_str().unwrap_or("").to_string(),
            known,
        });
        e.count += 1;
        e.known &= known;
        if e.examples.len() < 10 {
            e.examples.push(format!("seed {seed}"));
        }
    }
    by_inv.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failures_group_by_invariant_and_known_needs_every_record_known() {
        let s = json!({"seeds": [1,2,3], "failures": [
            {"seed": 1, "invariant": "graduation", "message": "world id null", "reproduce": "dst-sim run --seed 1"},
            {"seed": 3, "invariant": "graduation", "message": "world id null again", "reproduce": "x"},
            {"seed": 2, "invariant": "no_5xx", "message": "500 on GET", "reproduce": "y", "known": true}
        ]});
        let f = findings(&s);
        assert_eq!(f.len(), 2);
        let g = f.iter().find(|x| x.id == "dst:graduation").unwrap();
        assert_eq!(g.count, 2);
        assert_eq!(g.examples, vec!["seed 1", "seed 3"]);
        assert_eq!(g.detail, "world id null");
        assert!(!g.known);
        assert!(f.iter().find(|x| x.id == "dst:no_5xx").unwrap().known);
    }

    #[test]
    fn each_violation_class_is_one_finding_keyed_by_its_class() {
        let s = json!({"seeds": [0, 1, 2], "failures": [
            {"seed": 0, "invariant": "21-idempotency-key", "message": "m0", "reproduce": "r0"},
            {"seed": 1, "invariant": "21-idempotency-key", "message": "m1", "reproduce": "r1"}
        ], "classes": [
            {"key": "21-idempotency-key idem-concurrent: <n> requests", "invariant": "21-idempotency-key",
             "operation": "idem-concurrent", "seeds": 2, "first_seed": 0, "message": "4 requests",
             "reproduce": "dst-sim replay seed-0.json", "known": false},
            {"key": "21-idempotency-key idem-other-agent: replayed", "invariant": "21-idempotency-key",
             "operation": "idem-other-agent", "seeds": 1, "first_seed": 1, "message": "replayed",
             "reproduce": "dst-sim replay seed-1.json", "known": true}
        ]});
        let f = findings(&s);
        // two classes of one invariant are two findings, not one per invariant
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0].id,
            "dst:21-idempotency-key idem-concurrent: <n> requests"
        );
        assert_eq!(f[0].count, 2);
        assert_eq!(f[0].operations, vec!["idem-concurrent"]);
        assert_eq!(f[0].examples, vec!["first seed 0"]);
        assert_eq!(f[0].detail, "4 requests");
        assert!(!f[0].known);
        assert!(f[1].known);
        assert_eq!(f[1].reproduce, "dst-sim replay seed-1.json");
    }

    #[test]
    fn strict_coverage_warnings_become_one_finding() {
        let f = coverage_finding(&json!({"warnings": ["rule claim never fired", "ratio low"]}));
        assert_eq!(f.id, "dst:coverage");
        assert_eq!(f.count, 2);
        assert_eq!(f.detail, "rule claim never fired\nratio low");
    }

    #[test]
    fn the_summary_is_found_among_log_lines() {
        let text =
            "dst-sim: starting\n{\n  \"seeds\": [0],\n  \"failures\": []\n}\nwarning: late line\n";
        let v = extract_json(text).unwrap();
        assert_eq!(v["seeds"], json!([0]));
        assert!(extract_json("no json here").is_none());
    }
}
