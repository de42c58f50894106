//! Shared, synchronous building blocks of the harness.
//!
//! The two Claude Code hooks link this crate, so it must stay small and fast: std, serde, toml and
//! rustix only — no async runtime, no HTTP stack.
//!
//! - [`project`]: the project root (canonical git top-level) a command ran in.
//! - [`config`]: `harness.toml` (environments, marker expiry, Stop-gate budget, tool sections).
//! - [`store`]: the per-user, per-project marker directory and its JSON markers.
//! - [`gha`] and [`term`]: GitHub Actions output and colour decisions, used by every CLI.
//! - [`exit`]: the one exit-status vocabulary of every binary.
//! - [`sha`]: the validated commit SHA the push → verify → stop flow passes along.
//! - [`text`]: UTF-8-safe shortening for messages.
//! - [`git`], [`hookio`], [`settings`], [`time`]: bounded git calls, hook stdin, Claude Code
//!   settings merging, timestamps.

#![warn(missing_docs)]

pub mod config;
pub mod exit;
pub mod gha;
pub mod git;
pub mod hookio;
pub mod project;
pub mod settings;
pub mod sha;
pub mod store;
pub mod term;
pub mod text;
pub mod time;

pub use config::{ConfigError, Environment, HarnessConfig, SmokeCheck};
pub use exit::ExitStatus;
pub use project::{ProjectError, project_root};
pub use sha::{Sha, ShaError};
pub use store::{DeployVerified, MarkerError, MarkerStore, PushPending};
pub use time::Timestamp;
