//! The binary end to end: formats, SARIF shape, baseline round trip, the "Done when" flow, errors.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn cmd(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("slop-detectors").unwrap();
    c.current_dir(dir)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("NO_COLOR", "1");
    c
}

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn json_is_one_array_with_relative_paths() {
    let tmp = common::corpus();
    let out = cmd(tmp.path())
        .args([".", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "new findings fail");
    let v = stdout_json(&out);
    let items = v.as_array().unwrap();
    let findings: Vec<&Value> = items.iter().filter(|i| i["level"] == "error").collect();
    let expected = common::expectations(tmp.path());
    assert_eq!(findings.len(), expected.len());
    for f in &findings {
        let file = f["file"].as_str().unwrap();
        assert!(!file.starts_with('/') && !file.starts_with("./"), "{file}");
        assert!(f["line"].as_u64().unwrap() >= 1);
        assert!(expected.contains(&(
            file.to_string(),
            f["line"].as_u64().unwrap() as u32,
            f["rule"].as_str().unwrap().to_string()
        )));
        assert_eq!(f["status"], "new");
    }
    assert!(
        items
            .iter()
            .any(|i| i["rule"] == "parse-error" && i["file"] == "api/broken.py")
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("new finding(s)"), "{stderr}");
}

/// The keys GitHub code scanning requires of a SARIF 2.1.0 upload (github/docs
/// sarif-support-for-code-scanning), checked one by one; required strings must be non-empty.
fn assert_github_sarif(v: &Value) {
    let s = |v: &Value, what: &str| {
        let t = v
            .as_str()
            .unwrap_or_else(|| panic!("{what} is not a string: {v}"));
        assert!(!t.is_empty(), "{what} is empty");
    };
    s(&v["$schema"], "$schema");
    assert_eq!(v["version"], "2.1.0");
    let runs = v["runs"].as_array().expect("runs[]");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    s(&driver["name"], "driver.name");
    let rules = driver["rules"].as_array().expect("driver.rules[]");
    let mut ids = Vec::new();
    for r in rules {
        s(&r["id"], "rule.id");
        s(&r["shortDescription"]["text"], "rule.shortDescription.text");
        s(&r["fullDescription"]["text"], "rule.fullDescription.text");
        s(&r["help"]["text"], "rule.help.text");
        let level = r["defaultConfiguration"]["level"].as_str().unwrap();
        assert!(["note", "warning", "error"].contains(&level));
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    for id in [
        "selectinload",
        "agent-error",
        "raw-sql",
        "enum-case",
        "response-model",
    ] {
        assert!(ids.iter().any(|i| i == id), "rule {id} missing");
    }
    let results = run["results"].as_array().expect("results[]");
    assert!(!results.is_empty());
    for r in results {
        s(&r["message"]["text"], "result.message.text");
        let rule = r["ruleId"].as_str().unwrap();
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(ids[index], rule, "ruleIndex points at the rule");
        assert!(["note", "warning", "error"].contains(&r["level"].as_str().unwrap()));
        let locs = r["locations"].as_array().unwrap();
        assert!(!locs.is_empty());
        let phys = &locs[0]["physicalLocation"];
        let uri = phys["artifactLocation"]["uri"].as_str().unwrap();
        assert!(
            !uri.is_empty() && !uri.starts_with('/') && !uri.contains('\\'),
            "{uri}"
        );
        let region = &phys["region"];
        for k in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[k].as_u64().unwrap() >= 1, "{k} in {region}");
        }
        assert!(region["endLine"].as_u64() >= region["startLine"].as_u64());
        if r["level"] == "error" {
            s(
                &r["partialFingerprints"]["primaryLocationLineHash"],
                "partialFingerprints",
            );
            assert!(["new", "unchanged"].contains(&r["baselineState"].as_str().unwrap()));
        }
    }
}

#[test]
fn sarif_has_the_shape_github_code_scanning_accepts() {
    let tmp = common::corpus();
    let out = cmd(tmp.path())
        .args(["--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    assert_github_sarif(&v);
    let n_errors = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "error")
        .count();
    assert_eq!(n_errors, common::expectations(tmp.path()).len());
    // -o writes the same document to a file; with a baseline, states become "unchanged".
    cmd(tmp.path()).arg("--update-baseline").assert().code(0);
    cmd(tmp.path())
        .args(["--format", "sarif", "-o", "out.sarif"])
        .assert()
        .code(0);
    let v: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("out.sarif")).unwrap()).unwrap();
    assert_github_sarif(&v);
    assert!(
        v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["level"] == "error")
            .all(|r| r["baselineState"] == "unchanged")
    );
}

#[test]
fn baseline_round_trip_shift_fix_shrink() {
    let tmp = common::corpus();
    let dir = tmp.path();
    let total = common::expectations(dir).len();
    cmd(dir).arg("--update-baseline").assert().code(0);
    let baseline: Value =
        serde_json::from_slice(&std::fs::read(dir.join("docs/slop/baseline.json")).unwrap())
            .unwrap();
    assert_eq!(baseline["version"], 1);
    assert_eq!(baseline["findings"].as_array().unwrap().len(), total);
    let report = std::fs::read_to_string(dir.join("docs/slop/REPORT.md")).unwrap();
    assert!(
        report.contains(&format!("{total} baselined finding(s)")),
        "{report}"
    );
    assert!(report.contains("| `api/errors.py` | 8 |"), "{report}");

    // Same code: clean. Lines shifted above every finding: still clean.
    cmd(dir).assert().code(0);
    let path = dir.join("api/sql.py");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("\"\"\"Docs.\"\"\"\n\n\n\n{text}")).unwrap();
    let out = cmd(dir).args(["--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = stdout_json(&out);
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .filter(|i| i["level"] == "error")
            .all(|i| i["status"] == "baselined")
    );

    // Fix one finding: reported as fixed, still exit 0; --update-baseline shrinks the file.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "exec_driver_sql(\"select * from Platform_Api_Keys\")",
            "exec_driver_sql(\"select 1\")",
        ),
    )
    .unwrap();
    let out = cmd(dir).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 baselined finding(s) are fixed"),
        "{stdout}"
    );
    assert!(stdout.contains("platform_api_keys"), "{stdout}");
    cmd(dir).arg("--update-baseline").assert().code(0);
    let baseline: Value =
        serde_json::from_slice(&std::fs::read(dir.join("docs/slop/baseline.json")).unwrap())
            .unwrap();
    assert_eq!(baseline["findings"].as_array().unwrap().len(), total - 1);

    // Scanning only one directory neither reports others' entries as fixed nor drops them.
    let out = cmd(dir).args(["alembic", "--root", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("are fixed"));
    cmd(dir)
        .args(["alembic", "--root", ".", "--update-baseline"])
        .assert()
        .code(0);
    let baseline: Value =
        serde_json::from_slice(&std::fs::read(dir.join("docs/slop/baseline.json")).unwrap())
            .unwrap();
    assert_eq!(baseline["findings"].as_array().unwrap().len(), total - 1);

    // --report re-renders the Markdown from the baseline without scanning.
    cmd(dir).args(["--report", "again.md"]).assert().code(0);
    assert_eq!(
        std::fs::read_to_string(dir.join("again.md")).unwrap(),
        std::fs::read_to_string(dir.join("docs/slop/REPORT.md")).unwrap()
    );
}

/// The "Done when": a FastAPI project, a readable report, a baseline, one new violation →
/// exit 1 and a GitHub annotation on exactly that line.
#[test]
fn done_when_new_violation_fails_with_one_annotation_on_its_line() {
    let tmp = common::corpus();
    let dir = tmp.path();
    let out = cmd(dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("api/errors.py:13:11: [agent-error]"),
        "{report}"
    );
    assert!(report.contains("fix: "), "{report}");

    cmd(dir).arg("--update-baseline").assert().code(0);
    cmd(dir).args(["--format", "github"]).assert().code(0);

    let path = dir.join("api/errors.py");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n\ndef brand_new(world_id):\n    raise HE(status_code=404, detail=f\"no world {world_id}\")\n");
    std::fs::write(&path, &text).unwrap();
    let line = text.lines().count();

    let out = cmd(dir).args(["--format", "github"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(errors.len(), 1, "{stdout}");
    assert!(
        errors[0].starts_with(&format!(
            "::error file=api/errors.py,line={line},col=11,title=slop%3A agent-error::"
        )),
        "{}",
        errors[0]
    );
}

#[test]
fn github_actions_gets_annotations_by_default_and_a_step_summary() {
    let tmp = common::corpus();
    let summary = tmp.path().join("summary.md");
    let out = cmd(tmp.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("::error file=api/sql.py,line=15,"),
        "{stdout}"
    );
    assert!(
        stdout.contains("::warning file=api/broken.py,line=4,"),
        "{stdout}"
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("| `raw-sql` | 7 | 0 |"), "{md}");
    assert!(md.contains("| `api/sql.py:15` | `raw-sql` |"), "{md}");
}

#[test]
fn bad_input_is_a_clear_exit_2() {
    let tmp = common::corpus();
    let dir = tmp.path();
    let fails = |args: &[&str], needle: &str| {
        let out = cmd(dir).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    fails(&["--rule", "nope"], "unknown rule `nope`");
    fails(&["no/such/dir"], "no/such/dir");
    fails(&["--baseline", "missing.json"], "does not exist");
    std::fs::write(dir.join("bad.json"), "{\"version\": 1, \"findings\": [").unwrap();
    fails(&["--baseline", "bad.json"], "bad.json is not valid");
    std::fs::write(dir.join("harness.toml"), "[slop]\nhelpers = [\"x\"]\n").unwrap();
    fails(&[], "helpers");
    std::fs::write(
        dir.join("harness.toml"),
        b"[slop]\nerror_helpers = [\"\xff\"]\n",
    )
    .unwrap();
    fails(&[], "not UTF-8");
    fails(&["--config", "nope.toml"], "nope.toml");
    fails(&["--format", "xml"], "xml");
    // The default baseline, corrupted, is an error too (never silently ignored).
    std::fs::remove_file(dir.join("harness.toml")).unwrap();
    std::fs::create_dir_all(dir.join("docs/slop")).unwrap();
    std::fs::write(dir.join("docs/slop/baseline.json"), "garbage").unwrap();
    fails(&[], "baseline.json is not valid");
    // --help documents the exit codes.
    let out = cmd(dir).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Exit codes") && help.contains("2  usage"),
        "{help}"
    );
}

#[test]
fn config_section_and_size_limit_apply() {
    let tmp = common::corpus();
    let dir = tmp.path();
    std::fs::write(
        dir.join("harness.toml"),
        "[slop]\nmax_file_bytes = 1500\n[slop.rules]\nresponse-model = false\n",
    )
    .unwrap();
    let out = cmd(dir).args(["--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    let items = v.as_array().unwrap();
    assert!(items.iter().all(|i| i["rule"] != "response-model"));
    // Larger files are reported, not read; the small ones are still checked.
    assert!(items.iter().any(|i| i["rule"] == "parse-error"
        && i["file"] == "api/worlds.py"
        && i["message"].as_str().unwrap().contains("max_file_bytes")));
    assert!(
        items
            .iter()
            .any(|i| i["rule"] == "agent-error" && i["file"] == "api/suppressed.py")
    );
}

/// docs/slop/baseline.json and REPORT.md are the fixture corpus's, regenerated: re-running the
/// generating command changes nothing (so the example cannot drift from the tool).
#[test]
fn shipped_example_baseline_and_report_are_current() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let committed = std::fs::read_to_string(repo.join("docs/slop/baseline.json")).unwrap();
    let committed_report = std::fs::read_to_string(repo.join("docs/slop/REPORT.md")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let baseline = tmp.path().join("baseline.json");
    std::fs::write(&baseline, &committed).unwrap();
    let fixture = common::fixture_dir();
    cmd(tmp.path())
        .arg(&fixture)
        .arg("--root")
        .arg(&fixture)
        .arg("--baseline")
        .arg(&baseline)
        .arg("--update-baseline")
        .assert()
        .code(0);
    assert_eq!(std::fs::read_to_string(&baseline).unwrap(), committed);
    let report = std::fs::read_to_string(tmp.path().join("REPORT.md"))
        .unwrap()
        .replace(&baseline.display().to_string(), "docs/slop/baseline.json");
    assert_eq!(report, committed_report);
}
