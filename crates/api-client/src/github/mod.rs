//! GitHub REST client shared by verify-deployment (workflow runs) and triage-bot (issues).

pub mod actions;
pub mod issues;
