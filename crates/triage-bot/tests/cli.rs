//! The binary end to end: exit codes, output forms, secrets never printed, the model fallback.

mod common;

use assert_cmd::Command;
use common::*;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DSF_KEY: &str = "dsf_PLATFORMsecretKEY0123456789abcdef";
const ANTHROPIC_KEY: &str = "sk-ant-TESTsecretKEY0123456789";

/// The binary with a clean environment: no inherited tokens, no Actions variables.
fn bin() -> Command {
    let mut c = Command::cargo_bin("triage-bot").unwrap();
    for k in [
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "GITHUB_REPOSITORY",
        "GITHUB_API_URL",
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "DSF_BASE_URL",
        "DSF_API_KEY",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "TRIAGE_MODEL",
    ] {
        c.env_remove(k);
    }
    c.env("NO_COLOR", "1");
    c
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn exec(mut c: Command) -> Out {
    let o = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn assert_no_secrets(o: &Out) {
    for s in [TOKEN, DSF_KEY, ANTHROPIC_KEY] {
        assert!(
            !o.stdout.contains(s) && !o.stderr.contains(s),
            "secret printed:\n{}\n{}",
            o.stdout,
            o.stderr
        );
    }
}

#[test]
fn help_documents_exit_codes_and_environment() {
    let o = bin().arg("--help").output().unwrap();
    let h = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    for want in [
        "Exit codes:",
        "0  done",
        "1  the platform or GitHub failed",
        "2  usage",
        "GITHUB_TOKEN",
        "DSF_API_KEY",
        "ANTHROPIC_API_KEY",
        "--dry-run",
        "--since",
    ] {
        assert!(h.contains(want), "--help lacks {want:?}:\n{h}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let o = bin().arg("--dry-run").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no platform URL"));
    let o = bin().args(["--bogus-flag"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_grouped_ordered_report() {
    let p = platform().await;
    seed(&p).await;
    let mut c = bin();
    c.args(["--api", &p.base_url, "--dry-run"])
        .env("DSF_API_KEY", DSF_KEY);
    let o = exec(c).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout
            .starts_with("<!-- dsf-triage-bot -->\n# Platform feedback triage")
    );
    let g1 = o.stdout.find("## G1 · critical").unwrap();
    let g3 = o.stdout.find("## G3 · low").unwrap();
    assert!(g1 < g3);
    assert!(o.stderr.contains("Dry run: 5 open report(s) in 3 group(s)"));
    assert!(!o.stderr.contains("\x1b["), "NO_COLOR respected");
    assert_no_secrets(&o);

    let mut c = bin();
    c.args(["--api", &p.base_url, "--dry-run", "--json"]);
    let o = exec(c).await;
    let v: Value = serde_json::from_str(&o.stdout).expect("--json prints JSON");
    assert_eq!(v["outcome"], "dry_run");
    assert_eq!(v["groups"].as_array().unwrap().len(), 3);
    assert_eq!(v["groups"][0]["severity"], "critical");
    assert_eq!(v["groups"][1]["total_upvotes"], 3);
    assert_eq!(v["issue"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_open_says_so_and_exits_0() {
    let p = platform().await;
    let mut c = bin();
    c.args([
        "--api",
        &p.base_url,
        "--repo",
        REPO,
        "--github-api",
        "http://127.0.0.1:9",
    ])
    .env("GITHUB_TOKEN", TOKEN);
    let o = exec(c).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("No open feedback"), "{}", o.stdout);
    assert!(o.stdout.contains("GitHub not touched"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_dry_run_against_the_fake_github_creates_one_issue_then_nothing() {
    let p = platform().await;
    seed(&p).await;
    let gh = FakeGitHub::start().await;
    let run = || {
        let mut c = bin();
        c.args(["--api", &p.base_url, "--github-api", &gh.uri()])
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_TOKEN", TOKEN);
        c
    };
    let o = exec(run()).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.starts_with("Created triage issue #1"),
        "{}",
        o.stdout
    );
    let o = exec(run()).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("Unchanged"), "{}", o.stdout);
    assert_eq!(gh.bot_issues().len(), 1);
    assert_eq!(gh.writes().len(), 1);
    assert_no_secrets(&o);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_exit_1_and_never_print_secrets() {
    let p = platform().await;
    seed(&p).await;
    // GitHub answers every call with a body that echoes the token back.
    let gh = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"message": format!("boom, your token is {TOKEN}")})),
        )
        .mount(&gh)
        .await;
    let summary = tempfile_path("summary.md");
    let mut c = bin();
    c.args([
        "--api",
        &p.base_url,
        "--repo",
        REPO,
        "--github-api",
        &gh.uri(),
        "--json",
    ])
    .env("GITHUB_TOKEN", TOKEN)
    .env("DSF_API_KEY", DSF_KEY)
    .env("GITHUB_ACTIONS", "true")
    .env("GITHUB_STEP_SUMMARY", &summary);
    let o = exec(c).await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("HTTP 500"), "{}", o.stderr);
    assert!(o.stderr.contains("::error"), "annotation in Actions");
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "error");
    assert_eq!(v["exit_code"], 1);
    assert_no_secrets(&o);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("triage-bot failed") && !md.contains(TOKEN));

    // the platform down
    let mut c = bin();
    c.args(["--api", "http://127.0.0.1:9", "--dry-run"])
        .env("DSF_API_KEY", DSF_KEY);
    let o = exec(c).await;
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("cannot reach"), "{}", o.stderr);
    assert_no_secrets(&o);
}

fn tempfile_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "triage-bot-test-{}-{}",
        std::process::id(),
        name.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

async fn anthropic(status: u16, reply: Value) -> MockServer {
    let m = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", ANTHROPIC_KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(ResponseTemplate::new(status).set_body_json(reply))
        .expect(1)
        .mount(&m)
        .await;
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summarize_adds_sentences_and_any_failure_falls_back() {
    let p = platform().await;
    seed(&p).await;
    let summarize = |base: &str, key: Option<&str>| {
        let mut c = bin();
        c.args(["--api", &p.base_url, "--dry-run", "--json", "--summarize"])
            .env("ANTHROPIC_BASE_URL", base);
        if let Some(k) = key {
            c.env("ANTHROPIC_API_KEY", k);
        }
        c
    };
    // a good answer
    let ok = anthropic(
        200,
        json!({"content": [{"type": "text", "text": "G1: The claim handler @someone skips the row lock.\nG2: Blend validation counts bytes.\nG3: Docs were never written."}]}),
    )
    .await;
    let o = exec(summarize(&ok.uri(), Some(ANTHROPIC_KEY))).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["model"]["ok"], true);
    assert_eq!(
        v["groups"][0]["model_summary"],
        "The claim handler ＠someone skips the row lock."
    );
    // the API fails: deterministic report, said so, exit 0
    let down = anthropic(
        529,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )
    .await;
    let o = exec(summarize(&down.uri(), Some(ANTHROPIC_KEY))).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["model"]["ok"], false);
    assert!(
        v["model"]["fallback_reason"]
            .as_str()
            .unwrap()
            .contains("HTTP 529"),
        "{v}"
    );
    assert_eq!(v["groups"][0]["model_summary"], Value::Null);
    assert!(o.stderr.contains("model summary failed"));
    assert_no_secrets(&o);
    // an answer that skips a group
    let partial = anthropic(
        200,
        json!({"content": [{"type": "text", "text": "G1: only one"}]}),
    )
    .await;
    let o = exec(summarize(&partial.uri(), Some(ANTHROPIC_KEY))).await;
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["model"]["ok"], false);
    assert!(
        v["model"]["fallback_reason"]
            .as_str()
            .unwrap()
            .contains("1 of 3")
    );
    // no key: no request at all, and the report says why
    let o = exec(summarize("http://127.0.0.1:9", None)).await;
    assert_eq!(o.code, 0);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert!(
        v["model"]["fallback_reason"]
            .as_str()
            .unwrap()
            .contains("ANTHROPIC_API_KEY is not set")
    );
    // the markdown report of a fallback says so
    let down2 = anthropic(500, json!({})).await;
    let mut c = bin();
    c.args(["--api", &p.base_url, "--dry-run", "--summarize"])
        .env("ANTHROPIC_BASE_URL", down2.uri())
        .env("ANTHROPIC_API_KEY", ANTHROPIC_KEY);
    let o = exec(c).await;
    assert_eq!(o.code, 0);
    assert!(
        o.stdout.contains(
            "The model summary (`--summarize`) failed, so this is the deterministic report only"
        ),
        "{}",
        o.stdout
    );
    assert_no_secrets(&o);
}
