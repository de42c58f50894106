//! `hook-stop` processes running while pushes are being recorded (Claude Code runs hooks of parallel
//! tool calls at the same time) must read either the old or the new whole marker, never half of one:
//! every answer is a block naming one of the pushes written, with that push's own branch.

use markers::{MarkerStore, PushPending, Sha, Timestamp};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const WRITERS: usize = 4;
const STOP_ROUNDS: usize = 40;
const STOPS_PER_ROUND: usize = 6;

fn push(i: usize) -> PushPending {
    PushPending {
        branch: format!("main-{i}"),
        environment: "production".into(),
        sha: Some(Sha::parse(&format!("{i:040x}")).unwrap()),
        // A large marker (still under the store's 64 KiB limit) widens the window in which a
        // non-atomic write would be visible half-done.
        command: format!("git push origin main # {}", "x".repeat(40_000)),
        session_id: "s".into(),
        time: Timestamp::now(),
        time_utc: String::new(),
    }
}

#[test]
fn stop_never_reads_a_half_written_marker() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    std::fs::create_dir_all(project.join(".git")).unwrap();
    let base = tmp.path().join("m");
    let root = markers::project_root(&project).unwrap();
    let store = MarkerStore::open_in(&base, &root).unwrap();
    store.write_push_pending(&push(1)).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = w + 1;
                while !stop.load(Ordering::Relaxed) {
                    store.write_push_pending(&push(i)).unwrap();
                    // keep the record files few: they are not what this test reads
                    for e in std::fs::read_dir(store.dir()).unwrap().flatten() {
                        if e.file_name().to_string_lossy().starts_with("pushed-") {
                            let _ = std::fs::remove_file(e.path());
                        }
                    }
                    i = i % 1000 + WRITERS;
                }
            })
        })
        .collect();

    let event = json!({"session_id": "s", "cwd": project, "hook_event_name": "Stop", "stop_hook_active": false})
        .to_string();
    let mut answers = 0;
    for _ in 0..STOP_ROUNDS {
        let children: Vec<_> = (0..STOPS_PER_ROUND)
            .map(|_| {
                let mut c = Command::new(env!("CARGO_BIN_EXE_hook-stop"))
                    .env("HARNESS_MARKER_DIR", &base)
                    .env_remove("CLAUDE_PROJECT_DIR")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                use std::io::Write;
                c.stdin.take().unwrap().write_all(event.as_bytes()).unwrap();
                c
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{:?}", out.status);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
                panic!(
                    "hook-stop printed no JSON ({e}): {stdout:?}; stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
            assert_eq!(
                v["decision"], "block",
                "expected a block on a whole marker: {v}"
            );
            let reason = v["reason"].as_str().unwrap();
            // "commit <40 hex> was pushed to `main-<i>`": the SHA and the branch of one same push
            let sha = reason
                .split_once("commit ")
                .and_then(|(_, r)| r.get(..40))
                .unwrap_or_else(|| panic!("no commit in {reason}"));
            let i = usize::from_str_radix(sha, 16).unwrap();
            assert!(
                reason.contains(&format!("to `main-{i}`")),
                "SHA and branch from different pushes: {reason}"
            );
            answers += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(answers, STOP_ROUNDS * STOPS_PER_ROUND);
}
