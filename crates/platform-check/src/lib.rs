//! `platform-check`: one command against a checkout of the platform.
//!
//! It starts a private PostgreSQL with pgvector (from the PyPI `pgserver` wheel), installs the
//! checkout's backend into a cached venv, migrates, seeds an admin key, starts the app with the
//! switches a black-box run needs, runs `dst-sim --faults` and Schemathesis against it, and writes
//! one report. Everything it starts runs in its own process group and is stopped on every path out,
//! Ctrl-C included.

pub mod checkout;
pub mod cli;
pub mod dst;
pub mod error;
pub mod phase;
pub mod pipeline;
pub mod platform;
pub mod postgres;
pub mod procs;
pub mod python;
pub mod report;
pub mod report_md;
pub mod schemathesis;
