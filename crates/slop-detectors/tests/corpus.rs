//! The detectors over the fixture corpus, in-process: exactly the expected findings, no others.

mod common;

use slop_detectors::config::{Settings, SlopConfig};
use slop_detectors::finding::DiagnosticKind;
use slop_detectors::scan::{ScanOutcome, ScanRequest, scan};
use slop_detectors::{Rule, Status};
use std::collections::BTreeSet;
use std::path::Path;

fn run(root: &Path, settings: Settings, rules: &[Rule]) -> ScanOutcome {
    scan(&ScanRequest {
        root: root.to_path_buf(),
        paths: vec![root.to_path_buf()],
        settings,
        rules: rules.to_vec(),
    })
    .unwrap()
}

fn found(o: &ScanOutcome) -> BTreeSet<(String, u32, String)> {
    o.findings
        .iter()
        .map(|f| (f.file.clone(), f.line, f.rule.id().to_string()))
        .collect()
}

#[test]
fn every_expected_finding_and_nothing_else() {
    let tmp = common::corpus();
    let root = tmp.path().canonicalize().unwrap();
    let o = run(&root, Settings::default(), &Rule::ALL);
    let want = common::expectations(&root);
    let got = found(&o);
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nunexpected: {extra:#?}"
    );
    // Each rule is exercised by the corpus.
    for rule in Rule::ALL {
        assert!(
            o.findings.iter().any(|f| f.rule == rule),
            "{rule} has no true positive in the corpus"
        );
    }
    for f in &o.findings {
        assert!(!f.message.is_empty() && !f.hint.is_empty());
        assert!(f.column >= 1 && (f.end_line, f.end_column) > (f.line, f.column));
        assert_eq!(f.status, Status::New);
        assert_eq!(f.fingerprint.len(), 32);
    }
    // Fingerprints are unique within a scan.
    let fps: BTreeSet<_> = o.findings.iter().map(|f| &f.fingerprint).collect();
    assert_eq!(fps.len(), o.findings.len());
}

#[test]
fn broken_files_are_diagnosed_and_lose_nothing_else() {
    let tmp = common::corpus();
    let root = tmp.path().canonicalize().unwrap();
    let o = run(&root, Settings::default(), &Rule::ALL);
    let parse: Vec<_> = o
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagnosticKind::ParseError)
        .map(|d| (d.file.as_str(), d.line, d.message.as_str()))
        .collect();
    assert_eq!(parse.len(), 2, "{parse:?}");
    assert_eq!(parse[0].0, "api/broken.py");
    assert_eq!(parse[0].1, 4);
    assert!(parse[0].2.contains("syntax error"));
    assert_eq!(parse[1].0, "api/latin1.py");
    assert!(parse[1].2.contains("UTF-8"), "{}", parse[1].2);
    assert!(o.unchecked_files.contains("api/broken.py"));
    // A suppression without a reason is reported, and suppresses nothing.
    let bad: Vec<_> = o
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagnosticKind::BadSuppression)
        .map(|d| (d.file.as_str(), d.line))
        .collect();
    assert_eq!(bad, vec![("api/suppressed.py", 17)]);
    assert_eq!(o.suppressed, 3);
    // Nothing from the virtualenv or the excluded tests directory.
    assert!(
        o.scanned_files
            .iter()
            .all(|f| !f.starts_with("venv/") && !f.starts_with("tests/")),
        "{:?}",
        o.scanned_files
    );
}

#[test]
fn rules_can_be_selected_and_configured() {
    let tmp = common::corpus();
    let root = tmp.path().canonicalize().unwrap();
    let only_sql = run(&root, Settings::default(), &[Rule::RawSql]);
    assert!(!only_sql.findings.is_empty());
    assert!(only_sql.findings.iter().all(|f| f.rule == Rule::RawSql));

    // A different helper name: calls to agent_error no longer count, ok_error(...) does.
    let mut cfg = SlopConfig {
        error_helpers: vec!["ok_error".into()],
        ..SlopConfig::default()
    };
    let o = run(
        &root,
        Settings::from_config(cfg.clone()).unwrap(),
        &[Rule::AgentError],
    );
    assert!(o.findings.len() > found(&run(&root, Settings::default(), &[Rule::AgentError])).len());

    // Extra tables make SQL over them a finding; the migrations dir setting decides enum-case.
    common::write(
        &root,
        "api/legacy.py",
        "from sqlalchemy import text\nq = text('SELECT * FROM legacy_events')\n",
    );
    cfg.extra_tables = vec!["legacy_events".into()];
    let o = run(
        &root,
        Settings::from_config(cfg.clone()).unwrap(),
        &[Rule::RawSql],
    );
    assert!(
        o.findings
            .iter()
            .any(|f| f.file == "api/legacy.py" && f.line == 2)
    );
    cfg.migration_dirs = vec!["db/migrations".into()];
    let o = run(
        &root,
        Settings::from_config(cfg).unwrap(),
        &[Rule::EnumCase],
    );
    assert!(
        o.findings.is_empty(),
        "alembic/versions is no longer a migration dir"
    );
}

#[test]
fn fingerprints_survive_line_shifts_and_reformatting() {
    let tmp = common::corpus();
    let root = tmp.path().canonicalize().unwrap();
    let before = run(&root, Settings::default(), &Rule::ALL);
    let path = root.join("api/errors.py");
    let text = std::fs::read_to_string(&path).unwrap();
    let shifted = format!(
        "# a new header comment\n\n\n{}",
        text.replace(
            "raise HE(status_code=404, detail=\"World not found\")",
            "raise HE(\n        status_code=404,\n        detail=\"World not found\",\n    )",
        )
    );
    std::fs::write(&path, shifted).unwrap();
    let after = run(&root, Settings::default(), &Rule::ALL);
    let fp = |o: &ScanOutcome| -> BTreeSet<String> {
        o.findings.iter().map(|f| f.fingerprint.clone()).collect()
    };
    assert_eq!(fp(&before), fp(&after));
    let line = |o: &ScanOutcome| {
        o.findings
            .iter()
            .find(|f| f.file == "api/errors.py")
            .unwrap()
            .line
    };
    assert_eq!(line(&after), line(&before) + 3);
}
