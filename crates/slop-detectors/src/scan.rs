//! One scan: discover → read and parse (parallel) → pass 1 facts (parallel, merged) → pass 2
//! detectors + suppressions (parallel) → findings with fingerprints, sorted.
//!
//! A file that cannot be read, is not UTF-8, is larger than `max_file_bytes` or has a syntax error
//! becomes a `parse-error` diagnostic and is left out of both passes; every other file is still
//! checked.

use crate::baseline::fingerprint;
use crate::config::Settings;
use crate::discover::{DiscoverError, discover};
use crate::facts::{Facts, collect};
use crate::finding::{Diagnostic, DiagnosticKind, Finding, Rule, Status};
use crate::program::Program;
use crate::rules::{RawFinding, check};
use crate::source::Module;
use crate::suppress::Suppressions;
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// Paths in findings are relative to this directory.
    pub root: PathBuf,
    /// Directories or files to scan.
    pub paths: Vec<PathBuf>,
    pub settings: Settings,
    /// Rules to run (already intersected with the ones the config enables).
    pub rules: Vec<Rule>,
}

#[derive(Debug, Default)]
pub struct ScanOutcome {
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
    pub lines: usize,
    pub bytes: u64,
    pub suppressed: usize,
    /// Files that were found but not checked (parse errors): their baseline entries are kept.
    pub unchecked_files: BTreeSet<String>,
    pub scanned_files: BTreeSet<String>,
    pub scanned_dirs: Vec<String>,
    pub rules: Vec<Rule>,
    pub parse_time: Duration,
    pub elapsed: Duration,
}

impl ScanOutcome {
    /// True when a baseline entry for (`rule`, `file`) was within reach of this scan, i.e. its absence
    /// now means it was fixed.
    pub fn covers(&self, rule: Option<Rule>, file: &str) -> bool {
        let Some(rule) = rule else { return false };
        if !self.rules.contains(&rule) || self.unchecked_files.contains(file) {
            return false;
        }
        self.scanned_files.contains(file)
            || self.scanned_dirs.iter().any(|d| {
                d.is_empty()
                    || file
                        .strip_prefix(d.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            })
    }
}

fn read(path: &Path, max: u64) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > max {
        return Err(format!(
            "not checked: {} bytes is over max_file_bytes ({max})",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "not checked: not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

pub fn scan(req: &ScanRequest) -> Result<ScanOutcome, DiscoverError> {
    let started = Instant::now();
    let found = discover(&req.root, &req.paths, &req.settings.exclude)?;
    let settings = &req.settings;
    let parsed: Vec<(String, Result<Module, Diagnostic>)> = found
        .files
        .par_iter()
        .map(|(rel, abs)| {
            let diag = |line, column, message| Diagnostic {
                kind: DiagnosticKind::ParseError,
                file: rel.clone(),
                line,
                column,
                message,
            };
            let module = read(abs, settings.max_file_bytes)
                .map_err(|m| diag(1, 1, m))
                .and_then(|text| {
                    Module::parse(rel.clone(), text).map_err(|u| diag(u.line, u.column, u.message))
                })
                .map(|mut m| {
                    m.is_migration = settings.is_migration(rel);
                    m.is_model_file = settings.is_model_file(rel) && !m.is_migration;
                    m
                });
            (rel.clone(), module)
        })
        .collect();
    let parse_time = started.elapsed();

    let mut out = ScanOutcome {
        scanned_files: found.files.keys().cloned().collect(),
        scanned_dirs: found.dirs,
        rules: req.rules.clone(),
        files: found.files.len(),
        ..ScanOutcome::default()
    };
    let mut modules = Vec::with_capacity(parsed.len());
    for (rel, r) in parsed {
        match r {
            Ok(m) => modules.push(m),
            Err(d) => {
                out.unchecked_files.insert(rel);
                out.diagnostics.push(d);
            }
        }
    }
    out.lines = modules.iter().map(Module::line_count).sum();
    out.bytes = modules.iter().map(|m| m.text.len() as u64).sum();

    let facts = Facts::merge(
        modules.par_iter().map(collect).collect::<Vec<_>>(),
        &settings.extra_tables,
    );

    let prog = Program::new(&modules);
    let per_file: Vec<(Vec<Finding>, usize, Vec<Diagnostic>)> = modules
        .par_iter()
        .map(|m| {
            let raw = check(m, &prog, &facts, settings, &req.rules);
            let (supp, bad) = Suppressions::collect(m);
            let diags = bad
                .into_iter()
                .map(|b| Diagnostic {
                    kind: DiagnosticKind::BadSuppression,
                    file: m.rel.clone(),
                    line: b.line,
                    column: b.column,
                    message: b.message,
                })
                .collect();
            let (findings, suppressed) = finish(m, raw, &supp);
            (findings, suppressed, diags)
        })
        .collect();
    for (f, s, d) in per_file {
        out.findings.extend(f);
        out.suppressed += s;
        out.diagnostics.extend(d);
    }
    out.findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.rule).cmp(&(&b.file, b.line, b.column, b.rule))
    });
    out.diagnostics
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    out.parse_time = parse_time;
    out.elapsed = started.elapsed();
    Ok(out)
}

/// Positions, fingerprints (with an occurrence index among identical findings in one scope), and
/// suppressions.
fn finish(m: &Module, mut raw: Vec<RawFinding>, supp: &Suppressions) -> (Vec<Finding>, usize) {
    raw.sort_by_key(|r| (r.range.start(), r.rule));
    let mut occurrences: HashMap<(Rule, String, String), u32> = HashMap::new();
    let mut findings = Vec::with_capacity(raw.len());
    let mut suppressed = 0;
    for r in raw {
        let n = occurrences
            .entry((r.rule, r.scope.clone(), r.key.clone()))
            .or_insert(0);
        let occurrence = *n;
        *n += 1;
        let (line, column) = m.line_col(r.range.start());
        let (end_line, end_column) = m.line_col(r.range.end());
        if supp.covers(r.rule, line) {
            suppressed += 1;
            continue;
        }
        findings.push(Finding {
            rule: r.rule,
            fingerprint: fingerprint(r.rule, &m.rel, &r.scope, &r.key, occurrence),
            file: m.rel.clone(),
            line,
            column,
            end_line,
            end_column,
            message: r.message,
            hint: r.hint,
            scope: r.scope,
            status: Status::New,
        });
    }
    (findings, suppressed)
}
