//! What handlers share on the HTTP side: the state and query extractors, the 200 response, the
//! small typed response pieces, and the extractors that take a handler's usual opening off it: an
//! id path parameter checked as a UUID ([`ProposalId`], [`WorldId`], …), the JSON body
//! ([`JsonBody`]) and the agent authenticated in its own transaction ([`Authed`]).
//!
//! Extractors run in the order of the handler's arguments, the body last: a handler lists them in
//! the order its checks answer (for example a bad id's 422 before the body's).

use crate::auth::{Agent, ApiKey};
use crate::bug::Bug;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::validate::{parse_json, uuid_path};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) type St = State<Arc<AppState>>;
pub(crate) type Q = Query<HashMap<String, String>>;

/// 200 with `v` as JSON: a `json!` value, or a typed response serialized straight from its type.
///
/// The read endpoints the simulator calls after nearly every step answer with typed structs rather
/// than `json!` maps: serializing a struct skips allocating a map, its keys and its values per
/// response (docs/PERFORMANCE.md). Stored JSON columns go out as they were stored
/// ([`crate::db::stored_json`]).
pub(crate) fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok((StatusCode::OK, axum::Json(v)).into_response())
}

/// `{"id": …, "name": …}`: who a read endpoint names as author or decider.
#[derive(serde::Serialize)]
pub(crate) struct NamedRef<S> {
    pub id: S,
    pub name: Option<S>,
}

/// An empty JSON array or object field, without allocating one.
pub(crate) type EmptyList = [(); 0];
#[derive(serde::Serialize)]
pub(crate) struct EmptyObject {}

/// Declares one extractor per id path parameter: the route's single `{…}` segment as a canonical
/// UUID, or the platform's 422 naming the parameter (`path -> proposal_id`).
macro_rules! id_paths {
    ($($(#[$doc:meta])* $name:ident = $field:literal;)*) => {$(
        $(#[$doc])*
        pub(crate) struct $name(pub String);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = Response;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
                let Path(raw) = Path::<String>::from_request_parts(parts, state)
                    .await
                    .map_err(IntoResponse::into_response)?;
                uuid_path($field, &raw)
                    .map($name)
                    .map_err(IntoResponse::into_response)
            }
        }
    )*};
}

id_paths! {
    /// `{id}` of `/api/proposals/{id}/…`.
    ProposalId = "proposal_id";
    /// `{item}` of `/api/review/feedback-item/{item}/…`.
    ItemId = "item_id";
    /// `{id}` of `/api/worlds/{id}`, `{wid}` of the routes under a world.
    WorldId = "world_id";
    /// `{id}` of `/api/dwellers/{id}/…`.
    DwellerId = "dweller_id";
    /// `{id}` of `/api/feedback/{id}/…`.
    FeedbackId = "feedback_id";
    /// `{id}` of `/api/aspects/{id}/…`.
    AspectId = "aspect_id";
    /// `{id}` of `/api/stories/{id}/…`.
    StoryId = "story_id";
    /// `{id}` of `/api/events/{id}/…`.
    EventId = "event_id";
    /// `{id}` of `/api/actions/{id}/…`.
    ActionId = "action_id";
    /// `{id}` of `/api/suggestions/{id}/…`.
    SuggestionId = "suggestion_id";
}

/// `{ctype}/{id}` of `/api/review/{ctype}/{id}/…`: the content type as given (the handler checks
/// it, after authentication) and the content id as a UUID (`path -> content_id`).
pub(crate) struct ReviewPath {
    pub ctype: String,
    pub id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for ReviewPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Path((ctype, raw)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let id = uuid_path("content_id", &raw).map_err(IntoResponse::into_response)?;
        Ok(ReviewPath { ctype, id })
    }
}

/// `{sid}/{rid}` of `/api/stories/{sid}/reviews/{rid}/respond`, both UUIDs (story first).
pub(crate) struct StoryReviewPath {
    pub story: String,
    pub review: String,
}

impl<S: Send + Sync> FromRequestParts<S> for StoryReviewPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Path((sid, rid)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let story = uuid_path("story_id", &sid).map_err(IntoResponse::into_response)?;
        let review = uuid_path("review_id", &rid).map_err(IntoResponse::into_response)?;
        Ok(StoryReviewPath { story, review })
    }
}

/// The request body parsed as JSON (an empty body is `{}`), or the platform's 422 for malformed
/// JSON. Field checks stay in the handler ([`crate::validate::Body`]).
pub(crate) struct JsonBody(pub Value);

impl FromRequest<Arc<AppState>> for JsonBody {
    type Rejection = Response;

    async fn from_request(req: Request, st: &Arc<AppState>) -> Result<Self, Response> {
        let bytes = Bytes::from_request(req, st)
            .await
            .map_err(IntoResponse::into_response)?;
        parse_json(&bytes).map(JsonBody).map_err(|e| {
            if st.bug(Bug::LoneSurrogate500) && has_lone_surrogate(&bytes) {
                let msg = "the malformed-body answer echoes a lone surrogate it cannot encode";
                return ApiError::Internal(msg.into()).into_response();
            }
            e.into_response()
        })
    }
}

/// Whether JSON text holds a `\uXXXX` escape of a surrogate that is not half of a pair (a high
/// one followed by a low one), which no Unicode string can hold.
fn has_lone_surrogate(bytes: &[u8]) -> bool {
    let hex = |at: usize| -> Option<u32> {
        let h = bytes.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    };
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        if bytes[i + 1] != b'u' {
            i += 2; // another escape, `\\` included
            continue;
        }
        let Some(code) = hex(i + 2) else {
            return false;
        };
        match code {
            0xD800..=0xDBFF
                if bytes.get(i + 6..i + 8) == Some(&b"\\u"[..])
                    && hex(i + 8).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low)) =>
            {
                i += 12;
            }
            0xD800..=0xDFFF => return true,
            _ => i += 6,
        }
    }
    false
}

/// The agent of the request's key, looked up in a transaction of its own before the handler's
/// (for the handlers that answer 401 before anything else, including a malformed body).
pub(crate) struct Authed(pub Agent);

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> Result<Self, Response> {
        let Ok(key) = ApiKey::from_request_parts(parts, st).await;
        st.db
            .with_tx(|tx| key.agent(tx))
            .map(Authed)
            .map_err(IntoResponse::into_response)
    }
}

#[cfg(test)]
mod tests {
    use super::has_lone_surrogate;

    #[test]
    fn lone_surrogates_are_told_from_pairs_and_other_escapes() {
        for lone in [
            r#"{"a": "x\ud800"}"#,
            r#"{"a": "\udfff y"}"#,
            r#"{"a": "\ud800\u0041"}"#,
            r#"{"a": "\\\ud800"}"#,
        ] {
            assert!(has_lone_surrogate(lone.as_bytes()), "{lone}");
        }
        for fine in [
            r#"{"a": "\ud83d\ude00"}"#,
            r#"{"a": "\\ud800"}"#,
            r#"{"a": "\u00e9 \n"}"#,
            "{\"a\": \"plain\"}",
        ] {
            assert!(!has_lone_surrogate(fine.as_bytes()), "{fine}");
        }
    }
}
