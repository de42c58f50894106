//! Test-only database fault control (dst-sim's "database stall / timeout" fault).
//!
//! Off unless the platform is started with `PlatformOptions::fault_control` (binary: `--fault-control`);
//! then `POST /api/test/db-faults` (admin key) arms the next N transactions to stall (the connection is
//! held, so every other request waits behind it, as behind a stalled database) or to fail at commit
//! (the handler's work is rolled back and the request answers a clean 503). `GET` reports how many
//! faults actually fired, so the simulator can account for them. Normal runs never register the routes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

tokio::task_local! {
    /// The `X-DST-Fault-Scope` of the request being handled (fault-control mode only).
    pub static FAULT_SCOPE: Option<String>;
}

/// The request's scope, when it has one.
fn current_scope() -> Option<String> {
    FAULT_SCOPE.try_with(|s| s.clone()).ok().flatten()
}

/// Runs every request inside its `X-DST-Fault-Scope` (registered only with fault control on), so an
/// armed fault hits exactly the requests of the simulation step that armed it, not another seed's.
pub async fn scope_layer(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let scope = req
        .headers()
        .get("x-dst-fault-scope")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    FAULT_SCOPE.scope(scope, next.run(req)).await
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Armed {
    /// Transactions still to fail at commit.
    pub fail_next: u32,
    /// Transactions still to stall before they start.
    pub stall_next: u32,
    pub stall_ms: u64,
    /// Only transactions of requests with this `X-DST-Fault-Scope` header are hit.
    pub scope: String,
}

#[derive(Default)]
pub struct DbFaults {
    armed: Mutex<Armed>,
    pub failed: AtomicU64,
    pub stalled: AtomicU64,
}

impl DbFaults {
    pub fn arm(&self, a: Armed) {
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = Armed {
            stall_ms: a.stall_ms.min(5_000),
            ..a
        };
    }

    pub fn armed(&self) -> Armed {
        self.armed.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Called with the connection held, before a transaction starts: stalls if armed.
    pub fn before_tx(&self) {
        let ms = {
            let mut a = self.armed.lock().unwrap_or_else(|p| p.into_inner());
            if a.stall_next == 0 || current_scope().as_deref() != Some(a.scope.as_str()) {
                return;
            }
            a.stall_next -= 1;
            a.stall_ms
        };
        self.stalled.fetch_add(1, Ordering::Relaxed);
        // A blocking sleep on purpose: the connection is held, like a database that stopped answering.
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }

    /// Called before commit: `true` = fail this transaction (roll back).
    pub fn fail_commit(&self) -> bool {
        let mut a = self.armed.lock().unwrap_or_else(|p| p.into_inner());
        if a.fail_next == 0 || current_scope().as_deref() != Some(a.scope.as_str()) {
            return false;
        }
        a.fail_next -= 1;
        self.failed.fetch_add(1, Ordering::Relaxed);
        true
    }
}
