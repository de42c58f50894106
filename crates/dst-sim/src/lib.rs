//! `dst-sim`: deterministic simulation testing of the platform's game rules.
//!
//! A model of the rules ([`model`], a proptest-state-machine `ReferenceStateMachine`) generates one
//! operation sequence per seed; the [`driver`] applies it to a live target through api-client,
//! compares every response with the model's prediction, and checks the [`invariants`] by reading back
//! what each step touched. Failures shrink to a short sequence that is written as a JSON trace and
//! re-run with `dst-sim replay`. See `docs/dst.md` and `docs/papers/deterministic-simulation-testing.md`.

pub mod cli;
pub mod driver;
pub mod fault_driver;
pub mod faults;
pub mod invariants;
pub mod model;
pub mod proxy;
pub mod report;
pub mod run;
