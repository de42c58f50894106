//! The GitHub Actions workflows (workflows/*.yml and .github/workflows/*.yml) pass actionlint, with
//! shellcheck over every `run:` block, and keep the promises workflows/README.md makes.
//!
//! actionlint and shellcheck are installed by `scripts/setup.sh` (which `make test` runs first) into
//! `$DSF_TOOLS_DIR` (default `~/.cache/dsf-harness/tools`); `ACTIONLINT` / `SHELLCHECK` point
//! elsewhere. A missing tool fails the test, unless `DSF_ALLOW_MISSING_ACTIONLINT=1`, which skips it
//! with a loud message (never set in CI).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn tools_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DSF_TOOLS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("dsf-harness").join("tools")
}

/// `$VAR`, else the tools venv, else `PATH`.
fn find_tool(var: &str, name: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let p = tools_dir().join("bin").join(name);
    if p.is_file() {
        return Some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// actionlint and shellcheck, or `None` when skipping is explicitly allowed.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let a = find_tool("ACTIONLINT", "actionlint");
    let s = find_tool("SHELLCHECK", "shellcheck");
    match (a, s) {
        (Some(a), Some(s)) => Some((a, s)),
        (a, s) => {
            let missing = [("actionlint", a.is_none()), ("shellcheck", s.is_none())]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(" and ");
            if std::env::var("DSF_ALLOW_MISSING_ACTIONLINT").is_ok_and(|v| v == "1") {
                eprintln!(
                    "\n!!!!!!!! SKIPPED: {missing} not found; the workflows were NOT linted (DSF_ALLOW_MISSING_ACTIONLINT=1) !!!!!!!!\n"
                );
                None
            } else {
                panic!(
                    "{missing} not found: run `make setup` (scripts/setup.sh installs them into {}), or set ACTIONLINT/SHELLCHECK",
                    tools_dir().display()
                );
            }
        }
    }
}

fn workflow_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in ["workflows", ".github/workflows"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("yml" | "yaml")) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn actionlint(a: &Path, s: &Path, files: &[PathBuf], cwd: &Path) -> (i32, String) {
    let out = Command::new(a)
        .current_dir(cwd)
        .arg("-no-color")
        .arg("-oneline")
        .arg("-shellcheck")
        .arg(s)
        .arg("-pyflakes=")
        .args(files)
        .output()
        .expect("actionlint runs");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn every_workflow_passes_actionlint_and_shellcheck() {
    let files = workflow_files();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(repo_root()).unwrap().display().to_string())
        .collect();
    for want in [
        "workflows/review.yml",
        "workflows/post-deploy-verify.yml",
        "workflows/feedback-triage.yml",
        "workflows/feedback-fix.yml",
        ".github/workflows/ci.yml",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    let Some((a, s)) = tools() else { return };
    let (code, out) = actionlint(&a, &s, &files, &repo_root());
    assert!(
        code == 0 && out.trim().is_empty(),
        "actionlint found problems (exit {code}):\n{out}"
    );
}

#[test]
fn actionlint_really_catches_injection_and_shell_bugs() {
    // The lint above can only fail if the linter works: prove it on a bad workflow.
    let Some((a, s)) = tools() else { return };
    let dir = std::env::temp_dir().join(format!("triage-bot-actionlint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yml");
    std::fs::write(
        &bad,
        "on: issues\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.issue.title }} $UNQUOTED\n",
    )
    .unwrap();
    let (code, out) = actionlint(&a, &s, &[bad], &dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("potentially untrusted"), "{out}");
    assert!(out.contains("SC2086"), "shellcheck is wired in:\n{out}");
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap()
}

#[test]
fn workflows_keep_their_promises() {
    for f in workflow_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains("continue-on-error"),
            "{}: no continue-on-error anywhere",
            f.display()
        );
        assert!(
            !text.contains("direct_prompt"),
            "{}: claude-code-action v1 takes `prompt`",
            f.display()
        );
    }
    let review = read("workflows/review.yml");
    assert!(review.contains("DST_SEEDS: \"0..200\""));
    assert!(review.contains("shard: [1, 2, 3, 4]") && review.contains("DST_SHARDS: \"4\""));
    assert!(review.contains("--strict") && review.contains("--junit"));
    assert!(review.contains("upload-sarif") && review.contains("security-events: write"));
    assert!(review.contains("postgres:"));
    let fix = read("workflows/feedback-fix.yml");
    assert!(fix.contains("collaborators/$ACTOR/permission"));
    assert!(fix.contains("github.event.label.name == 'approved-fix'"));
    assert!(fix.contains("anthropics/claude-code-action@v1") && fix.contains("prompt: |"));
    assert!(
        !fix.contains("github.event.issue.body") && !fix.contains("github.event.issue.title"),
        "untrusted issue text never goes into the prompt"
    );
    let triage = read("workflows/feedback-triage.yml");
    assert!(triage.contains("cron:") && triage.contains("workflow_dispatch"));
    assert!(triage.contains("triage-bot"));
    let verify = read("workflows/post-deploy-verify.yml");
    assert!(verify.contains("workflow_run:") && verify.contains("verify-deployment"));
    assert!(verify.contains("release-blocker") && verify.contains("SLACK_WEBHOOK_URL"));
}
