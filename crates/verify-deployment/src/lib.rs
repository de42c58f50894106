//! `verify-deployment`: proves a deploy is healthy before the agent stops, then opens the Stop gate.
//!
//! Six steps, each with its own bounded wait and a clear verdict ([`report::Step`]):
//! CI for exactly the SHA (GitHub REST, no `gh`), backend health (and the deployed commit), frontend
//! (200 + content marker), smoke endpoints (concurrently), schema (`healthy`), and Logfire (no 5xx or
//! errors since the deploy). On success the `deploy-verified` marker is written through
//! [`markers::MarkerStore`], which is what `hook-stop` reads.
//!
//! - [`plan`]: preflight — environment, URLs, SHA, repository, tokens (exit 2 on any problem).
//! - [`steps`]: the checks; [`run`]: their order and the marker; [`report`]: the verdicts.
//! - [`cli`]: the command line (`main.rs` only calls [`cli::main_with`]).

pub mod cli;
pub mod git;
pub mod plan;
pub mod progress;
pub mod report;
pub mod run;
pub mod settings;
pub mod steps;

pub use plan::{EnvVars, Options, Plan, PlanError};
pub use report::{Report, Step, StepReport, Verdict};
