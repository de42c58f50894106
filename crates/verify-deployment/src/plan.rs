//! Preflight: everything that can be wrong before a check runs (environment, URLs, SHA, repository,
//! tokens, marker directory) is found here and reported as a usage/configuration error (exit 2), so
//! a check failure (exit 1) always means the deploy itself is not healthy.

use crate::git;
use crate::report::Step;
use crate::settings::{RawVerifySection, Timings};
use api_client::github::{GitHub, GitHubConfig, RepoSlug};
use api_client::logfire::{self, Logfire, LogfireConfig, TokenSource};
use markers::{Environment, HarnessConfig, MarkerStore, Sha, SmokeCheck};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What the command line (or a test) asks for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `None`: the pending push's environment.
    pub environment: Option<String>,
    pub sha: Option<String>,
    /// An explicit `harness.toml`; default `<project root>/harness.toml` (absent = defaults).
    pub config: Option<PathBuf>,
    /// Any directory inside the project's git repository.
    pub project: PathBuf,
    pub timeout: Option<Duration>,
    pub skip: Vec<Step>,
    pub backend_url: Option<String>,
    pub frontend_url: Option<String>,
    pub github_api: Option<String>,
    pub logfire_url: Option<String>,
    pub poll_interval: Option<Duration>,
    pub ci_grace: Option<Duration>,
    /// `OWNER/NAME`, instead of the `origin` remote.
    pub repo: Option<String>,
    /// Start of the Logfire window: RFC 3339, or a duration ago (`30m`).
    pub since: Option<String>,
    /// Marker base directory (tests); `None` = `$HARNESS_MARKER_DIR` / XDG state / `~/.local/state`.
    pub marker_base: Option<PathBuf>,
}

/// The process environment the tool reads, captured once (tests pass their own).
#[derive(Clone, Default)]
pub struct EnvVars {
    pub github_token: Option<String>,
    pub github_api_url: Option<String>,
    pub logfire_token: Option<String>,
    pub logfire_base_url: Option<String>,
}

impl std::fmt::Debug for EnvVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvVars")
            .field(
                "github_token",
                &self.github_token.as_ref().map(|_| "<redacted>"),
            )
            .field("github_api_url", &self.github_api_url)
            .field(
                "logfire_token",
                &self.logfire_token.as_ref().map(|_| "<redacted>"),
            )
            .field("logfire_base_url", &self.logfire_base_url)
            .finish()
    }
}

impl EnvVars {
    pub fn from_process() -> Self {
        let var = |k: &str| {
            std::env::var(k)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        EnvVars {
            github_token: api_client::github::token_from_env(),
            github_api_url: var("GITHUB_API_URL"),
            logfire_token: var(logfire::TOKEN_ENV),
            logfire_base_url: var("LOGFIRE_BASE_URL"),
        }
    }
}

/// A usage or configuration problem found before any check ran (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, PlanError> {
    Err(PlanError(msg.into()))
}

/// Everything a run needs, resolved.
#[derive(Debug)]
pub struct Plan {
    pub environment: String,
    pub sha: Sha,
    pub sha_source: String,
    pub project_root: PathBuf,
    pub store: MarkerStore,
    pub timings: Timings,
    /// Steps that will not run, with the reason.
    pub skipped: BTreeMap<Step, String>,
    pub backend_url: Option<String>,
    pub health_path: String,
    pub frontend_url: Option<String>,
    pub frontend_marker: Option<String>,
    pub smoke: Vec<SmokeCheck>,
    pub smoke_concurrency: usize,
    pub repo: Option<RepoSlug>,
    pub github: Option<GitHub>,
    pub logfire: Option<Logfire>,
    pub logfire_token_source: Option<TokenSource>,
    pub service_name: Option<String>,
    pub logfire_environment: String,
    /// Explicit Logfire window start and its source; else decided during the run.
    pub since: Option<(String, String)>,
}

fn check_url(what: &str, url: &str) -> Result<String, PlanError> {
    let u = url.trim().trim_end_matches('/');
    if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() <= "https://".len() {
        return err(format!("{what} `{url}` is not an http:// or https:// URL"));
    }
    Ok(u.to_string())
}

/// Resolves `opts` into a [`Plan`], or says exactly what is missing.
pub fn plan(opts: &Options, env: &EnvVars) -> Result<Plan, PlanError> {
    let project_root = markers::project_root(&opts.project).map_err(|e| {
        PlanError(format!(
            "{e}: run verify-deployment inside the project's git repository (or pass -C DIR)"
        ))
    })?;
    let cfg = match &opts.config {
        Some(p) => HarnessConfig::load_file(p),
        None => HarnessConfig::load(&project_root),
    }
    .map_err(|e| PlanError(e.to_string()))?;
    let section: RawVerifySection = cfg
        .section("verify")
        .map_err(|e| PlanError(e.to_string()))?
        .unwrap_or_default();
    let mut timings = Timings::from_section(&section).map_err(PlanError)?;
    if let Some(t) = opts.timeout {
        timings.overall = t;
    }
    if let Some(p) = opts.poll_interval {
        timings.poll_interval = p;
    }
    if let Some(g) = opts.ci_grace {
        timings.ci_grace = g;
    }
    if timings.poll_interval.is_zero() {
        return err("the poll interval must be greater than zero");
    }
    let store = match &opts.marker_base {
        Some(base) => MarkerStore::open_in(base, &project_root),
        None => MarkerStore::open(&project_root),
    }
    .map_err(|e| PlanError(e.to_string()))?;
    let pending = store
        .read_push_pending()
        .map_err(|e| PlanError(e.to_string()))?;

    let env_name = match (&opts.environment, &pending) {
        (Some(e), _) => e.clone(),
        (None, Some(p)) => p.environment.clone(),
        (None, None) => {
            return err(format!(
                "name an environment ({}); there is no pending push to take it from",
                names(&cfg)
            ));
        }
    };
    let Some(environment) = cfg.environment(&env_name).cloned() else {
        return err(format!(
            "unknown environment `{env_name}`; known: {} (see harness.toml)",
            names(&cfg)
        ));
    };

    // --- the SHA ---
    let (sha, sha_source) = resolve_sha(opts, &project_root, &environment, pending.as_ref())?;

    // --- what runs ---
    let mut skipped = skipped_steps(opts, &environment, &env_name);
    let backend_url = opts
        .backend_url
        .clone()
        .or_else(|| environment.backend_url.clone())
        .map(|u| check_url("backend URL", &u))
        .transpose()?;
    let needs_backend = [Step::Backend, Step::Smoke, Step::Schema]
        .iter()
        .any(|s| !skipped.contains_key(s));
    if backend_url.is_none() && needs_backend {
        return err(format!(
            "environment `{env_name}` has no backend_url: set it in harness.toml or pass --backend-url URL"
        ));
    }
    let frontend_url = opts
        .frontend_url
        .clone()
        .or_else(|| environment.frontend_url.clone())
        .map(|u| check_url("frontend URL", &u))
        .transpose()?;
    if frontend_url.is_none() {
        skipped
            .entry(Step::Frontend)
            .or_insert_with(|| format!("no frontend_url for {env_name}"));
    }
    let smoke = validated_smoke(&env_name, &environment.smoke)?;

    // --- GitHub ---
    let (repo, github) = if skipped.contains_key(&Step::Ci) {
        (None, None)
    } else {
        let (repo, gh) = github_plan(opts, env, &project_root, &sha, &section, &timings)?;
        (Some(repo), Some(gh))
    };

    // --- Logfire ---
    let (lf, lf_source) = if skipped.contains_key(&Step::Logfire) {
        (None, None)
    } else {
        let (client, source) = logfire_plan(opts, env, &project_root, &section, &timings)?;
        (Some(client), Some(source))
    };

    let since = match &opts.since {
        Some(s) => Some((parse_since(s)?, "--since".to_string())),
        None => pending
            .as_ref()
            .filter(|p| {
                p.environment == env_name && p.sha.as_ref().is_some_and(|s| s.matches(&sha))
            })
            .map(|p| (p.time.to_rfc3339(), "push-pending marker".to_string())),
    };

    Ok(Plan {
        environment: env_name.clone(),
        sha,
        sha_source,
        project_root,
        store,
        timings,
        skipped,
        backend_url,
        health_path: normalize_path(&environment.health_path),
        frontend_url,
        frontend_marker: environment
            .frontend_marker
            .clone()
            .filter(|m| !m.is_empty()),
        smoke,
        smoke_concurrency: section.smoke_concurrency.unwrap_or(8).max(1),
        repo,
        github,
        logfire: lf,
        logfire_token_source: lf_source,
        service_name: environment.service_name.clone(),
        logfire_environment: environment
            .logfire_environment
            .clone()
            .unwrap_or_else(|| env_name.clone()),
        since,
    })
}

fn names(cfg: &HarnessConfig) -> String {
    cfg.environments
        .iter()
        .map(|e| e.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn normalize_path(p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

/// The steps that do not run, each with why: `--skip`, and what the environment does not have.
fn skipped_steps(
    opts: &Options,
    environment: &Environment,
    env_name: &str,
) -> BTreeMap<Step, String> {
    let mut skipped: BTreeMap<Step, String> = BTreeMap::new();
    for s in &opts.skip {
        skipped.insert(*s, "--skip".into());
    }
    if !environment.ci {
        skipped
            .entry(Step::Ci)
            .or_insert_with(|| format!("ci = false for {env_name}"));
    }
    if !environment.logfire {
        skipped
            .entry(Step::Logfire)
            .or_insert_with(|| format!("logfire = false for {env_name}"));
    }
    if environment.smoke.is_empty() {
        skipped
            .entry(Step::Smoke)
            .or_insert_with(|| format!("no smoke endpoints configured for {env_name}"));
    }
    if skipped.contains_key(&Step::Backend) && !skipped.contains_key(&Step::Schema) {
        skipped.insert(
            Step::Schema,
            "the schema is read from the backend health check, which is skipped".into(),
        );
    }
    skipped
}

/// The environment's smoke checks, normalized (upper-case method) and validated.
fn validated_smoke(env_name: &str, checks: &[SmokeCheck]) -> Result<Vec<SmokeCheck>, PlanError> {
    let mut smoke = checks.to_vec();
    for c in &mut smoke {
        if !c.path.starts_with('/') {
            return err(format!(
                "smoke path `{}` of {env_name} must start with /",
                c.path
            ));
        }
        c.method = c.method.trim().to_ascii_uppercase();
        if reqwest::Method::from_bytes(c.method.as_bytes()).is_err() || c.method.is_empty() {
            return err(format!(
                "smoke method `{}` for {} is not an HTTP method",
                c.method, c.path
            ));
        }
        if !(100..=599).contains(&c.expect_status) {
            return err(format!(
                "smoke expect_status {} for {} is not an HTTP status",
                c.expect_status, c.path
            ));
        }
    }
    Ok(smoke)
}

/// The CI step's GitHub repository and client: `--repo` or the `origin` remote, a token from the
/// environment, and the full SHA the runs are matched against.
fn github_plan(
    opts: &Options,
    env: &EnvVars,
    project_root: &std::path::Path,
    sha: &Sha,
    section: &RawVerifySection,
    timings: &Timings,
) -> Result<(RepoSlug, GitHub), PlanError> {
    let repo = match &opts.repo {
        Some(r) => RepoSlug::parse(r).map_err(|e| PlanError(e.to_string()))?,
        None => {
            let url = git::origin_url(project_root)
                .map_err(PlanError)?
                .ok_or_else(|| {
                    PlanError(format!(
                        "{} has no `origin` remote to find the GitHub repository (pass --repo OWNER/NAME, or --skip ci)",
                        project_root.display()
                    ))
                })?;
            RepoSlug::from_remote_url(&url).map_err(|_| {
                PlanError(
                    "the `origin` remote does not name a GitHub repository OWNER/NAME (pass --repo OWNER/NAME, or --skip ci)"
                        .to_string(),
                )
            })?
        }
    };
    let Some(token) = env.github_token.clone() else {
        return err(
            "the CI check needs a GitHub token: set GITHUB_TOKEN or GH_TOKEN (actions:read on the repository), or pass --skip ci",
        );
    };
    if !sha.is_full() {
        return err(format!(
            "the CI check needs the full 40-hex SHA, and git cannot expand `{sha}` here; pass the full SHA"
        ));
    }
    let api = opts
        .github_api
        .clone()
        .or_else(|| section.github_api.clone())
        .or_else(|| env.github_api_url.clone())
        .unwrap_or_else(|| api_client::github::DEFAULT_API_BASE.to_string());
    let mut gcfg = GitHubConfig::new(api, Some(token));
    gcfg.timeout = timings.request_timeout;
    let gh = GitHub::new(gcfg).map_err(|e| PlanError(e.to_string()))?;
    Ok((repo, gh))
}

/// The Logfire step's client and where its read token came from (the environment or the
/// project's token file).
fn logfire_plan(
    opts: &Options,
    env: &EnvVars,
    project_root: &std::path::Path,
    section: &RawVerifySection,
    timings: &Timings,
) -> Result<(Logfire, TokenSource), PlanError> {
    let (token, source) = match &env.logfire_token {
        Some(t) => (t.clone(), TokenSource::Env),
        None => {
            let path = project_root.join(logfire::TOKEN_FILE);
            if !path.exists() {
                return err(format!(
                    "the Logfire check needs a read token: set {} or write it to {} (chmod 600), or pass --skip logfire",
                    logfire::TOKEN_ENV,
                    path.display()
                ));
            }
            let t = logfire::read_token_file(&path).map_err(|e| PlanError(e.to_string()))?;
            (t, TokenSource::File(path))
        }
    };
    let base = opts
        .logfire_url
        .clone()
        .or_else(|| section.logfire_url.clone())
        .or_else(|| env.logfire_base_url.clone());
    let client = Logfire::new(LogfireConfig {
        base_url: base,
        token,
        timeout: timings.request_timeout,
    })
    .map_err(|e| PlanError(e.to_string()))?;
    Ok((client, source))
}

/// `--sha`, else the pending push's SHA (same environment), else `origin/<branch>` for a branch
/// that deploys here, else `HEAD`. Abbreviated SHAs are expanded by git when it knows them.
fn resolve_sha(
    opts: &Options,
    root: &std::path::Path,
    env: &Environment,
    pending: Option<&markers::PushPending>,
) -> Result<(Sha, String), PlanError> {
    // An abbreviation git can expand becomes the full SHA (the CI check needs it).
    let expand = |s: Sha| -> Result<Sha, PlanError> {
        Ok(git::resolve_commit(root, s.as_str())
            .map_err(PlanError)?
            .filter(|full| full.matches(&s))
            .unwrap_or(s))
    };
    if let Some(s) = &opts.sha {
        let s = s.trim();
        let Ok(sha) = Sha::parse(s) else {
            return err(format!(
                "--sha `{s}` is not a commit SHA (7 to 40 hex digits)"
            ));
        };
        return Ok((expand(sha)?, "--sha".into()));
    }
    if let Some(sha) = pending
        .filter(|p| p.environment == env.name)
        .and_then(|p| p.sha.clone())
    {
        return Ok((expand(sha)?, "push-pending marker".into()));
    }
    let current = git::current_branch(root).map_err(PlanError)?;
    let mut candidates: Vec<&String> = Vec::new();
    if let Some(c) = &current
        && env.branches.contains(c)
    {
        candidates.push(c);
    }
    candidates.extend(env.branches.iter().filter(|b| Some(*b) != current.as_ref()));
    for b in candidates {
        if let Some(tip) = git::remote_tip(root, b).map_err(PlanError)? {
            return Ok((tip, format!("origin/{b}")));
        }
    }
    match git::resolve_commit(root, "HEAD").map_err(PlanError)? {
        Some(head) => Ok((head, "HEAD".into())),
        None => err("cannot tell which commit to verify: pass --sha SHA"),
    }
}

/// `--since`: RFC 3339 passes through; a duration means that long ago.
fn parse_since(s: &str) -> Result<String, PlanError> {
    let s = s.trim();
    if let Ok(d) = crate::settings::parse_duration(s) {
        let now = markers::Timestamp::now();
        return Ok(markers::Timestamp(now.0.saturating_sub(d.as_millis() as u64)).to_rfc3339());
    }
    let b = s.as_bytes();
    let looks_rfc3339 = s.is_ascii()
        && b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        && (s.ends_with('Z') || s.ends_with('z') || s[19..].contains(['+', '-']));
    if looks_rfc3339 {
        Ok(s.to_string())
    } else {
        err(format!(
            "--since `{s}` is neither an RFC 3339 time with a zone (2026-11-24T10:00:00Z) nor a duration (30m)"
        ))
    }
}
