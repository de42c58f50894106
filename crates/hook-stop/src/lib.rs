//! `hook-stop`: a Claude Code Stop hook that keeps the session going while a deploy is unverified.
//!
//! Decision, for the project of the event's `cwd` (or `$CLAUDE_PROJECT_DIR`):
//! - no `push-pending` marker → allow (print nothing);
//! - a `deploy-verified` marker for the same environment and SHA, written after the push → clear the
//!   markers and allow;
//! - the push marker is older than `[markers] expiry_minutes` → clear it and allow, with a
//!   `systemMessage` saying so (a stale marker must not trap a later session);
//! - otherwise block with `{"decision":"block","reason":…}` naming the exact verify command. While
//!   `stop_hook_active` is true (Claude is already continuing because a Stop hook blocked), blocks
//!   are counted per pending push; after `[stop_gate] block_budget` consecutive blocks the session
//!   is let go with a loud `systemMessage`, so the gate can never loop forever.
//!
//! Bad input never breaks the session: empty, non-JSON, wrongly shaped, oversized or non-UTF-8 stdin
//! and marker-directory errors print one line on stderr, nothing on stdout, and exit 0 (allow).

use markers::store::StopBlocks;
use markers::{HarnessConfig, MarkerStore, PushPending, Sha, Timestamp};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub stdout: Option<String>,
    pub stderr: Vec<String>,
    pub decision: Decision,
}

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub enum Decision {
    #[default]
    Allow,
    Block,
    /// Allowed although unverified: the block budget ran out.
    GaveUp,
}

impl Outcome {
    fn note(msg: impl Into<String>) -> Self {
        Outcome {
            stderr: vec![format!("hook-stop: {}", msg.into())],
            ..Default::default()
        }
    }
}

pub struct Context {
    pub project_dir: Option<PathBuf>,
    pub marker_base: Option<PathBuf>,
    pub now: Timestamp,
}

pub fn run(input: &[u8], ctx: &Context) -> Outcome {
    let obj = match markers::hookio::parse_event(input) {
        Ok(o) => o,
        Err(why) => return Outcome::note(format!("{why}; allowing stop")),
    };
    if let Some(name) = obj.get("hook_event_name")
        && !matches!(name.as_str(), Some("Stop") | Some("SubagentStop"))
    {
        return Outcome::note(format!("not a Stop event ({name}); allowing stop"));
    }
    let stop_hook_active = match obj.get("stop_hook_active") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Outcome::note(format!(
                "stop_hook_active is not a boolean ({other}); allowing stop"
            ));
        }
    };
    let dir = match (obj.get("cwd"), &ctx.project_dir) {
        (_, Some(p)) => p.clone(),
        (Some(Value::String(s)), None) => PathBuf::from(s),
        (Some(_), None) => return Outcome::note("cwd is not a string; allowing stop"),
        (None, None) => {
            return Outcome::note(
                "event has no cwd and CLAUDE_PROJECT_DIR is unset; allowing stop",
            );
        }
    };
    let Ok(root) = markers::project_root(&dir) else {
        return Outcome::default(); // not a git project: nothing can be pending
    };
    let config = match HarnessConfig::load(&root) {
        Ok(c) => c,
        Err(e) => return Outcome::note(format!("{e}; allowing stop")),
    };
    let store = match &ctx.marker_base {
        Some(base) => MarkerStore::open_in(base, &root),
        None => MarkerStore::open(&root),
    };
    let store = match store {
        Ok(s) => s,
        Err(e) => return Outcome::note(format!("{e}; allowing stop")),
    };
    let pending = match store.read_push_pending() {
        Ok(Some(p)) => p,
        Ok(None) => return Outcome::default(),
        Err(e) => {
            let msg = format!(
                "The deploy gate could not read its marker ({e}); allowing the session to end unverified."
            );
            return Outcome {
                stdout: Some(json!({ "systemMessage": msg }).to_string()),
                stderr: vec![format!("hook-stop: {e}")],
                decision: Decision::GaveUp,
            };
        }
    };

    if pending.is_expired(config.markers.expiry, ctx.now) {
        let _ = store.clear();
        let msg = format!(
            "Deploy gate: the pending push of {} to {} from {} expired unverified and was cleared.",
            short(pending.sha.as_ref()),
            pending.environment,
            pending.time.to_rfc3339()
        );
        return Outcome {
            stdout: Some(json!({ "systemMessage": msg }).to_string()),
            ..Default::default()
        };
    }

    match store.read_deploy_verified() {
        Ok(Some(v)) if pending.is_verified_by(&v) => {
            if let Err(e) = store.clear() {
                return Outcome::note(format!("verified, but could not clear markers: {e}"));
            }
            return Outcome::default();
        }
        Ok(_) => {}
        Err(e) => return Outcome::note(format!("{e}; treating the deploy as unverified")),
    }

    // Count consecutive blocks of this push; a fresh stop attempt (not a continuation) starts over.
    let previous = match store.read_stop_blocks() {
        Ok(Some(b))
            if stop_hook_active && b.sha == pending.sha && b.environment == pending.environment =>
        {
            b.count
        }
        _ => 0,
    };
    let budget = config.stop_gate.block_budget;
    if previous >= budget {
        let msg = format!(
            "WARNING: the deploy of {} to {} is still UNVERIFIED. The Stop gate blocked {previous} times and is \
             letting the session end. Run `{}` yourself before trusting this deploy.",
            short(pending.sha.as_ref()),
            pending.environment,
            verify_command(&pending)
        );
        return Outcome {
            stdout: Some(json!({ "systemMessage": msg }).to_string()),
            decision: Decision::GaveUp,
            ..Default::default()
        };
    }
    let blocks = StopBlocks {
        sha: pending.sha.clone(),
        environment: pending.environment.clone(),
        count: previous + 1,
    };
    let mut out = Outcome {
        decision: Decision::Block,
        ..Default::default()
    };
    if let Err(e) = store.write_stop_blocks(&blocks) {
        out.stderr
            .push(format!("hook-stop: could not record the block count: {e}"));
    }
    let reason = format!(
        "Deploy not verified: commit {} was pushed to `{}` ({}) and has no passing verification yet. Run `{}` \
         now and fix anything it reports; the session can end once it passes (block {} of {budget}).",
        pending.sha.as_ref().map_or("(unknown)", |s| s.as_str()),
        pending.branch,
        pending.environment,
        verify_command(&pending),
        previous + 1,
    );
    out.stdout = Some(json!({ "decision": "block", "reason": reason }).to_string());
    out
}

fn verify_command(p: &PushPending) -> String {
    match &p.sha {
        None => format!("verify-deployment {}", p.environment),
        Some(sha) => format!("verify-deployment {} --sha {sha}", p.environment),
    }
}

fn short(sha: Option<&Sha>) -> &str {
    sha.map_or("(unknown commit)", Sha::short)
}
