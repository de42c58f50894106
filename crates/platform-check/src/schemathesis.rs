//! Schemathesis (pinned in the tools venv) against the app's OpenAPI schema: every phase, a time
//! budget, the agent's key as a header; its JSON run report and JUnit file read into findings,
//! one per failed check on one operation.

use crate::error::StepError;
use crate::phase::Phase;
use crate::procs::run_logged;
use crate::report::{Finding, Severity, Tool};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// All four of Schemathesis 4's phases.
pub const PHASES: &str = "examples,coverage,fuzzing,stateful";

#[derive(Debug, Clone)]
pub struct StOptions {
    pub st: PathBuf,
    /// Time budget (`--max-time`), seconds.
    pub budget: u64,
    pub seed: u64,
    pub workers: u32,
    /// Schema location: None for `<target>/openapi.json`; a file or URL otherwise.
    pub schema: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StOutcome {
    pub findings: Vec<Finding>,
    pub files: Vec<PathBuf>,
}

/// Runs `st run` and reads its reports. Exit 0/1 are results; no JSON report is an error.
pub fn run(
    opts: &StOptions,
    target: &str,
    agent_key: &str,
    out_dir: &Path,
    log: &Path,
) -> Result<(StOutcome, String), StepError> {
    // Schemathesis and Hypothesis keep caches (.schemathesis/, .hypothesis/) in the working
    // directory: run it in the report directory, with absolute paths, so they stay there.
    let out_dir = &out_dir
        .canonicalize()
        .map_err(|e| StepError::new(Phase::Schemathesis, format!("{}: {e}", out_dir.display())))?;
    let json = out_dir.join("schemathesis-report.json");
    let junit = out_dir.join("schemathesis-junit.xml");
    let ndjson = out_dir.join("schemathesis-events.ndjson");
    let _ = std::fs::remove_file(&json);
    let mut c = Command::new(&opts.st);
    c.arg("run");
    match &opts.schema {
        None => {
            c.arg(format!("{target}/openapi.json"));
        }
        Some(s) => {
            let file = Path::new(s).canonicalize().ok().filter(|p| p.is_file());
            match file {
                Some(f) => c.arg(f),
                None => c.arg(s),
            };
            c.args(["--url", target]);
        }
    }
    // The app builds its OpenAPI document on first request (132 operations): give a busy app
    // time instead of failing the load after Schemathesis's default 10 s read timeout.
    c.args(["--wait-for-schema", "120", "--request-timeout", "60"])
        .args(["--phases", PHASES, "--checks", "all"])
        .args(["--max-time", &opts.budget.to_string()])
        .args(["--seed", &opts.seed.to_string()])
        .args(["--workers", &opts.workers.to_string()])
        .args(["-H", &format!("X-API-Key: {agent_key}")])
        .args(["--report", "json,junit,ndjson"])
        .arg("--report-json-path")
        .arg(&json)
        .arg("--report-junit-path")
        .arg(&junit)
        .arg("--report-ndjson-path")
        .arg(&ndjson)
        .env("NO_COLOR", "1")
        .current_dir(out_dir);
    // Exit 1 means failures were found; the JSON report says whether the run itself completed.
    let limit = Some(Duration::from_secs(opts.budget + 600));
    let ran = run_logged(Phase::Schemathesis, "schemathesis", c, log, limit);
    let report: Value = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| match &ran {
            Err(e) => StepError::new(Phase::Schemathesis, e.message.clone()).with_log(log),
            Ok(()) => StepError::new(Phase::Schemathesis, "schemathesis wrote no JSON report")
                .with_log(log),
        })?;
    ran_to_the_end(&report).map_err(|m| StepError::new(Phase::Schemathesis, m).with_log(log))?;
    let junit_text = std::fs::read_to_string(&junit).unwrap_or_default();
    let findings = findings(&report, &junit_text);
    let cases = &report["test_cases"];
    let detail = format!(
        "{} test cases, {} unique failures, {} check×operation findings, stop: {}",
        cases["generated"].as_u64().unwrap_or(0),
        cases["unique_failures"].as_u64().unwrap_or(0),
        findings.len(),
        report["stop_reason"].as_str().unwrap_or("?")
    );
    Ok((
        StOutcome {
            findings,
            files: vec![json, junit, ndjson],
        },
        detail,
    ))
}

/// A run that ended in an error (the schema did not load, the app went away) found nothing
/// because it tested nothing: that is "could not run", never a pass.
pub fn ran_to_the_end(report: &Value) -> Result<(), String> {
    let exit_code = report["exit_code"].as_i64().unwrap_or(-1);
    if exit_code == 0 || exit_code == 1 {
        return Ok(());
    }
    let what = report["errors"][0]["title"].as_str().unwrap_or("an error");
    Err(format!(
        "schemathesis stopped with {what} (exit {exit_code})"
    ))
}

/// One finding per (check code, operation) from the JSON run report's `failures`, with the first
/// matching JUnit test case as detail and reproduction.
pub fn findings(report: &Value, junit: &str) -> Vec<Finding> {
    let cases = junit_cases(junit);
    let mut out = Vec::new();
    let Some(groups) = report["failures"].as_array() else {
        return out;
    };
    for g in groups {
        let code = g["code"].as_str().unwrap_or("?");
        let title = g["title"].as_str().unwrap_or("failure");
        let severity = Severity::parse(g["severity"].as_str().unwrap_or(""));
        for op in g["operations"].as_array().into_iter().flatten() {
            let op = op.as_str().unwrap_or("?");
            let hit = cases.get(op).and_then(|blocks| {
                let matching: Vec<&CaseBlock> = blocks
                    .iter()
                    .filter(|b| b.codes.iter().any(|c| c == code))
                    .collect();
                matching.first().map(|b| (*b, matching.len() as u64))
            });
            out.push(Finding {
                tool: Tool::Schemathesis,
                id: format!("schemathesis:{code}:{op}"),
                title: title.to_string(),
                code: code.to_string(),
                severity,
                operations: vec![op.to_string()],
                count: hit.map_or(1, |(_, n)| n.max(1)),
                examples: hit.map(|(b, _)| b.case_id.clone()).into_iter().collect(),
                detail: hit.map_or(String::new(), |(b, _)| b.detail.clone()),
                reproduce: hit.map_or(String::new(), |(b, _)| b.reproduce.clone()),
                known: false,
            });
        }
    }
    out
}

/// One numbered test case inside a JUnit `<failure>`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseBlock {
    pub case_id: String,
    pub codes: Vec<String>,
    pub detail: String,
    pub reproduce: String,
}

/// JUnit test cases by name (the operation) → their failure blocks (a test case holds one
/// `<failure>` per failing test case of that operation).
pub fn junit_cases(xml: &str) -> BTreeMap<String, Vec<CaseBlock>> {
    let mut out: BTreeMap<String, Vec<CaseBlock>> = BTreeMap::new();
    for part in xml.split("<testcase name=\"").skip(1) {
        let Some((name, mut rest)) = part.split_once('"') else {
            continue;
        };
        if let Some(end) = rest.find("</testcase>") {
            rest = &rest[..end];
        }
        let mut found = Vec::new();
        while let Some(start) = rest.find("<failure") {
            let Some(open_end) = rest[start..].find('>') else {
                break;
            };
            let body = &rest[start + open_end + 1..];
            let Some(close) = body.find("</failure>") else {
                break;
            };
            found.extend(blocks(&unescape(&body[..close])));
            rest = &body[close..];
        }
        if !found.is_empty() {
            out.entry(unescape(name)).or_default().extend(found);
        }
    }
    out
}

fn blocks(text: &str) -> Vec<CaseBlock> {
    let mut out = Vec::new();
    let mut cur: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        let head = line
            .split_once(". Test Case ID: ")
            .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if let Some((_, id)) = head {
            if let Some((id, lines)) = cur.take() {
                out.push(block(id, &lines));
            }
            cur = Some((id.trim().to_string(), Vec::new()));
        } else if let Some((_, lines)) = cur.as_mut() {
            lines.push(line);
        }
    }
    if let Some((id, lines)) = cur {
        out.push(block(id, &lines));
    }
    out
}

fn block(case_id: String, lines: &[&str]) -> CaseBlock {
    let codes = lines
        .iter()
        .filter_map(|l| l.strip_prefix("- "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| c.starts_with("ST"))
        .map(str::to_string)
        .collect();
    let repro_at = lines.iter().position(|l| l.trim() == "Reproduce with:");
    let detail_lines = &lines[..repro_at.unwrap_or(lines.len())];
    let reproduce = repro_at
        .and_then(|i| {
            lines[i..]
                .iter()
                .find(|l| l.trim_start().starts_with("curl"))
        })
        .map_or(String::new(), |l| l.trim().to_string());
    CaseBlock {
        case_id,
        codes,
        detail: detail_lines.join("\n").trim().to_string(),
        reproduce,
    }
}

/// XML character references and the five predefined entities.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(semi) = tail.find(';').filter(|&j| j <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let ent = &tail[1..semi];
        let ch = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Shaped like Schemathesis 4's JUnit output (our own text).
    const JUNIT: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="schemathesis">
    <testcase name="GET /api/things" time="0.3">
      <failure type="failure" message="ST101, ST103">1. Test Case ID: AbC123

- ST101 Server error

- ST103 Undocumented status code

    Received: 500

[500] Internal Server Error:

    `{"error":"boom &lt;class 'X'&gt; &amp; more"}`

Reproduce with:

    curl -X GET 'http://h/api/things?limit=-1'

2. Test Case ID: Zz9

- ST103 Undocumented status code

Reproduce with:

    curl -X GET http://h/api/things</failure>
      <failure type="failure" message="ST108">1. Test Case ID: Sec0nd

- ST108 Response violates schema

    {} is not valid

Reproduce with:

    curl -X POST http://h/api/things</failure>
    </testcase>
    <testcase name="GET /api/ok" time="0.1" />
</testsuite></testsuites>"#;

    #[test]
    fn junit_blocks_carry_codes_detail_and_curl() {
        let cases = junit_cases(JUNIT);
        assert_eq!(cases.len(), 1, "passing test cases have no failure");
        let b = &cases["GET /api/things"];
        assert_eq!(b.len(), 3, "every <failure> of the test case is read");
        assert_eq!(b[2].case_id, "Sec0nd");
        assert_eq!(b[2].codes, vec!["ST108"]);
        assert_eq!(b[0].case_id, "AbC123");
        assert_eq!(b[0].codes, vec!["ST101", "ST103"]);
        assert!(b[0].detail.contains("boom <class 'X'> & more"));
        assert_eq!(b[0].reproduce, "curl -X GET 'http://h/api/things?limit=-1'");
        assert_eq!(b[1].codes, vec!["ST103"]);
    }

    #[test]
    fn findings_are_one_per_check_and_operation() {
        let report = json!({"failures": [
            {"code": "ST101", "title": "Server error", "severity": "critical", "count": 1,
             "operations": ["GET /api/things"]},
            {"code": "ST103", "title": "Undocumented status code", "severity": "medium", "count": 3,
             "operations": ["GET /api/things", "Stateful tests"]}
        ]});
        let f = findings(&report, JUNIT);
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].id, "schemathesis:ST101:GET /api/things");
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].count, 1);
        assert_eq!(f[0].examples, vec!["AbC123"]);
        assert_eq!(f[1].count, 2, "both test cases of the operation hit ST103");
        assert_eq!(f[2].operations, vec!["Stateful tests"]);
        assert!(f[2].detail.is_empty(), "no JUnit case for it");
    }

    #[test]
    fn a_run_that_stopped_on_an_error_is_not_a_pass() {
        assert!(ran_to_the_end(&json!({"exit_code": 1, "errors": []})).is_ok());
        assert!(ran_to_the_end(&json!({"exit_code": 0})).is_ok());
        let e = ran_to_the_end(&json!({"exit_code": 2, "stop_reason": "error",
            "errors": [{"title": "Schema Loading Error", "count": 1}]}))
        .unwrap_err();
        assert_eq!(e, "schemathesis stopped with Schema Loading Error (exit 2)");
        assert!(
            ran_to_the_end(&json!({})).is_err(),
            "no exit code: not a completed run"
        );
    }

    #[test]
    fn unescape_handles_entities_and_stray_ampersands() {
        assert_eq!(
            unescape("a &lt;b&gt; &#x27;c&#39; &amp;amp; & d"),
            "a <b> 'c' &amp; & d"
        );
    }
}
