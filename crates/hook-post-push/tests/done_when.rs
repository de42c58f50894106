//! Issue 2's "Done when", end to end with real git: a scratch repository with a bare remote gets the
//! hook wiring merged into `.claude/settings.json`, pushes to `main`, the recorded PostToolUse event
//! arms the gate, a replayed Stop event is blocked, a verified marker for that SHA is written, and the
//! same Stop event is let through.

use hook_post_push::git::SystemGit;
use markers::{DeployVerified, MarkerStore, Timestamp};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

mod common;
use common::git;

#[test]
fn push_blocks_stop_until_that_sha_is_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let remote = tmp.path().join("remote.git");
    let work = tmp.path().join("work");
    git(
        tmp.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    git(
        tmp.path(),
        &["init", "-q", "-b", "main", work.to_str().unwrap()],
    );
    git(
        &work,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&work, &["commit", "-q", "--allow-empty", "-m", "first"]);

    // install the wiring exactly as `make install-hooks` does
    let ours = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hooks/settings.json"),
    )
    .unwrap();
    std::fs::create_dir_all(work.join(".claude")).unwrap();
    let merged = markers::settings::merge("", &ours).unwrap();
    std::fs::write(work.join(".claude/settings.json"), &merged).unwrap();
    let settings: Value = serde_json::from_str(&merged).unwrap();
    assert_eq!(settings["hooks"]["PostToolUse"][0]["matcher"], "Bash");

    // the agent pushes; the tool succeeded
    let command = "git push -u origin main";
    let push = Command::new("bash")
        .arg("-c")
        .arg(command)
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    let sha = git(&work, &["rev-parse", "HEAD"]);

    let base = tmp.path().join("markers");
    let post = hook_post_push::Context {
        git: &SystemGit,
        project_dir: Some(work.clone()),
        marker_base: Some(base.clone()),
    };
    let event = json!({"session_id": "s", "cwd": work, "hook_event_name": "PostToolUse", "tool_name": "Bash",
        "tool_input": {"command": command}, "tool_response": {"stdout": "", "stderr": String::from_utf8_lossy(&push.stderr), "interrupted": false}});
    let out = hook_post_push::run(event.to_string().as_bytes(), &post);
    let ctx: Value =
        serde_json::from_str(out.stdout.as_deref().expect("context injected")).unwrap();
    let text = ctx["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(
        text.contains(&format!("verify-deployment production --sha {sha}")),
        "{text}"
    );
    assert_eq!(
        out.marker
            .as_ref()
            .unwrap()
            .sha
            .as_ref()
            .map(|s| s.as_str()),
        Some(sha.as_str())
    );

    // the agent tries to stop: blocked
    let stop_ctx = |now| hook_stop::Context {
        project_dir: Some(work.clone()),
        marker_base: Some(base.clone()),
        now,
    };
    let stop = json!({"session_id": "s", "cwd": work, "hook_event_name": "Stop", "stop_hook_active": false}).to_string();
    let blocked = hook_stop::run(stop.as_bytes(), &stop_ctx(Timestamp::now()));
    assert_eq!(blocked.decision, hook_stop::Decision::Block);

    // verification of the previous commit would not open it; this SHA does
    let store = MarkerStore::open_in(&base, &markers::project_root(&work).unwrap()).unwrap();
    store
        .write_deploy_verified(&DeployVerified {
            environment: "production".into(),
            sha: sha.parse().unwrap(),
            time: Timestamp::now(),
            checks: vec!["health".into()],
            time_utc: String::new(),
        })
        .unwrap();
    let open = hook_stop::run(stop.as_bytes(), &stop_ctx(Timestamp::now()));
    assert_eq!(
        (open.decision, open.stdout),
        (hook_stop::Decision::Allow, None)
    );
    assert!(store.read_push_pending().unwrap().is_none());
}
