//! Regression (issue 20, found by `make fuzz-hooks`): brush-parser's grammar takes time exponential
//! in the nesting of `(` on a line that fails to parse. `time((((…` with a few thousand parens hung
//! the hook, and so the session, for hours. Nesting deeper than `MAX_PAREN_DEPTH` is now refused
//! before parsing, with a note on stderr; so is a command over `MAX_COMMAND_BYTES` (linear, but an
//! 8 MiB one took seconds and most of a gigabyte).

use hook_post_push::detect::{self, MAX_COMMAND_BYTES, MAX_PAREN_DEPTH, ParseError};
use hook_post_push::git::{GitFacts, PrInfo};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

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

#[test]
fn nesting_over_the_cap_is_refused_before_parsing() {
    let cmd = format!(
        "git push origin main\n time{}",
        "(".repeat(MAX_PAREN_DEPTH + 1)
    );
    match detect::find(&cmd, Path::new("/")) {
        Err(ParseError::TooDeep(d)) => assert_eq!(d, MAX_PAREN_DEPTH + 1),
        other => panic!("expected TooDeep, got {other:?}"),
    }
    // `((` is one token that opens two levels
    let cmd = format!("git push; {}", "((".repeat(MAX_PAREN_DEPTH / 2 + 1));
    assert!(matches!(
        detect::find(&cmd, Path::new("/")),
        Err(ParseError::TooDeep(_))
    ));
}

#[test]
fn nesting_up_to_the_cap_is_still_parsed() {
    let cmd = format!("git push origin main\n time{}", "(".repeat(MAX_PAREN_DEPTH));
    assert!(matches!(
        detect::find(&cmd, Path::new("/")),
        Err(ParseError::Syntax(_))
    ));
    // quoted parens and `)` without `(` (case patterns) are not nesting
    let quoted = format!(
        "echo '{}' \"{}\" && case x in x) git push origin main;; esac",
        "(".repeat(100),
        "(".repeat(100)
    );
    let found = detect::find(&quoted, Path::new("/")).expect("parses");
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn commands_over_the_length_limit_are_refused_before_parsing() {
    let push = " && git push origin main";
    let data = "x".repeat(MAX_COMMAND_BYTES);
    let at_limit = format!(
        "echo '{}'{push}",
        &data[..MAX_COMMAND_BYTES - push.len() - 7]
    );
    assert_eq!(at_limit.len(), MAX_COMMAND_BYTES);
    let found = detect::find(&at_limit, Path::new("/")).expect("parses");
    assert_eq!(found.len(), 1, "{found:?}");
    let over = format!("echo '{data}'{push}");
    match detect::find(&over, Path::new("/")) {
        Err(ParseError::TooLong(n)) => assert_eq!(n, over.len()),
        other => panic!("expected TooLong, got {other:?}"),
    }
}

#[test]
fn the_hook_answers_a_pathological_command_with_a_note() {
    let proj = tempfile::tempdir().unwrap();
    std::fs::create_dir(proj.path().join(".git")).unwrap();
    let event = serde_json::json!({"hook_event_name": "PostToolUse", "tool_name": "Bash",
        "cwd": proj.path(), "tool_response": {"stderr": ""},
        "tool_input": {"command": format!("git push origin main\n time{}", "(".repeat(5000))}});
    let (tx, rx) = mpsc::channel();
    let base = proj.path().join("m");
    let dir = proj.path().to_path_buf();
    std::thread::spawn(move || {
        let ctx = hook_post_push::Context {
            git: &NoGit,
            project_dir: Some(dir),
            marker_base: Some(base),
        };
        let _ = tx.send(hook_post_push::run(event.to_string().as_bytes(), &ctx));
    });
    // A hang guard, not a timing assertion: without the cap this input runs for hours.
    let out = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the hook did not return: the parser is exponential on nested parens again");
    assert_eq!(out.stdout, None);
    assert!(out.marker.is_none());
    assert_eq!(out.stderr.len(), 1, "{:?}", out.stderr);
    assert!(out.stderr[0].contains("5000 deep"), "{:?}", out.stderr);
}
