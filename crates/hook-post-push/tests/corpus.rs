//! Table-driven corpus: every case from the spec's list of bash-hook failures, plus our own.
//! Each case's stdout is compared with `tests/golden/post_push.golden` (regenerate with
//! `UPDATE_GOLDEN=1 cargo nextest run -p hook-post-push --test corpus`, then review the diff).

use hook_post_push::git::{GitFacts, PrInfo};
use hook_post_push::{Context, run};
use serde_json::json;
use std::path::Path;

const HEAD_SHA: &str = "1111111111111111111111111111111111111111";
const STAGING_SHA: &str = "2222222222222222222222222222222222222222";
const MERGE_SHA: &str = "3333333333333333333333333333333333333333";
const OTHER_HEAD: &str = "4444444444444444444444444444444444444444";

fn sha_str(sha: &Option<markers::Sha>) -> &str {
    sha.as_ref().map_or("", |s| s.as_str())
}

/// Fixed repository facts: the repo under `feature-wt` is on `feature/maintenance`, the one under
/// `tracked` tracks `staging`, the one under `detached` has no branch; elsewhere we are on `main`.
struct FakeGit;

impl GitFacts for FakeGit {
    fn current_branch(&self, dir: &Path) -> Option<String> {
        let d = dir.to_string_lossy();
        if d.contains("detached") {
            None
        } else if d.contains("feature-wt") {
            Some("feature/maintenance".into())
        } else {
            Some("main".into())
        }
    }
    fn upstream_branch(&self, dir: &Path) -> Option<String> {
        dir.to_string_lossy()
            .contains("tracked")
            .then(|| "staging".into())
    }
    fn rev_parse(&self, dir: &Path, rev: &str) -> Option<String> {
        match rev {
            "HEAD" if dir.to_string_lossy().contains("other") => Some(OTHER_HEAD.into()),
            "HEAD" | "main" | "refs/heads/main" => Some(HEAD_SHA.into()),
            "staging" => Some(STAGING_SHA.into()),
            _ => None,
        }
    }
    fn pr_view(&self, _dir: &Path, selector: Option<&str>, _repo: Option<&str>) -> Option<PrInfo> {
        match selector {
            Some("42") | Some("https://github.com/o/r/pull/42") => Some(PrInfo {
                base_branch: "main".into(),
                merge_sha: Some(MERGE_SHA.into()),
            }),
            Some("43") => Some(PrInfo {
                base_branch: "staging".into(),
                merge_sha: Some(STAGING_SHA.into()),
            }),
            Some("44") => Some(PrInfo {
                base_branch: "feature/x".into(),
                merge_sha: Some(MERGE_SHA.into()),
            }),
            Some("45") => Some(PrInfo {
                base_branch: "main".into(),
                merge_sha: None,
            }),
            _ => None, // gh unavailable / could not answer
        }
    }
}

const OK: &str = "ok";
const REJECTED: &str = "rejected";
const DRY: &str = "dry";

/// (name, command, tool_response kind)
const CASES: &[(&str, &str, &str)] = &[
    // plain and refspec forms
    ("plain_push_current_branch", "git push", OK),
    ("push_origin", "git push origin", OK),
    ("push_origin_main", "git push origin main", OK),
    ("push_origin_master", "git push origin master", OK),
    ("push_origin_staging", "git push origin staging", OK),
    ("push_head_to_main", "git push origin HEAD:main", OK),
    (
        "push_head_to_refs_heads_main",
        "git push origin HEAD:refs/heads/main",
        OK,
    ),
    (
        "push_force_plus_refs",
        "git push origin +refs/heads/main",
        OK,
    ),
    ("push_force_flag", "git push -f origin main", OK),
    (
        "push_force_with_lease",
        "git push --force-with-lease origin main",
        OK,
    ),
    ("push_set_upstream", "git push -u origin main", OK),
    (
        "push_set_upstream_long",
        "git push --set-upstream origin staging",
        OK,
    ),
    (
        "push_staging_src_to_main",
        "git push origin staging:main",
        OK,
    ),
    ("push_head_only", "git push origin HEAD", OK),
    (
        "push_two_refspecs_first_deploys",
        "git push origin main feature/x",
        OK,
    ),
    (
        "push_two_refspecs_second_deploys",
        "git push origin feature/x staging",
        OK,
    ),
    ("push_push_option", "git push -o ci.skip origin main", OK),
    ("push_double_dash", "git push -- origin main", OK),
    // branch names must not be guessed from substrings
    (
        "feature_maintenance_not_production",
        "git push origin feature/maintenance",
        OK,
    ),
    ("mainline_not_production", "git push origin mainline", OK),
    (
        "worktree_path_contains_main",
        "cd /srv/main-worktree/feature-wt && git push",
        OK,
    ),
    ("tag_push", "git push origin refs/tags/v1.0", OK),
    ("tags_flag_only", "git push --tags", OK),
    ("delete_branch", "git push origin --delete main", OK),
    ("delete_short", "git push -d origin staging", OK),
    // global options
    ("git_C_path", "git -C /repo push origin main", OK),
    (
        "git_C_quoted_spaces",
        "git -C \"/path with spaces/repo\" push origin main",
        OK,
    ),
    ("git_C_single_quoted", "git -C '/other repo' push", OK),
    ("git_c_kv", "git -c user.name=x push origin main", OK),
    ("git_no_pager", "git --no-pager push origin main", OK),
    (
        "git_many_globals",
        "git --no-pager -c a=b -C sub push origin staging",
        OK,
    ),
    ("git_full_path_binary", "/usr/bin/git push origin main", OK),
    (
        "git_git_dir_eq",
        "git --git-dir=/x/.git --work-tree=/x push origin main",
        OK,
    ),
    // chains, subshells, env prefixes
    ("cd_and_push", "cd repo && git push origin main", OK),
    (
        "cd_other_then_push_head",
        "cd /other && git push origin HEAD:main",
        OK,
    ),
    (
        "semicolon_chain",
        "git add . ; git commit -m x ; git push origin main",
        OK,
    ),
    ("or_chain", "git pull || git push origin main", OK),
    (
        "and_chain_after_tests",
        "cargo test && git push origin staging",
        OK,
    ),
    (
        "pipe_to_tee",
        "git push origin main 2>&1 | tee push.log",
        OK,
    ),
    ("subshell", "(cd repo && git push origin main)", OK),
    ("brace_group", "{ git push origin main; }", OK),
    (
        "env_prefix",
        "GIT_SSH_COMMAND='ssh -i k' git push origin main",
        OK,
    ),
    ("env_command", "env GIT_TRACE=1 git push origin main", OK),
    ("if_clause", "if true; then git push origin main; fi", OK),
    ("bash_dash_c", "bash -c 'git push origin main'", OK),
    (
        "newline_separated",
        "git commit -m x\ngit push origin main",
        OK,
    ),
    ("time_prefix", "time git push origin main", OK),
    ("command_prefix", "command git push origin staging", OK),
    ("upstream_tracks_staging", "cd /w/tracked && git push", OK),
    ("detached_no_refspec", "cd /w/detached && git push", OK),
    // data, not commands
    ("echo_git_push", "echo \"git push origin main\"", OK),
    ("grep_git_push", "grep 'git push' notes.txt", OK),
    ("comment_line", "# git push origin main", OK),
    ("trailing_comment", "ls # && git push origin main", OK),
    ("heredoc_body", "cat <<'EOF'\ngit push origin main\nEOF", OK),
    ("printf_git_push", "printf 'git push origin main\\n'", OK),
    ("git_log_grep_push", "git log --grep=push", OK),
    ("git_status", "git status", OK),
    (
        "function_definition_not_called",
        "f() { git push origin main; }",
        OK,
    ),
    ("no_git_at_all", "ls -la", OK),
    // not real pushes
    ("dry_run", "git push --dry-run origin main", OK),
    ("dry_run_short", "git push -n origin main", OK),
    ("combined_short_dry_run", "git push -nu origin main", OK),
    ("help", "git push --help", OK),
    ("git_help_push", "git help push", OK),
    ("rejected_push", "git push origin main", REJECTED),
    ("dry_run_output", "git push origin main", DRY),
    ("interrupted", "git push origin main", "interrupted"),
    ("exit_code_nonzero", "git push origin main", "exit1"),
    ("up_to_date", "git push origin main", "uptodate"),
    // gh pr merge
    ("gh_merge_number", "gh pr merge 42 --squash", OK),
    (
        "gh_merge_url",
        "gh pr merge https://github.com/o/r/pull/42 --merge",
        OK,
    ),
    (
        "gh_merge_repo_flag",
        "gh pr merge --repo o/r 43 --rebase",
        OK,
    ),
    ("gh_merge_base_not_deploying", "gh pr merge 44", OK),
    ("gh_merge_no_merge_commit_yet", "gh pr merge 45 --auto", OK),
    ("gh_merge_unknown_gh_missing", "gh pr merge 77 --squash", OK),
    (
        "gh_merge_no_selector_gh_missing",
        "gh pr merge --squash --delete-branch",
        OK,
    ),
    ("gh_merge_help", "gh pr merge --help", OK),
    ("gh_pr_view_not_merge", "gh pr view 42", OK),
    ("gh_merge_not_mergeable", "gh pr merge 42", "notmergeable"),
    ("echo_gh_merge", "echo gh pr merge 42", OK),
    // malformed shell
    ("unbalanced_quote", "git push origin 'main", OK),
];

fn response(kind: &str) -> serde_json::Value {
    match kind {
        OK => {
            json!({"stdout": "", "stderr": "To ../remote.git\n   abc..def  main -> main\n", "interrupted": false, "isImage": false})
        }
        REJECTED => {
            json!({"stdout": "", "stderr": " ! [rejected]        main -> main (fetch first)\nerror: failed to push some refs", "interrupted": false})
        }
        DRY => {
            json!({"stdout": "", "stderr": "fatal: 'origin' does not appear to be a git repository", "interrupted": false})
        }
        "interrupted" => json!({"stdout": "", "stderr": "", "interrupted": true}),
        "exit1" => json!({"stdout": "", "stderr": "", "interrupted": false, "exit_code": 1}),
        "uptodate" => {
            json!({"stdout": "", "stderr": "Everything up-to-date\n", "interrupted": false})
        }
        "notmergeable" => {
            json!({"stdout": "", "stderr": "X Pull request o/r#42 is not mergeable: the merge commit cannot be cleanly created.", "interrupted": false})
        }
        other => panic!("unknown response kind {other}"),
    }
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

#[test]
fn corpus_matches_golden_outputs() {
    assert!(
        CASES.len() >= 60,
        "the corpus must keep at least 60 cases, has {}",
        CASES.len()
    );
    let mut rendered = String::new();
    for (name, command, kind) in CASES {
        let proj = project();
        let markers_dir = tempfile::tempdir().unwrap();
        let ctx = Context {
            git: &FakeGit,
            project_dir: None,
            marker_base: Some(markers_dir.path().join("m")),
        };
        let event = json!({
            "session_id": "sess-1",
            "transcript_path": "/tmp/t.jsonl",
            "cwd": proj.path(),
            "hook_event_name": "PostToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": command, "description": "d"},
            "tool_response": response(kind),
        });
        let out = run(event.to_string().as_bytes(), &ctx);
        // A marker is written exactly when context is injected (and both name the same SHA).
        match (&out.stdout, &out.marker) {
            (Some(s), Some(m)) => assert!(
                m.sha.as_ref().is_none_or(|sha| s.contains(sha.as_str())),
                "{name}: context and marker disagree"
            ),
            (None, None) => {}
            other => panic!("{name}: stdout/marker mismatch {other:?}"),
        }
        if let Some(s) = &out.stdout {
            let v: serde_json::Value = serde_json::from_str(s).unwrap();
            assert_eq!(
                v["hookSpecificOutput"]["hookEventName"], "PostToolUse",
                "{name}"
            );
            assert!(
                v.get("additionalContext").is_none(),
                "{name}: top-level additionalContext is the wrong shape"
            );
        }
        let line = out.stdout.clone().unwrap_or_else(|| "<none>".into());
        let env = out
            .marker
            .as_ref()
            .map(|m| format!("{}@{}", m.environment, m.branch))
            .unwrap_or_else(|| "-".into());
        rendered.push_str(&format!("{name}\t{env}\t{line}\n"));
    }
    let golden_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/post_push.golden");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden_path, &rendered).unwrap();
    }
    let golden =
        std::fs::read_to_string(&golden_path).expect("golden file (UPDATE_GOLDEN=1 to create)");
    for (want, got) in golden.lines().zip(rendered.lines()) {
        assert_eq!(got, want, "case output differs from golden");
    }
    assert_eq!(
        golden.lines().count(),
        rendered.lines().count(),
        "golden has a different number of cases"
    );
}

/// The spec's must-arm / must-not-arm lists, asserted directly (independent of the golden file).
#[test]
fn spec_cases_arm_exactly_where_they_should() {
    let arms = |command: &str, kind: &str| {
        let proj = project();
        let m = tempfile::tempdir().unwrap();
        let ctx = Context {
            git: &FakeGit,
            project_dir: None,
            marker_base: Some(m.path().join("m")),
        };
        let event = json!({"hook_event_name": "PostToolUse", "tool_name": "Bash", "cwd": proj.path(),
            "tool_input": {"command": command}, "tool_response": response(kind)});
        run(event.to_string().as_bytes(), &ctx).marker
    };
    for cmd in [
        "git -C /repo push origin main",
        "cd repo && git push origin main",
        "git -c k=v push origin main",
        "git --no-pager push origin main",
        "git -C \"/path with spaces\" push origin main",
        "FOO=1 git push origin main",
        "true; git push origin main",
        "false || git push origin main",
        "(git push origin main)",
    ] {
        let m = arms(cmd, OK).unwrap_or_else(|| panic!("must arm: {cmd}"));
        assert_eq!(
            (m.environment.as_str(), m.branch.as_str(), sha_str(&m.sha)),
            ("production", "main", HEAD_SHA),
            "{cmd}"
        );
    }
    for cmd in [
        "git push origin feature/maintenance",
        "cd /x/main/feature-wt && git push",
        "git push --dry-run origin main",
        "git push --help",
        "echo \"git push origin main\"",
        "grep 'git push' f",
        "# git push origin main",
    ] {
        assert!(arms(cmd, OK).is_none(), "must not arm: {cmd}");
    }
    assert!(arms("git push origin main", REJECTED).is_none());
    let staging = arms("git push origin staging", OK).unwrap();
    assert_eq!(
        (staging.environment.as_str(), sha_str(&staging.sha)),
        ("staging", STAGING_SHA)
    );
    let merged = arms("gh pr merge 42 --squash", OK).unwrap();
    assert_eq!(
        (merged.environment.as_str(), sha_str(&merged.sha)),
        ("production", MERGE_SHA)
    );
    let unknown = arms("gh pr merge 77", OK).unwrap();
    assert_eq!(
        (unknown.environment.as_str(), sha_str(&unknown.sha)),
        ("production", "")
    );
}
