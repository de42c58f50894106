//! The command line.

use crate::collect::{self, Collected};
use crate::group::{self, Group};
use crate::publish::{self, Outcome, PublishError};
use crate::report::{self, ModelNote, ReportContext};
use crate::sanitize;
use crate::summarize::{self, ModelConfig};
use crate::when;
use api_client::github::{GitHub, GitHubConfig, RepoSlug};
use api_client::{ApiError, Client, ClientConfig};
use clap::Parser;
use markers::term::{self, Color};
use markers::{ExitStatus, gha};
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::time::Duration;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "triage-bot",
    version,
    about = "Groups the platform's open feedback by likely root cause and keeps one prioritized GitHub issue about it",
    after_help = "Environment:\n  \
        DSF_BASE_URL        platform base URL (same as --api)\n  \
        DSF_API_KEY         platform API key, sent if set (the feedback endpoints are public)\n  \
        GITHUB_REPOSITORY   OWNER/NAME (same as --repo; set by GitHub Actions)\n  \
        GITHUB_TOKEN        token for the issue (or GH_TOKEN); needs issues: write. An issue made with\n                      \
                            Actions' own GITHUB_TOKEN does not trigger other workflows.\n  \
        GITHUB_API_URL      GitHub REST base (default https://api.github.com; --github-api wins)\n  \
        ANTHROPIC_API_KEY   enables --summarize; ANTHROPIC_BASE_URL overrides the Messages API base\n\n\
        Exit codes:\n  \
        0  done: issue created, commented, unchanged, dry run printed, or nothing open (GitHub untouched)\n  \
        1  the platform or GitHub failed (unreachable, HTTP error, bad token, label dropped); at most one\n     \
           write happened, and a rerun is safe\n  \
        2  usage or configuration error (bad flag, missing --api/--repo/token, bad --since); nothing was read"
)]
pub struct Cli {
    /// Platform base URL.
    #[arg(long, env = "DSF_BASE_URL", value_name = "URL")]
    pub api: Option<String>,
    /// Repository that gets the triage issue (not needed with --dry-run).
    #[arg(long, env = "GITHUB_REPOSITORY", value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// Print the report; never touch GitHub.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a JSON result instead of text.
    #[arg(long)]
    pub json: bool,
    /// Only reports created at or after DATE (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Add a one-sentence model guess per group (needs ANTHROPIC_API_KEY; falls back on any failure).
    #[arg(long)]
    pub summarize: bool,
    /// GitHub REST base URL (default: GITHUB_API_URL, else https://api.github.com).
    #[arg(long, value_name = "URL")]
    pub github_api: Option<String>,
    /// Messages API base URL.
    #[arg(long, env = "ANTHROPIC_BASE_URL", value_name = "URL", default_value = summarize::DEFAULT_API_BASE)]
    pub anthropic_api: String,
    /// Model for --summarize.
    #[arg(long, env = "TRIAGE_MODEL", default_value = summarize::DEFAULT_MODEL)]
    pub model: String,
    /// Text-similarity threshold (Jaccard of word sets, 0 < T <= 1) for joining a group.
    #[arg(long, default_value_t = group::DEFAULT_THRESHOLD, value_name = "T")]
    pub threshold: f64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("platform: {0}")]
    Platform(#[from] ApiError),
    #[error("{0}")]
    Publish(#[from] PublishError),
}

impl CliError {
    /// Usage errors are `Error` (nothing was read); a failing platform or GitHub is `Fail`.
    pub fn status(&self) -> ExitStatus {
        match self {
            CliError::Usage(_) => ExitStatus::Error,
            _ => ExitStatus::Fail,
        }
    }

    /// [`status`](Self::status) as the process exit code.
    pub fn exit_code(&self) -> u8 {
        self.status().code()
    }
}

/// What a run did, for printing.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub api: String,
    pub collected: Collected,
    pub groups: Vec<Group>,
    pub fingerprint: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub model: ModelNote,
    /// `None` for a dry run or when nothing is open.
    pub outcome: Option<Outcome>,
    pub dry_run: bool,
}

impl RunResult {
    pub fn outcome_name(&self) -> &'static str {
        match (&self.outcome, self.groups.is_empty(), self.dry_run) {
            (_, true, _) => "nothing_open",
            (_, false, true) => "dry_run",
            (Some(Outcome::Created { .. }), ..) => "created",
            (Some(Outcome::Commented { .. }), ..) => "commented",
            (Some(Outcome::Unchanged { .. }), ..) => "unchanged",
            (None, ..) => "dry_run",
        }
    }

    pub fn to_json(&self) -> Value {
        let groups: Vec<Value> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                json!({
                    "rank": i + 1,
                    "title": g.title,
                    "key": g.key,
                    "item_ids": g.ids(),
                    "reports": g.items.len(),
                    "total_upvotes": g.total_upvotes(),
                    "severity": g.severity(),
                    "first_seen": g.first_seen().map(|t| when::show(Some(t))),
                    "last_seen": g.last_seen().map(|t| when::show(Some(t))),
                    "next_step": g.next_step(),
                    "model_summary": match &self.model {
                        ModelNote::Summaries(m) => m.get(&i).map(|s| sanitize::clean_line(s, 400)),
                        _ => None,
                    },
                })
            })
            .collect();
        json!({
            "outcome": self.outcome_name(),
            "api": report::origin(&self.api),
            "open_in_summary": self.collected.open_in_summary,
            "open_reports": self.collected.items.len(),
            "before_since": self.collected.before_since,
            "groups": groups,
            "fingerprint": self.fingerprint,
            "issue": self.outcome.as_ref().map(|o| json!({"number": o.number(), "url": o.url()})),
            "model": match &self.model {
                ModelNote::NotRequested => json!({"requested": false}),
                ModelNote::Summaries(m) => json!({"requested": true, "ok": true, "groups": m.len()}),
                ModelNote::Failed(why) => json!({"requested": true, "ok": false, "fallback_reason": why}),
            },
            "warnings": self.collected.warnings,
        })
    }
}

/// Validated settings.
struct Settings {
    api: String,
    repo: Option<RepoSlug>,
    since: Option<i64>,
    github: Option<GitHubConfig>,
}

fn settings(cli: &Cli, env: &Env) -> Result<Settings, CliError> {
    let api = cli
        .api
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            CliError::Usage("no platform URL: pass --api URL or set DSF_BASE_URL".into())
        })?;
    if !(cli.threshold > 0.0 && cli.threshold <= 1.0) {
        return Err(CliError::Usage(format!(
            "--threshold must be in (0, 1], got {}",
            cli.threshold
        )));
    }
    if cli.timeout == 0 {
        return Err(CliError::Usage(
            "--timeout must be at least 1 second".into(),
        ));
    }
    let since = match &cli.since {
        None => None,
        Some(s) => Some(when::parse(s).ok_or_else(|| {
            CliError::Usage(format!(
                "--since `{}` is not a date (YYYY-MM-DD or RFC 3339)",
                sanitize::clean_line(s, 60)
            ))
        })?),
    };
    if cli.dry_run {
        return Ok(Settings {
            api,
            repo: None,
            since,
            github: None,
        });
    }
    let repo = cli
        .repo
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            CliError::Usage(
                "no repository: pass --repo OWNER/NAME or set GITHUB_REPOSITORY (or use --dry-run)"
                    .into(),
            )
        })?;
    let repo = RepoSlug::parse(repo).map_err(|e| CliError::Usage(e.to_string()))?;
    let base = cli
        .github_api
        .clone()
        .or_else(|| env.github_api_url.clone())
        .unwrap_or_else(|| api_client::github::DEFAULT_API_BASE.to_string());
    let mut github = GitHubConfig::new(base, env.github_token.clone());
    github.timeout = Duration::from_secs(cli.timeout);
    if github.token.is_none() {
        return Err(CliError::Usage(
            "no GitHub token: set GITHUB_TOKEN (or GH_TOKEN) with issues: write, or use --dry-run"
                .into(),
        ));
    }
    Ok(Settings {
        api,
        repo: Some(repo),
        since,
        github: Some(github),
    })
}

fn env_secret(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The secrets and endpoints triage-bot takes from the environment (never from flags, which `ps`
/// shows). Tests build one directly instead of changing the process environment.
#[derive(Clone, Default)]
pub struct Env {
    /// `GITHUB_TOKEN`, else `GH_TOKEN`.
    pub github_token: Option<String>,
    /// `GITHUB_API_URL`.
    pub github_api_url: Option<String>,
    /// `DSF_API_KEY`.
    pub platform_key: Option<String>,
    /// `ANTHROPIC_API_KEY`.
    pub anthropic_key: Option<String>,
    /// Other secret values to scrub from output (`DSF_ADMIN_KEY`).
    pub other_secrets: Vec<String>,
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            github_token: api_client::github::token_from_env(),
            github_api_url: env_secret("GITHUB_API_URL"),
            platform_key: env_secret("DSF_API_KEY"),
            anthropic_key: env_secret("ANTHROPIC_API_KEY"),
            other_secrets: ["DSF_ADMIN_KEY", "GH_TOKEN"]
                .iter()
                .filter_map(|k| env_secret(k))
                .collect(),
        }
    }

    /// Every secret value, for [`sanitize::redact`].
    pub fn secrets(&self) -> Vec<String> {
        [&self.github_token, &self.platform_key, &self.anthropic_key]
            .into_iter()
            .flatten()
            .cloned()
            .chain(self.other_secrets.iter().cloned())
            .collect()
    }
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = |o: &Option<String>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("Env")
            .field("github_token", &r(&self.github_token))
            .field("github_api_url", &self.github_api_url)
            .field("platform_key", &r(&self.platform_key))
            .field("anthropic_key", &r(&self.anthropic_key))
            .finish()
    }
}

/// Does the work; prints nothing.
pub async fn run(cli: &Cli, env: &Env) -> Result<RunResult, CliError> {
    let s = settings(cli, env)?;
    let gh = match &s.github {
        Some(cfg) => Some(GitHub::new(cfg.clone()).map_err(|e| CliError::Usage(e.to_string()))?),
        None => None,
    };
    let mut ccfg = ClientConfig::new(s.api.clone());
    ccfg.api_key = env.platform_key.clone();
    ccfg.timeout = Duration::from_secs(cli.timeout);
    let client = Client::new(ccfg).map_err(|e| CliError::Usage(e.to_string()))?;
    let collected = collect::collect(&client, s.since).await?;
    let mut result = RunResult {
        api: s.api.clone(),
        groups: Vec::new(),
        fingerprint: None,
        title: None,
        body: None,
        model: ModelNote::NotRequested,
        outcome: None,
        dry_run: cli.dry_run,
        collected,
    };
    if result.collected.items.is_empty() {
        return Ok(result);
    }
    let groups = group::group(result.collected.items.clone(), cli.threshold);
    let fingerprint = group::fingerprint(&groups);
    let model = if cli.summarize {
        let cfg = ModelConfig {
            api_base: cli.anthropic_api.clone(),
            api_key: env.anthropic_key.clone(),
            model: cli.model.clone(),
            timeout: Duration::from_secs(cli.timeout),
        };
        match summarize::summarize(&cfg, &groups).await {
            Ok(m) => ModelNote::Summaries(m),
            Err(e) => ModelNote::Failed(sanitize::redact(&e.to_string(), &env.secrets())),
        }
    } else {
        ModelNote::NotRequested
    };
    let now = markers::Timestamp::now().0 as i64 / 1000;
    let ctx = ReportContext {
        source: s.api.clone(),
        generated_at: now,
        since: s.since,
        fingerprint: fingerprint.clone(),
        model: model.clone(),
        warnings: result.collected.warnings.clone(),
    };
    let body = report::render(&groups, &ctx);
    let title = report::issue_title(&groups, now);
    if let (Some(gh), Some(repo)) = (&gh, &s.repo) {
        result.outcome = Some(publish::publish(gh, repo, &title, &body, &fingerprint).await?);
    }
    result.groups = groups;
    result.fingerprint = Some(fingerprint);
    result.title = Some(title);
    result.body = Some(body);
    result.model = model;
    Ok(result)
}

/// Runs and prints; returns the exit status.
pub fn main_with(cli: Cli) -> ExitStatus {
    let env = Env::from_process();
    let secrets = env.secrets();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("triage-bot: cannot start the runtime: {e}");
            return ExitStatus::Fail;
        }
    };
    let color = term::color_enabled(std::io::stderr().is_terminal());
    match rt.block_on(run(&cli, &env)) {
        Ok(r) => {
            print_result(&cli, &r, color);
            ExitStatus::Pass
        }
        Err(e) => {
            let msg = sanitize::redact(&e.to_string(), &secrets);
            if cli.json {
                println!(
                    "{}",
                    json!({"outcome": "error", "exit_code": e.exit_code(), "error": msg})
                );
            }
            eprintln!(
                "{} {msg}",
                term::paint(color, Color::Red, "triage-bot: error:")
            );
            if gha::in_github_actions() {
                eprintln!(
                    "{}",
                    gha::annotation(gha::Level::Error, None, Some("triage-bot"), &msg)
                );
                let _ = gha::append_step_summary(&format!(
                    "### triage-bot failed\n\n{}\n",
                    gha::md_cell(&msg)
                ));
            }
            e.status()
        }
    }
}

fn print_result(cli: &Cli, r: &RunResult, color: bool) {
    let status = status_line(r);
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r.to_json()).unwrap_or_default()
        );
    } else if r.dry_run && r.body.is_some() {
        print!("{}", r.body.as_deref().unwrap_or_default());
    } else {
        println!("{status}");
    }
    if !cli.json && (r.dry_run && r.body.is_some()) {
        eprintln!("{}", term::paint(color, Color::Green, &status));
    }
    if let ModelNote::Failed(why) = &r.model {
        eprintln!(
            "{} model summary failed ({why}); the report is the deterministic one",
            term::paint(color, Color::Yellow, "triage-bot: warning:")
        );
    }
    for w in &r.collected.warnings {
        eprintln!(
            "{} {w}",
            term::paint(color, Color::Yellow, "triage-bot: warning:")
        );
    }
    if gha::in_github_actions() {
        let mut md = format!("### triage-bot\n\n{status}\n\n");
        if let Some(b) = &r.body {
            md.push_str(b);
        }
        let _ = gha::append_step_summary(&md);
    }
}

fn status_line(r: &RunResult) -> String {
    let groups = r.groups.len();
    let reports = r.collected.items.len();
    match (&r.outcome, groups) {
        (_, 0) => format!(
            "No open feedback on {}{}: nothing to triage; GitHub not touched.",
            report::origin(&r.api),
            if r.collected.before_since > 0 {
                format!(
                    " ({} open report(s) are older than --since)",
                    r.collected.before_since
                )
            } else {
                String::new()
            }
        ),
        (None, _) => {
            format!("Dry run: {reports} open report(s) in {groups} group(s); GitHub not touched.")
        }
        (Some(Outcome::Created { number, url }), _) => format!(
            "Created triage issue #{number} ({reports} report(s) in {groups} group(s)){}",
            url.as_deref().map(|u| format!(": {u}")).unwrap_or_default()
        ),
        (Some(Outcome::Commented { number, url }), _) => format!(
            "The open set changed: commented on triage issue #{number}{}",
            url.as_deref().map(|u| format!(": {u}")).unwrap_or_default()
        ),
        (Some(Outcome::Unchanged { number, .. }), _) => {
            format!("Unchanged: triage issue #{number} already has this open set; nothing written.")
        }
    }
}
