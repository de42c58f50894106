//! A scripted Messages-API server on loopback.
//!
//! Each streaming `POST /v1/messages` takes the next scripted model [`Turn`] and answers it with the
//! server-sent-event sequence the real API uses (`message_start`, `ping`, `content_block_start`,
//! `content_block_delta`…, `content_block_stop`, `message_delta`, `message_stop`). Every request is
//! recorded, so a session can assert on what the client sent back: tool results, hook context,
//! Stop-hook reasons. When the script runs out the server answers with a plain end-of-turn text and
//! records an [`Violation`], so a client that keeps asking makes the test fail instead of hanging.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One scripted answer of the model.
#[derive(Debug, Clone)]
pub enum Turn {
    /// Call the Bash tool with this command (`stop_reason: "tool_use"`).
    Bash(String),
    /// Say this text and end the turn (`stop_reason: "end_turn"`).
    Text(String),
}

/// A request the client sent, as received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, e.g. `/v1/messages?beta=true`.
    pub uri: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Parsed JSON body; `Value::Null` when the body was empty or not JSON.
    pub body: Value,
    /// Index of the scripted turn that answered it, when it consumed one.
    pub turn: Option<usize>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `messages` array of a Messages-API request (empty if absent).
    pub fn messages(&self) -> &[Value] {
        self.body["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Something the client did that no script allows (a request past the end of the script, an
/// unknown endpoint). Sessions assert there are none.
#[derive(Debug, Clone)]
pub struct Violation(pub String);

#[derive(Default)]
struct Inner {
    script: VecDeque<Turn>,
    turns_served: usize,
    requests: Vec<RecordedRequest>,
    violations: Vec<Violation>,
}

#[derive(Clone)]
struct Shared(Arc<Mutex<Inner>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock only ever comes from a bug in this file; the data stays usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running server. Dropping it stops it.
pub struct ScriptedServer {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedServer {
    /// Binds 127.0.0.1:0 and serves `script` in order.
    pub async fn start(script: Vec<Turn>) -> std::io::Result<Self> {
        let shared = Shared(Arc::new(Mutex::new(Inner {
            script: script.into(),
            ..Inner::default()
        })));
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // Errors here end the server; the client then fails to connect and the session says so.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared, task })
    }

    /// `http://127.0.0.1:<port>`, the value for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests that consumed a scripted turn, in order (the model calls of the session).
    pub fn model_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.turn.is_some())
            .collect()
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.shared.lock().violations.clone()
    }

    /// Scripted turns not yet served.
    pub fn remaining_turns(&self) -> usize {
        self.shared.lock().script.len()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut recorded = RecordedRequest {
        method: method.to_string(),
        uri: uri.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body_json.clone(),
        turn: None,
    };
    let path = uri.path();
    let mut inner = shared.lock();

    let response = if method == Method::POST && path == "/v1/messages/count_tokens" {
        (StatusCode::OK, axum::Json(json!({"input_tokens": 1}))).into_response()
    } else if method == Method::POST && path == "/v1/messages" {
        let model = body_json["model"]
            .as_str()
            .unwrap_or("scripted")
            .to_string();
        let streaming = body_json["stream"].as_bool().unwrap_or(false);
        if !streaming {
            // Side queries (titles, summaries) are not model turns of the session: answer them
            // neutrally without consuming the script.
            let msg = message_json(&model, "msg_side", &[text_block("ok")], "end_turn");
            (StatusCode::OK, axum::Json(msg)).into_response()
        } else {
            let index = inner.turns_served;
            let turn = match inner.script.pop_front() {
                Some(t) => t,
                None => {
                    inner.violations.push(Violation(format!(
                        "model request #{} arrived after the script ended",
                        index + 1
                    )));
                    Turn::Text("(script exhausted)".to_string())
                }
            };
            inner.turns_served += 1;
            recorded.turn = Some(index);
            sse_response(&model, index, &turn)
        }
    } else {
        inner
            .violations
            .push(Violation(format!("unexpected request {method} {uri}")));
        (
            StatusCode::NOT_FOUND,
            axum::Json(
                json!({"type":"error","error":{"type":"not_found_error","message":"not scripted"}}),
            ),
        )
            .into_response()
    };
    inner.requests.push(recorded);
    response
}

fn text_block(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn message_json(model: &str, id: &str, content: &[Value], stop_reason: &str) -> Value {
    json!({
        "id": id, "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop_reason, "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 5}
    })
}

/// The event stream of one assistant message, as the Messages API streams it.
pub fn sse_events(model: &str, index: usize, turn: &Turn) -> Vec<(&'static str, Value)> {
    let id = format!("msg_scripted_{index:03}");
    let mut events = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 10, "output_tokens": 1}}}),
        ),
        ("ping", json!({"type": "ping"})),
    ];
    let stop_reason = match turn {
        Turn::Text(text) => {
            events.push((
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "text", "text": ""}}),
            ));
            for piece in split_in_two(text) {
                events.push((
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                           "delta": {"type": "text_delta", "text": piece}}),
                ));
            }
            "end_turn"
        }
        Turn::Bash(command) => {
            events.push((
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {
                    "type": "tool_use", "id": format!("toolu_scripted_{index:03}"),
                    "name": "Bash", "input": {}}}),
            ));
            // The real API streams tool input as partial JSON fragments; the client must join them.
            let input = json!({"command": command, "description": "scripted command"}).to_string();
            for piece in split_in_two(&input) {
                events.push((
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                           "delta": {"type": "input_json_delta", "partial_json": piece}}),
                ));
            }
            "tool_use"
        }
    };
    events.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push((
        "message_delta",
        json!({"type": "message_delta",
               "delta": {"stop_reason": stop_reason, "stop_sequence": null},
               "usage": {"output_tokens": 5}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    events
}

fn split_in_two(s: &str) -> Vec<&str> {
    let mid = s.ceil_char_boundary(s.len() / 2);
    [&s[..mid], &s[mid..]]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect()
}

fn sse_response(model: &str, index: usize, turn: &Turn) -> Response {
    let mut body = String::new();
    for (event, data) in sse_events(model, index, turn) {
        body.push_str("event: ");
        body.push_str(event);
        body.push_str("\ndata: ");
        body.push_str(&data.to_string());
        body.push_str("\n\n");
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        [("request-id", format!("req_scripted_{index:03}"))],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_use_stream_reassembles_to_the_scripted_command() {
        let events = sse_events("m", 0, &Turn::Bash("git push origin main".into()));
        let names: Vec<_> = events.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.first(), Some(&"message_start"));
        assert_eq!(names.last(), Some(&"message_stop"));
        let joined: String = events
            .iter()
            .filter_map(|(_, d)| d["delta"]["partial_json"].as_str())
            .collect();
        let input: Value = serde_json::from_str(&joined).expect("partial_json joins to JSON");
        assert_eq!(input["command"], "git push origin main");
        let stop = events
            .iter()
            .find(|(n, _)| *n == "message_delta")
            .map(|(_, d)| d["delta"]["stop_reason"].clone());
        assert_eq!(stop, Some(json!("tool_use")));
    }

    #[test]
    fn text_stream_keeps_multibyte_text_whole() {
        let events = sse_events("m", 1, &Turn::Text("déploiement vérifié ✓".into()));
        let joined: String = events
            .iter()
            .filter_map(|(_, d)| d["delta"]["text"].as_str())
            .collect();
        assert_eq!(joined, "déploiement vérifié ✓");
    }
}
