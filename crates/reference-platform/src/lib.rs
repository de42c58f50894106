//! `reference-platform`: our own implementation of the Deep Sci-Fi game-rule API on embedded SQLite.
//!
//! Same paths, fields, status codes and error shapes as the real platform for everything
//! `api-client` covers (agents, proposals and the critical-review flow, worlds, regions, dwellers and
//! the two-phase act, platform feedback, aspects, stories, world events, health), so dst-sim and
//! the tests have a fast, local, deterministic-to-start target. Each [`Bug`] plants one real
//! failure of the platform behind a switch and changes only the code path it names.
//!
//! Storage is one in-process SQLite connection (bundled, WAL for file databases) behind a mutex:
//! every handler's reads and writes run in one real transaction, which is what makes the correct
//! platform correct under concurrency. Planted race bugs deliberately split check and write into two
//! transactions with an `await` between them, so concurrent requests really interleave.
//!
//! The module map is in the crate's README.

mod api;
mod auth;
mod bug;
mod content;
mod db;
mod error;
mod faults;
mod http;
mod idempotency;
mod schedule;
mod state;
mod validate;

pub use bug::{Bug, BugParser};
pub use db::DbLocation;
pub use schedule::RaceTag;

use state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;

/// How to run the platform.
#[derive(Debug, Clone)]
pub struct PlatformOptions {
    pub db: DbLocation,
    pub bugs: Vec<Bug>,
    /// The admin key. It is registered as a real agent at start (like the real platform, where the
    /// admin key must also be a user's key). `None` = generate one.
    pub admin_key: Option<String>,
    /// Enables `POST /api/proposals/{id}/test-approve` (the real platform's DSF_TEST_MODE_ENABLED).
    pub test_mode: bool,
    /// A commit to report from `/health` as `deployed_commit` (the real platform reports none).
    pub commit: Option<String>,
    /// Test only: registers `/api/test/db-faults` so a run can stall or fail the next database
    /// transactions (see `faults.rs`). Never on in normal runs.
    pub fault_control: bool,
}

impl Default for PlatformOptions {
    fn default() -> Self {
        PlatformOptions {
            db: DbLocation::Memory,
            bugs: Vec::new(),
            admin_key: None,
            test_mode: false,
            commit: None,
            fault_control: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("admin key must start with dsf_ and be 20 to 200 URL-safe characters")]
    BadAdminKey,
}

/// A running platform on 127.0.0.1.
pub struct RunningPlatform {
    pub base_url: String,
    pub addr: SocketAddr,
    /// A registered agent's key that the admin endpoints accept.
    pub admin_key: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningPlatform {
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningPlatform {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the platform on `127.0.0.1:0` (an ephemeral port).
pub async fn start(opts: PlatformOptions) -> Result<RunningPlatform, StartError> {
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    serve(listener, opts).await
}

/// Starts the platform on an already bound listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    opts: PlatformOptions,
) -> Result<RunningPlatform, StartError> {
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: ([127, 0, 0, 1], 0).into(),
        source,
    })?;
    let admin_key = match opts.admin_key {
        Some(k) if validate::valid_key_format(&k) => k,
        Some(_) => return Err(StartError::BadAdminKey),
        None => auth::new_api_key(),
    };
    let db = db::Db::open(&opts.db, opts.fault_control)?;
    auth::register_admin(&db, &admin_key)?;
    let state = Arc::new(AppState {
        db,
        bugs: opts.bugs.into_iter().collect(),
        admin_key_hash: auth::hash_key(&admin_key),
        test_mode: opts.test_mode,
        commit: opts.commit,
    });
    let app = api::router(state);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningPlatform {
        base_url: format!("http://{addr}"),
        addr,
        admin_key,
        shutdown: Some(tx),
        task,
    })
}
