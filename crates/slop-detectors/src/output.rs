//! Rendering a scan: `text` (people), `json` (one array), `sarif` (GitHub code scanning, SARIF 2.1.0),
//! `github` (workflow-command annotations), and the Actions step summary.

use crate::baseline::BaselineEntry;
use crate::finding::{DiagnosticKind, Finding, Rule, Status};
use crate::scan::ScanOutcome;
use markers::gha::{self, Level, Location};
use markers::term::{Color, paint};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub struct Report<'a> {
    pub outcome: &'a ScanOutcome,
    /// Baseline entries no longer found.
    pub fixed: &'a [BaselineEntry],
    /// The baseline compared against, if any (as given, for messages).
    pub baseline: Option<&'a str>,
}

impl Report<'_> {
    pub fn new_findings(&self) -> impl Iterator<Item = &Finding> {
        self.outcome
            .findings
            .iter()
            .filter(|f| f.status == Status::New)
    }

    pub fn new_count(&self) -> usize {
        self.new_findings().count()
    }

    fn baselined_count(&self) -> usize {
        self.outcome.findings.len() - self.new_count()
    }

    fn parse_errors(&self) -> usize {
        self.outcome
            .diagnostics
            .iter()
            .filter(|d| d.kind == DiagnosticKind::ParseError)
            .count()
    }

    /// One line: what was scanned, how long it took, what was found.
    pub fn summary_line(&self) -> String {
        let o = self.outcome;
        let mut s = format!("slop-detectors: {} new finding(s)", self.new_count());
        if self.baseline.is_some() {
            let _ = write!(
                s,
                ", {} baselined, {} fixed",
                self.baselined_count(),
                self.fixed.len()
            );
        }
        if o.suppressed > 0 {
            let _ = write!(s, ", {} suppressed", o.suppressed);
        }
        if self.parse_errors() > 0 {
            let _ = write!(s, ", {} file(s) not checked", self.parse_errors());
        }
        let _ = write!(
            s,
            " in {} file(s), {} lines, {:.1} ms",
            o.files,
            o.lines,
            o.elapsed.as_secs_f64() * 1000.0
        );
        s
    }
}

pub fn text(r: &Report, color: bool) -> String {
    let mut s = String::new();
    for f in r.new_findings() {
        let _ = writeln!(
            s,
            "{}:{}:{}: {} {}",
            f.file,
            f.line,
            f.column,
            paint(color, Color::Red, &format!("[{}]", f.rule)),
            f.message
        );
        let _ = writeln!(
            s,
            "    {}",
            paint(color, Color::Dim, &format!("fix: {}", f.hint))
        );
    }
    for d in &r.outcome.diagnostics {
        let _ = writeln!(
            s,
            "{}:{}:{}: {} {}",
            d.file,
            d.line,
            d.column,
            paint(color, Color::Yellow, &format!("warning[{}]", d.kind.id())),
            d.message
        );
    }
    if !r.fixed.is_empty() {
        let _ = writeln!(
            s,
            "{}",
            paint(
                color,
                Color::Green,
                &format!(
                    "{} baselined finding(s) are fixed; run with --update-baseline to shrink {}:",
                    r.fixed.len(),
                    r.baseline.unwrap_or("the baseline")
                )
            )
        );
        for e in r.fixed.iter().take(20) {
            let _ = writeln!(s, "    {}:{} [{}] {}", e.file, e.line, e.rule, e.message);
        }
        if r.fixed.len() > 20 {
            let _ = writeln!(s, "    … and {} more", r.fixed.len() - 20);
        }
    }
    let mut per_rule: BTreeMap<Rule, (usize, usize)> = BTreeMap::new();
    for f in &r.outcome.findings {
        let e = per_rule.entry(f.rule).or_default();
        match f.status {
            Status::New => e.0 += 1,
            Status::Baselined => e.1 += 1,
        }
    }
    if !per_rule.is_empty() {
        let parts: Vec<String> = per_rule
            .iter()
            .map(|(rule, (n, b))| {
                if r.baseline.is_some() {
                    format!("{rule} {n} new/{b} baselined")
                } else {
                    format!("{rule} {n}")
                }
            })
            .collect();
        let _ = writeln!(s, "by rule: {}", parts.join(", "));
    }
    let line = r.summary_line();
    let _ = writeln!(
        s,
        "{}",
        if r.new_count() > 0 {
            paint(color, Color::Red, &line)
        } else {
            paint(color, Color::Green, &line)
        }
    );
    s
}

/// One JSON array: every finding (`status` new or baselined, `level` error) and every diagnostic
/// (`rule` parse-error or bad-suppression, `level` warning).
pub fn json(r: &Report) -> String {
    let mut items: Vec<Value> = r
        .outcome
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule.id(),
                "file": f.file,
                "line": f.line,
                "column": f.column,
                "end_line": f.end_line,
                "end_column": f.end_column,
                "message": f.message,
                "hint": f.hint,
                "scope": f.scope,
                "fingerprint": f.fingerprint,
                "status": f.status,
                "level": "error",
            })
        })
        .collect();
    items.extend(r.outcome.diagnostics.iter().map(|d| {
        json!({
            "rule": d.kind.id(),
            "file": d.file,
            "line": d.line,
            "column": d.column,
            "message": d.message,
            "status": "warning",
            "level": "warning",
        })
    }));
    let mut s = serde_json::to_string_pretty(&Value::Array(items)).expect("serializes");
    s.push('\n');
    s
}

fn rule_descriptor(
    id: &str,
    name: &str,
    short: &str,
    full: &str,
    help: &str,
    level: &str,
) -> Value {
    json!({
        "id": id,
        "name": name,
        "shortDescription": { "text": short },
        "fullDescription": { "text": full },
        "help": { "text": help, "markdown": help },
        "defaultConfiguration": { "level": level },
        "properties": { "tags": ["maintainability", "slop-detectors"], "precision": "high" },
    })
}

/// A SARIF 2.1.0 log with the fields GitHub code scanning requires, our own stable fingerprints
/// (`partialFingerprints`), and `baselineState` (new / unchanged).
pub fn sarif(r: &Report) -> Value {
    let mut rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|rule| {
            rule_descriptor(
                rule.id(),
                rule.id(),
                rule.summary(),
                rule.description(),
                &format!("{}. Fix: {}.", rule.summary(), rule.hint()),
                "error",
            )
        })
        .collect();
    rules.push(rule_descriptor(
        "parse-error",
        "parse-error",
        "file could not be checked",
        "The file has a syntax error, is not UTF-8, is too large or could not be read, so no detector ran on it.",
        "Fix the syntax error or encoding; the file is skipped until then.",
        "warning",
    ));
    rules.push(rule_descriptor(
        "bad-suppression",
        "bad-suppression",
        "malformed slop suppression comment",
        "A `# slop: ignore[...]` comment without a reason or naming an unknown rule; it suppresses nothing.",
        "Write `# slop: ignore[rule-id] why it is fine`.",
        "warning",
    ));
    let index = |id: &str| rules.iter().position(|r| r["id"] == id).unwrap_or(0);
    let location = |file: &str, sl: u32, sc: u32, el: u32, ec: u32| {
        json!([{ "physicalLocation": {
            "artifactLocation": { "uri": file },
            "region": { "startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec.max(1) },
        }}])
    };
    let mut results: Vec<Value> = r
        .outcome
        .findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.rule.id(),
                "ruleIndex": index(f.rule.id()),
                "level": "error",
                "message": { "text": format!("{} Fix: {}.", f.message, f.hint) },
                "locations": location(&f.file, f.line, f.column, f.end_line, f.end_column),
                "partialFingerprints": { "primaryLocationLineHash": f.fingerprint, "slopFingerprint/v1": f.fingerprint },
                "baselineState": if f.status == Status::New { "new" } else { "unchanged" },
            })
        })
        .collect();
    results.extend(r.outcome.diagnostics.iter().map(|d| {
        json!({
            "ruleId": d.kind.id(),
            "ruleIndex": index(d.kind.id()),
            "level": "warning",
            "message": { "text": d.message },
            "locations": location(&d.file, d.line, d.column, d.line, d.column + 1),
        })
    }));
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "slop-detectors",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "automationDetails": { "id": "slop-detectors/" },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// `::error` for each new finding (exactly its line), `::warning` for files not checked and bad
/// suppressions, `::notice` for fixed baseline entries; then the summary line.
pub fn github(r: &Report) -> String {
    let mut s = String::new();
    for f in r.new_findings() {
        let loc = Location {
            file: f.file.clone(),
            line: Some(f.line),
            col: Some(f.column),
        };
        let _ = writeln!(
            s,
            "{}",
            gha::annotation(
                Level::Error,
                Some(&loc),
                Some(&format!("slop: {}", f.rule)),
                &format!("{} Fix: {}.", f.message, f.hint)
            )
        );
    }
    for d in &r.outcome.diagnostics {
        let loc = Location {
            file: d.file.clone(),
            line: Some(d.line),
            col: Some(d.column),
        };
        let _ = writeln!(
            s,
            "{}",
            gha::annotation(
                Level::Warning,
                Some(&loc),
                Some(&format!("slop: {}", d.kind.id())),
                &d.message
            )
        );
    }
    if !r.fixed.is_empty() {
        let _ = writeln!(
            s,
            "{}",
            gha::annotation(
                Level::Notice,
                None,
                Some("slop: baseline can shrink"),
                &format!(
                    "{} baselined finding(s) are fixed; run slop-detectors --update-baseline and commit {}",
                    r.fixed.len(),
                    r.baseline.unwrap_or("the baseline")
                )
            )
        );
    }
    let _ = writeln!(s, "{}", r.summary_line());
    s
}

/// Markdown for `$GITHUB_STEP_SUMMARY`.
pub fn step_summary(r: &Report) -> String {
    let mut s = String::from("### slop-detectors\n\n");
    let _ = writeln!(
        s,
        "{}\n",
        r.summary_line().trim_start_matches("slop-detectors: ")
    );
    let mut per_rule: BTreeMap<Rule, (usize, usize)> = BTreeMap::new();
    for f in &r.outcome.findings {
        let e = per_rule.entry(f.rule).or_default();
        if f.status == Status::New {
            e.0 += 1
        } else {
            e.1 += 1
        }
    }
    let _ = writeln!(s, "| rule | new | baselined |\n|---|---:|---:|");
    for rule in Rule::ALL {
        let (n, b) = per_rule.get(&rule).copied().unwrap_or_default();
        let _ = writeln!(s, "| `{rule}` | {n} | {b} |");
    }
    let new: Vec<&Finding> = r.new_findings().collect();
    if !new.is_empty() {
        let _ = writeln!(s, "\n| new finding | rule | message |\n|---|---|---|");
        for f in new.iter().take(50) {
            let _ = writeln!(
                s,
                "| `{}:{}` | `{}` | {} |",
                gha::md_cell(&f.file),
                f.line,
                f.rule,
                gha::md_cell(&f.message)
            );
        }
        if new.len() > 50 {
            let _ = writeln!(s, "\n… and {} more.", new.len() - 50);
        }
    }
    s
}
