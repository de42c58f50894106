//! GitHub REST client shared by verify-deployment (workflow runs) and triage-bot (issues).
//!
//! - Only the REST API over HTTPS (no `gh` CLI): `Authorization: Bearer`, `Accept:
//!   application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28`.
//! - Lists follow the `link: <…>; rel="next"` header (never hand-built page numbers), up to a page cap.
//! - The token is never printed: not by `Debug`, not in errors (error bodies are cut to GitHub's
//!   `message` field, which does not echo credentials).
//! - The API base is configurable so tests point it at a `wiremock` server.
//!
//! Endpoint-specific calls live in [`actions`] and [`issues`] as further `impl GitHub` blocks.

pub mod actions;
pub mod issues;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

pub use reqwest::Method;

/// The public API's base URL.
pub const DEFAULT_API_BASE: &str = "https://api.github.com";
/// The REST API version we speak.
pub const API_VERSION: &str = "2022-11-28";

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSlug {
    /// The owner (user or organisation).
    pub owner: String,
    /// The repository's name.
    pub name: String,
}

impl RepoSlug {
    /// Parses `owner/name`.
    pub fn parse(s: &str) -> Result<Self, GitHubError> {
        let s = s.trim();
        let mut parts = s.split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(o), Some(n), None) if valid_segment(o) && valid_segment(n) => Ok(RepoSlug {
                owner: o.to_string(),
                name: n.to_string(),
            }),
            _ => Err(GitHubError::Config(format!(
                "`{s}` is not a repository in the form OWNER/NAME"
            ))),
        }
    }

    /// Reads `owner/name` from a git remote URL: `https://github.com/o/n(.git)`,
    /// `git@github.com:o/n(.git)`, `ssh://git@github.com/o/n(.git)`. Non-GitHub hosts are accepted
    /// (GitHub Enterprise); credentials embedded in an https URL are ignored.
    pub fn from_remote_url(url: &str) -> Result<Self, GitHubError> {
        let url = url.trim();
        let path = if let Some(rest) = url.split_once("://").map(|(_, r)| r) {
            // strip `user:pass@host[:port]/`
            rest.split_once('/').map(|(_, p)| p).unwrap_or("")
        } else if let Some((_, p)) = url.split_once(':') {
            // scp-like `git@host:owner/name`
            p
        } else {
            url
        };
        let path = path.trim_end_matches('/').trim_end_matches(".git");
        RepoSlug::parse(path).map_err(|_| {
            GitHubError::Config(
                "the git remote URL does not name a GitHub repository (OWNER/NAME)".into(),
            )
        })
    }
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl std::fmt::Display for RepoSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The token from `GITHUB_TOKEN`, else `GH_TOKEN` (empty values count as unset).
pub fn token_from_env() -> Option<String> {
    ["GITHUB_TOKEN", "GH_TOKEN"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

#[derive(Clone)]
/// How to reach GitHub's REST API.
pub struct GitHubConfig {
    /// `https://api.github.com` or an Enterprise/test server.
    pub api_base: String,
    /// Sent as a Bearer token; `None` for anonymous calls.
    pub token: Option<String>,
    /// Per request.
    pub timeout: Duration,
    /// Most pages a list call follows (100 items each).
    pub max_pages: usize,
}

impl GitHubConfig {
    /// The public API with the token from the environment.
    pub fn from_env() -> Self {
        GitHubConfig {
            api_base: std::env::var("GITHUB_API_URL")
                .ok()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_API_BASE.to_string()),
            token: token_from_env(),
            timeout: Duration::from_secs(20),
            max_pages: 10,
        }
    }

    /// With the defaults (30 s timeout; see the fields).
    pub fn new(api_base: impl Into<String>, token: Option<String>) -> Self {
        GitHubConfig {
            api_base: api_base.into(),
            token,
            timeout: Duration::from_secs(20),
            max_pages: 10,
        }
    }
}

impl std::fmt::Debug for GitHubConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubConfig")
            .field("api_base", &self.api_base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("max_pages", &self.max_pages)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
/// Why a GitHub call failed. Never contains the token.
pub enum GitHubError {
    #[error("GitHub configuration: {0}")]
    /// The client could not be built.
    Config(String),
    #[error(
        "GitHub rejected the token on {method} {path} (HTTP {status}): check GITHUB_TOKEN / GH_TOKEN and its permissions"
    )]
    /// 401/403 without rate-limit headers: the token is wrong or lacks permission.
    Auth {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// The HTTP status.
        status: u16,
    },
    #[error("GitHub rate limit hit on {method} {path} (HTTP {status}){}", reset_hint(*.reset_epoch))]
    /// 403/429 with the rate limit exhausted.
    RateLimited {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// The HTTP status.
        status: u16,
        /// When the limit resets (Unix seconds).
        reset_epoch: Option<u64>,
    },
    #[error("GitHub answered HTTP {status} to {method} {path}: {message}")]
    /// Any other non-success status.
    Http {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// The HTTP status.
        status: u16,
        /// What went wrong, as the service said.
        message: String,
    },
    #[error("GitHub did not answer {method} {path} within {secs}s")]
    /// No answer within the configured timeout.
    Timeout {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// The timeout in seconds.
        secs: u64,
    },
    /// No HTTP answer at all (DNS, TLS, refused connection).
    #[error("cannot reach GitHub at {api_base}: {reason}")]
    Connect {
        /// The REST base that was tried.
        api_base: String,
        /// What the transport said.
        reason: String,
    },
    #[error("GitHub's answer to {method} {path} is not what we expected: {reason}")]
    /// The answer is not the expected JSON.
    Decode {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

fn reset_hint(reset: Option<u64>) -> String {
    match reset {
        Some(t) => format!("; it resets at epoch {t}"),
        None => String::new(),
    }
}

impl GitHubError {
    /// HTTP status, when GitHub answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Auth { status, .. }
            | GitHubError::RateLimited { status, .. }
            | GitHubError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A GitHub REST client. Cheap to clone.
#[derive(Clone)]
pub struct GitHub {
    http: reqwest::Client,
    api_base: String,
    token: Option<String>,
    timeout: Duration,
    max_pages: usize,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api_base", &self.api_base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// One page of a list: the items and the `rel="next"` URL, if any.
struct Page {
    body: Value,
    next: Option<String>,
}

impl GitHub {
    /// With the defaults (30 s timeout; see the fields).
    pub fn new(config: GitHubConfig) -> Result<Self, GitHubError> {
        let base = config.api_base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(GitHubError::Config(format!(
                "API base `{base}` must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("dsf-harness/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .build()
            .map_err(|e| GitHubError::Config(e.to_string()))?;
        Ok(GitHub {
            http,
            api_base: base,
            token: config.token,
            timeout: config.timeout,
            max_pages: config.max_pages.max(1),
        })
    }

    /// The REST base URL in use.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// True when requests carry a token.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// `GET path` (relative to the API base, with its query string) decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, GitHubError> {
        let body = self.send(Method::GET, path, None::<&()>).await?;
        decode("GET", path, body)
    }

    /// `POST path` with a JSON body.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, GitHubError> {
        let v = self.send(Method::POST, path, Some(body)).await?;
        decode("POST", path, v)
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, GitHubError> {
        let v = self.send(Method::PATCH, path, Some(body)).await?;
        decode("PATCH", path, v)
    }

    /// Every item of a list endpoint, following `link: rel="next"` up to the page cap. `items_key`
    /// names the array inside an object answer (`workflow_runs`, `items`); `None` for a bare array.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        items_key: Option<&str>,
    ) -> Result<Vec<T>, GitHubError> {
        let mut out = Vec::new();
        let mut url = self.url(path);
        for _ in 0..self.max_pages {
            let page = self.send_url(Method::GET, &url, path, None::<&()>).await?;
            let items = match items_key {
                Some(k) => page.body.get(k).cloned().unwrap_or(Value::Null),
                None => page.body,
            };
            let items: Vec<T> = match items {
                Value::Array(_) => decode("GET", path, items)?,
                _ => {
                    return Err(GitHubError::Decode {
                        method: "GET".into(),
                        path: path.into(),
                        reason: format!(
                            "expected a list{}",
                            items_key
                                .map(|k| format!(" under `{k}`"))
                                .unwrap_or_default()
                        ),
                    });
                }
            };
            out.extend(items);
            match page.next {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(out)
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{}", self.api_base, path)
        } else {
            format!("{}/{}", self.api_base, path)
        }
    }

    async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Value, GitHubError> {
        let url = self.url(path);
        Ok(self.send_url(method, &url, path, body).await?.body)
    }

    async fn send_url<B: Serialize>(
        &self,
        method: Method,
        url: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<Page, GitHubError> {
        let mut req = self
            .http
            .request(method.clone(), url)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let m = method.as_str().to_string();
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                GitHubError::Timeout {
                    method: m.clone(),
                    path: path.into(),
                    secs: self.timeout.as_secs(),
                }
            } else {
                GitHubError::Connect {
                    api_base: self.api_base.clone(),
                    reason: connect_reason(&e),
                }
            }
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.map_err(|e| GitHubError::Decode {
            method: m.clone(),
            path: path.into(),
            reason: e.to_string(),
        })?;
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(e) if status < 400 => {
                    return Err(GitHubError::Decode {
                        method: m,
                        path: path.into(),
                        reason: format!("body is not JSON ({e})"),
                    });
                }
                Err(_) => Value::Null,
            }
        };
        if status >= 400 {
            let remaining = header_u64(&headers, "x-ratelimit-remaining");
            let reset = header_u64(&headers, "x-ratelimit-reset");
            let message = body
                .get("message")
                .and_then(Value::as_str)
                .map(|s| truncate(s, 300))
                .unwrap_or_else(|| format!("(no message; body {} bytes)", text.len()));
            return Err(match status {
                401 => GitHubError::Auth {
                    method: m,
                    path: path.into(),
                    status,
                },
                403 | 429
                    if remaining == Some(0)
                        || headers.contains_key("retry-after")
                        || message.to_ascii_lowercase().contains("rate limit") =>
                {
                    GitHubError::RateLimited {
                        method: m,
                        path: path.into(),
                        status,
                        reset_epoch: reset,
                    }
                }
                _ => GitHubError::Http {
                    method: m,
                    path: path.into(),
                    status,
                    message,
                },
            });
        }
        let next = headers
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(next_link);
        Ok(Page { body, next })
    }
}

fn decode<T: DeserializeOwned>(method: &str, path: &str, v: Value) -> Result<T, GitHubError> {
    serde_json::from_value(v).map_err(|e| GitHubError::Decode {
        method: method.into(),
        path: path.into(),
        reason: e.to_string(),
    })
}

fn connect_reason(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s = format!("{s}: {inner}");
        src = inner.source();
    }
    s
}

fn header_u64(h: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// At most `max` bytes of `s` (cut on a character boundary), `…` marking a cut.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    format!("{}…", &s[..s.floor_char_boundary(max)])
}

/// The `rel="next"` target of a `link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        if !is_next {
            return None;
        }
        let url = url.trim();
        Some(url.strip_prefix('<')?.strip_suffix('>')?.to_string())
    })
}

/// Percent-encodes one query-string value (RFC 3986 unreserved characters pass through).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_from_remote_urls() {
        for url in [
            "https://github.com/nerdsane/deep-sci-fi.git",
            "https://x-access-token:ghs_secret@github.com/nerdsane/deep-sci-fi",
            "git@github.com:nerdsane/deep-sci-fi.git",
            "ssh://git@github.com/nerdsane/deep-sci-fi.git",
        ] {
            let s = RepoSlug::from_remote_url(url).unwrap();
            assert_eq!(s.to_string(), "nerdsane/deep-sci-fi", "{url}");
        }
        assert!(RepoSlug::from_remote_url("/tmp/some/local/path/repo.git").is_err());
        assert!(RepoSlug::parse("a/b/c").is_err());
        assert!(RepoSlug::parse("a b/c").is_err());
    }

    #[test]
    fn link_header_next() {
        let h = r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/x?page=2")
        );
        assert_eq!(next_link(r#"<https://a/x?page=1>; rel="prev""#), None);
    }

    #[test]
    fn debug_never_shows_token() {
        let gh = GitHub::new(GitHubConfig::new(
            "http://127.0.0.1:1",
            Some("ghp_SECRET".into()),
        ))
        .unwrap();
        assert!(!format!("{gh:?}").contains("ghp_SECRET"));
        let cfg = GitHubConfig::new("http://127.0.0.1:1", Some("ghp_SECRET".into()));
        assert!(!format!("{cfg:?}").contains("ghp_SECRET"));
    }

    #[test]
    fn query_escape_reserved() {
        assert_eq!(query_escape("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
