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
