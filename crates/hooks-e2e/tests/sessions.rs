//! The four sessions of issue 10, each played by the REAL Claude Code CLI against our scripted
//! Messages-API server, with our hooks installed in a scratch repo by `make install-hooks`.
//! Plus the proof that the first session's assertion catches a broken hook output shape.
//!
//! Every test skips (passes with a "SKIPPED" line on stderr) when the CLI cannot be installed or our
//! hooks are not in the checkout; `HOOKS_E2E_REQUIRE=1` (set by scripts/e2e-hooks.sh) turns a skip
//! into a failure.

use hooks_e2e::client::{self, Cli, DUMMY_API_KEY, Launch, SessionRun};
use hooks_e2e::scratch::Scratch;
use hooks_e2e::server::{RecordedRequest, ScriptedServer, Turn};
use hooks_e2e::{input_since_last_assistant, skip, tool_results_since_last_assistant};
use serde_json::Value;

const PROMPT: &str = "Ship the current branch to the team's remote.";

/// What every session needs; `None` means the test was skipped (reason already printed).
struct Bench {
    cli: Cli,
    scratch: Scratch,
}

async fn bench(test: &str, harness_toml: Option<&str>) -> Option<Bench> {
    let cli = match client::locate_cli().await {
        Ok(c) => c,
        Err(why) => {
            skip(
                test,
                &format!("the Claude Code CLI is not available: {why}"),
            );
            return None;
        }
    };
    if let Some(why) = Scratch::hooks_missing() {
        skip(test, &format!("our hooks are not here: {why}"));
        return None;
    }
    let scratch = Scratch::new(harness_toml)
        .await
        .unwrap_or_else(|e| panic!("{test}: scratch repo: {e}"));
    scratch
        .install_hooks()
        .await
        .unwrap_or_else(|e| panic!("{test}: {e}"));
    Some(Bench { cli, scratch })
}

impl Bench {
    async fn play(&self, server: &ScriptedServer) -> SessionRun {
        let base_url = server.base_url();
        let launch = Launch {
            cli: &self.cli,
            base_url: &base_url,
            project: &self.scratch.repo,
            home: &self.scratch.home,
            marker_dir: &self.scratch.markers,
            extra_path: vec![],
            prompt: PROMPT,
        };
        let run = client::run_session(&launch)
            .await
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.cli.bin.display()));
        assert!(
            !run.output.timed_out,
            "claude -p did not finish within {:?}; stderr: {}",
            client::SESSION_TIMEOUT,
            run.output.stderr
        );
        eprintln!(
            "hooks-e2e: client {} exited {:?} after {} model requests",
            self.cli.version,
            run.output.code,
            server.model_requests().len()
        );
        run
    }

    /// `harness-markers show` for the scratch project, with the session's marker dir.
    async fn markers(&self) -> Value {
        let mut cmd = tokio::process::Command::new(self.scratch.bin_dir().join("harness-markers"));
        cmd.arg("-C")
            .arg(&self.scratch.repo)
            .arg("show")
            .env("HARNESS_MARKER_DIR", &self.scratch.markers);
        let out = client::run_bounded(cmd, std::time::Duration::from_secs(30))
            .await
            .expect("run harness-markers");
        assert_eq!(
            out.code,
            Some(0),
            "harness-markers show failed: {}",
            out.stderr
        );
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
            panic!("harness-markers show printed no JSON ({e}): {}", out.stdout)
        })
    }

    /// Replaces the installed PostToolUse command `C` with `C | shape-breaker <mode>`: the real hook
    /// still runs (and writes its marker), but its stdout reaches the client in a wrong shape.
    fn break_post_push_shape(&self, mode: &str) {
        let breaker = env!("CARGO_BIN_EXE_shape-breaker");
        let path = self.scratch.settings_path();
        let text = std::fs::read_to_string(&path).expect("read settings.json");
        let mut settings: Value = serde_json::from_str(&text).expect("settings.json is JSON");
        let mut rewired = 0;
        if let Some(groups) = settings["hooks"]["PostToolUse"].as_array_mut() {
            for group in groups {
                for hook in group["hooks"].as_array_mut().into_iter().flatten() {
                    let Some(cmd) = hook["command"].as_str() else {
                        continue;
                    };
                    if cmd.contains("hook-post-push") {
                        hook["command"] = Value::String(format!("{cmd} | '{breaker}' {mode}"));
                        rewired += 1;
                    }
                }
            }
        }
        assert!(
            rewired > 0,
            "no PostToolUse hook-post-push command in {}",
            path.display()
        );
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&settings).expect("json"),
        )
        .expect("write settings.json");
    }
}

fn describe(requests: &[RecordedRequest]) -> String {
    requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "  #{} {} {}: new input: {:?}",
                i + 1,
                r.method,
                r.uri,
                truncate(&input_since_last_assistant(&r.body), 400)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Checks every session shares: the client spoke the Messages API to us with our key, and asked for
/// nothing the script did not plan.
fn check_protocol(server: &ScriptedServer, run: &SessionRun) -> Result<(), String> {
    let violations = server.violations();
    if !violations.is_empty() {
        return Err(format!(
            "scripted server saw unplanned traffic: {violations:?}\nrequests:\n{}",
            describe(&server.requests())
        ));
    }
    for r in server.model_requests() {
        if r.header("x-api-key") != Some(DUMMY_API_KEY) {
            return Err(format!(
                "request {} did not carry our dummy x-api-key",
                r.uri
            ));
        }
        if r.header("anthropic-version").is_none() {
            return Err(format!("request {} has no anthropic-version header", r.uri));
        }
    }
    if run.output.code != Some(0) {
        return Err(format!(
            "claude -p exited {:?}; stderr: {}",
            run.output.code,
            truncate(&run.output.stderr, 2000)
        ));
    }
    Ok(())
}

fn verify_command(sha: &str) -> String {
    format!("verify-deployment production --sha {sha}")
}

/// Session 1's assertion: after the model's `git push origin main`, the NEXT request carries the
/// push's tool result and our additionalContext naming the exact verify-deployment command.
fn assert_push_context(server: &ScriptedServer, sha: &str) -> Result<(), String> {
    let requests = server.model_requests();
    let Some(after_push) = requests.get(1) else {
        return Err(format!(
            "the client sent {} model request(s); expected one after the push\n{}",
            requests.len(),
            describe(&requests)
        ));
    };
    let results = tool_results_since_last_assistant(&after_push.body);
    if !results
        .iter()
        .any(|(id, text)| id == "toolu_scripted_000" && text.contains("main -> main"))
    {
        return Err(format!(
            "request #2 does not carry the push's tool result: {results:?}"
        ));
    }
    let input = input_since_last_assistant(&after_push.body);
    if !input.contains(&verify_command(sha)) {
        return Err(format!(
            "request #2 lacks our additionalContext naming `{}`; what the client added after the push:\n{input}",
            verify_command(sha)
        ));
    }
    if input_since_last_assistant(&requests[0].body).contains("verify-deployment") {
        return Err(
            "request #1 already mentions verify-deployment: the check proves nothing".into(),
        );
    }
    Ok(())
}

/// Session 1: push → context in the next request, and a push-pending marker for that SHA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session1_push_injects_verify_deployment_context() {
    // Budget 1 keeps this session short: it is about the context, session 2/4 are about the gate.
    let Some(bench) = bench("session 1", Some("[stop_gate]\nblock_budget = 1\n")).await else {
        return;
    };
    let sha = bench.scratch.head_sha.clone();
    let server = ScriptedServer::start(vec![
        Turn::Bash("git push origin main".into()),
        Turn::Text("Pushed.".into()),
        Turn::Text("Pushed, really.".into()),
    ])
    .await
    .expect("start scripted server");
    let run = bench.play(&server).await;

    assert_eq!(
        bench.scratch.remote_main().await,
        sha,
        "the push did not reach the bare remote"
    );
    assert_push_context(&server, &sha).unwrap_or_else(|e| panic!("{e}"));
    check_protocol(&server, &run).unwrap_or_else(|e| panic!("{e}"));
    // Budget 1: one block, then the gate lets go without clearing, so the push marker is still there.
    let markers = bench.markers().await;
    let pending = &markers["push_pending"];
    assert_eq!(
        pending["sha"].as_str(),
        Some(sha.as_str()),
        "push-pending marker: {markers}"
    );
    assert_eq!(
        pending["environment"], "production",
        "push-pending marker: {markers}"
    );
    assert_eq!(pending["branch"], "main", "push-pending marker: {markers}");
}

/// Plays session 1 with the hook's output broken by `shape-breaker <mode>` and returns session 1's
/// assertion result.
async fn session1_with_broken_shape(test: &str, mode: &str) -> Option<Result<(), String>> {
    let bench = bench(test, Some("[stop_gate]\nblock_budget = 1\n")).await?;
    bench.break_post_push_shape(mode);
    let sha = bench.scratch.head_sha.clone();
    let server = ScriptedServer::start(vec![
        Turn::Bash("git push origin main".into()),
        Turn::Text("Pushed.".into()),
        Turn::Text("Pushed, really.".into()),
    ])
    .await
    .expect("start scripted server");
    let _run = bench.play(&server).await;
    assert_eq!(
        bench.scratch.remote_main().await,
        sha,
        "the push did not reach the bare remote"
    );
    Some(assert_push_context(&server, &sha))
}

/// The proof the first session's assertion is honest: the same session with the real hook's output
/// rewritten to a top-level `additionalContext` (what the old bash hook printed) must fail it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session1_assertion_fails_on_top_level_additional_context() {
    let Some(result) = session1_with_broken_shape("broken-shape proof", "top-level").await else {
        return;
    };
    let err = result
        .expect_err("the broken shape reached the model: session 1's assertion cannot catch it");
    assert!(
        err.contains("lacks our additionalContext"),
        "session 1's assertion failed for another reason than the missing context: {err}"
    );
}

/// Same proof for the other silent drop the spec names: `hookEventName` not equal to the firing event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session1_assertion_fails_on_wrong_hook_event_name() {
    let Some(result) = session1_with_broken_shape("wrong-event proof", "wrong-event").await else {
        return;
    };
    let err = result.expect_err(
        "context with hookEventName PreToolUse reached the model after PostToolUse: the client \
         no longer drops it, or session 1's assertion cannot catch it",
    );
    assert!(
        err.contains("lacks our additionalContext"),
        "session 1's assertion failed for another reason than the missing context: {err}"
    );
}

/// Session 2: the model tries to end the turn → our Stop hook blocks and the next request carries our
/// reason; the model then records the verification (markers CLI, what verify-deployment writes on
/// success) and the session ends with no further block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session2_stop_blocks_until_deploy_verified() {
    let Some(bench) = bench("session 2", None).await else {
        return;
    };
    let sha = bench.scratch.head_sha.clone();
    let server = ScriptedServer::start(vec![
        Turn::Bash("git push origin main".into()),
        Turn::Text("Pushed, all done.".into()),
        Turn::Bash(format!(
            ".claude/bin/harness-markers verify production --sha {sha} --check e2e-scripted"
        )),
        Turn::Text("Deployment verified.".into()),
    ])
    .await
    .expect("start scripted server");
    let run = bench.play(&server).await;
    let requests = server.model_requests();

    assert_eq!(
        requests.len(),
        4,
        "expected push, blocked stop, verify, clean stop:\n{}",
        describe(&requests)
    );
    let after_stop = input_since_last_assistant(&requests[2].body);
    assert!(
        after_stop.contains(&verify_command(&sha)),
        "request #3 (after the model tried to stop) lacks our Stop reason naming `{}`:\n{after_stop}",
        verify_command(&sha)
    );
    let verified = tool_results_since_last_assistant(&requests[3].body);
    assert!(
        verified.iter().any(|(id, _)| id == "toolu_scripted_002"),
        "request #4 does not carry the result of the markers CLI call: {verified:?}"
    );
    check_protocol(&server, &run).unwrap_or_else(|e| panic!("{e}"));
    // A verified push opens the gate, which clears the markers.
    let markers = bench.markers().await;
    assert!(
        markers["push_pending"].is_null(),
        "the verified push of {sha} is still pending: {markers}"
    );
    // Negative control for session 4: blocks and a clean stop show the user no message naming the
    // verify command, so finding one there means the let-go systemMessage arrived.
    let system = run.system_event_texts().join("\n");
    assert!(
        !system.contains(&verify_command(&sha)),
        "system events name the verify command although the gate never gave up:\n{system}"
    );
}

/// Session 3: a Bash call that only echoes "git push" → no context, no marker, the session ends
/// after its first attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session3_echo_git_push_injects_nothing() {
    let Some(bench) = bench("session 3", None).await else {
        return;
    };
    let server = ScriptedServer::start(vec![
        Turn::Bash("echo \"git push origin main\"".into()),
        Turn::Text("Nothing to ship.".into()),
    ])
    .await
    .expect("start scripted server");
    let run = bench.play(&server).await;
    let requests = server.model_requests();

    assert_eq!(
        requests.len(),
        2,
        "the session must end after its first stop (no block):\n{}",
        describe(&requests)
    );
    let results = tool_results_since_last_assistant(&requests[1].body);
    assert!(
        results
            .iter()
            .any(|(id, text)| id == "toolu_scripted_000" && text.contains("git push origin main")),
        "request #2 does not carry the echo's output: {results:?}"
    );
    let input = input_since_last_assistant(&requests[1].body);
    assert!(
        !input.contains("verify-deployment"),
        "an echo of \"git push\" injected context:\n{input}"
    );
    assert_eq!(
        bench.scratch.remote_main().await,
        "",
        "nothing may have been pushed"
    );
    check_protocol(&server, &run).unwrap_or_else(|e| panic!("{e}"));
    let markers = bench.markers().await;
    assert!(
        markers["push_pending"].is_null(),
        "an echo armed the gate: {markers}"
    );
}

/// Session 4: a model that ignores the instruction is blocked exactly the configured number of times
/// (2 here, not the default 3), then let go with our systemMessage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session4_block_budget_lets_go_with_system_message() {
    const BUDGET: usize = 2;
    let Some(bench) = bench(
        "session 4",
        Some(&format!("[stop_gate]\nblock_budget = {BUDGET}\n")),
    )
    .await
    else {
        return;
    };
    let sha = bench.scratch.head_sha.clone();
    let mut script = vec![Turn::Bash("git push origin main".into())];
    for i in 0..=BUDGET {
        script.push(Turn::Text(format!("Done, I am stopping now ({i}).")));
    }
    let server = ScriptedServer::start(script)
        .await
        .expect("start scripted server");
    let run = bench.play(&server).await;
    let requests = server.model_requests();

    assert_eq!(
        requests.len(),
        2 + BUDGET,
        "expected the push, then {BUDGET} blocked stops, then a stop that is let go:\n{}",
        describe(&requests)
    );
    for (n, r) in requests.iter().enumerate().skip(2) {
        let input = input_since_last_assistant(&r.body);
        assert!(
            input.contains(&verify_command(&sha)),
            "request #{} (block {}) lacks our Stop reason:\n{input}",
            n + 1,
            n - 1
        );
    }
    check_protocol(&server, &run).unwrap_or_else(|e| panic!("{e}"));
    let system = run.system_event_texts().join("\n");
    assert!(
        system.contains(&verify_command(&sha)),
        "the client showed no systemMessage of ours naming `{}` when the gate let go; system events:\n{system}",
        verify_command(&sha)
    );
    // Let go unverified: the push is still pending for the next session's gate.
    let markers = bench.markers().await;
    assert_eq!(
        markers["push_pending"]["sha"].as_str(),
        Some(sha.as_str()),
        "after giving up the push must still be pending: {markers}"
    );
}
