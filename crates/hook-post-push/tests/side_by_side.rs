//! Claude Code runs the hooks of parallel tool calls at the same time: 32 real `hook-post-push`
//! processes recording 32 different pushes of one project, released together, must leave a marker
//! set where every push has its record and `push-pending.json` is the newest of them.

use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::git;

const PUSHES: usize = 32;
const REMOTES: usize = 4;

#[test]
fn thirty_two_concurrent_pushes_are_all_accounted_for() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    git(
        tmp.path(),
        &["init", "-q", "-b", "main", work.to_str().unwrap()],
    );
    git(&work, &["commit", "-q", "--allow-empty", "-m", "root"]);
    // Half the deploy branches go to production, half to staging.
    let branches = |range: std::ops::Range<usize>| {
        range
            .map(|i| format!("\"deploy-{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    std::fs::write(
        work.join("harness.toml"),
        format!(
            "[[environments]]\nname = \"production\"\nbranches = [\"main\", {}]\n\n\
             [[environments]]\nname = \"staging\"\nbranches = [\"staging\", {}]\n",
            branches(0..PUSHES / 2),
            branches(PUSHES / 2..PUSHES)
        ),
    )
    .unwrap();
    for r in 0..REMOTES {
        let url = tmp.path().join(format!("remote-{r}.git"));
        git(
            &work,
            &["remote", "add", &format!("r{r}"), url.to_str().unwrap()],
        );
    }
    // One commit per push, each on its own local branch.
    let mut expected = Vec::new();
    for i in 0..PUSHES {
        let sha = git(
            &work,
            &[
                "commit-tree",
                "HEAD^{tree}",
                "-p",
                "HEAD",
                "-m",
                &format!("push {i}"),
            ],
        );
        git(&work, &["branch", &format!("b{i}"), &sha]);
        expected.push((format!("deploy-{i}"), sha));
    }

    let markers = tmp.path().join("m");
    let mut children = Vec::new();
    for i in 0..PUSHES {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hook-post-push"))
            .env("HARNESS_MARKER_DIR", &markers)
            .env_remove("CLAUDE_PROJECT_DIR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let command = format!("git push r{} b{i}:deploy-{i}", i % REMOTES);
        let event = json!({"session_id": format!("s{i}"), "cwd": work, "hook_event_name": "PostToolUse",
            "tool_name": "Bash", "tool_input": {"command": command},
            "tool_response": {"stdout": "", "stderr": "", "interrupted": false}});
        let mut stdin = child.stdin.take().unwrap();
        // The event fits the pipe buffer; the hook reads to EOF, so it waits for the barrier below.
        stdin.write_all(event.to_string().as_bytes()).unwrap();
        children.push((child, stdin));
    }
    // The barrier: every hook is running and blocked on stdin; release them all at once.
    let children: Vec<_> = children
        .into_iter()
        .map(|(child, stdin)| {
            drop(stdin);
            child
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "push {i}: {:?}", out.status);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "push {i}: stdout is not JSON ({e}); stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let context = v["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap();
        assert!(context.contains(&expected[i].1), "push {i}: {context}");
    }

    let root = markers::project_root(&work).unwrap();
    let store = markers::MarkerStore::open_in(&markers, &root).unwrap();
    check_marker_set(store.dir(), &store, &expected);
}

fn check_marker_set(dir: &Path, store: &markers::MarkerStore, expected: &[(String, String)]) {
    // Every file is a whole JSON document (no half-written marker, no temp file left behind).
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "temp file left behind: {name}");
        if name.ends_with(".json") {
            let bytes = std::fs::read(&path).unwrap();
            serde_json::from_slice::<Value>(&bytes)
                .unwrap_or_else(|e| panic!("{name} is not whole JSON: {e}"));
        }
    }
    let records = store.read_push_records().unwrap();
    let mut got: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r.branch.clone(),
                r.sha.as_ref().unwrap().as_str().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want = expected.to_vec();
    want.sort();
    assert_eq!(got, want, "every push has exactly one record");
    for r in &records {
        let n: usize = r.branch.trim_start_matches("deploy-").parse().unwrap();
        let env = if n < expected.len() / 2 {
            "production"
        } else {
            "staging"
        };
        assert_eq!(r.environment, env, "{r:?}");
    }
    // The gate's marker is the newest push (records are sorted oldest first).
    let pending = store.read_push_pending().unwrap().expect("a pending push");
    assert_eq!(&pending, records.last().unwrap());
}
