//! Thin entry point; see the library docs for behaviour.

use std::process::ExitCode;

const HELP: &str = "hook-stop: Claude Code Stop hook that blocks ending the session while a deploy is unverified.

Reads one Stop event (JSON) on stdin. While this project has a push-pending marker without a
deploy-verified marker for the same environment and SHA written after it, prints
{\"decision\":\"block\",\"reason\":...} naming `verify-deployment <env> --sha <sha>`. With
stop_hook_active it blocks at most [stop_gate] block_budget times in a row (harness.toml, default 3),
then lets the session end with a systemMessage. Verified pushes clear the markers.

Bad input (empty, not JSON, wrong shape, over 8 MiB, non-UTF-8) and marker-directory problems print
one line on stderr, nothing on stdout, and allow the stop: a hook never breaks the session.

Exit codes: always 0 (also for --help and --version).";

fn main() -> ExitCode {
    markers::hookio::hook_main("hook-stop", env!("CARGO_PKG_VERSION"), HELP, |input| {
        let ctx = hook_stop::Context {
            project_dir: std::env::var_os("CLAUDE_PROJECT_DIR")
                .filter(|v| !v.is_empty())
                .map(Into::into),
            marker_base: None,
            now: markers::Timestamp::now(),
        };
        let out = hook_stop::run(input, &ctx);
        markers::hookio::HookOutput {
            stdout: out.stdout,
            stderr: out.stderr,
        }
    })
}
