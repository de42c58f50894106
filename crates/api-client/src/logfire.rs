//! Logfire HTTP query API client (used by verify-deployment) and the read-token rules shared with
//! logfire-mcp-project.
//!
//! - Current API: `POST {base}/v2/query` with a JSON body (`sql`, `min_timestamp` — required,
//!   ISO-8601 with a zone —, `limit`, `deployment_environment`) and `Authorization: Bearer <token>`;
//!   `Accept: application/json` answers `{"schema": {"fields": […]}, "data": [{row}, …]}`.
//! - The region comes from the token (`pylf_v1_eu_…` → `https://logfire-eu.pydantic.dev`; no region
//!   → US). A base URL given explicitly (tests, self-hosted) wins.
//! - 400 = the query failed, 422 = invalid request, 401/403 = the token is wrong; 5xx, 429,
//!   timeouts and connection errors are transient ([`LogfireError::is_transient`]).
//! - The token is never printed: not by `Debug`, not in errors (any echo of it in an error body is
//!   replaced by `<redacted>`).
//! - [`read_token_file`] refuses a token file that group or others can read.

use serde::Serialize;
use serde_json::{Map, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment variable holding a read token.
pub const TOKEN_ENV: &str = "LOGFIRE_READ_TOKEN";
/// The token file, relative to the project root.
pub const TOKEN_FILE: &str = ".claude/logfire-token";
/// Larger files are not a token.
const MAX_TOKEN_FILE_BYTES: u64 = 4096;

/// The region a token belongs to (`pylf_v<N>_<region>_…`), if it names one.
pub fn region_from_token(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("pylf_v")?;
    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let rest = rest[digits..].strip_prefix('_')?;
    let (region, _) = rest.split_once('_')?;
    (!region.is_empty() && region.chars().all(|c| c.is_ascii_lowercase())).then_some(region)
}

/// The API base for a token: `https://logfire-<region>.pydantic.dev`, US when the token names none.
pub fn base_url_for_token(token: &str) -> String {
    format!(
        "https://logfire-{}.pydantic.dev",
        region_from_token(token).unwrap_or("us")
    )
}

/// The hosted MCP endpoint for a token's region.
pub fn mcp_url_for_token(token: &str) -> String {
    format!("{}/mcp", base_url_for_token(token))
}

#[derive(Debug, thiserror::Error)]
/// Why a Logfire read token could not be used. Never contains the token.
pub enum TokenError {
    #[error("cannot read the Logfire token file {path}: {source}")]
    /// The file exists but could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    #[error(
        "the Logfire token file {path} can be read by group or others (mode {mode:04o}); run `chmod 600 {path}` and try again"
    )]
    /// Group or others may read the file.
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A directory, FIFO, symlink, … where the token file belongs.
    #[error("the Logfire token file {path} is not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Empty, several lines, or characters no token has.
    #[error("the Logfire token {origin} is not a token ({why})")]
    Invalid {
        /// Where it came from (the variable or the file), never the token.
        origin: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// Where the token came from (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `$LOGFIRE_READ_TOKEN`.
    Env,
    /// The token file at this path.
    File(PathBuf),
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env => write!(f, "${TOKEN_ENV}"),
            TokenSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Reads a token file: a regular file (symlinks are followed, the target is checked), mode
/// without group/other bits, UTF-8, one token of printable ASCII (surrounding whitespace ignored).
pub fn read_token_file(path: &Path) -> Result<String, TokenError> {
    let read = |source| TokenError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if !meta.is_file() {
        return Err(TokenError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(TokenError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    let origin = || format!("in {}", path.display());
    if meta.len() > MAX_TOKEN_FILE_BYTES {
        return Err(TokenError::Invalid {
            origin: origin(),
            why: "the file is larger than 4 KiB",
        });
    }
    let bytes = std::fs::read(path).map_err(read)?;
    let text = String::from_utf8(bytes).map_err(|_| TokenError::Invalid {
        origin: origin(),
        why: "not UTF-8",
    })?;
    validate_token(text.trim(), &origin())
}

fn validate_token(t: &str, origin: &str) -> Result<String, TokenError> {
    let invalid = |why| TokenError::Invalid {
        origin: origin.to_string(),
        why,
    };
    if t.is_empty() {
        return Err(invalid("it is empty"));
    }
    if !t.chars().all(|c| c.is_ascii_graphic()) {
        return Err(invalid(
            "it contains spaces, control or non-ASCII characters",
        ));
    }
    Ok(t.to_string())
}

/// The read token: `$LOGFIRE_READ_TOKEN` if set and non-empty, else `<project_root>/.claude/logfire-token`
/// if it exists; `Ok(None)` when there is neither.
pub fn resolve_token(project_root: &Path) -> Result<Option<(String, TokenSource)>, TokenError> {
    if let Some(v) = std::env::var_os(TOKEN_ENV) {
        let v = v.to_string_lossy().trim().to_string();
        if !v.is_empty() {
            return validate_token(&v, &format!("in ${TOKEN_ENV}"))
                .map(|t| Some((t, TokenSource::Env)));
        }
    }
    let path = project_root.join(TOKEN_FILE);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        _ => read_token_file(&path).map(|t| Some((t, TokenSource::File(path)))),
    }
}

#[derive(Clone)]
/// How to reach Logfire's query API.
pub struct LogfireConfig {
    /// `None`: derived from the token's region.
    pub base_url: Option<String>,
    /// The read token (never printed).
    pub token: String,
    /// Per request.
    pub timeout: Duration,
}

impl LogfireConfig {
    /// With the defaults (30 s timeout; see the fields).
    pub fn new(token: impl Into<String>) -> Self {
        LogfireConfig {
            base_url: None,
            token: token.into(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for LogfireConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogfireConfig")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
/// Why a Logfire query failed. Never contains the token.
pub enum LogfireError {
    #[error("Logfire configuration: {0}")]
    /// The client could not be built.
    Config(String),
    #[error(
        "Logfire rejected the read token (HTTP {status}): check LOGFIRE_READ_TOKEN / .claude/logfire-token and that it is a read token of this project and region"
    )]
    /// The token was refused.
    Auth {
        /// 401 or 403.
        status: u16,
    },
    /// The query was refused (bad SQL, unknown column): 400 or 422.
    #[error("Logfire could not run the query (HTTP {status}): {message}")]
    Query {
        /// The HTTP status.
        status: u16,
        /// Logfire's message, shortened.
        message: String,
    },
    /// 429.
    #[error("Logfire rate limit hit (HTTP 429){}", .retry_after.map(|s| format!("; retry after {s}s")).unwrap_or_default())]
    RateLimited {
        /// `Retry-After` in seconds, when sent.
        retry_after: Option<u64>,
    },
    /// Any other non-success status.
    #[error("Logfire answered HTTP {status}: {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// Logfire's message, shortened.
        message: String,
    },
    /// No answer within the configured timeout.
    #[error("Logfire did not answer within {secs}s")]
    Timeout {
        /// The timeout.
        secs: u64,
    },
    /// No HTTP answer at all (DNS, TLS, refused connection).
    #[error("cannot reach Logfire at {base_url}: {reason}")]
    Connect {
        /// The base URL that was tried.
        base_url: String,
        /// What the transport said.
        reason: String,
    },
    #[error("Logfire's answer is not what we expected: {0}")]
    /// The answer is not the expected JSON.
    Decode(String),
}

impl LogfireError {
    /// Worth retrying within a bounded wait: 5xx, 429, timeouts, connection errors.
    pub fn is_transient(&self) -> bool {
        match self {
            LogfireError::Http { status, .. } => *status >= 500,
            LogfireError::RateLimited { .. }
            | LogfireError::Timeout { .. }
            | LogfireError::Connect { .. } => true,
            _ => false,
        }
    }
}

/// The body of `POST /v2/query`.
#[derive(Debug, Clone, Serialize)]
pub struct QueryRequest {
    /// The SQL (Logfire's `records` table).
    pub sql: String,
    /// ISO-8601 with a zone (required by the API).
    pub min_timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// End of the window (ISO-8601 with a zone).
    pub max_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Row cap.
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Only rows of these environments.
    pub deployment_environment: Option<Vec<String>>,
}

/// Row-oriented results.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRows {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// One map per row.
    pub rows: Vec<Map<String, Value>>,
}

/// A Logfire query API client. Cheap to clone.
#[derive(Clone)]
pub struct Logfire {
    http: reqwest::Client,
    base_url: String,
    token: String,
    timeout: Duration,
}

impl std::fmt::Debug for Logfire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logfire")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Logfire {
    /// With the defaults (30 s timeout; see the fields).
    pub fn new(cfg: LogfireConfig) -> Result<Self, LogfireError> {
        let token = validate_token(cfg.token.trim(), "given")
            .map_err(|e| LogfireError::Config(e.to_string()))?;
        let base = cfg
            .base_url
            .filter(|b| !b.trim().is_empty())
            .unwrap_or_else(|| base_url_for_token(&token))
            .trim_end_matches('/')
            .to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(LogfireError::Config(format!(
                "base URL `{base}` must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("dsf-harness/", env!("CARGO_PKG_VERSION")))
            .timeout(cfg.timeout)
            .build()
            .map_err(|e| LogfireError::Config(e.to_string()))?;
        Ok(Logfire {
            http,
            base_url: base,
            token,
            timeout: cfg.timeout,
        })
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Runs one query (one request, no retries).
    pub async fn query(&self, req: &QueryRequest) -> Result<QueryRows, LogfireError> {
        let resp = self
            .http
            .post(format!("{}/v2/query", self.base_url))
            .bearer_auth(&self.token)
            .header("Accept", "application/json")
            .json(req)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    LogfireError::Timeout {
                        secs: self.timeout.as_secs(),
                    }
                } else {
                    LogfireError::Connect {
                        base_url: self.base_url.clone(),
                        reason: self.redact(&root_cause(&e)),
                    }
                }
            })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let text = resp.text().await.map_err(|e| {
            if e.is_timeout() {
                LogfireError::Timeout {
                    secs: self.timeout.as_secs(),
                }
            } else {
                LogfireError::Decode(self.redact(&e.to_string()))
            }
        })?;
        match status {
            200 => parse_rows(&text),
            401 | 403 => Err(LogfireError::Auth { status }),
            429 => Err(LogfireError::RateLimited { retry_after }),
            400 | 422 => Err(LogfireError::Query {
                status,
                message: self.redact(&error_message(&text)),
            }),
            _ => Err(LogfireError::Http {
                status,
                message: self.redact(&error_message(&text)),
            }),
        }
    }

    fn redact(&self, s: &str) -> String {
        s.replace(&self.token, "<redacted>")
    }
}

fn parse_rows(text: &str) -> Result<QueryRows, LogfireError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| LogfireError::Decode(format!("body is not JSON ({e})")))?;
    let columns = v
        .pointer("/schema/fields")
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| f.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| LogfireError::Decode("no `data` list in the answer".into()))?;
    let rows = data
        .iter()
        .map(|r| match r {
            Value::Object(m) => Ok(m.clone()),
            _ => Err(LogfireError::Decode(
                "a row of `data` is not an object".into(),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(QueryRows { columns, rows })
}

/// A short message from an error body: `detail` / `message` / `error_details` / `title` when the
/// body is JSON, else the first 300 characters of the text.
fn error_message(text: &str) -> String {
    let from_json = serde_json::from_str::<Value>(text).ok().and_then(|v| {
        ["detail", "message", "error_details", "title", "error"]
            .iter()
            .find_map(|k| v.get(*k))
            .map(|d| match d {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
    });
    let s = from_json.unwrap_or_else(|| text.trim().to_string());
    if s.is_empty() {
        return "(empty body)".into();
    }
    if s.len() > 300 {
        format!("{}…", &s[..s.floor_char_boundary(300)])
    } else {
        s
    }
}

fn root_cause(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s = format!("{s}: {inner}");
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn region_comes_from_the_token() {
        assert_eq!(region_from_token("pylf_v1_eu_abc"), Some("eu"));
        assert_eq!(region_from_token("pylf_v12_us_abc"), Some("us"));
        assert_eq!(region_from_token("pylf_v1_abc"), None);
        assert_eq!(region_from_token("something"), None);
        assert_eq!(
            base_url_for_token("pylf_v1_eu_x"),
            "https://logfire-eu.pydantic.dev"
        );
        assert_eq!(
            base_url_for_token("plain"),
            "https://logfire-us.pydantic.dev"
        );
        assert_eq!(
            mcp_url_for_token("pylf_v1_eu_x"),
            "https://logfire-eu.pydantic.dev/mcp"
        );
    }

    #[test]
    fn token_file_permissions_and_contents_are_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("tok");
        std::fs::write(&p, "  pylf_v1_us_SECRET\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_token_file(&p).unwrap_err().to_string();
        assert!(e.contains("chmod 600") && e.contains("0644"), "{e}");
        assert!(!e.contains("SECRET"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_token_file(&p).unwrap(), "pylf_v1_us_SECRET");
        std::fs::write(&p, "two words").unwrap();
        assert!(matches!(
            read_token_file(&p),
            Err(TokenError::Invalid { .. })
        ));
        std::fs::write(&p, b"\xff\xfe").unwrap();
        assert!(
            read_token_file(&p)
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
        std::fs::write(&p, "\n").unwrap();
        assert!(
            read_token_file(&p)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(matches!(
            read_token_file(tmp.path()),
            Err(TokenError::NotAFile { .. })
        ));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let cfg = LogfireConfig::new("pylf_v1_us_SECRET");
        assert!(!format!("{cfg:?}").contains("SECRET"));
        let lf = Logfire::new(cfg).unwrap();
        assert!(!format!("{lf:?}").contains("SECRET"));
        assert_eq!(lf.base_url(), "https://logfire-us.pydantic.dev");
    }

    #[test]
    fn rows_are_parsed_and_bad_answers_named() {
        let rows = parse_rows(
            r#"{"schema":{"fields":[{"name":"n","data_type":"Int64","nullable":false}]},"data":[{"n":3}]}"#,
        )
        .unwrap();
        assert_eq!(rows.columns, vec!["n"]);
        assert_eq!(rows.rows[0]["n"], 3);
        assert!(matches!(parse_rows("<html>"), Err(LogfireError::Decode(_))));
        assert!(matches!(
            parse_rows(r#"{"data": 3}"#),
            Err(LogfireError::Decode(_))
        ));
        assert_eq!(error_message(r#"{"detail":"bad sql"}"#), "bad sql");
        assert_eq!(error_message(""), "(empty body)");
    }
}
