//! The baseline: today's findings, recorded so that only new ones fail (a ratchet).
//!
//! Each finding has a fingerprint: SHA-256 over (rule, file, enclosing `Class.function`, a rule-specific
//! key, occurrence index), where the key is the whitespace-stripped matched code or what the rule
//! reports about (`World.creator`, the table and SQL text, the enum value). No line numbers go in, so
//! edits elsewhere in the file, reformatting and moving a function keep it; editing the offending
//! code itself, renaming its function or moving it to another file makes it new.
//!
//! With a baseline, a finding whose (rule, file, fingerprint) is in it is `baselined`; any other is
//! `new` and fails the run. Baseline entries no longer found are reported as fixed, so the baseline
//! can shrink (`--update-baseline` rewrites it; entries for files or rules outside the scan are kept).

use crate::finding::{Finding, Rule, Status};
use crate::scan::ScanOutcome;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const VERSION: u32 = 1;

/// The line-independent identity of a finding (32 hex characters).
pub fn fingerprint(rule: Rule, file: &str, scope: &str, key: &str, occurrence: u32) -> String {
    let mut h = Sha256::new();
    for part in [rule.id(), file, scope, key, &occurrence.to_string()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize()[..16]
        .iter()
        .fold(String::with_capacity(32), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BaselineEntry {
    pub rule: String,
    pub file: String,
    pub fingerprint: String,
    /// Where it was when recorded (informational; matching ignores it).
    #[serde(default)]
    pub line: u32,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Baseline {
    pub version: u32,
    #[serde(default)]
    pub tool: String,
    /// Free text kept across updates and printed at the top of REPORT.md.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("baseline {0} does not exist (create it with --update-baseline)")]
    Missing(PathBuf),
    #[error("cannot read baseline {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("baseline {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let bytes = std::fs::read(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                BaselineError::Missing(path.to_path_buf())
            } else {
                BaselineError::Read {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let invalid = |message: String| BaselineError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let b: Baseline = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        if b.version != VERSION {
            return Err(invalid(format!(
                "version {} is not supported (this tool writes version {VERSION})",
                b.version
            )));
        }
        Ok(b)
    }

    /// Writes atomically (temp file + rename), creating parent directories.
    pub fn save(&self, path: &Path) -> Result<(), BaselineError> {
        let mut text = serde_json::to_string_pretty(self).expect("baseline serializes");
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }

    /// Marks findings present in the baseline as baselined; returns the entries no longer found
    /// among the files and rules this scan covered (fixed).
    pub fn apply(&self, outcome: &mut ScanOutcome) -> Vec<BaselineEntry> {
        let known: HashSet<(&str, &str, &str)> = self
            .findings
            .iter()
            .map(|e| (e.rule.as_str(), e.file.as_str(), e.fingerprint.as_str()))
            .collect();
        let mut seen: HashSet<(String, String, String)> = HashSet::new();
        for f in &mut outcome.findings {
            if known.contains(&(f.rule.id(), f.file.as_str(), f.fingerprint.as_str())) {
                f.status = Status::Baselined;
                seen.insert((f.rule.id().into(), f.file.clone(), f.fingerprint.clone()));
            }
        }
        self.findings
            .iter()
            .filter(|e| {
                !seen.contains(&(e.rule.clone(), e.file.clone(), e.fingerprint.clone()))
                    && outcome.covers(Rule::from_id(&e.rule), &e.file)
            })
            .cloned()
            .collect()
    }

    /// The baseline after this scan: every current finding, plus the old entries the scan could not
    /// see (other paths, rules not run, files with parse errors).
    pub fn updated(old: Option<&Baseline>, outcome: &ScanOutcome) -> Baseline {
        let mut findings: Vec<BaselineEntry> = old
            .map(|b| {
                b.findings
                    .iter()
                    .filter(|e| !outcome.covers(Rule::from_id(&e.rule), &e.file))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        findings.extend(outcome.findings.iter().map(entry_of));
        findings.sort_by(|a, b| {
            (&a.file, a.line, &a.rule, &a.fingerprint).cmp(&(
                &b.file,
                b.line,
                &b.rule,
                &b.fingerprint,
            ))
        });
        findings.dedup_by(|a, b| {
            a.rule == b.rule && a.file == b.file && a.fingerprint == b.fingerprint
        });
        Baseline {
            version: VERSION,
            tool: "slop-detectors".into(),
            note: old.map(|b| b.note.clone()).unwrap_or_default(),
            findings,
        }
    }

    /// `docs/slop/REPORT.md`: counts per rule and per file. Deterministic (no dates), so it diffs.
    pub fn render_report(&self, baseline_name: &str) -> String {
        let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
        let mut per_file: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
        for e in &self.findings {
            *per_rule.entry(e.rule.as_str()).or_default() += 1;
            *per_file
                .entry(e.file.as_str())
                .or_default()
                .entry(e.rule.as_str())
                .or_default() += 1;
        }
        let mut s = String::new();
        let _ = writeln!(s, "# slop-detectors baseline report\n");
        let _ = writeln!(
            s,
            "Generated from `{baseline_name}` by `slop-detectors --report` (or `--update-baseline`). \
             Do not edit: regenerate it.\n"
        );
        if !self.note.is_empty() {
            let _ = writeln!(s, "> {}\n", self.note.replace('\n', " "));
        }
        let _ = writeln!(
            s,
            "{} baselined finding(s) in {} file(s).\n",
            self.findings.len(),
            per_file.len()
        );
        let _ = writeln!(
            s,
            "## Per rule\n\n| rule | findings | what it means |\n|---|---:|---|"
        );
        for r in Rule::ALL {
            let n = per_rule.get(r.id()).copied().unwrap_or(0);
            let _ = writeln!(s, "| `{}` | {n} | {} |", r.id(), r.summary());
        }
        for (rule, n) in &per_rule {
            if Rule::from_id(rule).is_none() {
                let _ = writeln!(s, "| `{rule}` | {n} | (unknown rule) |");
            }
        }
        let _ = writeln!(s, "\n## Per file\n");
        if per_file.is_empty() {
            let _ = writeln!(s, "No baselined findings.");
            return s;
        }
        let _ = write!(s, "| file | total |");
        for r in Rule::ALL {
            let _ = write!(s, " `{}` |", r.id());
        }
        let _ = write!(s, "\n|---|---:|");
        for _ in Rule::ALL {
            let _ = write!(s, "---:|");
        }
        s.push('\n');
        for (file, rules) in &per_file {
            let total: usize = rules.values().sum();
            let _ = write!(s, "| `{}` | {total} |", markers::gha::md_cell(file));
            for r in Rule::ALL {
                let _ = write!(s, " {} |", rules.get(r.id()).copied().unwrap_or(0));
            }
            s.push('\n');
        }
        s
    }
}

pub fn entry_of(f: &Finding) -> BaselineEntry {
    BaselineEntry {
        rule: f.rule.id().into(),
        file: f.file.clone(),
        fingerprint: f.fingerprint.clone(),
        line: f.line,
        message: f.message.clone(),
    }
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BaselineError> {
    let err = |source| BaselineError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_depend_on_identity_not_position() {
        let a = fingerprint(Rule::RawSql, "api/a.py", "f", "k", 0);
        assert_eq!(a.len(), 32);
        assert_eq!(a, fingerprint(Rule::RawSql, "api/a.py", "f", "k", 0));
        assert_ne!(a, fingerprint(Rule::RawSql, "api/a.py", "f", "k", 1));
        assert_ne!(a, fingerprint(Rule::RawSql, "api/b.py", "f", "k", 0));
        assert_ne!(a, fingerprint(Rule::AgentError, "api/a.py", "f", "k", 0));
    }

    #[test]
    fn load_rejects_garbage_and_other_versions_clearly() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("b.json");
        assert!(matches!(Baseline::load(&p), Err(BaselineError::Missing(_))));
        std::fs::write(&p, "{not json").unwrap();
        let e = Baseline::load(&p).unwrap_err().to_string();
        assert!(e.contains("not valid"), "{e}");
        std::fs::write(&p, r#"{"version": 9, "findings": []}"#).unwrap();
        let e = Baseline::load(&p).unwrap_err().to_string();
        assert!(e.contains("version 9"), "{e}");
        std::fs::write(&p, b"\xff\xfe{}").unwrap();
        assert!(Baseline::load(&p).is_err());
    }
}
