//! The `hook-post-push` binary as Claude Code runs it, against real git repositories.

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

mod common;
use common::git;

/// A repository on `main` with one commit; returns (tempdir, repo path, HEAD sha).
fn repo() -> (tempfile::TempDir, PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work dir"); // a space, on purpose
    git(
        tmp.path(),
        &["init", "-q", "-b", "main", work.to_str().unwrap()],
    );
    git(&work, &["commit", "-q", "--allow-empty", "-m", "x"]);
    let sha = git(&work, &["rev-parse", "HEAD"]);
    (tmp, work, sha)
}

fn event(cwd: &Path, command: &str) -> String {
    json!({"session_id": "s", "cwd": cwd, "hook_event_name": "PostToolUse", "tool_name": "Bash",
        "tool_input": {"command": command}, "tool_response": {"stdout": "", "stderr": "", "interrupted": false}})
    .to_string()
}

fn hook(markers: &Path) -> Command {
    let mut c = Command::cargo_bin("hook-post-push").unwrap();
    c.env("HARNESS_MARKER_DIR", markers)
        .env_remove("CLAUDE_PROJECT_DIR");
    c
}

#[test]
fn real_repo_push_without_refspec_resolves_branch_and_sha() {
    let (tmp, work, sha) = repo();
    let out = hook(&tmp.path().join("m"))
        .write_stdin(event(&work, "git push"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hookSpecificOutput"]["hookEventName"], "PostToolUse");
    assert!(
        v["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap()
            .contains(&format!("--sha {sha}"))
    );
}

#[test]
fn two_hook_processes_at_once_leave_one_whole_marker() {
    let (tmp, work, sha) = repo();
    let markers = tmp.path().join("m");
    for _ in 0..5 {
        let spawn = |cmd: &str| {
            let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("hook-post-push"));
            c.env("HARNESS_MARKER_DIR", &markers)
                .env_remove("CLAUDE_PROJECT_DIR");
            c.stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped());
            let mut child = c.spawn().unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(event(&work, cmd).as_bytes())
                .unwrap();
            child
        };
        let a = spawn("git push origin main");
        let b = spawn("git push origin HEAD:staging");
        assert!(a.wait_with_output().unwrap().status.success());
        assert!(b.wait_with_output().unwrap().status.success());
        let dir = std::fs::read_dir(&markers)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let m: Value =
            serde_json::from_slice(&std::fs::read(dir.join("push-pending.json")).unwrap()).unwrap();
        assert_eq!(m["sha"], sha.as_str());
        assert!(
            m["environment"] == "production" || m["environment"] == "staging",
            "{m}"
        );
        // no temp files left behind
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}

#[test]
fn symlinked_marker_directory_is_refused_and_its_target_untouched() {
    let (tmp, work, _) = repo();
    let base = tmp.path().join("m");
    std::fs::create_dir(&base).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let key = markers::store::project_key(&markers::project_root(&work).unwrap());
    std::os::unix::fs::symlink(&victim, base.join(&key)).unwrap();
    let out = hook(&base)
        .write_stdin(event(&work, "git push origin main"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        0,
        "nothing written through the link"
    );
    // the agent still gets the instruction
    assert!(String::from_utf8_lossy(&out.stdout).contains("verify-deployment production"));
}

#[test]
fn bad_stdin_exits_zero_with_no_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let huge = {
        let mut v = b"{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"".to_vec();
        v.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
        v.extend(b"\"}}");
        v
    };
    let cases: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"not json".to_vec(),
        b"{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":42}}".to_vec(),
        b"{\"tool_name\":\"Bash\",\"tool_input\":\"git push\"}".to_vec(),
        b"{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"git push \xff\"}}".to_vec(),
        huge,
    ];
    for input in cases {
        let out = hook(tmp.path()).write_stdin(input).output().unwrap();
        assert!(out.status.success());
        assert!(out.stdout.is_empty());
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "no marker written"
    );
}
