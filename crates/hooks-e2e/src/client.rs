//! The real Claude Code CLI: finding (or installing) the pinned build and running `claude -p` with every
//! child process bounded in time and an environment that reaches nothing but loopback.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// The pinned package.json; its `@anthropic-ai/claude-code` dependency is the version we prove.
const PIN: &str = include_str!("../claude-code/package.json");

/// Longest we wait for `npm ci` of the CLI (through scripts/e2e-hooks.sh --install-only).
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(420);
/// Longest one `claude -p` session may take; a scripted session needs about a second.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(120);
/// The dummy key the client sends; it authenticates nothing and appears only on loopback.
pub const DUMMY_API_KEY: &str = "sk-ant-hooks-e2e-dummy-key";

pub fn pinned_version() -> String {
    serde_json::from_str::<Value>(PIN)
        .ok()
        .and_then(|v| {
            v["dependencies"]["@anthropic-ai/claude-code"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

#[derive(Debug, Clone)]
pub struct Cli {
    pub bin: PathBuf,
    /// What `claude --version` printed, e.g. `2.1.330 (Claude Code)`.
    pub version: String,
}

/// Output of a bounded child process.
#[derive(Debug)]
pub struct Output {
    /// `None` when the process was killed by us (timeout) or by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// Runs `cmd` to completion or kills it after `limit`.
pub async fn run_bounded(mut cmd: Command, limit: Duration) -> std::io::Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let read_out = async {
        let mut s = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut s).await;
        }
        s
    };
    let read_err = async {
        let mut s = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut s).await;
        }
        s
    };
    let all = async {
        let (o, e, status) = tokio::join!(read_out, read_err, child.wait());
        (o, e, status)
    };
    match tokio::time::timeout(limit, all).await {
        Ok((o, e, status)) => Ok(Output {
            code: status?.code(),
            stdout: String::from_utf8_lossy(&o).into_owned(),
            stderr: String::from_utf8_lossy(&e).into_owned(),
            timed_out: false,
        }),
        Err(_) => {
            // kill_on_drop ends the child when `child` goes out of scope here.
            Ok(Output {
                code: None,
                stdout: String::new(),
                stderr: format!("killed after {limit:?}"),
                timed_out: true,
            })
        }
    }
}

/// Finds the pinned CLI: `HOOKS_E2E_CLAUDE_BIN` if set, else installs it into the cache directory
/// through `scripts/e2e-hooks.sh --install-only` (a no-op when already there). `Err` says why it is
/// not available; the caller turns that into a skip.
pub async fn locate_cli() -> Result<Cli, String> {
    let bin = match std::env::var_os("HOOKS_E2E_CLAUDE_BIN") {
        Some(b) if !b.is_empty() => PathBuf::from(b),
        _ => {
            let script = workspace_root().join("scripts/e2e-hooks.sh");
            let mut cmd = Command::new("bash");
            cmd.arg(&script).arg("--install-only");
            let out = run_bounded(cmd, INSTALL_TIMEOUT)
                .await
                .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
            if out.code != Some(0) {
                // The installer's last stderr line says why (npm's own output comes before it).
                let why = out
                    .stderr
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or("no reason given");
                return Err(format!(
                    "installing the Claude Code CLI failed (exit {:?}): {why}",
                    out.code
                ));
            }
            match out.stdout.lines().last() {
                Some(line) if !line.trim().is_empty() => PathBuf::from(line.trim()),
                _ => return Err("the installer printed no binary path".to_string()),
            }
        }
    };
    let mut cmd = Command::new(&bin);
    cmd.arg("--version");
    let out = run_bounded(cmd, Duration::from_secs(30))
        .await
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if out.code != Some(0) {
        return Err(format!(
            "{} --version failed: {}",
            bin.display(),
            out.stderr.trim()
        ));
    }
    Ok(Cli {
        bin,
        version: out.stdout.trim().to_string(),
    })
}

/// What one `claude -p` run produced.
#[derive(Debug)]
pub struct SessionRun {
    pub output: Output,
    /// The `--output-format stream-json` lines that parsed as JSON.
    pub events: Vec<Value>,
}

impl SessionRun {
    /// The final `{"type":"result",...}` event.
    pub fn result(&self) -> Option<&Value> {
        self.events.iter().rev().find(|e| e["type"] == "result")
    }

    /// Every string anywhere in the client's `system` events (where `systemMessage`s are shown).
    pub fn system_event_texts(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["type"] == "system")
            .map(|e| {
                let mut s = Vec::new();
                crate::collect_strings(e, &mut s);
                s.join("\n")
            })
            .collect()
    }
}

/// Everything a session needs to launch the client.
pub struct Launch<'a> {
    pub cli: &'a Cli,
    pub base_url: &'a str,
    /// The scratch git repository the session works in (the client's cwd).
    pub project: &'a Path,
    /// A fresh directory used as HOME and CLAUDE_CONFIG_DIR, so no user config is read or written.
    pub home: &'a Path,
    pub marker_dir: &'a Path,
    /// Directories put first on PATH (e.g. the markers CLI).
    pub extra_path: Vec<PathBuf>,
    pub prompt: &'a str,
}

/// Runs `claude -p <prompt>` with a clean environment: only loopback, no auto-update, no telemetry.
pub async fn run_session(launch: &Launch<'_>) -> std::io::Result<SessionRun> {
    let mut path: Vec<PathBuf> = launch.extra_path.clone();
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(path).map_err(std::io::Error::other)?;
    let tmp = launch.home.join("tmp");
    std::fs::create_dir_all(&tmp)?;
    let mut cmd = Command::new(&launch.cli.bin);
    cmd.current_dir(launch.project)
        .env_clear()
        .env("PATH", path)
        .env("HOME", launch.home)
        .env("CLAUDE_CONFIG_DIR", launch.home.join(".claude"))
        .env("TMPDIR", &tmp)
        .env("LANG", "C.UTF-8")
        .env("ANTHROPIC_BASE_URL", launch.base_url)
        .env("ANTHROPIC_API_KEY", DUMMY_API_KEY)
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_ERROR_REPORTING", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        // Our hook's budget must be what lets the session go, not the client's own cap (8 by default).
        .env("CLAUDE_CODE_STOP_HOOK_BLOCK_CAP", "50")
        .env("HARNESS_MARKER_DIR", launch.marker_dir)
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "hooks-e2e")
        .env("GIT_AUTHOR_EMAIL", "hooks-e2e@example.invalid")
        .env("GIT_COMMITTER_NAME", "hooks-e2e")
        .env("GIT_COMMITTER_EMAIL", "hooks-e2e@example.invalid")
        .arg("-p")
        .arg(launch.prompt)
        .args(["--output-format", "stream-json", "--verbose"])
        // Root may not use bypassPermissions; an allow rule for Bash is what a project would set.
        .args(["--allowedTools", "Bash"]);
    let output = run_bounded(cmd, SESSION_TIMEOUT).await?;
    let events = output
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    Ok(SessionRun { output, events })
}
