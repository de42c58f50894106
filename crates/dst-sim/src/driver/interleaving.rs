//! Who decides the interleaving of a race: on the embedded reference platform with fault control,
//! the seed (each racer carries an `X-DST-Race` tag; the platform's gate, `reference-platform`
//! `schedule.rs`, lets every racer check before any writes and then releases them in an order
//! derived from the seed and the step); against a remote target, the target's own scheduling.

use super::{DbControl, Driver};
use crate::run::Target;
use clap::ValueEnum;
use reference_platform::RaceTag;

/// `"interleaving"` in traces and `--json`: who decided the order of racing requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Interleaving {
    /// The seed (embedded platform with fault control): a race replays exactly.
    Seeded,
    /// The target's scheduling (a remote target, or the test-only switch below).
    Target,
}

crate::vocabulary!(Interleaving);

/// Test-only switch: `DST_SIM_INTERLEAVING=target` leaves the embedded platform's races to the
/// runtime's scheduling, as before seeded interleaving (shows that the replay and determinism
/// tests fail without it).
const SWITCH: &str = "DST_SIM_INTERLEAVING";

fn switched_off() -> bool {
    std::env::var(SWITCH).is_ok_and(|v| v == "target")
}

impl Interleaving {
    /// The interleaving of races against `target`.
    pub fn of(target: &Target) -> Interleaving {
        if target.embedded.is_some() && target.faults && !switched_off() {
            Interleaving::Seeded
        } else {
            Interleaving::Target
        }
    }
}

/// The seed in a run's name prefix (`dst-s7-t0`, `dst-replay-s7`, `dst-<tag>-s7-t3`): the number
/// after the last `-s`. Races are scheduled from it and the step, so a shrink attempt and a replay
/// of the seed schedule their races alike.
fn seed_of(prefix: &str) -> u64 {
    prefix
        .rsplit("-s")
        .find_map(|tail| {
            let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or(0)
}

/// The schedule seed of race `k` of step `step` in the run `prefix`.
fn schedule_seed(prefix: &str, step: usize, k: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed_of(prefix)
        .to_le_bytes()
        .into_iter()
        .chain((step as u64).to_le_bytes())
        .chain((k as u64).to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

impl Driver {
    /// The `X-DST-Race` header of each of `n` racers of the race about to be sent, when the
    /// target is the embedded platform with fault control (`None`: the target schedules).
    pub(super) fn race_tags(&self, n: usize) -> Option<Vec<String>> {
        if !matches!(self.db_control, DbControl::Embedded(_)) || switched_off() {
            return None;
        }
        // a step may race more than once: the racers recorded so far number this race
        let k = self.last_fault.as_ref().map_or(0, |f| f.raced.len());
        let id = format!("{}-{}-{k}", self.prefix, self.step);
        let seed = schedule_seed(&self.prefix, self.step, k);
        Some(
            (0..n)
                .map(|racer| {
                    RaceTag {
                        id: id.clone(),
                        racer,
                        count: n,
                        seed,
                    }
                    .header()
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_read_from_every_prefix_shape() {
        assert_eq!(seed_of("dst-s7-t0"), 7);
        assert_eq!(seed_of("dst-replay-s7"), 7);
        assert_eq!(seed_of("dst-1a2b-s12-t3"), 12);
        assert_eq!(seed_of("dst-replay1a2b-s40"), 40);
        assert_eq!(seed_of("other"), 0);
    }

    #[test]
    fn a_run_and_its_replay_schedule_a_race_alike() {
        assert_eq!(
            schedule_seed("dst-s7-t0", 12, 0),
            schedule_seed("dst-replay-s7", 12, 0)
        );
        assert_ne!(
            schedule_seed("dst-s7-t0", 12, 0),
            schedule_seed("dst-s8-t0", 12, 0)
        );
        assert_ne!(
            schedule_seed("dst-s7-t0", 12, 0),
            schedule_seed("dst-s7-t0", 13, 0)
        );
    }
}
