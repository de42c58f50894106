//! The one report: both tools' distinct failures as findings, grouped, marked known or new, with
//! the phases that ran. JSON is the contract (CI merges shards' reports); Markdown is for people.

use crate::phase::PhaseRecord;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The report format's version (bump on an incompatible change).
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    Dst,
    Schemathesis,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Dst => "dst-sim",
            Tool::Schemathesis => "Schemathesis",
        }
    }
}

/// Schemathesis's severities; dst-sim's invariant violations count as high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn parse(s: &str) -> Severity {
        match s {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

/// One distinct failure: a violated invariant (dst-sim) or a failed check on one operation
/// (Schemathesis). `id` is stable across runs so a report can serve as the known list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub tool: Tool,
    pub id: String,
    pub title: String,
    /// Schemathesis's check code (ST101...) or "invariant".
    pub code: String,
    pub severity: Severity,
    #[serde(default)]
    pub operations: Vec<String>,
    pub count: u64,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub reproduce: String,
    #[serde(default)]
    pub known: bool,
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Everything ran; no new finding.
    Pass,
    /// Everything ran; at least one new finding.
    NewFindings,
    /// A phase could not run.
    Error,
}

impl Outcome {
    pub fn exit(self) -> markers::ExitStatus {
        match self {
            Outcome::Pass => markers::ExitStatus::Pass,
            Outcome::NewFindings => markers::ExitStatus::Fail,
            Outcome::Error => markers::ExitStatus::Error,
        }
    }
}

/// The failing step, for exit 2.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub phase: String,
    pub message: String,
    pub log: Option<String>,
    pub tail: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub format: u32,
    pub outcome: Outcome,
    /// The checkout (or the target URL when none).
    pub platform: String,
    pub commit: Option<String>,
    pub phases: Vec<PhaseRecordOwned>,
    pub findings: Vec<Finding>,
    pub error: Option<ErrorInfo>,
    /// Files the tools wrote (summaries, JUnit, NDJSON), for upload.
    #[serde(default)]
    pub artifacts: Vec<String>,
}

/// A phase line as stored (the live one borrows nothing, but keeps the enum).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseRecordOwned {
    pub phase: String,
    pub ok: bool,
    pub seconds: f64,
    pub detail: String,
}

impl From<&PhaseRecord> for PhaseRecordOwned {
    fn from(r: &PhaseRecord) -> Self {
        PhaseRecordOwned {
            phase: r.phase.name().to_string(),
            ok: r.ok,
            seconds: r.seconds,
            detail: r.detail.clone(),
        }
    }
}

impl Report {
    pub fn new_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.known)
    }

    /// Sorts findings (new first, then severity, tool, id) and sets the outcome from them unless
    /// the run already ended in an error.
    pub fn finish(&mut self) {
        self.findings.sort_by(|a, b| {
            (a.known, a.severity, a.tool, &a.id).cmp(&(b.known, b.severity, b.tool, &b.id))
        });
        if self.error.is_none() {
            self.outcome = if self.new_findings().next().is_some() {
                Outcome::NewFindings
            } else {
                Outcome::Pass
            };
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn read(path: &Path) -> Result<Report, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a platform-check report: {e}", path.display()))
    }
}

/// Marks as known every finding whose id the accepted report lists.
pub fn apply_known(findings: &mut [Finding], accepted: &BTreeSet<String>) {
    for f in findings {
        if accepted.contains(&f.id) {
            f.known = true;
        }
    }
}

/// The finding ids a known file accepts: a platform-check JSON report (all its findings).
pub fn known_ids(path: &Path) -> Result<BTreeSet<String>, String> {
    Ok(Report::read(path)?
        .findings
        .into_iter()
        .map(|f| f.id)
        .collect())
}

/// Merges reports of one run split across jobs (CI's shards + Schemathesis): findings with the
/// same id are one finding (counts added, examples and operations united, known only if known
/// everywhere), phases concatenated, the first error kept.
pub fn merge(reports: Vec<Report>) -> Report {
    let mut by_id: BTreeMap<String, Finding> = BTreeMap::new();
    let mut out = Report {
        format: FORMAT,
        outcome: Outcome::Pass,
        platform: String::new(),
        commit: None,
        phases: Vec::new(),
        findings: Vec::new(),
        error: None,
        artifacts: Vec::new(),
    };
    for r in reports {
        if out.platform.is_empty() {
            out.platform = r.platform;
        }
        out.commit = out.commit.or(r.commit);
        out.phases.extend(r.phases);
        out.artifacts.extend(r.artifacts);
        if out.error.is_none() {
            out.error = r.error;
        }
        for f in r.findings {
            match by_id.get_mut(&f.id) {
                None => {
                    by_id.insert(f.id.clone(), f);
                }
                Some(e) => {
                    e.count += f.count;
                    e.known &= f.known;
                    for x in f.examples {
                        if e.examples.len() < 10 && !e.examples.contains(&x) {
                            e.examples.push(x);
                        }
                    }
                    for o in f.operations {
                        if !e.operations.contains(&o) {
                            e.operations.push(o);
                        }
                    }
                }
            }
        }
    }
    out.findings = by_id.into_values().collect();
    if out.error.is_some() {
        out.outcome = Outcome::Error;
    }
    out.finish();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn finding(tool: Tool, id: &str, sev: Severity, known: bool) -> Finding {
        Finding {
            tool,
            id: id.into(),
            title: id.into(),
            code: "ST101".into(),
            severity: sev,
            operations: vec![format!("GET /{id}")],
            count: 1,
            examples: vec![format!("ex-{id}")],
            detail: String::new(),
            reproduce: String::new(),
            known,
        }
    }

    fn report(findings: Vec<Finding>) -> Report {
        let mut r = Report {
            format: FORMAT,
            outcome: Outcome::Pass,
            platform: "p".into(),
            commit: Some("abc".into()),
            phases: vec![],
            findings,
            error: None,
            artifacts: vec![],
        };
        r.finish();
        r
    }

    #[test]
    fn outcome_is_new_findings_only_when_one_is_not_known() {
        let r = report(vec![finding(Tool::Dst, "dst:a", Severity::High, true)]);
        assert_eq!(r.outcome, Outcome::Pass);
        assert_eq!(r.outcome.exit().code(), 0);
        let r = report(vec![
            finding(Tool::Dst, "dst:a", Severity::High, true),
            finding(Tool::Schemathesis, "st:b", Severity::Low, false),
        ]);
        assert_eq!(r.outcome, Outcome::NewFindings);
        assert_eq!(r.outcome.exit().code(), 1);
        // new before known, then by severity
        assert_eq!(r.findings[0].id, "st:b");
    }

    #[test]
    fn merging_shards_unites_the_same_finding() {
        let a = report(vec![finding(Tool::Dst, "dst:a", Severity::High, false)]);
        let mut b = report(vec![
            finding(Tool::Dst, "dst:a", Severity::High, false),
            finding(Tool::Schemathesis, "st:x", Severity::Critical, true),
        ]);
        b.findings[0].examples = vec!["seed 7".into()];
        let m = merge(vec![a, b]);
        assert_eq!(m.findings.len(), 2);
        let d = m.findings.iter().find(|f| f.id == "dst:a").unwrap();
        assert_eq!(d.count, 2);
        assert_eq!(d.examples, vec!["ex-dst:a", "seed 7"]);
        assert_eq!(m.outcome, Outcome::NewFindings);
    }

    #[test]
    fn an_error_in_any_shard_makes_the_merge_an_error() {
        let a = report(vec![]);
        let mut b = report(vec![]);
        b.error = Some(ErrorInfo {
            phase: "start".into(),
            message: "boom".into(),
            log: None,
            tail: vec![],
        });
        let m = merge(vec![a, b]);
        assert_eq!(m.outcome, Outcome::Error);
        assert_eq!(m.outcome.exit().code(), 2);
    }

    #[test]
    fn known_ids_come_from_an_earlier_report() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("known.json");
        let earlier = report(vec![finding(
            Tool::Schemathesis,
            "st:x",
            Severity::High,
            false,
        )]);
        std::fs::write(&p, earlier.to_json()).unwrap();
        let ids = known_ids(&p).unwrap();
        let mut now = vec![
            finding(Tool::Schemathesis, "st:x", Severity::High, false),
            finding(Tool::Schemathesis, "st:y", Severity::High, false),
        ];
        apply_known(&mut now, &ids);
        assert!(now[0].known && !now[1].known);
        std::fs::write(&p, "not json").unwrap();
        assert!(
            known_ids(&p)
                .unwrap_err()
                .contains("not a platform-check report")
        );
    }

    #[test]
    fn json_round_trips() {
        let r = report(vec![finding(Tool::Dst, "dst:a", Severity::High, false)]);
        let back: Report = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(back.findings, r.findings);
        assert_eq!(back.outcome, Outcome::NewFindings);
        assert!(r.to_json().contains("\"outcome\": \"new-findings\""));
    }
}
