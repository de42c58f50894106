//! The `[verify]` section of `harness.toml`: waits, poll interval and service endpoints.
//!
//! ```toml
//! [verify]
//! timeout = "20m"            # the whole run
//! ci_timeout = "15m"         # waiting for workflow runs of the SHA to finish
//! ci_grace = "2m"            # no run for the SHA after this long → fail (don't wait out ci_timeout)
//! health_timeout = "10m"     # backend health 200 and reporting the SHA
//! frontend_timeout = "5m"
//! logfire_timeout = "1m"     # retries of transient Logfire errors
//! poll_interval = "10s"
//! request_timeout = "15s"    # one HTTP request
//! smoke_concurrency = 8      # smoke requests in flight at once
//! github_api = "https://api.github.com"          # else $GITHUB_API_URL
//! logfire_url = "https://logfire-eu.pydantic.dev" # else $LOGFIRE_BASE_URL, else the token's region
//! ```

use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVerifySection {
    pub timeout: Option<String>,
    pub ci_timeout: Option<String>,
    pub ci_grace: Option<String>,
    pub health_timeout: Option<String>,
    pub frontend_timeout: Option<String>,
    pub logfire_timeout: Option<String>,
    pub poll_interval: Option<String>,
    pub request_timeout: Option<String>,
    pub smoke_concurrency: Option<usize>,
    pub github_api: Option<String>,
    pub logfire_url: Option<String>,
}

/// Resolved waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timings {
    pub overall: Duration,
    pub ci_timeout: Duration,
    pub ci_grace: Duration,
    pub health_timeout: Duration,
    pub frontend_timeout: Duration,
    pub logfire_timeout: Duration,
    pub poll_interval: Duration,
    pub request_timeout: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            overall: Duration::from_secs(20 * 60),
            ci_timeout: Duration::from_secs(15 * 60),
            ci_grace: Duration::from_secs(120),
            health_timeout: Duration::from_secs(10 * 60),
            frontend_timeout: Duration::from_secs(5 * 60),
            logfire_timeout: Duration::from_secs(60),
            poll_interval: Duration::from_secs(10),
            request_timeout: Duration::from_secs(15),
        }
    }
}

/// Parses `90s`, `5m`, `1h 30m`, `250ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration like 90s, 5m or 250ms ({e})"))
}

impl Timings {
    /// Defaults overridden by the `[verify]` section.
    pub fn from_section(raw: &RawVerifySection) -> Result<Self, String> {
        let mut t = Timings::default();
        let set = |slot: &mut Duration, v: &Option<String>, key: &str| -> Result<(), String> {
            if let Some(v) = v {
                *slot = parse_duration(v).map_err(|e| format!("[verify] {key}: {e}"))?;
            }
            Ok(())
        };
        set(&mut t.overall, &raw.timeout, "timeout")?;
        set(&mut t.ci_timeout, &raw.ci_timeout, "ci_timeout")?;
        set(&mut t.ci_grace, &raw.ci_grace, "ci_grace")?;
        set(&mut t.health_timeout, &raw.health_timeout, "health_timeout")?;
        set(
            &mut t.frontend_timeout,
            &raw.frontend_timeout,
            "frontend_timeout",
        )?;
        set(
            &mut t.logfire_timeout,
            &raw.logfire_timeout,
            "logfire_timeout",
        )?;
        set(&mut t.poll_interval, &raw.poll_interval, "poll_interval")?;
        set(
            &mut t.request_timeout,
            &raw.request_timeout,
            "request_timeout",
        )?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_errors_name_the_key() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("50ms").unwrap(), Duration::from_millis(50));
        assert!(parse_duration("soon").is_err());
        let raw = RawVerifySection {
            ci_grace: Some("7s".into()),
            ..Default::default()
        };
        let t = Timings::from_section(&raw).unwrap();
        assert_eq!(t.ci_grace, Duration::from_secs(7));
        assert_eq!(t.ci_timeout, Timings::default().ci_timeout);
        let bad = RawVerifySection {
            poll_interval: Some("often".into()),
            ..Default::default()
        };
        assert!(
            Timings::from_section(&bad)
                .unwrap_err()
                .contains("poll_interval")
        );
    }
}
