//! What handlers share on the HTTP side: the state and query extractors, the 200 response, the
//! small typed response pieces, and the extractors that take a handler's usual opening off it: an
//! id path parameter checked as a UUID ([`ProposalId`], [`WorldId`], …), the JSON body
//! ([`JsonBody`]) and the agent authenticated in its own transaction ([`Authed`]).
//!
//! Extractors run in the order of the handler's arguments, the body last: a handler lists them in
//! the order its checks answer (for example a bad id's 422 before the body's).

use crate::auth::{Agent, ApiKey};
use crate::error::ApiResult;
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

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        parse_json(&bytes)
            .map(JsonBody)
            .map_err(IntoResponse::into_response)
    }
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
