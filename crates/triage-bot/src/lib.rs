//! `triage-bot`: the platform's open feedback → one prioritized GitHub issue.
//!
//! [`collect`] reads the feedback summary and every open item (api-client); [`group`] groups them by
//! likely root cause without a model and orders the groups; [`report`] renders one markdown report in
//! which every piece of outside text is cleaned and fenced by [`sanitize`]; [`publish`] creates the
//! issue or comments on the open one, idempotently by fingerprint; [`summarize`] optionally adds a
//! model sentence per group. [`cli`] ties them together.

pub mod cli;
pub mod collect;
pub mod group;
pub mod publish;
pub mod report;
pub mod sanitize;
pub mod summarize;
pub mod when;
