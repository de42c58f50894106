//! `logfire-mcp-project`: starts the Logfire MCP server for this project with the read token from
//! `.claude/logfire-token`, so the token lives in one private file instead of `.mcp.json`.
//!
//! Two modes (`[logfire_mcp] mode` in `harness.toml`, or `--local` / `--hosted`):
//! - **local** (default): runs the `logfire-mcp` package (archived upstream in 2026, still
//!   installable) — `logfire-mcp` if it is on `PATH`, else `uvx logfire-mcp@0.9.0`, or
//!   `[logfire_mcp] command` — by `exec`, with the token in its environment
//!   (`LOGFIRE_READ_TOKEN`), never on its command line where `ps` would show it.
//! - **hosted**: a stdio ↔ streamable-HTTP bridge to the hosted server
//!   (`https://logfire-<region>.pydantic.dev/mcp`, region from the token, or `[logfire_mcp] url`)
//!   that adds `Authorization: Bearer <token>` to every request. Each JSON-RPC line read on stdin is
//!   POSTed; JSON and `text/event-stream` answers are written back one message per line; the
//!   `Mcp-Session-Id` the server assigns is sent on later requests. HTTP failures become JSON-RPC
//!   errors for the request that caused them, so the client sees why.
//!
//! The token file must be a regular file without group/other permission bits; the token is never
//! printed (errors that echo it are redacted).

use api_client::logfire::{self, TokenError};
use clap::Parser;
use markers::ExitStatus;
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;

/// The last release of the archived local server.
pub const DEFAULT_UVX_PACKAGE: &str = "logfire-mcp@0.9.0";

const AFTER_HELP: &str = "\
Reads the Logfire read token from <project root>/.claude/logfire-token (mode 600; a file that group or
others can read is refused) and never prints it. Wire it in .mcp.json (see hooks/mcp.json.example):
  {\"mcpServers\": {\"logfire\": {\"command\": \".claude/bin/logfire-mcp-project\"}}}

harness.toml:
  [logfire_mcp]
  mode = \"local\"                       # or \"hosted\"
  command = [\"uvx\", \"logfire-mcp@0.9.0\"] # local: the server to run (token in LOGFIRE_READ_TOKEN)
  base_url = \"https://logfire-eu.pydantic.dev\"  # local: passed as LOGFIRE_BASE_URL (self-hosted)
  url = \"https://logfire-eu.pydantic.dev/mcp\"   # hosted: default from the token's region

Exit codes: 0 the hosted bridge's stdin ended; 2 no project, bad configuration, missing or
unsafe token file, or the local server could not be started (on success the local server replaces
this process, so its exit code is the server's).";

#[derive(Parser, Debug)]
#[command(
    name = "logfire-mcp-project",
    version,
    about = "Start the Logfire MCP server with this project's read token (.claude/logfire-token)",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Project directory (any path inside its git repository).
    #[arg(short = 'C', long = "project", value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// Bridge to the hosted Logfire MCP endpoint (Bearer token) instead of the local package.
    #[arg(long, conflicts_with = "local")]
    pub hosted: bool,
    /// Run the local logfire-mcp package (the default).
    #[arg(long)]
    pub local: bool,
    /// Hosted endpoint URL (default: the token's region).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Local server command and arguments (default: logfire-mcp, else uvx logfire-mcp@0.9.0).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    mode: Option<String>,
    command: Option<Vec<String>>,
    url: Option<String>,
    base_url: Option<String>,
}

/// What to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Local {
        command: Vec<String>,
        base_url: Option<String>,
    },
    Hosted {
        url: String,
    },
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(program);
            std::fs::metadata(&p).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    })
}

/// The project root, the mode and the token, or one clear message.
pub fn resolve(cli: &Cli) -> Result<(PathBuf, Mode, String), String> {
    let root = markers::project_root(&cli.project).map_err(|e| {
        format!("{e}: start logfire-mcp-project inside the project (or pass -C DIR)")
    })?;
    let cfg = markers::HarnessConfig::load(&root).map_err(|e| e.to_string())?;
    let section: Section = cfg
        .section("logfire_mcp")
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let token = read_token(&root)?;
    let hosted = match (cli.hosted, cli.local, section.mode.as_deref()) {
        (true, _, _) => true,
        (_, true, _) => false,
        (_, _, None | Some("local")) => false,
        (_, _, Some("hosted")) => true,
        (_, _, Some(other)) => {
            return Err(format!(
                "[logfire_mcp] mode = \"{other}\": expected \"local\" or \"hosted\""
            ));
        }
    };
    let mode = if hosted {
        let url = cli
            .url
            .clone()
            .or(section.url)
            .unwrap_or_else(|| logfire::mcp_url_for_token(&token));
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!("hosted MCP URL `{url}` is not an http(s) URL"));
        }
        Mode::Hosted { url }
    } else {
        let command = if !cli.command.is_empty() {
            cli.command.clone()
        } else if let Some(c) = section.command.filter(|c| !c.is_empty()) {
            c
        } else if on_path("logfire-mcp") {
            vec!["logfire-mcp".into()]
        } else {
            vec!["uvx".into(), DEFAULT_UVX_PACKAGE.into()]
        };
        Mode::Local {
            command,
            base_url: section.base_url,
        }
    };
    Ok((root, mode, token))
}

fn read_token(root: &Path) -> Result<String, String> {
    let path = root.join(logfire::TOKEN_FILE);
    match logfire::read_token_file(&path) {
        Ok(t) => Ok(t),
        Err(TokenError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(format!(
                "no Logfire read token at {}: create a read token (Logfire → project → Settings → Read tokens), \
                 save it with `umask 077; cat > {}`, and add `{}` to .gitignore",
                path.display(),
                logfire::TOKEN_FILE,
                logfire::TOKEN_FILE
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Runs the command: `exec`s the local server, or bridges stdio to the hosted endpoint.
pub fn main_with(cli: Cli) -> ExitStatus {
    let (root, mode, token) = match resolve(&cli) {
        Ok(x) => x,
        Err(msg) => {
            eprintln!("logfire-mcp-project: {msg}");
            return ExitStatus::Error;
        }
    };
    match mode {
        Mode::Local { command, base_url } => {
            use std::os::unix::process::CommandExt;
            let mut c = std::process::Command::new(&command[0]);
            c.args(&command[1..])
                .current_dir(&root)
                .env(logfire::TOKEN_ENV, &token);
            if let Some(b) = base_url {
                c.env("LOGFIRE_BASE_URL", b);
            }
            // exec only returns on failure
            let e = c.exec();
            eprintln!(
                "logfire-mcp-project: cannot start `{}`: {e}; install uv (`pip install uv`) or the \
                 logfire-mcp package, or set [logfire_mcp] command in harness.toml",
                command.join(" ")
            );
            ExitStatus::Error
        }
        Mode::Hosted { url } => {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("logfire-mcp-project: cannot start the async runtime: {e}");
                    return ExitStatus::Error;
                }
            };
            let input = tokio::io::BufReader::new(tokio::io::stdin());
            match rt.block_on(bridge(&url, &token, input, tokio::io::stdout())) {
                Ok(_) => ExitStatus::Pass,
                Err(e) => {
                    eprintln!("logfire-mcp-project: {e}");
                    ExitStatus::Error
                }
            }
        }
    }
}

// ------------------------------------------------------------------ hosted bridge

struct Shared<W> {
    http: reqwest::Client,
    url: String,
    token: String,
    session: Mutex<Option<String>>,
    protocol: Mutex<Option<String>>,
    out: Mutex<W>,
}

impl<W: AsyncWrite + Unpin> Shared<W> {
    fn redact(&self, s: &str) -> String {
        s.replace(&self.token, "<redacted>")
    }

    async fn emit(&self, msg: &str) {
        let mut out = self.out.lock().await;
        // a closed stdout means the client is gone; nothing useful is left to do with the error
        let _ = out.write_all(msg.trim().as_bytes()).await;
        let _ = out.write_all(b"\n").await;
        let _ = out.flush().await;
    }

    async fn error_reply(&self, id: Option<&Value>, message: String) {
        let message = self.redact(&message);
        match id {
            Some(id) => {
                let v = json!({"jsonrpc": "2.0", "id": id,
                               "error": {"code": -32000, "message": message}});
                self.emit(&v.to_string()).await;
            }
            None => eprintln!("logfire-mcp-project: {message}"),
        }
    }

    /// POSTs one message and writes every message of the answer.
    async fn forward(&self, line: String, id: Option<Value>, is_initialize: bool) {
        let mut req = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .body(line);
        if let Some(s) = self.session.lock().await.clone() {
            req = req.header("Mcp-Session-Id", s);
        }
        if let Some(p) = self.protocol.lock().await.clone() {
            req = req.header("MCP-Protocol-Version", p);
        }
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return self
                    .error_reply(
                        id.as_ref(),
                        format!("cannot reach the hosted Logfire MCP at {}: {e}", self.url),
                    )
                    .await;
            }
        };
        let status = resp.status().as_u16();
        if let Some(s) = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            *self.session.lock().await = Some(s.to_string());
        }
        if status == 202 || status == 204 {
            return;
        }
        if status == 401 || status == 403 {
            return self
                .error_reply(
                    id.as_ref(),
                    format!(
                        "the hosted Logfire MCP rejected the token (HTTP {status}): .claude/logfire-token must be an API key with project:read for this region"
                    ),
                )
                .await;
        }
        if !(200..300).contains(&status) {
            let text = resp.text().await.unwrap_or_default();
            let snippet: String = text.trim().chars().take(200).collect();
            return self
                .error_reply(
                    id.as_ref(),
                    format!("the hosted Logfire MCP answered HTTP {status}: {snippet}"),
                )
                .await;
        }
        let sse = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/event-stream"));
        if sse {
            let mut buf = String::new();
            loop {
                match resp.chunk().await {
                    Ok(Some(bytes)) => {
                        buf.push_str(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n"));
                        while let Some(end) = buf.find("\n\n") {
                            let event: String = buf.drain(..end + 2).collect();
                            if let Some(data) = sse_data(&event) {
                                self.note_protocol(is_initialize, &data).await;
                                self.emit(&data).await;
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return self
                            .error_reply(
                                id.as_ref(),
                                format!("the hosted Logfire MCP stream broke: {e}"),
                            )
                            .await;
                    }
                }
            }
            if let Some(data) = sse_data(&buf) {
                self.emit(&data).await;
            }
        } else {
            let text = resp.text().await.unwrap_or_default();
            match serde_json::from_str::<Value>(&text) {
                Ok(v) => {
                    let s = v.to_string();
                    self.note_protocol(is_initialize, &s).await;
                    self.emit(&s).await;
                }
                Err(_) => {
                    self.error_reply(
                        id.as_ref(),
                        "the hosted Logfire MCP answered something that is not JSON".into(),
                    )
                    .await
                }
            }
        }
    }

    async fn note_protocol(&self, is_initialize: bool, data: &str) {
        if !is_initialize {
            return;
        }
        if let Some(p) = serde_json::from_str::<Value>(data).ok().and_then(|v| {
            v.pointer("/result/protocolVersion")?
                .as_str()
                .map(str::to_string)
        }) {
            *self.protocol.lock().await = Some(p);
        }
    }
}

/// The `data:` lines of one SSE event, joined; `None` for events without data.
fn sse_data(event: &str) -> Option<String> {
    let lines: Vec<&str> = event
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let data = lines.join("\n");
    (!data.trim().is_empty()).then_some(data)
}

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("reading stdin: {0}")]
    Stdin(std::io::Error),
}

/// Bridges newline-delimited JSON-RPC on `input` to the streamable-HTTP endpoint `url` until
/// `input` ends, writing every answer to `output` (returned at the end).
pub async fn bridge<R, W>(url: &str, token: &str, input: R, output: W) -> Result<W, BridgeError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let http = reqwest::Client::builder()
        .user_agent(concat!(
            "dsf-harness-logfire-mcp/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| BridgeError::Client(e.to_string()))?;
    let shared = Arc::new(Shared {
        http,
        url: url.to_string(),
        token: token.to_string(),
        session: Mutex::new(None),
        protocol: Mutex::new(None),
        out: Mutex::new(output),
    });
    let mut tasks = tokio::task::JoinSet::new();
    let mut lines = input.lines();
    while let Some(line) = lines.next_line().await.map_err(BridgeError::Stdin)? {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                let reply = json!({"jsonrpc": "2.0", "id": null,
                                   "error": {"code": -32700, "message": format!("parse error: {e}")}});
                shared.emit(&reply.to_string()).await;
                continue;
            }
        };
        let id = v.get("id").filter(|i| !i.is_null()).cloned();
        let is_initialize = v.get("method").and_then(Value::as_str) == Some("initialize");
        if is_initialize {
            // later requests need the session id the answer assigns
            shared.forward(line, id, true).await;
        } else {
            let s = shared.clone();
            tasks.spawn(async move { s.forward(line, id, false).await });
        }
    }
    while tasks.join_next().await.is_some() {}
    if let Some(session) = shared.session.lock().await.clone() {
        // end the session politely; the server expires it anyway
        let _ = shared
            .http
            .delete(&shared.url)
            .bearer_auth(&shared.token)
            .header("Mcp-Session-Id", session)
            .send()
            .await;
    }
    let shared = Arc::try_unwrap(shared)
        .map_err(|_| BridgeError::Client("a request task outlived the bridge".into()))?;
    Ok(shared.out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_are_joined_data_lines() {
        assert_eq!(
            sse_data("event: message\ndata: {\"a\":\ndata: 1}\n\n").as_deref(),
            Some("{\"a\":\n1}")
        );
        assert_eq!(sse_data(": keep-alive\n\n"), None);
        assert_eq!(sse_data("id: 3\ndata:{}\n").as_deref(), Some("{}"));
    }
}
