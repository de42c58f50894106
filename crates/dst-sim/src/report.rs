//! Run summaries: coverage accounting, the table, JSON, JUnit and the GitHub step summary.

use crate::driver::RuleCount;
use crate::invariants::Invariant;
use crate::model::{FaultKind, Rule};
use crate::run::{Execution, FaultCount};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailedSeed {
    pub seed: u64,
    pub invariant: Invariant,
    pub message: String,
    pub shrunk_steps: usize,
    pub trace_file: Option<String>,
    pub reproduce: String,
}

/// One violation class of a run: reported once, however many seeds hit it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassReport {
    /// `invariant operation: shape` (the known-violations file's key).
    pub key: String,
    pub invariant: Invariant,
    /// The rule or fault kind of the step, or `end-of-seed`.
    pub operation: String,
    /// Seeds that hit it.
    pub seeds: u64,
    pub first_seed: u64,
    /// The first seed's message (ids and numbers intact).
    pub message: String,
    #[serde(default)]
    pub shrunk_steps: Option<usize>,
    #[serde(default)]
    pub trace_file: Option<String>,
    #[serde(default)]
    pub reproduce: Option<String>,
    /// Listed in the known-violations file (does not fail the run).
    #[serde(default)]
    pub known: bool,
    /// The known file's reason and issue link for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub seeds: Vec<u64>,
    pub steps: u64,
    pub effective_steps: u64,
    pub rules: BTreeMap<Rule, RuleCount>,
    pub invariants: BTreeMap<Invariant, u64>,
    /// Per fault kind: generated / actually fired (empty without `--faults`).
    #[serde(default)]
    pub faults: BTreeMap<FaultKind, FaultCount>,
    /// What the target was probed to have before the seeds ran (`capabilities.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<crate::capabilities::Capabilities>,
    /// Seeds in which every rule fired / every invariant had a non-vacuous check.
    pub seeds_all_rules: u64,
    pub seeds_all_invariants: u64,
    pub failures: Vec<FailedSeed>,
    /// Every distinct violation class, in the order first seen.
    #[serde(default)]
    pub classes: Vec<ClassReport>,
    /// Known-file entries whose class did not occur in this run (the file can shrink).
    #[serde(default)]
    pub stale_known: Vec<String>,
    pub warnings: Vec<String>,
    pub elapsed_seconds: f64,
    /// `--check-determinism`: seeds checked and every seed whose two runs differed (a harness
    /// defect: exit 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub determinism: Option<crate::determinism::DeterminismReport>,
    /// Who decided the order of racing requests (with `--faults`): `seeded` or `target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interleaving: Option<crate::driver::Interleaving>,
}

impl Summary {
    /// The invariants this run's steps can reach: the concurrency invariants only with `--faults`
    /// (a run with faults always has fault counts, possibly zero).
    fn judged_invariants(&self) -> impl Iterator<Item = &'static Invariant> + use<> {
        let faults = !self.faults.is_empty();
        Invariant::all()
            .iter()
            .filter(move |i| faults || !i.needs_faults())
    }

    pub fn add(&mut self, seed: u64, ex: &Execution) {
        self.seeds.push(seed);
        self.steps += ex.steps_run as u64;
        self.effective_steps += ex.effective_steps;
        for (k, v) in &ex.rules {
            let e = self.rules.entry(*k).or_default();
            e.fired += v.fired;
            e.succeeded += v.succeeded;
            e.rejected_as_predicted += v.rejected_as_predicted;
        }
        for (k, v) in &ex.invariants {
            *self.invariants.entry(*k).or_default() += v;
        }
        for (k, v) in &ex.faults {
            let e = self.faults.entry(*k).or_default();
            e.generated += v.generated;
            e.fired += v.fired;
        }
        if let Some(c) = &ex.determinism {
            self.determinism.get_or_insert_default().add(c);
        }
        if ex.rules.values().all(|r| r.fired > 0) {
            self.seeds_all_rules += 1;
        }
        if ex.invariants.values().all(|n| *n > 0) {
            self.seeds_all_invariants += 1;
        }
    }

    /// Counts `seed` for each class of `ex`; a new class takes its trace from `trace`.
    pub fn add_classes(
        &mut self,
        seed: u64,
        ex: &Execution,
        trace: Option<(&crate::run::Trace, &std::path::Path)>,
    ) {
        for (class, v) in &ex.violations {
            let key = class.key();
            if let Some(c) = self.classes.iter_mut().find(|c| c.key == key) {
                c.seeds += 1;
                c.first_seed = c.first_seed.min(seed);
                continue;
            }
            self.classes.push(ClassReport {
                key,
                invariant: class.invariant,
                operation: class.operation.clone(),
                seeds: 1,
                first_seed: seed,
                message: v.message.clone(),
                shrunk_steps: trace.map(|(t, _)| t.steps.len()),
                trace_file: trace.map(|(_, f)| f.display().to_string()),
                reproduce: trace.map(|(t, _)| t.reproduce.clone()),
                known: false,
                reason: None,
                issue: None,
            });
        }
    }

    pub fn merge(&mut self, other: Summary) {
        self.seeds.extend(other.seeds);
        if let Some(d) = other.determinism {
            self.determinism.get_or_insert_default().merge(d);
        }
        self.steps += other.steps;
        self.effective_steps += other.effective_steps;
        for (k, v) in other.rules {
            let e = self.rules.entry(k).or_default();
            e.fired += v.fired;
            e.succeeded += v.succeeded;
            e.rejected_as_predicted += v.rejected_as_predicted;
        }
        for (k, v) in other.invariants {
            *self.invariants.entry(k).or_default() += v;
        }
        for (k, v) in other.faults {
            let e = self.faults.entry(k).or_default();
            e.generated += v.generated;
            e.fired += v.fired;
        }
        self.seeds_all_rules += other.seeds_all_rules;
        self.seeds_all_invariants += other.seeds_all_invariants;
        self.failures.extend(other.failures);
        for c in other.classes {
            match self.classes.iter_mut().find(|m| m.key == c.key) {
                Some(m) => {
                    m.seeds += c.seeds;
                    if c.first_seed < m.first_seed {
                        *m = ClassReport {
                            seeds: m.seeds,
                            ..c
                        };
                    }
                }
                None => self.classes.push(c),
            }
        }
        // shards of one run probed one target
        if self.capabilities.is_none() {
            self.capabilities = other.capabilities;
        }
        self.elapsed_seconds = self.elapsed_seconds.max(other.elapsed_seconds);
    }

    pub fn effective_ratio(&self) -> f64 {
        if self.steps == 0 {
            0.0
        } else {
            self.effective_steps as f64 / self.steps as f64
        }
    }

    /// Coverage warnings: below the floor, or a rule / invariant that never fired.
    pub fn compute_warnings(&mut self, floor: f64) {
        self.warnings.clear();
        if self.effective_ratio() < floor {
            self.warnings.push(format!(
                "effective-step ratio {:.3} is below the floor {floor}",
                self.effective_ratio()
            ));
        }
        for r in Rule::all() {
            if self.rules.get(r).is_none_or(|c| c.fired == 0) {
                self.warnings.push(format!("rule {} never fired", r));
            }
        }
        for i in self.judged_invariants() {
            if self.invariants.get(i).is_none_or(|n| *n == 0) {
                self.warnings
                    .push(format!("invariant {} was never checked non-vacuously", i));
            }
        }
        for (k, c) in &self.faults {
            if c.fired == 0 {
                self.warnings.push(format!(
                    "fault {k} never fired (generated {} time(s))",
                    c.generated
                ));
            }
        }
    }

    pub fn table(&self) -> String {
        let mut s = String::new();
        let n = self.seeds.len();
        s.push_str(&format!(
            "dst-sim: {n} seeds, {} steps ({} effective, ratio {:.3}), {} failing seed(s), {:.1}s\n",
            self.steps,
            self.effective_steps,
            self.effective_ratio(),
            self.failures.len(),
            self.elapsed_seconds
        ));
        s.push_str(&format!(
            "every rule fired in {}/{n} seeds; every invariant checked in {}/{n} seeds\n\n",
            self.seeds_all_rules, self.seeds_all_invariants
        ));
        if let Some(c) = &self.capabilities {
            for line in c.lines() {
                s.push_str(&line);
                s.push('\n');
            }
            s.push('\n');
        }
        s.push_str(&format!(
            "{:<24} {:>8} {:>10} {:>10}\n",
            "rule", "fired", "succeeded", "rejected✓"
        ));
        for r in Rule::all() {
            let c = self.rules.get(r).cloned().unwrap_or_default();
            s.push_str(&format!(
                "{:<24} {:>8} {:>10} {:>10}\n",
                r, c.fired, c.succeeded, c.rejected_as_predicted
            ));
        }
        s.push_str(&format!("\n{:<26} {:>10}\n", "invariant", "checks"));
        for i in self.judged_invariants() {
            s.push_str(&format!(
                "{:<26} {:>10}\n",
                i,
                self.invariants.get(i).copied().unwrap_or(0)
            ));
        }
        if !self.faults.is_empty() {
            s.push_str(&format!(
                "\n{:<26} {:>10} {:>10}\n",
                "fault", "generated", "fired"
            ));
            for (k, c) in &self.faults {
                s.push_str(&format!("{k:<26} {:>10} {:>10}\n", c.generated, c.fired));
            }
            if let Some(i) = self.interleaving {
                s.push_str(&format!("races interleaved by: {i}\n"));
            }
        }
        for c in &self.classes {
            s.push_str(&format!(
                "\n{} {} in {} seed(s), first seed {}: {}\n  class: {}\n",
                if c.known {
                    "known violation"
                } else {
                    "VIOLATION"
                },
                c.invariant,
                c.seeds,
                c.first_seed,
                c.message,
                c.key
            ));
            if let Some(r) = &c.reason {
                s.push_str(&format!(
                    "  known: {r}{}\n",
                    c.issue
                        .as_ref()
                        .map(|i| format!(" ({i})"))
                        .unwrap_or_default()
                ));
            }
            if let (Some(n), Some(r)) = (c.shrunk_steps, &c.reproduce) {
                s.push_str(&format!("  shrunk to {n} steps; reproduce: {r}\n"));
            }
        }
        for k in &self.stale_known {
            s.push_str(&format!(
                "stale known class (no longer occurs; remove it from the known file): {k}\n"
            ));
        }
        for w in &self.warnings {
            s.push_str(&format!("warning: {w}\n"));
        }
        if let Some(d) = &self.determinism {
            for x in &d.differences {
                s.push_str(&format!("\n{}\n", x.line()));
            }
            s.push_str(&format!(
                "determinism: {} seed(s) run twice, {} with different sequences\n",
                d.seeds_checked,
                d.differences.len()
            ));
        }
        s
    }

    /// Seeds whose two runs differed under `--check-determinism` (a harness defect).
    pub fn nondeterministic_seeds(&self) -> usize {
        self.determinism.as_ref().map_or(0, |d| d.differences.len())
    }

    /// Whether the run found something to fail on: a violation class not in the known file (or,
    /// for summaries without classes, any failing seed).
    pub fn has_new_violations(&self) -> bool {
        if self.classes.is_empty() {
            !self.failures.is_empty()
        } else {
            self.classes.iter().any(|c| !c.known)
        }
    }

    pub fn markdown(&self) -> String {
        let mut s = format!(
            "## dst-sim\n\n{} seeds · {} steps · effective ratio {:.3} · **{} failing**\n\n| rule | fired | succeeded | rejected as predicted |\n|---|---:|---:|---:|\n",
            self.seeds.len(),
            self.steps,
            self.effective_ratio(),
            self.failures.len()
        );
        for r in Rule::all() {
            let c = self.rules.get(r).cloned().unwrap_or_default();
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                r, c.fired, c.succeeded, c.rejected_as_predicted
            ));
        }
        s.push_str("\n| invariant | checks |\n|---|---:|\n");
        for i in self.judged_invariants() {
            s.push_str(&format!(
                "| {} | {} |\n",
                i,
                self.invariants.get(i).copied().unwrap_or(0)
            ));
        }
        if !self.faults.is_empty() {
            s.push_str("\n| fault | generated | fired |\n|---|---:|---:|\n");
            for (k, c) in &self.faults {
                s.push_str(&format!("| {k} | {} | {} |\n", c.generated, c.fired));
            }
        }
        for f in &self.failures {
            s.push_str(&format!(
                "\n**seed {}**: `{}` — {} (`{}`)\n",
                f.seed,
                f.invariant,
                markers::gha::md_cell(&f.message),
                f.reproduce
            ));
        }
        s
    }

    /// JUnit XML: one test case per seed.
    pub fn junit(&self) -> String {
        fn esc(s: &str) -> String {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        }
        let mut s = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"dst-sim\" tests=\"{}\" failures=\"{}\">\n",
            self.seeds.len(),
            self.failures.len()
        );
        for seed in &self.seeds {
            s.push_str(&format!(
                "  <testcase classname=\"dst-sim\" name=\"seed {seed}\""
            ));
            match self.failures.iter().find(|f| f.seed == *seed) {
                Some(f) => s.push_str(&format!(
                    ">\n    <failure message=\"{}\">{}\n{}</failure>\n  </testcase>\n",
                    esc(&f.invariant.to_string()),
                    esc(&f.message),
                    esc(&f.reproduce)
                )),
                None => s.push_str("/>\n"),
            }
        }
        s.push_str("</testsuite>\n</testsuites>\n");
        s
    }
}
