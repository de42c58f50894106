//! The six checks. Each has its own bounded wait (its timeout, cut to the run's overall deadline),
//! reports progress only when what it waits for changes, and ends in one [`StepReport`].

use crate::plan::Plan;
use crate::progress::Progress;
use crate::report::{Step, StepReport, Verdict};
use api_client::github::GitHubError;
use api_client::github::actions::WorkflowRun;
use api_client::logfire::{LogfireError, QueryRequest};
use api_client::{Client, ClientConfig, Health};
use markers::Sha;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The earlier of `now + timeout` and the overall deadline.
pub fn step_deadline(timeout: Duration, overall: Instant) -> Instant {
    (Instant::now() + timeout).min(overall)
}

/// Sleeps one poll interval, or until the deadline if that comes first. `false` once the deadline
/// has passed: the caller has made its last attempt.
async fn wait_again(deadline: Instant, poll: Duration) -> bool {
    let now = Instant::now();
    if now >= deadline {
        return false;
    }
    tokio::time::sleep(poll.min(deadline - now)).await;
    true
}

fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) || ms >= 60_000 {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// A response body as one line of at most 120 bytes, for messages.
fn snippet(s: &str) -> String {
    markers::text::ellipsize(s.trim(), 120).replace(['\n', '\r'], " ")
}

// ------------------------------------------------------------------ CI

/// What the workflow runs of a SHA say right now.
#[derive(Debug, Clone, PartialEq)]
pub enum CiState {
    /// No run for the SHA (runs for other commits listed, so the message can say why).
    NoRuns {
        other_shas: Vec<WorkflowRun>,
    },
    Pending {
        runs: Vec<WorkflowRun>,
        pending: Vec<WorkflowRun>,
    },
    Failed {
        bad: Vec<WorkflowRun>,
        pending: Vec<WorkflowRun>,
    },
    Passed {
        runs: Vec<WorkflowRun>,
    },
}

/// Conclusions that let a deploy through.
pub fn conclusion_ok(c: Option<&str>) -> bool {
    matches!(c, Some("success") | Some("skipped"))
}

/// Keeps runs for exactly `sha`, drops pull_request-event runs, keeps the newest run per workflow
/// and event (a re-run supersedes the run it repeats), then judges them.
pub fn evaluate_runs(sha: &Sha, runs: Vec<WorkflowRun>) -> CiState {
    let (mut ours, others): (Vec<_>, Vec<_>) =
        runs.into_iter().partition(|r| sha.matches_str(&r.head_sha));
    ours.retain(|r| !r.event.starts_with("pull_request"));
    ours.sort_by_key(|r| std::cmp::Reverse(r.id));
    let mut seen = std::collections::HashSet::new();
    ours.retain(|r| {
        let key = (
            r.workflow_id
                .map(|w| w.to_string())
                .unwrap_or_else(|| r.label()),
            r.event.clone(),
        );
        seen.insert(key)
    });
    ours.sort_by_key(|r| r.id);
    if ours.is_empty() {
        return CiState::NoRuns { other_shas: others };
    }
    let pending: Vec<_> = ours.iter().filter(|r| !r.is_completed()).cloned().collect();
    let bad: Vec<_> = ours
        .iter()
        .filter(|r| r.is_completed() && !conclusion_ok(r.conclusion.as_deref()))
        .cloned()
        .collect();
    if !bad.is_empty() {
        CiState::Failed { bad, pending }
    } else if !pending.is_empty() {
        CiState::Pending {
            runs: ours,
            pending,
        }
    } else {
        CiState::Passed { runs: ours }
    }
}

fn describe_run(r: &WorkflowRun) -> String {
    let state = match (&r.status, &r.conclusion) {
        (Some(s), _) if s != "completed" => s.clone(),
        (_, Some(c)) => c.clone(),
        _ => "unknown".into(),
    };
    let mut s = format!(
        "{} ({}) on {}: {state}",
        r.label(),
        r.event,
        Sha::short_of(&r.head_sha)
    );
    if let Some(u) = &r.html_url {
        s.push_str(&format!(" — {u}"));
    }
    s
}

fn names(runs: &[WorkflowRun]) -> String {
    runs.iter()
        .map(|r| r.label())
        .collect::<Vec<_>>()
        .join(", ")
}

fn transient_github(e: &GitHubError) -> bool {
    match e {
        GitHubError::Timeout { .. } | GitHubError::Connect { .. } => true,
        GitHubError::Http { status, .. } => *status >= 500,
        _ => false,
    }
}

/// Result of the CI step plus the earliest run start (the deploy's start, for Logfire).
pub struct CiOutcome {
    pub report: StepReport,
    pub earliest_run: Option<String>,
}

pub async fn ci(plan: &Plan, overall: Instant, progress: &Progress) -> CiOutcome {
    let (Some(gh), Some(repo)) = (&plan.github, &plan.repo) else {
        return CiOutcome {
            report: StepReport::new(Step::Ci, Verdict::Skipped, "no GitHub client"),
            earliest_run: None,
        };
    };
    let t = &plan.timings;
    let start = Instant::now();
    let deadline = step_deadline(t.ci_timeout, overall);
    let grace_end = start + t.ci_grace;
    let sha = &plan.sha;
    progress.say(
        Step::Ci,
        &format!("looking for workflow runs of {} in {repo}", sha.short()),
    );
    let mut last: String;
    loop {
        match gh.workflow_runs_for_sha(repo, sha.as_str()).await {
            Ok(runs) => match evaluate_runs(sha, runs) {
                CiState::Passed { runs } => {
                    let earliest = runs.iter().filter_map(|r| r.created_at.clone()).min();
                    return CiOutcome {
                        report: StepReport::new(
                            Step::Ci,
                            Verdict::Passed,
                            format!(
                                "{} workflow run(s) for {} succeeded: {}",
                                runs.len(),
                                sha.short(),
                                names(&runs)
                            ),
                        ),
                        earliest_run: earliest,
                    };
                }
                CiState::Failed { bad, pending } => {
                    let mut failures: Vec<String> = bad.iter().map(describe_run).collect();
                    failures.extend(pending.iter().map(describe_run));
                    return CiOutcome {
                        report: StepReport::failed(
                            Step::Ci,
                            format!(
                                "{} workflow run(s) for {} did not succeed: {}",
                                bad.len(),
                                sha.short(),
                                names(&bad)
                            ),
                            failures,
                        ),
                        earliest_run: None,
                    };
                }
                CiState::Pending { runs, pending } => {
                    last = format!(
                        "{} of {} workflow run(s) for {} still running: {}",
                        pending.len(),
                        runs.len(),
                        sha.short(),
                        pending
                            .iter()
                            .map(|r| format!(
                                "{} ({})",
                                r.label(),
                                r.status.as_deref().unwrap_or("?")
                            ))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    progress.say(Step::Ci, &format!("waiting: {last}"));
                }
                CiState::NoRuns { other_shas } => {
                    let why = if other_shas.is_empty() {
                        "GitHub lists no workflow runs for it at all".to_string()
                    } else {
                        format!(
                            "GitHub returned only runs for other commits, which do not count: {}",
                            other_shas
                                .iter()
                                .take(5)
                                .map(describe_run)
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    };
                    if Instant::now() >= grace_end {
                        return CiOutcome {
                            report: StepReport::failed(
                                Step::Ci,
                                format!(
                                    "no workflow run for {} appeared within the {} grace period ({why}); was the commit pushed to {repo}, and does a workflow run on push?",
                                    sha.short(),
                                    human(t.ci_grace)
                                ),
                                Vec::new(),
                            ),
                            earliest_run: None,
                        };
                    }
                    last = format!("no workflow run for {} yet ({why})", sha.short());
                    progress.say(
                        Step::Ci,
                        &format!(
                            "waiting up to {} for a workflow run of {} to appear",
                            human(t.ci_grace),
                            sha.short()
                        ),
                    );
                }
            },
            Err(e) if transient_github(&e) => {
                last = format!("GitHub error: {e}");
                progress.say(Step::Ci, &format!("{last}; retrying"));
            }
            Err(e) => {
                return CiOutcome {
                    report: StepReport::failed(Step::Ci, e.to_string(), Vec::new()),
                    earliest_run: None,
                };
            }
        }
        if !wait_again(deadline, t.poll_interval).await {
            return CiOutcome {
                report: StepReport::failed(
                    Step::Ci,
                    format!("gave up after {}: {last}", human(start.elapsed())),
                    Vec::new(),
                ),
                earliest_run: None,
            };
        }
    }
}

// ------------------------------------------------------------------ backend health

fn client(base: &str, timeout: Duration) -> Result<Client, String> {
    let mut cfg = ClientConfig::new(base);
    cfg.timeout = timeout;
    Client::new(cfg).map_err(|e| e.to_string())
}

/// The backend step's report and, when it passed, the health body for the schema step.
pub struct BackendOutcome {
    pub report: StepReport,
    pub health: Option<(Health, Value)>,
}

pub async fn backend(plan: &Plan, overall: Instant, progress: &Progress) -> BackendOutcome {
    let t = &plan.timings;
    let base = plan.backend_url.as_deref().unwrap_or_default();
    let url = format!("{base}{}", plan.health_path);
    let c = match client(base, t.request_timeout) {
        Ok(c) => c,
        Err(e) => {
            return BackendOutcome {
                report: StepReport::failed(Step::Backend, e, Vec::new()),
                health: None,
            };
        }
    };
    let start = Instant::now();
    let deadline = step_deadline(t.health_timeout, overall);
    progress.say(Step::Backend, &format!("polling {url}"));
    let mut last;
    loop {
        match c
            .send_raw(reqwest::Method::GET, &plan.health_path, None)
            .await
        {
            Ok(r) if r.status == 200 => match serde_json::from_value::<Health>(r.body.clone()) {
                Ok(h) => match &h.deployed_commit {
                    Some(c) if !plan.sha.matches_str(c) => {
                        last = format!(
                            "{url} reports deployed commit {}, expected {} (the new version is not live yet)",
                            Sha::short_of(c),
                            plan.sha.short()
                        );
                    }
                    reported => {
                        let summary = match reported {
                            Some(_) => {
                                format!("{url}: 200, deployed commit {} matches", plan.sha.short())
                            }
                            None => format!(
                                "{url}: 200 (it reports no deployed commit, so the SHA was not compared)"
                            ),
                        };
                        return BackendOutcome {
                            report: StepReport::new(Step::Backend, Verdict::Passed, summary),
                            health: Some((h, r.body)),
                        };
                    }
                },
                Err(e) => {
                    last = if r.body.is_null() {
                        format!("{url}: 200 but the body is not JSON: {}", snippet(&r.text))
                    } else {
                        format!("{url}: 200 but the body is not a health report ({e})")
                    };
                }
            },
            Ok(r) => {
                let status_field = r
                    .body
                    .get("status")
                    .and_then(Value::as_str)
                    .map(|s| format!(", status `{s}`"))
                    .unwrap_or_default();
                last = format!("{url}: HTTP {}{status_field}", r.status);
            }
            Err(e) => last = e.to_string(),
        }
        progress.say(Step::Backend, &format!("waiting: {last}"));
        if !wait_again(deadline, t.poll_interval).await {
            return BackendOutcome {
                report: StepReport::failed(
                    Step::Backend,
                    format!("not healthy after {}: {last}", human(start.elapsed())),
                    Vec::new(),
                ),
                health: None,
            };
        }
    }
}

// ------------------------------------------------------------------ frontend

pub async fn frontend(plan: &Plan, overall: Instant, progress: &Progress) -> StepReport {
    let t = &plan.timings;
    let base = plan.frontend_url.as_deref().unwrap_or_default();
    let c = match client(base, t.request_timeout) {
        Ok(c) => c,
        Err(e) => return StepReport::failed(Step::Frontend, e, Vec::new()),
    };
    let start = Instant::now();
    let deadline = step_deadline(t.frontend_timeout, overall);
    progress.say(Step::Frontend, &format!("polling {base}"));
    let mut last;
    loop {
        match c.send_raw(reqwest::Method::GET, "", None).await {
            Ok(r) if r.status == 200 => match &plan.frontend_marker {
                Some(m) if !r.text.contains(m.as_str()) => {
                    last = format!(
                        "{base}: 200 but the page ({} bytes) does not contain `{m}`",
                        r.text.len()
                    );
                }
                Some(m) => {
                    return StepReport::new(
                        Step::Frontend,
                        Verdict::Passed,
                        format!("{base}: 200 and contains `{m}`"),
                    );
                }
                None => {
                    return StepReport::new(
                        Step::Frontend,
                        Verdict::Passed,
                        format!("{base}: 200 (no frontend_marker configured, content not checked)"),
                    );
                }
            },
            Ok(r) => last = format!("{base}: HTTP {}", r.status),
            Err(e) => last = e.to_string(),
        }
        progress.say(Step::Frontend, &format!("waiting: {last}"));
        if !wait_again(deadline, t.poll_interval).await {
            return StepReport::failed(
                Step::Frontend,
                format!("not up after {}: {last}", human(start.elapsed())),
                Vec::new(),
            );
        }
    }
}

// ------------------------------------------------------------------ smoke

/// Every configured endpoint once, `smoke_concurrency` at a time; every failure listed in
/// configuration order.
pub async fn smoke(plan: &Plan, progress: &Progress) -> StepReport {
    let base = plan.backend_url.as_deref().unwrap_or_default();
    let c = match client(base, plan.timings.request_timeout) {
        Ok(c) => c,
        Err(e) => return StepReport::failed(Step::Smoke, e, Vec::new()),
    };
    progress.say(
        Step::Smoke,
        &format!(
            "{} endpoint(s), {} at a time",
            plan.smoke.len(),
            plan.smoke_concurrency
        ),
    );
    let results = run_smoke(&c, &plan.smoke, plan.smoke_concurrency).await;
    let failures: Vec<String> = results.into_iter().flatten().collect();
    if failures.is_empty() {
        StepReport::new(
            Step::Smoke,
            Verdict::Passed,
            format!("{} endpoint(s) answered as expected", plan.smoke.len()),
        )
    } else {
        StepReport::failed(
            Step::Smoke,
            format!(
                "{} of {} endpoint(s) failed",
                failures.len(),
                plan.smoke.len()
            ),
            failures,
        )
    }
}

/// One result per check, in order: `None` when it answered the expected status.
pub async fn run_smoke(
    c: &Client,
    checks: &[markers::SmokeCheck],
    concurrency: usize,
) -> Vec<Option<String>> {
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, check) in checks.iter().cloned().enumerate() {
        let c = c.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let method = reqwest::Method::from_bytes(check.method.as_bytes())
                .unwrap_or(reqwest::Method::GET);
            let what = format!("{} {}", check.method, check.path);
            let r = match c.send_raw(method, &check.path, None).await {
                Ok(r) if r.status == check.expect_status => None,
                Ok(r) => Some(format!(
                    "{what} → HTTP {} (expected {}){}",
                    r.status,
                    check.expect_status,
                    if r.text.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", snippet(&r.text))
                    }
                )),
                Err(e) => Some(format!("{what} → {e}")),
            };
            (i, r)
        });
    }
    let mut out = vec![None; checks.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, r)) => out[i] = r,
            Err(e) => {
                // a panicking request task must not pass silently
                if let Some(slot) = out.iter_mut().find(|s| s.is_none()) {
                    *slot = Some(format!("a smoke request task failed: {e}"));
                }
            }
        }
    }
    out
}

// ------------------------------------------------------------------ schema

pub fn schema(health: &Health, body: &Value) -> StepReport {
    let schema = health.schema.as_ref();
    let details = match schema {
        Some(s) => format!(
            "schema: is_current={}, current_version={}, expected_version={}{}",
            s.is_current.map(|b| b.to_string()).unwrap_or("?".into()),
            s.current_version.as_deref().unwrap_or("?"),
            s.expected_version.as_deref().unwrap_or("?"),
            s.message
                .as_deref()
                .map(|m| format!(", message: {m}"))
                .unwrap_or_default()
        ),
        None => format!(
            "no schema details in the health body: {}",
            snippet(&body.to_string())
        ),
    };
    let not_current = schema.and_then(|s| s.is_current) == Some(false);
    if health.status == "healthy" && !not_current {
        StepReport::new(
            Step::Schema,
            Verdict::Passed,
            format!("status healthy; {details}"),
        )
    } else {
        StepReport::failed(
            Step::Schema,
            format!(
                "health status is `{}`{}, not healthy with a current schema",
                health.status,
                health
                    .deployment_status
                    .as_deref()
                    .map(|d| format!(" (deployment_status `{d}`)"))
                    .unwrap_or_default()
            ),
            vec![details],
        )
    }
}

// ------------------------------------------------------------------ Logfire

/// SQL for 5xx responses and error-level records (exceptions included), grouped, worst first.
pub fn logfire_sql(service_name: Option<&str>) -> String {
    let service = service_name
        .map(|s| format!(" AND service_name = '{}'", s.replace('\'', "''")))
        .unwrap_or_default();
    format!(
        "SELECT exception_type, span_name, http_response_status_code AS status, count(*) AS n, \
         max(exception_message) AS example_message, max(trace_id) AS example_trace \
         FROM records \
         WHERE (level >= 'error' OR http_response_status_code >= 500){service} \
         GROUP BY exception_type, span_name, http_response_status_code \
         ORDER BY n DESC LIMIT 10"
    )
}

fn describe_error_row(row: &serde_json::Map<String, Value>) -> String {
    let s = |k: &str| {
        row.get(k).and_then(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let mut out = format!("{}×", s("n").unwrap_or_else(|| "?".into()));
    if let Some(t) = s("exception_type") {
        out.push_str(&format!(" {t}"));
    }
    if let Some(st) = s("status") {
        out.push_str(&format!(" HTTP {st}"));
    }
    out.push_str(&format!(
        " in {}",
        s("span_name").unwrap_or_else(|| "?".into())
    ));
    if let Some(m) = s("example_message") {
        out.push_str(&format!(": {}", snippet(&m)));
    }
    if let Some(tr) = s("example_trace") {
        out.push_str(&format!(" (trace {tr})"));
    }
    out
}

pub async fn logfire(
    plan: &Plan,
    since: &(String, String),
    overall: Instant,
    progress: &Progress,
) -> StepReport {
    let Some(lf) = &plan.logfire else {
        return StepReport::new(Step::Logfire, Verdict::Skipped, "no Logfire client");
    };
    let t = &plan.timings;
    let start = Instant::now();
    let deadline = step_deadline(t.logfire_timeout, overall);
    let scope = format!(
        "service {}, environment {}, since {} ({})",
        plan.service_name.as_deref().unwrap_or("(any)"),
        plan.logfire_environment,
        since.0,
        since.1
    );
    progress.say(
        Step::Logfire,
        &format!("querying {} for {scope}", lf.base_url()),
    );
    let req = QueryRequest {
        sql: logfire_sql(plan.service_name.as_deref()),
        min_timestamp: since.0.clone(),
        max_timestamp: None,
        limit: Some(10),
        deployment_environment: Some(vec![plan.logfire_environment.clone()]),
    };
    let mut last;
    loop {
        match lf.query(&req).await {
            Ok(rows) if rows.rows.is_empty() => {
                return StepReport::new(
                    Step::Logfire,
                    Verdict::Passed,
                    format!("no 5xx responses or errors ({scope})"),
                );
            }
            Ok(rows) => {
                let total: u64 = rows
                    .rows
                    .iter()
                    .filter_map(|r| r.get("n").and_then(Value::as_u64))
                    .sum();
                return StepReport::failed(
                    Step::Logfire,
                    format!(
                        "{total} error record(s) in {} group(s) ({scope}); top errors:",
                        rows.rows.len()
                    ),
                    rows.rows.iter().map(describe_error_row).collect(),
                );
            }
            Err(e) if e.is_transient() => {
                last = e.to_string();
                progress.say(Step::Logfire, &format!("{last}; retrying"));
            }
            Err(e @ LogfireError::Auth { .. }) => {
                let src = plan
                    .logfire_token_source
                    .as_ref()
                    .map(|s| format!(" (token from {s})"))
                    .unwrap_or_default();
                return StepReport::failed(Step::Logfire, format!("{e}{src}"), Vec::new());
            }
            Err(e) => return StepReport::failed(Step::Logfire, e.to_string(), Vec::new()),
        }
        if !wait_again(deadline, t.poll_interval).await {
            return StepReport::failed(
                Step::Logfire,
                format!("gave up after {}: {last}", human(start.elapsed())),
                Vec::new(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn evaluate_runs(sha: &str, runs: Vec<WorkflowRun>) -> CiState {
        super::evaluate_runs(&Sha::parse(sha).unwrap(), runs)
    }
    const OLD: &str = "fedcba9876543210fedcba9876543210fedcba98";

    fn run(id: u64, sha: &str, event: &str, status: &str, concl: Option<&str>) -> WorkflowRun {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": format!("wf{id}"), "workflow_id": id, "head_sha": sha,
            "event": event, "status": status, "conclusion": concl
        }))
        .unwrap()
    }

    #[test]
    fn stale_green_on_another_sha_is_no_run() {
        let s = evaluate_runs(SHA, vec![run(1, OLD, "push", "completed", Some("success"))]);
        assert!(matches!(s, CiState::NoRuns { ref other_shas } if other_shas.len() == 1));
    }

    #[test]
    fn pull_request_runs_do_not_count_and_red_fails_even_while_others_run() {
        let s = evaluate_runs(
            SHA,
            vec![run(1, SHA, "pull_request", "completed", Some("failure"))],
        );
        assert!(matches!(s, CiState::NoRuns { .. }));
        let s = evaluate_runs(
            SHA,
            vec![
                run(1, SHA, "push", "completed", Some("failure")),
                run(2, SHA, "push", "in_progress", None),
            ],
        );
        match s {
            CiState::Failed { bad, pending } => {
                assert_eq!(bad[0].id, 1);
                assert_eq!(pending[0].id, 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pending_then_passed_and_skipped_counts_as_ok() {
        let s = evaluate_runs(
            SHA,
            vec![
                run(1, SHA, "push", "completed", Some("success")),
                run(2, SHA, "push", "queued", None),
            ],
        );
        assert!(matches!(s, CiState::Pending { ref pending, .. } if pending.len() == 1));
        let s = evaluate_runs(
            SHA,
            vec![
                run(1, SHA, "push", "completed", Some("success")),
                run(2, SHA, "push", "completed", Some("skipped")),
            ],
        );
        assert!(matches!(s, CiState::Passed { ref runs } if runs.len() == 2));
        for bad in [
            "cancelled",
            "timed_out",
            "neutral",
            "action_required",
            "stale",
        ] {
            let s = evaluate_runs(SHA, vec![run(1, SHA, "push", "completed", Some(bad))]);
            assert!(matches!(s, CiState::Failed { .. }), "{bad}");
        }
    }

    #[test]
    fn a_newer_run_of_the_same_workflow_supersedes_the_older() {
        let mut old = run(1, SHA, "push", "completed", Some("failure"));
        let mut new = run(2, SHA, "push", "completed", Some("success"));
        old.workflow_id = Some(9);
        new.workflow_id = Some(9);
        assert!(matches!(
            evaluate_runs(SHA, vec![old, new]),
            CiState::Passed { .. }
        ));
    }

    #[test]
    fn sql_escapes_the_service_name() {
        let q = logfire_sql(Some("api'; DROP"));
        assert!(q.contains("service_name = 'api''; DROP'"), "{q}");
        assert!(!logfire_sql(None).contains("service_name ="));
    }

    #[test]
    fn schema_verdicts() {
        let h = |status: &str, current: bool| Health {
            status: status.into(),
            deployment_status: Some("stable".into()),
            schema: Some(api_client::SchemaInfo {
                is_current: Some(current),
                current_version: Some("a1".into()),
                expected_version: Some("b2".into()),
                message: Some("migrations pending".into()),
            }),
            deployed_commit: None,
        };
        assert_eq!(
            schema(&h("healthy", true), &Value::Null).verdict,
            Verdict::Passed
        );
        let r = schema(&h("degraded", false), &Value::Null);
        assert_eq!(r.verdict, Verdict::Failed);
        assert!(
            r.failures[0].contains("expected_version=b2"),
            "{:?}",
            r.failures
        );
        assert!(r.failures[0].contains("migrations pending"));
        assert_eq!(
            schema(&h("healthy", false), &Value::Null).verdict,
            Verdict::Failed
        );
    }
}
