//! The dst-sim binary: exit codes and messages for bad input.

use assert_cmd::Command;

#[test]
fn unreachable_target_is_exit_2_not_a_violation() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::cargo_bin("dst-sim")
        .unwrap()
        .args([
            "run",
            "--seed",
            "1",
            "--target",
            &format!("http://127.0.0.1:{port}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"));
}

#[test]
fn bad_arguments_are_exit_2() {
    for args in [
        vec!["run", "--seeds", "5..2"],
        vec!["run", "--seeds", "a..b"],
        vec!["run", "--shard", "3/2"],
        vec!["run", "--bug", "nope", "--seed", "1"],
        // the fault proxy only with --faults, and only for a remote target
        vec!["run", "--fault-proxy", "http://127.0.0.1:1", "--seed", "1"],
        vec![
            "run",
            "--faults",
            "--fault-proxy",
            "http://127.0.0.1:1",
            "--seed",
            "1",
        ],
        vec!["mutants", "--seeds", "9..3"],
        vec!["mutants", "--bug", "nope"],
        vec![
            "proxy",
            "--listen",
            "not-an-address",
            "--upstream",
            "127.0.0.1:1",
        ],
    ] {
        let out = Command::cargo_bin("dst-sim")
            .unwrap()
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn malformed_trace_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.json");
    std::fs::write(&f, "{not json").unwrap();
    let out = Command::cargo_bin("dst-sim")
        .unwrap()
        .args(["replay", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a dst-sim trace"));
}

#[test]
fn json_summary_merges_across_shards() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for k in 1..=2 {
        let out = Command::cargo_bin("dst-sim")
            .unwrap()
            .args([
                "run",
                "--seeds",
                "0..6",
                "--steps",
                "40",
                "--json",
                "--shard",
                &format!("{k}/2"),
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let f = dir.path().join(format!("s{k}.json"));
        std::fs::write(&f, &out.stdout).unwrap();
        files.push(f);
    }
    let out = Command::cargo_bin("dst-sim")
        .unwrap()
        .arg("merge")
        .args(&files)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["seeds"], serde_json::json!([0, 1, 2, 3, 4, 5]));
}

#[test]
fn junit_lists_every_seed() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.xml");
    let out = Command::cargo_bin("dst-sim")
        .unwrap()
        .args([
            "run",
            "--seeds",
            "0..3",
            "--steps",
            "30",
            "--junit",
            j.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let xml = std::fs::read_to_string(j).unwrap();
    assert_eq!(xml.matches("<testcase").count(), 3);
}

/// A target that dies mid-run (here: the reference platform's runtime is dropped under it) ends the
/// run with exit 2 naming the seed and step: infrastructure, never a `7-no-5xx` violation, never a
/// trace.
#[test]
fn a_target_that_dies_mid_run_is_exit_2_not_a_violation() {
    let (tx_url, rx_url) = std::sync::mpsc::channel();
    let (tx_stop, rx_stop) = std::sync::mpsc::channel::<()>();
    let platform = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let p = rt
            .block_on(reference_platform::start(Default::default()))
            .unwrap();
        tx_url.send(p.base_url.clone()).unwrap();
        let _ = rx_stop.recv();
        drop(p);
        // every task (listener and connections) goes with the runtime: the target is gone
        rt.shutdown_background();
    });
    let url = rx_url.recv().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dst-sim"))
        .args([
            "run",
            "--seeds",
            "0..2000",
            "--steps",
            "200",
            "--jobs",
            "2",
            "--request-timeout",
            "5",
            "--target",
            &url,
            "--out",
            out_dir.path().to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    tx_stop.send(()).unwrap();
    let out = child.wait_with_output().unwrap();
    platform.join().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains("7-no-5xx") && !stderr.contains("7-no-5xx"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("stopped answering at seed") && stderr.contains("step"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(out_dir.path()).unwrap().count(),
        0,
        "no trace is written for an infrastructure failure"
    );
}

/// The known-violations file: `--write-known` records a planted bug's classes and the run passes;
/// run again against it: still 0; without the entries: 1 (a new class); a clean run with the
/// entries reports them as stale and passes.
#[test]
fn known_violations_pass_new_ones_fail_and_stale_ones_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("dst-known.toml");
    let run = |bug: Option<&str>, extra: &[&str]| {
        let mut args = vec![
            "run",
            "--seeds",
            "0..2",
            "--steps",
            "200",
            "--shrink-iters",
            "3",
            "--out",
            dir.path().to_str().unwrap(),
            "--known",
            known.to_str().unwrap(),
        ];
        if let Some(b) = bug {
            args.extend(["--bug", b]);
        }
        args.extend(extra);
        let out = Command::cargo_bin("dst-sim")
            .unwrap()
            .args(&args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, stdout) = run(Some("self-upvote"), &["--write-known"]);
    assert_eq!(code, Some(0), "{stdout}");
    let file = std::fs::read_to_string(&known).unwrap();
    assert!(file.contains("4-no-self-upvote"), "{file}");
    assert!(file.contains("reason = \"not triaged yet\""), "{file}");

    let (code, stdout) = run(Some("self-upvote"), &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("known violation 4-no-self-upvote"),
        "{stdout}"
    );

    std::fs::write(&known, "").unwrap();
    let (code, stdout) = run(Some("self-upvote"), &[]);
    assert_eq!(
        code,
        Some(1),
        "a class not in the file fails the run: {stdout}"
    );
    assert!(stdout.contains("VIOLATION 4-no-self-upvote"), "{stdout}");

    std::fs::write(&known, file).unwrap();
    let (code, stdout) = run(None, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("stale known class") && stdout.contains("4-no-self-upvote"),
        "{stdout}"
    );
}
