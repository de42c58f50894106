//! `POST/GET /api/test/db-faults`: arm and count the test-only database faults (`faults.rs`).
//! Routed only with fault control on; admin key only.

use crate::auth::{ApiKey, is_admin};
use crate::error::{ApiError, ApiResult, agent_error};
use crate::faults::{Armed, DbFaults};
use crate::http::{St, ok};
use crate::state::AppState;
use crate::validate::{Body, parse_json};
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

fn require_admin(st: &AppState, key: &ApiKey) -> Result<(), ApiError> {
    match &key.0 {
        Some(k) if is_admin(st, k) => Ok(()),
        _ => Err(agent_error(
            403,
            "Admin key required",
            "Send the platform's admin key in X-API-Key.",
            json!({}),
        )),
    }
}

fn fault_counts(f: &DbFaults) -> Value {
    let a = f.armed();
    json!({
        "failed": f.failed.load(Ordering::Relaxed),
        "stalled": f.stalled.load(Ordering::Relaxed),
        "armed": {"fail_next": a.fail_next, "stall_next": a.stall_next, "stall_ms": a.stall_ms},
    })
}

// The body is parsed after the admin check (a non-admin's malformed body is a 403, not a 422),
// so it comes in as bytes rather than through `JsonBody`.
pub(super) async fn arm(State(st): St, key: ApiKey, bytes: Bytes) -> ApiResult {
    require_admin(&st, &key)?;
    let Some(faults) = st.db.faults() else {
        return Err(crate::error::not_found("Route"));
    };
    let v = parse_json(&bytes)?;
    const KNOWN: [&str; 4] = ["fail_next", "stall_next", "stall_ms", "scope"];
    if let Some(unknown) = v
        .as_object()
        .and_then(|o| o.keys().find(|k| !KNOWN.contains(&k.as_str())))
    {
        return Err(agent_error(
            422,
            &format!("Unknown field {unknown:?}"),
            "Send only fail_next, stall_next, stall_ms and scope.",
            json!({}),
        ));
    }
    let mut b = Body::new(&v)?;
    let fail_next = b.int("fail_next", 0, 1_000, false).unwrap_or(0) as u32;
    let stall_next = b.int("stall_next", 0, 1_000, false).unwrap_or(0) as u32;
    let stall_ms = b.int("stall_ms", 0, 5_000, false).unwrap_or(0) as u64;
    let scope = b.str("scope", 1, Some(200), false);
    b.finish()?;
    if (fail_next > 0 || stall_next > 0) && scope.is_none() {
        return Err(agent_error(
            422,
            "A fault needs a scope",
            "Send scope: the X-DST-Fault-Scope value of the requests the fault may hit.",
            json!({}),
        ));
    }
    faults.arm(Armed {
        fail_next,
        stall_next,
        stall_ms,
        scope: scope.unwrap_or_default(),
    });
    ok(fault_counts(faults))
}

pub(super) async fn counts(State(st): St, key: ApiKey) -> ApiResult {
    require_admin(&st, &key)?;
    match st.db.faults() {
        Some(f) => ok(fault_counts(f)),
        None => Err(crate::error::not_found("Route")),
    }
}
