//! `dst-sim`: deterministic simulation testing of the platform's game rules.
//!
//! A model of the rules ([`model`], a proptest-state-machine `ReferenceStateMachine`) generates one
//! operation sequence per seed; the [`driver`] applies it to a live target through api-client,
//! compares every response with the model's prediction, and checks the [`invariants`] by reading back
//! what each step touched. Failures shrink to a short sequence that is written as a JSON trace and
//! re-run with `dst-sim replay`. See `docs/dst.md` and `docs/papers/deterministic-simulation-testing.md`.
//!
//! Layout: [`model`] (rules, world content, faults: what may happen and what must follow),
//! [`driver`] (requests, fault execution, read-back checks), [`run`] (one sequence against a
//! target, shrinking, traces), [`cli`] (arguments, seeds over shards, the mutants scorecard),
//! [`report`] (summaries), [`capabilities`] (what the target has, probed at start), [`known`] (the known-violations file), [`proxy`] (database faults for a remote target).

pub mod capabilities;
pub mod class;
pub mod cli;
pub mod determinism;
pub mod driver;
pub mod invariants;
pub mod known;
pub mod model;
pub mod proxy;
pub mod report;
pub mod run;

/// Steps per seed of `make dst` and `make mutants`, and the default of `--steps`: enough for every
/// rule (64 with the probes, some at the end of a chain of 6-8 others) to fire and every invariant to be
/// checked in every seed of 0..200 against the reference platform. At 200 steps, 197/200 seeds fired
/// every rule once dweller proposals, follows, comments and the aspect review's follow-ups came in.
pub const SEED_STEPS: usize = 300;

/// Display, serde and `all()` for a closed vocabulary through its `clap::ValueEnum` names, so the
/// command line, JSON, traces and tables spell every value the same way and no name table is kept
/// by hand.
#[macro_export]
macro_rules! vocabulary {
    ($t:ty) => {
        impl $t {
            /// Every value, in declaration order.
            pub fn all() -> &'static [$t] {
                <$t as clap::ValueEnum>::value_variants()
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match clap::ValueEnum::to_possible_value(self) {
                    Some(v) => f.pad(v.get_name()),
                    None => Ok(()),
                }
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                <$t as clap::ValueEnum>::from_str(&s, false).map_err(serde::de::Error::custom)
            }
        }
    };
}
