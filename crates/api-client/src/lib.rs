//! Typed async client for the Deep Sci-Fi platform HTTP API, plus thin clients for the remote services
//! the harness talks to (GitHub REST, Logfire query API).

pub mod github;
pub mod logfire;
