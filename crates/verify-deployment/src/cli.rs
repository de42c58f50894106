//! The command line.

use crate::plan::{EnvVars, Options, PlanError, plan};
use crate::progress::Progress;
use crate::report::Step;
use crate::settings::parse_duration;
use clap::Parser;
use markers::ExitStatus;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
Steps (in order): ci (GitHub Actions runs for exactly the SHA, pull_request runs excluded), backend
(health endpoint 200, and its deployed commit = the SHA when it reports one), then together: frontend
(200 + frontend_marker), smoke (configured endpoints, concurrently), schema (health status `healthy`),
logfire (no 5xx or errors since the deploy). `local` skips ci and logfire by default.

SHA: --sha, else the pending-push marker's SHA, else origin/<branch> for a branch of the environment,
else HEAD. The GitHub repository comes from the `origin` remote (never `upstream`) unless --repo.

Environment: GITHUB_TOKEN or GH_TOKEN (needed unless ci is skipped), GITHUB_API_URL,
LOGFIRE_READ_TOKEN (else .claude/logfire-token, mode 600; needed unless logfire is skipped),
LOGFIRE_BASE_URL (else the token's region), HARNESS_MARKER_DIR, NO_COLOR, GITHUB_ACTIONS,
GITHUB_STEP_SUMMARY. Tokens are never printed.

Exit codes:
  0  every applicable step passed; the deploy-verified marker is written (the Stop gate opens)
  1  a check failed or timed out; nothing is written
  2  usage, configuration or infrastructure error before any check ran (unknown environment, no
     backend URL, missing token, unreadable harness.toml, not a git repository, …)";

#[derive(Parser, Debug)]
#[command(
    name = "verify-deployment",
    version,
    about = "Prove a deploy is healthy: CI for the exact SHA, backend and frontend health, smoke endpoints, schema, Logfire errors; then open the Stop gate",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Environment from harness.toml (defaults: local, staging, production); default: the pending push's.
    pub environment: Option<String>,
    /// Commit to verify (7–40 hex digits; the CI check needs one git can expand to 40).
    #[arg(long)]
    pub sha: Option<String>,
    /// harness.toml to read (default: the one at the project root, if any).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Project directory (any path inside its git repository).
    #[arg(short = 'C', long = "project", value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// Print one JSON report on stdout (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
    /// Bound on the whole run, e.g. 90s, 15m (default [verify] timeout, 20m).
    #[arg(long, value_parser = parse_duration, value_name = "DUR")]
    pub timeout: Option<Duration>,
    /// Skip a step (repeatable).
    #[arg(long, value_enum, value_name = "STEP")]
    pub skip: Vec<Step>,
    /// Backend base URL for this run (overrides the environment's backend_url).
    #[arg(long, value_name = "URL")]
    pub backend_url: Option<String>,
    /// Frontend URL for this run (overrides the environment's frontend_url).
    #[arg(long, value_name = "URL")]
    pub frontend_url: Option<String>,
    /// GitHub REST API base (default [verify] github_api, $GITHUB_API_URL, https://api.github.com).
    #[arg(long, value_name = "URL")]
    pub github_api: Option<String>,
    /// Logfire API base (default [verify] logfire_url, $LOGFIRE_BASE_URL, the token's region).
    #[arg(long, value_name = "URL")]
    pub logfire_url: Option<String>,
    /// GitHub repository OWNER/NAME (default: the `origin` remote).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// How long to wait between polls (default [verify] poll_interval, 10s).
    #[arg(long, value_parser = parse_duration, value_name = "DUR")]
    pub poll_interval: Option<Duration>,
    /// Fail CI when no workflow run for the SHA appears within this (default [verify] ci_grace, 2m).
    #[arg(long, value_parser = parse_duration, value_name = "DUR")]
    pub ci_grace: Option<Duration>,
    /// Start of the Logfire window: RFC 3339 time, or a duration ago (default: the push).
    #[arg(long, value_name = "TIME|DUR")]
    pub since: Option<String>,
}

impl Cli {
    pub fn options(&self) -> Options {
        Options {
            environment: self.environment.clone(),
            sha: self.sha.clone(),
            config: self.config.clone(),
            project: self.project.clone(),
            timeout: self.timeout,
            skip: self.skip.clone(),
            backend_url: self.backend_url.clone(),
            frontend_url: self.frontend_url.clone(),
            github_api: self.github_api.clone(),
            logfire_url: self.logfire_url.clone(),
            poll_interval: self.poll_interval,
            ci_grace: self.ci_grace,
            repo: self.repo.clone(),
            since: self.since.clone(),
            marker_base: None,
        }
    }
}

fn usage_error(json: bool, msg: &str) -> ExitStatus {
    eprintln!("verify-deployment: {msg}");
    if json {
        println!(
            "{}",
            serde_json::json!({"verified": false, "error": msg, "exit_code": ExitStatus::Error.code()})
        );
    }
    if markers::gha::in_github_actions() {
        eprintln!(
            "{}",
            markers::gha::annotation(
                markers::gha::Level::Error,
                None,
                Some("verify-deployment"),
                msg
            )
        );
    }
    ExitStatus::Error
}

/// Runs the command and returns its exit status (Pass: verified, Fail: a check failed, Error: usage,
/// configuration or infrastructure).
pub fn main_with(cli: Cli, env: &EnvVars) -> ExitStatus {
    let plan = match plan(&cli.options(), env) {
        Ok(p) => p,
        Err(PlanError(msg)) => return usage_error(cli.json, &msg),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage_error(cli.json, &format!("cannot start the async runtime: {e}")),
    };
    let progress = Progress::stderr(markers::term::color_enabled(
        std::io::stderr().is_terminal(),
    ));
    eprintln!(
        "verify-deployment: verifying {} at {} (SHA from {})",
        plan.environment, plan.sha, plan.sha_source
    );
    let mut report = rt.block_on(crate::run::run(&plan, &progress));
    if let Err(e) = crate::run::finish(&plan, &mut report) {
        return usage_error(
            cli.json,
            &format!(
                "every check passed, but the deploy-verified marker could not be written: {e}"
            ),
        );
    }
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!(
            "{}",
            report.human(markers::term::color_enabled(
                std::io::stdout().is_terminal()
            ))
        );
    }
    if markers::gha::in_github_actions() {
        if let Err(e) = markers::gha::append_step_summary(&report.markdown()) {
            eprintln!("verify-deployment: cannot write the step summary: {e}");
        }
        for a in report.annotations() {
            eprintln!("{a}");
        }
    }
    ExitStatus::pass_if(report.verified)
}
