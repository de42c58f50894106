//! Typed async client for the Deep Sci-Fi platform HTTP API, plus thin clients for the remote services
//! the harness talks to (GitHub REST, Logfire query API).
//!
//! - Every call is one HTTP request: no hidden retries, so dst-sim sees every response.
//! - [`Client::send_raw`] returns any status with its body; typed methods turn statuses ≥ 400 into
//!   [`ApiError::Http`] with the platform's error body parsed (`detail.error`, `how_to_fix`, 422
//!   details).
//! - An optional [`Observer`] sees every request/response pair (dst-sim records traces with it).
//! - Unknown response fields are ignored; a missing required field is [`ApiError::Decode`] naming it.
//! - The API key is never printed: not by `Debug`, not in errors, not to observers.
//! - [`vocab`]: the platform's closed vocabularies (feedback category, priority and status, review
//!   content types) as enums with their wire strings.

#![warn(missing_docs)]

pub mod fixtures;
pub mod github;
pub mod logfire;
mod platform;
mod types;
mod types_feedback;
mod types_world;
pub mod vocab;

pub use platform::*;
pub use types::*;
pub use types_feedback::*;
pub use types_world::*;
