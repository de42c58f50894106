//! Test-only crate: our Claude Code hooks (`hook-post-push`, `hook-stop`) end to end inside the real
//! Claude Code CLI. See README.md for what is real here and how to run it.
//!
//! - [`server`]: a scripted Messages-API server on loopback (SSE streaming, records every request).
//! - [`client`]: finds or installs the pinned CLI and runs `claude -p` bounded in time.
//! - [`scratch`]: a scratch git repo with a bare remote, our hooks installed the way a user installs them
//!   (`make install-hooks PROJECT=<repo>`: release build, binaries copied into `<repo>/.claude/bin`).

pub mod client;
pub mod scratch;
pub mod server;

use serde_json::Value;

/// Appends every string found anywhere inside `v` (object values, array items) to `out`.
pub fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

/// The messages of a Messages-API request after its last assistant message (all of them when
/// there is none).
fn messages_since_last_assistant(request_body: &Value) -> &[Value] {
    let messages = request_body["messages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let start = messages
        .iter()
        .rposition(|m| m["role"] == "assistant")
        .map_or(0, |i| i + 1);
    &messages[start..]
}

/// The text a request adds after the model's last turn: everything in the messages that follow the
/// last assistant message, except the raw tool output inside `tool_result` blocks. That is where the
/// client puts hook feedback (PostToolUse context next to the tool result, a Stop hook's reason as
/// the next instruction), whichever role or block type a given client version uses for it.
pub fn input_since_last_assistant(request_body: &Value) -> String {
    let mut out = Vec::new();
    for m in messages_since_last_assistant(request_body) {
        match &m["content"] {
            Value::Array(blocks) => {
                for b in blocks {
                    if b["type"] != "tool_result" {
                        collect_strings(b, &mut out);
                    }
                }
            }
            other => collect_strings(other, &mut out),
        }
    }
    out.join("\n")
}

/// The `tool_result` blocks of the messages after the last assistant message: (tool_use_id, text).
pub fn tool_results_since_last_assistant(request_body: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for m in messages_since_last_assistant(request_body) {
        if let Value::Array(blocks) = &m["content"] {
            for b in blocks.iter().filter(|b| b["type"] == "tool_result") {
                let mut texts = Vec::new();
                collect_strings(&b["content"], &mut texts);
                out.push((
                    b["tool_use_id"].as_str().unwrap_or_default().to_string(),
                    texts.join("\n"),
                ));
            }
        }
    }
    out
}

/// Whether the e2e run must not skip (scripts/e2e-hooks.sh sets it once the CLI is installed).
pub fn skip_is_an_error() -> bool {
    std::env::var("HOOKS_E2E_REQUIRE").is_ok_and(|v| v == "1")
}

/// Reports why a session cannot run. Skips (prints and returns) unless `HOOKS_E2E_REQUIRE=1`, where
/// it fails the test.
pub fn skip(test: &str, why: &str) {
    let msg = format!("hooks-e2e: SKIPPED {test}: {why}");
    if skip_is_an_error() {
        panic!("{msg} (HOOKS_E2E_REQUIRE=1 makes a skip an error)");
    }
    eprintln!("{msg}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_since_last_assistant_skips_tool_output_and_older_turns() {
        let body = json!({"messages": [
            {"role": "user", "content": "old prompt NEEDLE-OLD"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "RAW-OUTPUT"},
                {"type": "text", "text": "<system-reminder>ctx A</system-reminder>"}]},
            {"role": "system", "content": [{"type": "text", "text": "ctx B"}]}
        ]});
        let got = input_since_last_assistant(&body);
        assert!(got.contains("ctx A") && got.contains("ctx B"), "{got}");
        assert!(
            !got.contains("RAW-OUTPUT") && !got.contains("NEEDLE-OLD"),
            "{got}"
        );
        assert_eq!(
            tool_results_since_last_assistant(&body),
            vec![("t1".to_string(), "RAW-OUTPUT".to_string())]
        );
    }
}
