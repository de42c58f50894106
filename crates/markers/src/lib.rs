//! Shared, synchronous building blocks of the harness.
//!
//! The two Claude Code hooks link this crate, so it must stay small and fast: std, serde, toml and
//! rustix only — no async runtime, no HTTP stack.
//!
//! - [`project`]: the project root (canonical git top-level) a command ran in.
//! - [`config`]: `harness.toml` (environments, marker expiry, Stop-gate budget, tool sections).
//! - [`store`]: the per-user, per-project marker directory and its JSON markers.
//! - [`gha`] and [`term`]: GitHub Actions output and colour decisions, used by every CLI.

pub mod config;
pub mod exit;
pub mod gha;
pub mod git;
pub mod hookio;
pub mod project;
pub mod settings;
pub mod store;
pub mod term;
pub mod time;

pub use exit::ExitStatus;
pub use config::{ConfigError, Environment, HarnessConfig, SmokeCheck};
pub use project::{ProjectError, project_root};
pub use store::{DeployVerified, MarkerError, MarkerStore, PushPending};
pub use time::Timestamp;
