//! Property: whatever arrives on stdin, the hook returns, prints nothing or one valid hook-output
//! JSON object, and never panics.

use hook_post_push::git::{GitFacts, PrInfo};
use hook_post_push::{Context, run};
use proptest::prelude::*;
use std::path::Path;

struct NoGit;
impl GitFacts for NoGit {
    fn current_branch(&self, _: &Path) -> Option<String> {
        Some("main".into())
    }
    fn upstream_branch(&self, _: &Path) -> Option<String> {
        None
    }
    fn rev_parse(&self, _: &Path, _: &str) -> Option<String> {
        Some("abcdef1234567".into())
    }
    fn pr_view(&self, _: &Path, _: Option<&str>, _: Option<&str>) -> Option<PrInfo> {
        None
    }
}

fn check(input: &[u8]) {
    let proj = tempfile::tempdir().unwrap();
    std::fs::create_dir(proj.path().join(".git")).unwrap();
    let ctx = Context {
        git: &NoGit,
        project_dir: Some(proj.path().to_path_buf()),
        marker_base: Some(proj.path().join("m")),
    };
    let out = run(input, &ctx);
    if let Some(s) = out.stdout {
        let v: serde_json::Value = serde_json::from_str(&s).expect("stdout is JSON");
        assert_eq!(v["hookSpecificOutput"]["hookEventName"], "PostToolUse");
    }
}

fn shellish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "git",
        "push",
        "origin",
        "main",
        "staging",
        "HEAD:main",
        "-C",
        "\"a b\"",
        "'x'",
        "&&",
        "||",
        ";",
        "|",
        "(",
        ")",
        "{",
        "}",
        "#",
        "echo",
        "cd",
        "gh",
        "pr",
        "merge",
        "42",
        "--dry-run",
        "-c",
        "k=v",
        "<<EOF",
        "EOF",
        "\n",
        "$(",
        "`",
        "\\",
        "=",
        "bash",
        "-c",
        "--no-pager",
        "FOO=1",
        "*",
        "!",
        "&",
    ]);
    prop::collection::vec(atoms, 0..14).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..256)) {
        check(&input);
    }

    #[test]
    fn arbitrary_shell_in_a_valid_event(cmd in shellish(), failed in any::<bool>()) {
        let ev = serde_json::json!({"hook_event_name": "PostToolUse", "tool_name": "Bash", "cwd": "/",
            "tool_input": {"command": cmd}, "tool_response": {"stderr": if failed { "error: failed to push" } else { "" }}});
        check(ev.to_string().as_bytes());
    }
}
