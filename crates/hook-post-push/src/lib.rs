//! `hook-post-push`: a Claude Code PostToolUse hook for the Bash tool.
//!
//! Reads the hook event (JSON) on stdin. When the command pushed to a branch that deploys (per
//! `harness.toml`), or merged a PR into one, it records a `push-pending` marker for the project and
//! prints `{"hookSpecificOutput":{"hookEventName":"PostToolUse","additionalContext":…}}` telling the
//! agent the exact `verify-deployment <env> --sha <sha>` command to run.
//!
//! Bad input never breaks the session: on empty, non-JSON, wrongly shaped, oversized or non-UTF-8
//! stdin, and on any marker-directory problem, it prints one line on stderr, prints nothing on
//! stdout, changes no marker, and exits 0.

pub mod detect;
pub mod git;

use detect::Found;
use git::GitFacts;
use markers::{HarnessConfig, MarkerStore, PushPending, Sha, Timestamp};
use serde_json::Value;
use std::path::PathBuf;

/// What one invocation decided.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// The JSON line for stdout, if any.
    pub stdout: Option<String>,
    /// Diagnostics for stderr (never secrets; never the whole input).
    pub stderr: Vec<String>,
    /// The marker written, if any.
    pub marker: Option<PushPending>,
}

impl Outcome {
    fn note(msg: impl Into<String>) -> Self {
        Outcome {
            stderr: vec![format!("hook-post-push: {}", msg.into())],
            ..Default::default()
        }
    }
}

/// Where markers go and where the project is, so tests need not touch the process environment.
pub struct Context<'a> {
    pub git: &'a dyn GitFacts,
    /// `$CLAUDE_PROJECT_DIR`, if set.
    pub project_dir: Option<PathBuf>,
    /// Base directory for markers; `None` = `MarkerStore::open` (environment).
    pub marker_base: Option<PathBuf>,
}

pub fn run(input: &[u8], ctx: &Context) -> Outcome {
    let obj = match markers::hookio::parse_event(input) {
        Ok(o) => o,
        Err(why) => return Outcome::note(format!("{why}; ignored")),
    };
    if let Some(name) = obj.get("hook_event_name")
        && name.as_str() != Some("PostToolUse")
    {
        return Outcome::note(format!("not a PostToolUse event ({name}); ignored"));
    }
    if obj.get("tool_name").and_then(Value::as_str) != Some("Bash") {
        return Outcome::default();
    }
    let Some(command) = obj
        .get("tool_input")
        .and_then(|t| t.get("command"))
        .and_then(Value::as_str)
    else {
        return Outcome::note("tool_input.command is missing or not a string; ignored");
    };
    let cwd = match obj.get("cwd") {
        Some(Value::String(s)) => PathBuf::from(s),
        Some(_) => return Outcome::note("cwd is not a string; ignored"),
        None => match &ctx.project_dir {
            Some(p) => p.clone(),
            None => {
                return Outcome::note("event has no cwd and CLAUDE_PROJECT_DIR is unset; ignored");
            }
        },
    };
    let session_id = obj
        .get("session_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();

    let found = match detect::find(command, &cwd) {
        Ok(f) => f,
        Err(e @ detect::ParseError::Syntax(_)) => {
            return Outcome::note(format!("{e}; bash would not have run it either"));
        }
        // too deep or too long to parse in bounded time: say so rather than hang the session
        Err(e) => return Outcome::note(format!("{e}; gate not armed")),
    };
    if found.is_empty() {
        return Outcome::default();
    }
    if let Some(why) = failure_reason(obj.get("tool_response")) {
        return Outcome::note(format!(
            "push/merge did not succeed ({why}); gate not armed"
        ));
    }

    let project = ctx.project_dir.clone().unwrap_or_else(|| cwd.clone());
    let root = match markers::project_root(&project) {
        Ok(r) => r,
        Err(e) => return Outcome::note(format!("{e}; gate not armed")),
    };
    let config = match HarnessConfig::load(&root) {
        Ok(c) => c,
        Err(e) => return Outcome::note(format!("{e}; gate not armed")),
    };

    let Some(target) = found.iter().find_map(|f| resolve(f, &config, ctx.git)) else {
        return Outcome::default(); // pushes to branches that deploy nowhere
    };

    let marker = PushPending {
        branch: target.branch.clone(),
        environment: target.environment.clone(),
        sha: target.sha.clone(),
        command: target.text.clone(),
        session_id,
        time: Timestamp::now(),
        time_utc: String::new(),
    };
    let mut out = Outcome {
        stdout: Some(render(&target)),
        ..Default::default()
    };
    let store = match &ctx.marker_base {
        Some(base) => MarkerStore::open_in(base, &root),
        None => MarkerStore::open(&root),
    };
    match store.and_then(|s| {
        s.write_push_pending(&marker)
            .and_then(|()| s.clear_stop_blocks())
    }) {
        Ok(()) => out.marker = Some(marker),
        // Still tell the agent to verify: losing the gate must not lose the instruction.
        Err(e) => out.stderr.push(format!(
            "hook-post-push: could not record the pending push: {e}"
        )),
    }
    out
}

/// A resolved deploy target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub branch: String,
    pub environment: String,
    /// The commit deployed; `None` when git or gh could not name one.
    pub sha: Option<Sha>,
    pub text: String,
    /// Set when the target had to be assumed (gh unavailable).
    pub unknown_reason: Option<String>,
}

fn resolve(found: &Found, config: &HarnessConfig, git: &dyn GitFacts) -> Option<Target> {
    match found {
        Found::GitPush(p) => {
            let candidates: Vec<(String, String)> = if p.refspecs.is_empty() {
                // `git push` / `git push origin`: the current branch goes to its upstream (or to
                // the same name when there is none).
                let branch = git.upstream_branch(&p.dir).or_else(|| git.current_branch(&p.dir))?;
                vec![(branch, "HEAD".into())]
            } else {
                p.refspecs
                    .iter()
                    .filter_map(|r| {
                        let src = detect::refspec_source(r);
                        let dst = match detect::refspec_destination(r) {
                            Some(d) => d,
                            None if src == "HEAD" => git.current_branch(&p.dir)?,
                            None => return None,
                        };
                        Some((dst, src))
                    })
                    .collect()
            };
            candidates.into_iter().find_map(|(branch, src)| {
                let env = config.environment_for_branch(&branch)?;
                let sha = git
                    .rev_parse(&p.dir, &src)
                    .or_else(|| git.rev_parse(&p.dir, "HEAD"))
                    .and_then(|s| Sha::parse(&s).ok());
                Some(Target {
                    branch,
                    environment: env.name.clone(),
                    sha,
                    text: p.text.clone(),
                    unknown_reason: None,
                })
            })
        }
        Found::GhPrMerge(m) => match git.pr_view(&m.dir, m.selector.as_deref(), m.repo.as_deref()) {
            Some(info) => {
                let env = config.environment_for_branch(&info.base_branch)?;
                Some(Target {
                    branch: info.base_branch,
                    environment: env.name.clone(),
                    sha: info.merge_sha.and_then(|s| Sha::parse(&s).ok()),
                    text: m.text.clone(),
                    unknown_reason: None,
                })
            }
            None => Some(Target {
                branch: "(unknown)".into(),
                environment: config.hooks.merge_environment.clone(),
                sha: None,
                text: m.text.clone(),
                unknown_reason: Some(
                    "`gh pr view` was unavailable, so the PR's base branch and merge commit are unknown".into(),
                ),
            }),
        },
    }
}

fn render(t: &Target) -> String {
    let verify = match &t.sha {
        Some(sha) => format!("verify-deployment {} --sha {sha}", t.environment),
        None => format!("verify-deployment {}", t.environment),
    };
    let what = match (&t.unknown_reason, &t.sha) {
        (Some(why), _) => format!(
            "A PR merge was detected (`{}`), but {why}; assuming it deploys to {}.",
            t.text, t.environment
        ),
        (None, Some(sha)) => format!(
            "`{}` pushed commit {sha} to branch `{}`, which deploys to {}.",
            t.text, t.branch, t.environment
        ),
        (None, None) => format!(
            "`{}` pushed to branch `{}`, which deploys to {} (commit not resolved).",
            t.text, t.branch, t.environment
        ),
    };
    let context = format!(
        "POST-DEPLOY VERIFICATION REQUIRED. {what} Run `{verify}` now, wait for it to finish, and fix \
         anything it reports. The Stop hook will not let this session end until that deploy is verified."
    );
    // Typed so the keys come out in the order Claude Code's documentation shows them.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Specific<'a> {
        hook_event_name: &'a str,
        additional_context: &'a str,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Output<'a> {
        hook_specific_output: Specific<'a>,
    }
    serde_json::to_string(&Output {
        hook_specific_output: Specific {
            hook_event_name: "PostToolUse",
            additional_context: &context,
        },
    })
    .expect("strings serialize")
}

/// Why the tool call did not push, judged from `tool_response` (None = it succeeded).
pub fn failure_reason(resp: Option<&Value>) -> Option<String> {
    let resp = resp?;
    let mut text = String::new();
    match resp {
        Value::String(s) => text.push_str(s),
        Value::Object(o) => {
            if o.get("interrupted").and_then(Value::as_bool) == Some(true) {
                return Some("the command was interrupted".into());
            }
            for key in ["exit_code", "exitCode", "returnCode", "return_code"] {
                if let Some(code) = o.get(key).and_then(Value::as_i64)
                    && code != 0
                {
                    return Some(format!("exit code {code}"));
                }
            }
            for key in ["stdout", "stderr", "output", "error"] {
                if let Some(s) = o.get(key).and_then(Value::as_str) {
                    text.push_str(s);
                    text.push('\n');
                }
            }
        }
        _ => {}
    }
    const FAILURES: &[&str] = &[
        "[rejected]",
        "[remote rejected]",
        "error: failed to push",
        "fatal: ",
        "Everything up-to-date",
        "is not mergeable",
        "GraphQL: ",
        "could not merge",
    ];
    FAILURES
        .iter()
        .find(|f| text.contains(**f))
        .map(|f| format!("output contains {:?}", f.trim()))
}

/// Convenience for main: `CLAUDE_PROJECT_DIR` as a path.
pub fn project_dir_from_env() -> Option<PathBuf> {
    std::env::var_os("CLAUDE_PROJECT_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}
