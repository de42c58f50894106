//! The app itself: migrations, the admin key's rows, starting it with the black-box switches (or a
//! stand-in's start command), waiting for /health, and registering the agent Schemathesis acts as.

use crate::error::StepError;
use crate::phase::Phase;
use crate::procs::{Group, run_logged};
use api_client::{Client, ClientConfig, Method, RegisterAgent};
use rustix::process::Signal;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The switches a black-box run needs (facts: docs/platform-check.md). TESTING must be unset:
/// with TESTING=true the platform reads RATELIMIT_ENABLED=false as truthy.
pub const SWITCHES: [(&str, &str); 5] = [
    ("RATELIMIT_ENABLED", "false"),
    ("DEDUP_WINDOW_OVERRIDE_SECONDS", "0"),
    ("DSF_TEST_MODE_ENABLED", "true"),
    ("ENVIRONMENT", "development"),
    ("GUIDANCE_TOKEN_SECRET", "platform-check"),
];

/// 16 random bytes as hex (the kernel's generator; keys must not repeat between runs).
pub fn random_hex() -> String {
    let mut b = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A fresh admin key in the platform's `dsf_` shape.
pub fn new_admin_key() -> String {
    format!("dsf_pc_{}", random_hex())
}

/// The SQL that makes `key` an admin key the way the platform authenticates one: a
/// `platform_api_keys` row (sha256 hex of the key, its first 12 characters) owned by a
/// `platform_users` row; the allow-list half is ADMIN_API_KEYS at start.
pub fn seed_sql(key: &str) -> String {
    let hash: String = Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let prefix = &key[..key.len().min(12)];
    format!(
        "WITH u AS (INSERT INTO platform_users (type, username, name) \
         VALUES ('AGENT', 'platform-check-admin', 'platform-check admin') RETURNING id) \
         INSERT INTO platform_api_keys (user_id, key_hash, key_prefix, is_revoked) \
         SELECT id, '{hash}', '{prefix}', false FROM u;"
    )
}

/// `alembic upgrade head` in the backend directory with the venv's Python.
pub fn migrate(
    python: &Path,
    backend: &Path,
    db_url: &str,
    log: &Path,
) -> Result<String, StepError> {
    let mut c = Command::new(python);
    c.args(["-m", "alembic", "upgrade", "head"])
        .current_dir(backend)
        .env_remove("TESTING")
        .env("DATABASE_URL", db_url);
    run_logged(
        Phase::Migrate,
        "alembic upgrade head",
        c,
        log,
        Some(Duration::from_secs(600)),
    )?;
    let head = crate::error::tail_lines(log, 1)
        .pop()
        .and_then(|l| {
            l.rsplit_once("Running upgrade ")
                .map(|(_, r)| r.to_string())
        })
        .unwrap_or_else(|| "at head".to_string());
    Ok(format!("alembic upgrade head ({head})"))
}

/// How the app under test is started.
#[derive(Debug, Clone)]
pub enum Launch<'a> {
    /// The checkout's backend under uvicorn with the venv's Python.
    Checkout {
        python: &'a Path,
        backend: &'a Path,
        db_url: &'a str,
    },
    /// A stand-in's shell command (`$PORT`, `$DSF_ADMIN_KEY`, `$DATABASE_URL` in its environment).
    Command {
        shell: &'a str,
        db_url: Option<&'a str>,
    },
}

/// Starts the app on 127.0.0.1:`port` with `admin_key` allowed, and waits for /health.
pub fn start(
    launch: &Launch<'_>,
    port: u16,
    admin_key: &str,
    log: &Path,
    limit: Duration,
) -> Result<(Group, String), StepError> {
    let mut c = match launch {
        Launch::Checkout {
            python,
            backend,
            db_url,
        } => {
            let mut c = Command::new(python);
            c.args(["-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port"])
                .arg(port.to_string())
                .current_dir(backend)
                .env("DATABASE_URL", db_url);
            c
        }
        Launch::Command { shell, db_url } => {
            let mut c = Command::new("sh");
            c.args(["-c", shell]);
            if let Some(u) = db_url {
                c.env("DATABASE_URL", u);
            }
            c
        }
    };
    c.env_remove("TESTING")
        .env("PORT", port.to_string())
        .env("ADMIN_API_KEYS", admin_key)
        .env("DSF_ADMIN_KEY", admin_key)
        .envs(SWITCHES);
    let mut group = Group::spawn(Phase::Start, "the platform", c, log, Signal::TERM)?;
    let url = format!("http://127.0.0.1:{port}");
    let t = Instant::now();
    loop {
        if health_ok(&url) {
            return Ok((group, format!("{url} answers /health")));
        }
        if let Some(s) = group.try_wait() {
            return Err(StepError::new(
                Phase::Start,
                format!("the platform exited during start ({s})"),
            )
            .with_log(log));
        }
        if t.elapsed() > limit {
            return Err(StepError::new(
                Phase::Start,
                format!(
                    "{url}/health did not answer 200 within {} s",
                    limit.as_secs()
                ),
            )
            .with_log(log));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()
}

/// GET /health answers 200.
pub fn health_ok(base: &str) -> bool {
    let Some(rt) = runtime() else { return false };
    rt.block_on(async {
        let mut cfg = ClientConfig::new(base);
        cfg.timeout = Duration::from_secs(5);
        match Client::new(cfg) {
            Ok(c) => c
                .send_raw(Method::GET, "/health", None)
                .await
                .is_ok_and(|r| r.status == 200),
            Err(_) => false,
        }
    })
}

/// Registers an agent and returns its key (Schemathesis sends it as X-API-Key).
pub fn register_agent(base: &str) -> Result<(String, String), StepError> {
    let rt = runtime().ok_or_else(|| StepError::new(Phase::Agent, "cannot start a runtime"))?;
    let name = format!("platform-check-{}", &random_hex()[..8]);
    rt.block_on(async {
        let c = Client::new(ClientConfig::new(base))
            .map_err(|e| StepError::new(Phase::Agent, e.to_string()))?;
        let r = c
            .register_agent(&RegisterAgent {
                name: name.clone(),
                username: name.clone(),
                description: None,
            })
            .await
            .map_err(|e| {
                StepError::new(Phase::Agent, format!("POST /api/auth/agent failed: {e}"))
            })?;
        // Warm the app's OpenAPI document (built on first request) before Schemathesis loads it;
        // a stand-in without one is fine, Schemathesis may be given a schema file.
        let mut slow = ClientConfig::new(base);
        slow.timeout = Duration::from_secs(120);
        if let Ok(c) = Client::new(slow) {
            let _ = c.send_raw(Method::GET, "/openapi.json", None).await;
        }
        Ok((r.api_key.key, format!("registered {}", r.agent.username)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_sql_hashes_the_key_and_keeps_its_prefix() {
        let sql = seed_sql("dsf_pc_0123456789abcdef");
        // sha256("dsf_pc_0123456789abcdef") as `printf %s KEY | sha256sum` prints it
        assert!(sql.contains("'015c945717b72dc5906fc4352529b8659ca959eb46c5a91e5c7072b7164d91e2'"));
        assert!(sql.contains("'dsf_pc_01234'"));
        assert!(sql.contains("platform_api_keys") && sql.contains("platform_users"));
        assert!(
            !sql.contains("dsf_pc_0123456789abcdef'"),
            "the key itself is never stored"
        );
    }

    #[test]
    fn admin_keys_are_fresh() {
        let (a, b) = (new_admin_key(), new_admin_key());
        assert_ne!(a, b);
        assert!(a.starts_with("dsf_pc_") && a.len() == 7 + 32);
    }
}
