//! The scripted server against the real CLI, without our hooks: proves the SSE stream and the tool
//! round trip are what the client expects, so a failing hook session points at the hooks, not here.

use hooks_e2e::client::{self, DUMMY_API_KEY, Launch};
use hooks_e2e::scratch::Scratch;
use hooks_e2e::server::{ScriptedServer, Turn};
use hooks_e2e::{skip, tool_results_since_last_assistant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_server_drives_the_real_cli_through_a_bash_round_trip() {
    let cli = match client::locate_cli().await {
        Ok(c) => c,
        Err(why) => {
            return skip(
                "protocol",
                &format!("the Claude Code CLI is not available: {why}"),
            );
        }
    };
    let scratch = Scratch::new(None).await.expect("scratch repo");
    let server = ScriptedServer::start(vec![
        Turn::Bash("printf 'e2e-%s\\n' round-trip".into()),
        Turn::Text("Scripted answer: all good ✓".into()),
    ])
    .await
    .expect("start scripted server");
    let base_url = server.base_url();
    let run = client::run_session(&Launch {
        cli: &cli,
        base_url: &base_url,
        project: &scratch.repo,
        home: &scratch.home,
        marker_dir: &scratch.markers,
        extra_path: vec![],
        prompt: "Run the round trip.",
    })
    .await
    .expect("start claude");
    assert!(
        !run.output.timed_out,
        "claude -p timed out: {}",
        run.output.stderr
    );
    assert_eq!(
        run.output.code,
        Some(0),
        "claude -p failed: {}",
        run.output.stderr
    );
    assert!(server.violations().is_empty(), "{:?}", server.violations());

    let requests = server.model_requests();
    assert_eq!(requests.len(), 2, "one request per scripted turn");
    for r in &requests {
        assert!(r.uri.starts_with("/v1/messages"), "{}", r.uri);
        assert_eq!(r.header("x-api-key"), Some(DUMMY_API_KEY));
        assert_eq!(r.body["stream"], true);
    }
    let first_prompt = serde_json::to_string(&requests[0].body["messages"]).expect("json");
    assert!(
        first_prompt.contains("Run the round trip."),
        "prompt not sent"
    );
    let tools: Vec<_> = requests[0].body["tools"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        tools.contains(&"Bash"),
        "the client offered no Bash tool: {tools:?}"
    );

    // The client joined the streamed partial JSON, ran the command, and sent its output back.
    let results = tool_results_since_last_assistant(&requests[1].body);
    assert!(
        results
            .iter()
            .any(|(id, text)| id == "toolu_scripted_000" && text.contains("e2e-round-trip")),
        "request #2 lacks the Bash result: {results:?}"
    );
    let result = run.result().expect("a result event");
    assert_eq!(result["result"], "Scripted answer: all good ✓", "{result}");
    eprintln!(
        "protocol round trip proven with Claude Code {}",
        cli.version
    );
}
