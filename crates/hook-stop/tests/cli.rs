//! The `hook-stop` binary as Claude Code runs it: stdin in, stdout/exit code out.

use assert_cmd::Command;

fn hook() -> Command {
    let mut c = Command::cargo_bin("hook-stop").unwrap();
    c.env_remove("CLAUDE_PROJECT_DIR");
    c
}

#[test]
fn bad_stdin_exits_zero_with_no_stdout_and_one_stderr_line() {
    let tmp = tempfile::tempdir().unwrap();
    let huge = vec![b'a'; 10 * 1024 * 1024];
    let cases: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"garbage".to_vec(),
        b"{\"stop_hook_active\": 1}".to_vec(),
        b"\xc3\x28\xff".to_vec(),
        huge,
    ];
    for input in cases {
        let out = hook()
            .env("HARNESS_MARKER_DIR", tmp.path())
            .write_stdin(input)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(
            out.stdout.is_empty(),
            "stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }
}

#[test]
fn help_documents_exit_codes() {
    let out = hook().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Exit codes") && text.contains("block_budget"));
}
