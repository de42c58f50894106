//! The Stop gate's decisions, in-process, against real marker directories.

use hook_stop::{Context, Decision, run};
use markers::{DeployVerified, MarkerStore, PushPending, Sha, Timestamp};
use serde_json::{Value, json};
use std::path::PathBuf;

const SHA: &str = "abcdef0123456789abcdef0123456789abcdef01";

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    base: PathBuf,
}

fn fixture(config: &str) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj");
    std::fs::create_dir_all(root.join(".git")).unwrap();
    if !config.is_empty() {
        std::fs::write(root.join("harness.toml"), config).unwrap();
    }
    let base = tmp.path().join("markers");
    Fixture {
        root: root.canonicalize().unwrap(),
        base,
        _tmp: tmp,
    }
}

impl Fixture {
    fn store(&self) -> MarkerStore {
        MarkerStore::open_in(&self.base, &self.root).unwrap()
    }
    fn push(&self, at: u64) {
        self.store()
            .write_push_pending(&PushPending {
                branch: "main".into(),
                environment: "production".into(),
                sha: Some(SHA.parse().unwrap()),
                command: "git push origin main".into(),
                session_id: "s".into(),
                time: Timestamp(at),
                time_utc: String::new(),
            })
            .unwrap();
    }
    fn verify(&self, env: &str, sha: &str, at: u64) {
        self.store()
            .write_deploy_verified(&DeployVerified {
                environment: env.into(),
                sha: sha.parse().unwrap(),
                time: Timestamp(at),
                checks: vec!["health".into()],
                time_utc: String::new(),
            })
            .unwrap();
    }
    fn stop(&self, active: bool, now: u64) -> (Decision, Option<Value>) {
        let ctx = Context {
            project_dir: None,
            marker_base: Some(self.base.clone()),
            now: Timestamp(now),
        };
        let event = json!({"session_id": "s", "cwd": self.root.join("sub-does-not-matter").parent().unwrap(),
            "hook_event_name": "Stop", "stop_hook_active": active});
        let out = run(event.to_string().as_bytes(), &ctx);
        (
            out.decision,
            out.stdout.map(|s| serde_json::from_str(&s).unwrap()),
        )
    }
}

const NOW: u64 = 1_800_000_000_000;

#[test]
fn nothing_pending_allows_silently() {
    let f = fixture("");
    assert_eq!(f.stop(false, NOW), (Decision::Allow, None));
}

#[test]
fn pending_push_blocks_with_the_exact_verify_command() {
    let f = fixture("");
    f.push(NOW - 1000);
    let (d, out) = f.stop(false, NOW);
    assert_eq!(d, Decision::Block);
    let out = out.unwrap();
    assert_eq!(out["decision"], "block");
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("verify-deployment production --sha {SHA}")),
        "{reason}"
    );
}

#[test]
fn verified_same_sha_and_env_after_push_opens_gate_and_clears() {
    let f = fixture("");
    f.push(NOW - 1000);
    f.verify("production", SHA, NOW - 500);
    assert_eq!(f.stop(false, NOW), (Decision::Allow, None));
    assert!(
        f.store().read_push_pending().unwrap().is_none(),
        "markers cleared once verified"
    );
    assert!(f.store().read_deploy_verified().unwrap().is_none());
}

#[test]
fn verification_of_another_sha_env_or_an_earlier_time_does_not_count() {
    let f = fixture("");
    f.push(NOW - 1000);
    f.verify(
        "production",
        "0000000000000000000000000000000000000000",
        NOW - 500,
    );
    assert_eq!(
        f.stop(false, NOW).0,
        Decision::Block,
        "previous commit's verification must not pass"
    );
    f.verify("staging", SHA, NOW - 500);
    assert_eq!(f.stop(false, NOW).0, Decision::Block, "wrong environment");
    f.verify("production", SHA, NOW - 2000);
    assert_eq!(
        f.stop(false, NOW).0,
        Decision::Block,
        "verified before the push"
    );
    assert!(!Sha::parse(SHA).unwrap().matches_str("0000000"));
}

#[test]
fn block_budget_is_bounded_then_lets_go_with_a_system_message() {
    let f = fixture("[stop_gate]\nblock_budget = 2\n");
    f.push(NOW - 1000);
    assert_eq!(f.stop(false, NOW).0, Decision::Block);
    assert_eq!(f.stop(true, NOW).0, Decision::Block);
    let (d, out) = f.stop(true, NOW);
    assert_eq!(d, Decision::GaveUp);
    let msg = out.unwrap()["systemMessage"].as_str().unwrap().to_string();
    assert!(
        msg.contains("UNVERIFIED") && msg.contains("verify-deployment production"),
        "{msg}"
    );
    // the push stays pending, so a later, fresh stop attempt blocks again
    assert!(f.store().read_push_pending().unwrap().is_some());
    assert_eq!(f.stop(false, NOW).0, Decision::Block);
}

#[test]
fn expired_marker_is_cleared_and_announced() {
    let f = fixture("[markers]\nexpiry_minutes = 1\n");
    f.push(NOW - 61_000);
    let (d, out) = f.stop(false, NOW);
    assert_eq!(d, Decision::Allow);
    assert!(
        out.unwrap()["systemMessage"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    assert!(f.store().read_push_pending().unwrap().is_none());
}

#[test]
fn corrupt_marker_lets_the_session_end_and_says_why() {
    let f = fixture("");
    let dir = f.store().dir().to_path_buf();
    std::fs::write(dir.join("push-pending.json"), b"{not json").unwrap();
    let (d, out) = f.stop(false, NOW);
    assert_eq!(d, Decision::GaveUp);
    assert!(
        out.unwrap()["systemMessage"]
            .as_str()
            .unwrap()
            .contains("could not read")
    );
}

#[test]
fn bad_stdin_never_blocks_and_never_prints_stdout() {
    let f = fixture("");
    f.push(NOW - 1000);
    let ctx = Context {
        project_dir: None,
        marker_base: Some(f.base.clone()),
        now: Timestamp(NOW),
    };
    let huge = vec![b'{'; 9 * 1024 * 1024];
    let inputs: Vec<&[u8]> = vec![
        b"",
        b"not json",
        b"[]",
        b"{\"stop_hook_active\": \"yes\", \"cwd\": \"/\"}",
        b"{\"cwd\": 5}",
        b"{\"hook_event_name\": \"PostToolUse\"}",
        b"\xff\xfe\xfd",
        &huge,
    ];
    for input in inputs {
        let out = run(input, &ctx);
        assert_eq!(out.decision, Decision::Allow);
        assert!(out.stdout.is_none());
        assert_eq!(out.stderr.len(), 1, "exactly one line on stderr");
    }
    // and the pending marker is untouched
    assert!(f.store().read_push_pending().unwrap().is_some());
}

#[test]
fn not_a_git_project_allows() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = Context {
        project_dir: Some(tmp.path().to_path_buf()),
        marker_base: Some(tmp.path().join("m")),
        now: Timestamp(NOW),
    };
    let out = run(
        br#"{"hook_event_name":"Stop","stop_hook_active":false}"#,
        &ctx,
    );
    assert_eq!((out.decision, out.stdout), (Decision::Allow, None));
}
