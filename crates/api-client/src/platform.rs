//! The platform client: transport, errors, observer.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use reqwest::Method;

#[derive(Clone)]
/// How to reach the platform: base URL, the agent's API key, per-request timeout.
pub struct ClientConfig {
    /// Scheme, host and optional path prefix, e.g. `http://127.0.0.1:8000`.
    pub base_url: String,
    /// Sent as `X-API-Key`; `None` for anonymous calls.
    pub api_key: Option<String>,
    /// Per request.
    pub timeout: Duration,
}

impl ClientConfig {
    /// With the defaults (30 s timeout; see the fields).
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            api_key: None,
            timeout: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The platform's error body, as far as it could be parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorBody {
    /// `detail.error`, or the top-level `error` (422, 429, 500 shapes), or a string `detail`.
    pub error: Option<String>,
    /// `detail.how_to_fix`: the platform's advice.
    pub how_to_fix: Option<String>,
    /// 422 validation details: (field, message).
    pub validation: Vec<(String, String)>,
    /// The whole body (JSON, or the text as a JSON string).
    pub raw: Value,
}

impl ErrorBody {
    /// Parses the platform's error shapes (`detail.error`, top-level `error`, string `detail`, 422 lists).
    pub fn parse(body: &Value) -> Self {
        let detail = body.get("detail");
        let error = detail
            .and_then(|d| {
                d.get("error")
                    .and_then(Value::as_str)
                    .or_else(|| d.as_str())
            })
            .or_else(|| body.get("error").and_then(Value::as_str))
            .map(str::to_string);
        let how_to_fix = detail
            .and_then(|d| d.get("how_to_fix"))
            .or_else(|| body.get("how_to_fix"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let validation = body
            .get("details")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|d| {
                        (
                            d.get("field")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                            d.get("message")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        ErrorBody {
            error,
            how_to_fix,
            validation,
            raw: body.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
/// Why a platform call failed. Never contains the API key.
pub enum ApiError {
    #[error("{method} {path} → HTTP {status}: {}", body.error.as_deref().unwrap_or("(no error message)"))]
    /// The platform answered with a status ≥ 400.
    Http {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The platform's error body, parsed.
        body: Box<ErrorBody>,
    },
    #[error("{method} {path} timed out after {timeout:?}")]
    /// No answer within the configured timeout.
    Timeout {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// The timeout.
        timeout: Duration,
    },
    /// No HTTP answer at all (DNS, refused connection, reset).
    #[error("cannot reach {base_url}: {message}")]
    Connect {
        /// The platform's base URL.
        base_url: String,
        /// What the transport said.
        message: String,
    },
    #[error("{method} {path}: unexpected response: {message}")]
    /// The answer is not the expected JSON (names the missing field).
    Decode {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// What did not match.
        message: String,
    },
    #[error("invalid client configuration: {0}")]
    /// The client could not be built (bad base URL, bad key characters).
    Config(String),
}

impl ApiError {
    /// The HTTP status, for `Http` errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One request and what came back, as an [`Observer`] sees it. Headers (and so the key) are not included.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// HTTP method.
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// The JSON body sent (when the observer wants bodies).
    pub request_body: Option<Value>,
    /// `None` when no response arrived (timeout, connection error).
    pub status: Option<u16>,
    /// The JSON answer (when the observer wants bodies).
    pub response_body: Option<Value>,
    /// The transport error, when no response arrived.
    pub error: Option<String>,
    /// From send to the whole body read.
    pub elapsed: Duration,
}

/// Sees every request/response pair the client makes (dst-sim records traces with it).
pub trait Observer: Send + Sync {
    /// Called once per request, after its response (or failure).
    fn on_exchange(&self, ex: &Exchange);
    /// Whether `on_exchange` needs the request and response bodies (copying them costs time).
    fn wants_bodies(&self) -> bool {
        true
    }
}

/// A response of any status.
#[derive(Debug, Clone, PartialEq)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: u16,
    /// The server answered with `x-idempotent-replay: true` (a stored response, handler not re-run).
    pub replayed: bool,
    /// Parsed JSON; `Null` when the body is empty or not JSON.
    pub body: Value,
    /// The body as text.
    pub text: String,
}

/// A request body: a JSON value, or JSON text sent as it is.
#[derive(Clone, Copy)]
enum SendBody<'a> {
    Json(&'a Value),
    Text(&'a str),
}

#[derive(Clone)]
/// The platform client: one connection pool, one optional API key; cheap to clone.
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    /// `base_url` parsed once: a request's URL is this with its path and query set, so the
    /// scheme and host are not re-parsed on every request (that was ~4 % of dst-sim's CPU).
    base: reqwest::Url,
    api_key: Option<String>,
    timeout: Duration,
    observer: Option<Arc<dyn Observer>>,
    idempotency_key: Option<String>,
    extra_headers: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Client {
    /// With the defaults (30 s timeout; see the fields).
    pub fn new(cfg: ClientConfig) -> Result<Self, ApiError> {
        let base = cfg.base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ApiError::Config(format!(
                "base URL {base:?} must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .pool_max_idle_per_host(64)
            // A pooled connection is dropped after 2 s idle, before the server's own keep-alive
            // timeout (uvicorn's default is 5 s) can close it just as a request goes out on it:
            // that race is a "connection reset" on a request the server may or may not have run,
            // which a long run against a busy platform would otherwise hit now and then.
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            // No transparent retries: every request the harness sends is one it meant to send (the
            // fault layer retries on purpose). Without HTTP/2 reqwest would retry nothing anyway,
            // but its retry layer still copied every request in case it did.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .build()
            .map_err(|e| ApiError::Config(e.to_string()))?;
        let parsed = reqwest::Url::parse(&base)
            .map_err(|e| ApiError::Config(format!("base URL {base:?} is not a URL: {e}")))?;
        Ok(Client {
            http,
            base: parsed,
            base_url: base,
            api_key: cfg.api_key,
            timeout: cfg.timeout,
            observer: None,
            idempotency_key: None,
            extra_headers: Vec::new(),
        })
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Same connection pool, acting as another agent.
    pub fn with_api_key(&self, key: &str) -> Self {
        Client {
            api_key: Some(key.to_string()),
            ..self.clone()
        }
    }

    /// Same connection pool, anonymous.
    pub fn anonymous(&self) -> Self {
        Client {
            api_key: None,
            ..self.clone()
        }
    }

    /// Same connection pool; every mutating request carries `X-Idempotency-Key: key` (the
    /// platform's header; a plain `Idempotency-Key` is ignored on most routes).
    pub fn with_idempotency_key(&self, key: &str) -> Self {
        Client {
            idempotency_key: Some(key.to_string()),
            ..self.clone()
        }
    }

    /// Same connection pool; every request carries this extra header (test-only controls such as
    /// the reference platform's fault scope). Never use it for credentials: it is not redacted.
    pub fn with_header(&self, name: &'static str, value: &str) -> Self {
        let mut c = self.clone();
        c.extra_headers.push((name, value.to_string()));
        c
    }

    /// The same client reporting every exchange to `obs`.
    pub fn with_observer(self, obs: Arc<dyn Observer>) -> Self {
        Client {
            observer: Some(obs),
            ..self
        }
    }

    /// Sends one request and returns whatever came back, any status. Only transport failures are errors.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, ApiError> {
        self.send_body(method, path, body.map(SendBody::Json)).await
    }

    /// [`Client::send_raw`] with `json_text` sent as the body byte for byte
    /// (`Content-Type: application/json`), for text a [`Value`] cannot hold: a lone surrogate
    /// escape (`"\ud800"`), duplicate keys, malformed JSON. An observer sees the text as a JSON
    /// string in [`Exchange::request_body`].
    pub async fn send_raw_json_text(
        &self,
        method: Method,
        path: &str,
        json_text: &str,
    ) -> Result<RawResponse, ApiError> {
        self.send_body(method, path, Some(SendBody::Text(json_text)))
            .await
    }

    async fn send_body(
        &self,
        method: Method,
        path: &str,
        send: Option<SendBody<'_>>,
    ) -> Result<RawResponse, ApiError> {
        let mut req = match self.rooted_url(path) {
            Some(url) => self.http.request(method.clone(), url),
            // not a rooted path: plain concatenation, as reqwest would parse it (errors included)
            None => self
                .http
                .request(method.clone(), format!("{}{}", self.base_url, path)),
        };
        if let Some(k) = &self.api_key {
            req = req.header("X-API-Key", k);
        }
        for (name, value) in &self.extra_headers {
            req = req.header(*name, value);
        }
        if let Some(k) = &self.idempotency_key
            && method != Method::GET
        {
            req = req.header("X-Idempotency-Key", k);
        }
        // what the observer sees as the request body
        let text_body;
        let body = match send {
            Some(SendBody::Json(b)) => {
                req = req.json(b);
                Some(b)
            }
            Some(SendBody::Text(t)) => {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(t.to_string());
                text_body = Value::String(t.to_string());
                Some(&text_body)
            }
            None => None,
        };
        let start = Instant::now();
        let result = async {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let replayed = resp
                .headers()
                .get("x-idempotent-replay")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
            // `bytes` + a validating conversion: `text()` runs the slower lossy decoder on every body;
            // `Vec::from` takes over the buffer when nothing else holds it, instead of copying it
            let bytes = resp.bytes().await?;
            let text = match String::from_utf8(Vec::from(bytes)) {
                Ok(t) => t,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            Ok::<_, reqwest::Error>((status, replayed, text))
        }
        .await;
        let m = method.to_string();
        match result {
            Ok((status, replayed, text)) => {
                let body_json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                self.observe(&m, path, body, Some(status), Some(&body_json), None, start);
                Ok(RawResponse {
                    status,
                    replayed,
                    body: body_json,
                    text,
                })
            }
            Err(e) => {
                let err = if e.is_timeout() {
                    ApiError::Timeout {
                        method: m.clone(),
                        path: path.to_string(),
                        timeout: self.timeout,
                    }
                } else {
                    // reqwest's message carries the URL (never headers), so no key leaks here
                    ApiError::Connect {
                        base_url: self.base_url.clone(),
                        message: root_cause(&e),
                    }
                };
                self.observe(&m, path, body, None, None, Some(err.to_string()), start);
                Err(err)
            }
        }
    }

    /// `base_url` + `path` (which may carry a `?query`), for a path that starts with `/`.
    fn rooted_url(&self, path: &str) -> Option<reqwest::Url> {
        let (p, q) = path
            .split_once('?')
            .map_or((path, None), |(p, q)| (p, Some(q)));
        if !p.starts_with('/') || p.contains('#') {
            return None;
        }
        let mut url = self.base.clone();
        match url.path() {
            "/" | "" => url.set_path(p),
            prefix => {
                let joined = format!("{prefix}{p}");
                url.set_path(&joined);
            }
        }
        url.set_query(q);
        Some(url)
    }

    #[allow(clippy::too_many_arguments)]
    fn observe(
        &self,
        m: &str,
        path: &str,
        req: Option<&Value>,
        status: Option<u16>,
        resp: Option<&Value>,
        error: Option<String>,
        start: Instant,
    ) {
        if let Some(o) = &self.observer {
            let bodies = o.wants_bodies();
            o.on_exchange(&Exchange {
                method: m.to_string(),
                path: path.to_string(),
                request_body: if bodies { req.cloned() } else { None },
                status,
                response_body: if bodies { resp.cloned() } else { None },
                error,
                elapsed: start.elapsed(),
            });
        }
    }

    /// Sends and decodes a success body into `T`; statuses ≥ 400 become [`ApiError::Http`].
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ApiError> {
        let raw = self.send_raw(method.clone(), path, body).await?;
        decode(method.as_ref(), path, raw)
    }

    pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let v = serde_json::to_value(body).map_err(|e| ApiError::Config(e.to_string()))?;
        self.call(Method::POST, path, Some(&v)).await
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.call(Method::GET, path, None).await
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

pub(crate) fn decode<T: DeserializeOwned>(
    method: &str,
    path: &str,
    raw: RawResponse,
) -> Result<T, ApiError> {
    if raw.status >= 400 {
        let body = if raw.body.is_null() {
            Value::String(raw.text.clone())
        } else {
            raw.body.clone()
        };
        return Err(ApiError::Http {
            method: method.into(),
            path: path.into(),
            status: raw.status,
            body: Box::new(ErrorBody::parse(&body)),
        });
    }
    serde_json::from_value(raw.body).map_err(|e| ApiError::Decode {
        method: method.into(),
        path: path.into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(ClientConfig {
            base_url: base.into(),
            api_key: None,
            timeout: Duration::from_secs(1),
        })
        .unwrap()
    }

    /// The URL built from the parsed base is the one plain concatenation would give.
    #[test]
    fn rooted_url_is_base_plus_path_and_query() {
        let c = client("http://127.0.0.1:8000/");
        let u = c.rooted_url("/api/worlds?sort=recent&limit=50").unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:8000/api/worlds?sort=recent&limit=50"
        );
        let u = c.rooted_url("/api/proposals/abc").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:8000/api/proposals/abc");
        assert_eq!(u.query(), None);
        // a base behind a path prefix keeps it
        let c = client("https://example.test/platform");
        let u = c.rooted_url("/api/feedback/x?y=1").unwrap();
        assert_eq!(
            u.as_str(),
            "https://example.test/platform/api/feedback/x?y=1"
        );
        // not rooted, or with a fragment: left to plain concatenation
        assert!(c.rooted_url("api/x").is_none());
        assert!(c.rooted_url("/api/x#frag").is_none());
    }
}
