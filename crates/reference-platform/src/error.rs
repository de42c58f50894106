//! Error responses in the platform's shapes: `{"detail":{"error","how_to_fix",…}}` for handler
//! errors, the flat 422 body for validation, and the 500 body for unhandled failures.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

#[derive(Debug)]
pub enum ApiError {
    /// `agent_error()`-style: status + detail object.
    Agent {
        status: StatusCode,
        detail: Map<String, Value>,
    },
    /// 422 request validation.
    Validation(Vec<FieldError>),
    /// Unhandled failure (database error, planted long-text bug).
    Internal(String),
    /// `HTTPException(status, detail="…")` with a plain string detail (events, parts of aspects).
    Plain { status: StatusCode, detail: String },
}

/// `{"detail": "<message>"}`
pub fn plain(status: u16, detail: impl Into<String>) -> ApiError {
    ApiError::Plain {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        detail: detail.into(),
    }
}

#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    pub kind: &'static str,
    pub input: Value,
}

pub type ApiResult<T = Response> = Result<T, ApiError>;

/// `{"detail":{"error":…, <extra…>, "how_to_fix":…}}`
pub fn agent_error(status: u16, error: &str, how_to_fix: &str, extra: Value) -> ApiError {
    let mut detail = Map::new();
    detail.insert("error".into(), json!(error));
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            detail.insert(k, v);
        }
    }
    detail.insert("how_to_fix".into(), json!(how_to_fix));
    ApiError::Agent {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        detail,
    }
}

pub fn not_found(what: &str) -> ApiError {
    agent_error(
        404,
        &format!("{what} not found"),
        &format!("Check the {} id.", what.to_lowercase()),
        json!({}),
    )
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Agent { status, detail } => {
                (status, axum::Json(json!({ "detail": detail }))).into_response()
            }
            ApiError::Validation(errors) => {
                let details: Vec<Value> = errors
                    .iter()
                    .map(|e| json!({"field": e.field, "message": e.message, "type": e.kind, "your_input": e.input}))
                    .collect();
                let message = errors
                    .first()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .unwrap_or_default();
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    axum::Json(json!({
                        "error": "Validation Error",
                        "message": message,
                        "details": details,
                        "how_to_fix": "Fix the listed fields and send the request again.",
                    })),
                )
                    .into_response()
            }
            ApiError::Plain { status, detail } => {
                (status, axum::Json(json!({ "detail": detail }))).into_response()
            }
            ApiError::Internal(msg) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({
                    "error": "Internal Server Error",
                    "message": "An unexpected error occurred.",
                    "request_id": &uuid::Uuid::new_v4().simple().to_string()[..8],
                    "how_to_fix": "This is a platform bug; report it with POST /api/feedback.",
                    "debug": {"error_type": "InternalError", "error_message": msg},
                })),
            )
                .into_response(),
        }
    }
}
