//! Thin entry point; see the library docs for behaviour.

use std::process::ExitCode;

const HELP: &str = "hook-post-push: Claude Code PostToolUse hook for the Bash tool.

Reads one hook event (JSON) on stdin. When the command pushed to a branch that deploys (harness.toml
`[[environments]] branches`; defaults main/master -> production, staging -> staging) or merged a PR
into one, records a push-pending marker and prints hookSpecificOutput.additionalContext naming the
exact `verify-deployment <env> --sha <sha>` command.

Bad input (empty, not JSON, wrong shape, over 8 MiB, non-UTF-8) and marker-directory problems print
one line on stderr, nothing on stdout, change no marker, and exit 0: a hook never breaks the session.

Exit codes: always 0 (also for --help and --version).";

fn main() -> ExitCode {
    markers::hookio::hook_main("hook-post-push", env!("CARGO_PKG_VERSION"), HELP, |input| {
        let git = hook_post_push::git::SystemGit;
        let ctx = hook_post_push::Context {
            git: &git,
            project_dir: hook_post_push::project_dir_from_env(),
            marker_base: None,
        };
        let out = hook_post_push::run(input, &ctx);
        markers::hookio::HookOutput {
            stdout: out.stdout,
            stderr: out.stderr,
        }
    })
}
