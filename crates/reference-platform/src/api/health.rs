//! `GET /health` and `/api/health`.

use crate::http::St;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(super) async fn health(State(st): St) -> Response {
    let mut v = json!({
        "status": "healthy",
        "deployment_status": "stable",
        "schema": {"is_current": true, "current_version": "ref-0001", "expected_version": "ref-0001",
                   "message": "Schema is current (reference platform, created at start)."},
    });
    if let Some(c) = &st.commit {
        v["deployed_commit"] = json!(c);
    }
    (StatusCode::OK, axum::Json(v)).into_response()
}

/// `GET /api/platform/health`: whether test mode is on (`configuration.test_mode_enabled`, as on
/// the real platform), and a declaration of this platform's own design where platforms differ:
/// its critical review approves an aspect on the last resolve (`aspect_review_approval`; the real
/// platform approves aspects only through test-approve and declares nothing, see dst-sim's
/// capability probe).
pub(super) async fn platform_health(State(st): St) -> Response {
    let v = json!({
        "status": "healthy",
        "timestamp": crate::db::now(),
        "configuration": {
            "test_mode_enabled": st.test_mode,
            "aspect_review_approval": true,
            "description": "test_mode_enabled=true enables the test-approve routes of proposals and aspects.",
        },
    });
    (StatusCode::OK, axum::Json(v)).into_response()
}
