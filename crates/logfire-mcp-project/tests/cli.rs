//! The binary: token-file rules, the local server started with the token in its environment only,
//! and the hosted bridge against a wiremock MCP endpoint. The token never appears in any output.

use serde_json::{Value, json};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "pylf_v1_eu_TESTSECRETmcpTOKEN42";

struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn project(token_mode: Option<u32>) -> Project {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("app");
    std::fs::create_dir_all(root.join(".claude")).unwrap();
    let ok = Command::new("git")
        .args(["init", "-q"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(ok.success());
    if let Some(mode) = token_mode {
        let f = root.join(".claude/logfire-token");
        std::fs::write(&f, format!("{TOKEN}\n")).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    Project { _dir: dir, root }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(root: &Path, args: &[&str], stdin: &str) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_logfire-mcp-project"))
        .current_dir(root)
        .args(args)
        .env_remove("LOGFIRE_READ_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let out = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert!(
        !out.stdout.contains("TESTSECRET") && !out.stderr.contains("TESTSECRET"),
        "token leaked:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    out
}

async fn run_async(root: &Path, args: &[&str], stdin: &str) -> Out {
    let root = root.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&root, &a, &stdin)
    })
    .await
    .unwrap()
}

#[test]
fn a_missing_token_file_says_how_to_create_and_ignore_it() {
    let p = project(None);
    let o = run(&p.root, &["--", "true"], "");
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("no Logfire read token"), "{}", o.stderr);
    assert!(o.stderr.contains(".gitignore"), "{}", o.stderr);
}

#[test]
fn a_group_readable_token_file_is_refused() {
    let p = project(Some(0o640));
    let o = run(&p.root, &["--", "true"], "");
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("mode 0640"), "{}", o.stderr);
    assert!(o.stderr.contains("chmod 600"), "{}", o.stderr);
}

#[test]
fn the_local_server_gets_the_token_in_its_environment_not_its_arguments() {
    let p = project(Some(0o600));
    let script =
        "printenv LOGFIRE_READ_TOKEN > seen-token; printf 'args:%s\\n' \"$*\"; echo started";
    let o = run(&p.root, &["--", "sh", "-c", script, "sh", "--stdio"], "");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("args:--stdio"), "{}", o.stdout);
    assert!(o.stdout.contains("started"));
    assert_eq!(
        std::fs::read_to_string(p.root.join("seen-token"))
            .unwrap()
            .trim(),
        TOKEN
    );
    // the server's exit code is ours (exec)
    let o = run(&p.root, &["--", "sh", "-c", "exit 7"], "");
    assert_eq!(o.code, 7);
}

#[test]
fn the_local_command_comes_from_harness_toml_and_a_missing_one_is_clear() {
    let p = project(Some(0o600));
    std::fs::write(
        p.root.join("harness.toml"),
        "[logfire_mcp]\ncommand = [\"sh\", \"-c\", \"echo from-config\"]\n",
    )
    .unwrap();
    let o = run(&p.root, &[], "");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.trim(), "from-config");
    let o = run(&p.root, &["--", "/nonexistent/logfire-mcp"], "");
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("cannot start `/nonexistent/logfire-mcp`"),
        "{}",
        o.stderr
    );
    std::fs::write(
        p.root.join("harness.toml"),
        "[logfire_mcp]\nmode = \"remote\"\n",
    )
    .unwrap();
    let o = run(&p.root, &[], "");
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("expected \"local\" or \"hosted\""),
        "{}",
        o.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_bridge_forwards_with_bearer_and_session_and_streams_answers_back() {
    let p = project(Some(0o600));
    let mcp = MockServer::start().await;
    let bearer = format!("Bearer {TOKEN}");
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .and(header("authorization", bearer.as_str()))
        .and(body_partial_json(json!({"method": "initialize"})))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("mcp-session-id", "sess-1")
                .set_body_json(json!({"jsonrpc": "2.0", "id": 1,
                    "result": {"protocolVersion": "2025-06-18", "serverInfo": {"name": "logfire"}}})),
        )
        .expect(1)
        .mount(&mcp)
        .await;
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .and(body_partial_json(
            json!({"method": "notifications/initialized"}),
        ))
        .and(header("mcp-session-id", "sess-1"))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&mcp)
        .await;
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .and(header("authorization", bearer.as_str()))
        .and(header("mcp-session-id", "sess-1"))
        .and(header("mcp-protocol-version", "2025-06-18"))
        .and(body_partial_json(json!({"method": "tools/list"})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n\
             event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"query_run\"}]}}\n\n",
            "text/event-stream",
        ))
        .expect(1)
        .mount(&mcp)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/mcp"))
        .and(header("mcp-session-id", "sess-1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&mcp)
        .await;
    let url = format!("{}/mcp", mcp.uri());
    let input = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}\n\
                 {\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n\
                 \n\
                 {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n\
                 not json\n";
    let o = run_async(&p.root, &["--hosted", "--url", &url], input).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let msgs: Vec<Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_id = |id: i64| msgs.iter().find(|m| m["id"] == id).cloned();
    assert_eq!(by_id(1).unwrap()["result"]["serverInfo"]["name"], "logfire");
    assert_eq!(by_id(2).unwrap()["result"]["tools"][0]["name"], "query_run");
    assert!(msgs.iter().any(|m| m["method"] == "notifications/progress"));
    assert!(msgs.iter().any(|m| m["error"]["code"] == -32700));
    assert_eq!(msgs.len(), 4, "{}", o.stdout);
    mcp.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_errors_become_json_rpc_errors_without_the_token() {
    let p = project(Some(0o600));
    let mcp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .and(body_partial_json(json!({"id": 1})))
        .respond_with(ResponseTemplate::new(401).set_body_string(format!("bad token {TOKEN}")))
        .mount(&mcp)
        .await;
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .and(body_partial_json(json!({"id": 2})))
        .respond_with(ResponseTemplate::new(500).set_body_string(format!("oops {TOKEN}")))
        .mount(&mcp)
        .await;
    let url = format!("{}/mcp", mcp.uri());
    let input = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}\n\
                 {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n";
    let o = run_async(&p.root, &["--hosted", "--url", &url], input).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("rejected the token (HTTP 401)"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("answered HTTP 500: oops <redacted>"),
        "{}",
        o.stdout
    );
    // unreachable endpoint
    let o = run_async(
        &p.root,
        &["--hosted", "--url", "http://127.0.0.1:9/mcp"],
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}\n",
    )
    .await;
    assert!(
        o.stdout.contains("cannot reach the hosted Logfire MCP"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("\"id\":5"), "{}", o.stdout);
}
