//! Seeded interleaving of racing requests (test-only: registered only with fault control on).
//!
//! A simulator that races N requests tags each with `X-DST-Race: <race id>;<racer>;<N>;<seed>`.
//! The racers of one race id pass a gate instead of running as the scheduler happens to poll them:
//!
//! 1. every racer waits at the door until all N have arrived (or [`ARRIVAL_GRACE`] has passed
//!    since the latest arrival, so a racer that never reaches the platform cannot hang the
//!    others, while racers that a loaded machine delivers one by one still all get in);
//! 2. then one racer at a time runs a *segment* of its handler: from the door to its first
//!    `race_window()` (bug.rs), between two windows, or from its last window to its answer.
//!    Segments go phase by phase: every racer runs its phase-0 segment (the checks before its
//!    first window) before any racer runs a phase-1 segment (the writes after it), and within a
//!    phase the order is a permutation derived from the seed and the phase.
//!
//! So a planted check-then-write race always shows (every racer checks before any writes), who
//! wins is the seed's choice, and the same seed gives the same interleaving on every run: a race
//! failure replays. A racer that finishes early (refused by its checks) simply leaves the gate.
//! Requests without the header (and every request when fault control is off) are untouched.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long the door waits for racers that have not arrived: then the race runs without them (a
/// racer refused before the platform saw it, or one the client never sent).
const ARRIVAL_GRACE: Duration = Duration::from_secs(2);

/// Most racers a race may announce (the simulator races 2–5).
const MAX_RACERS: usize = 64;

/// The `X-DST-Race` header of one racer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaceTag {
    pub id: String,
    pub racer: usize,
    pub count: usize,
    pub seed: u64,
}

impl RaceTag {
    /// `<id>;<racer>;<count>;<seed as 16 hex digits>`.
    pub fn parse(h: &str) -> Option<RaceTag> {
        let mut it = h.rsplitn(4, ';');
        let seed = u64::from_str_radix(it.next()?, 16).ok()?;
        let count: usize = it.next()?.parse().ok()?;
        let racer: usize = it.next()?.parse().ok()?;
        let id = it.next()?.to_string();
        (racer < count && count <= MAX_RACERS && !id.is_empty()).then_some(RaceTag {
            id,
            racer,
            count,
            seed,
        })
    }

    pub fn header(&self) -> String {
        format!(
            "{};{};{};{:016x}",
            self.id, self.racer, self.count, self.seed
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pos {
    /// Not at the platform yet.
    Absent,
    /// Waiting to run its segment of this phase.
    Waiting(usize),
    /// Holding the gate.
    Running,
    /// Answered (or dropped).
    Done,
}

struct Gate {
    seed: u64,
    pos: Vec<Pos>,
    /// Whether the door opened: everyone arrived, or the grace passed.
    open: bool,
    /// When the latest racer arrived. The grace counts from here, not from the first arrival: on
    /// a machine loaded enough, racers sent together can reach the door more than the grace
    /// apart, and counted from the first the race would run without the late one (an
    /// interleaving the seed did not choose). A racer that never comes still costs one grace.
    last_arrival: Instant,
}

impl Gate {
    /// Hands the gate to the next racer if nobody holds it: the lowest phase waiting first, within
    /// it the seeded order. Returns whether it changed hands.
    fn schedule(&mut self) -> bool {
        if !self.open {
            self.open =
                !self.pos.contains(&Pos::Absent) || self.last_arrival.elapsed() >= ARRIVAL_GRACE;
        }
        if !self.open || self.pos.contains(&Pos::Running) {
            return false;
        }
        let next = self
            .pos
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p {
                Pos::Waiting(phase) => Some((*phase, rank(self.seed, *phase, i), i)),
                _ => None,
            })
            .min();
        match next {
            Some((_, _, i)) => {
                self.pos[i] = Pos::Running;
                true
            }
            None => false,
        }
    }
}

/// A racer's place in phase `phase`'s seeded order (splitmix64 of seed, phase and racer).
fn rank(seed: u64, phase: usize, racer: usize) -> u64 {
    let mut z = seed
        ^ (phase as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (racer as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One race in flight.
struct Race {
    gate: Mutex<Gate>,
    changed: Notify,
}

impl Race {
    fn lock(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves racer `i` to `pos` and lets the next racer through if the gate is free.
    fn set(&self, i: usize, pos: Pos) {
        let mut g = self.lock();
        if g.pos[i] == Pos::Absent && pos != Pos::Absent {
            g.last_arrival = Instant::now();
        }
        g.pos[i] = pos;
        g.schedule();
        drop(g);
        self.changed.notify_waiters();
    }

    /// Waits until racer `i` holds the gate.
    async fn turn(&self, i: usize) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let wait = {
                let mut g = self.lock();
                if g.schedule() {
                    self.changed.notify_waiters();
                }
                if g.pos[i] == Pos::Running {
                    return;
                }
                if g.open {
                    Duration::from_secs(3600)
                } else {
                    ARRIVAL_GRACE.saturating_sub(g.last_arrival.elapsed())
                }
            };
            let _ = tokio::time::timeout(wait, changed).await;
        }
    }
}

/// The races of one platform, by race id.
#[derive(Default)]
pub struct Races {
    live: Mutex<HashMap<String, Arc<Race>>>,
}

impl Races {
    fn join(&self, tag: &RaceTag) -> Arc<Race> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.entry(tag.id.clone())
            .or_insert_with(|| {
                Arc::new(Race {
                    gate: Mutex::new(Gate {
                        seed: tag.seed,
                        pos: vec![Pos::Absent; tag.count],
                        open: false,
                        last_arrival: Instant::now(),
                    }),
                    changed: Notify::new(),
                })
            })
            .clone()
    }

    /// Forgets a race once every racer has answered.
    fn leave(&self, id: &str, race: &Race) {
        if race.lock().pos.iter().all(|p| *p == Pos::Done) {
            let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            live.remove(id);
        }
    }
}

/// The racer a request is, while its handler runs.
#[derive(Clone)]
struct Ticket {
    race: Arc<Race>,
    racer: usize,
    phase: Arc<Mutex<usize>>,
}

tokio::task_local! {
    static TICKET: Ticket;
}

/// Marks the racer done when its request ends, however it ends (answered, refused, dropped).
struct Departure {
    races: Arc<Races>,
    id: String,
    ticket: Ticket,
}

impl Drop for Departure {
    fn drop(&mut self) {
        self.ticket.race.set(self.ticket.racer, Pos::Done);
        self.races.leave(&self.id, &self.ticket.race);
    }
}

/// The middleware: a request with a valid `X-DST-Race` header waits at the door for its turn and
/// runs its handler holding a ticket that [`window`] uses.
pub async fn gate_layer(State(races): State<Arc<Races>>, req: Request, next: Next) -> Response {
    let Some(tag) = req
        .headers()
        .get("x-dst-race")
        .and_then(|v| v.to_str().ok())
        .and_then(RaceTag::parse)
    else {
        return next.run(req).await;
    };
    let race = races.join(&tag);
    if race.lock().seed != tag.seed || race.lock().pos.len() != tag.count {
        // a clashing id (not this simulator's tagging): run it as an ordinary request
        return next.run(req).await;
    }
    let ticket = Ticket {
        race,
        racer: tag.racer,
        phase: Arc::new(Mutex::new(0)),
    };
    let departure = Departure {
        races: races.clone(),
        id: tag.id.clone(),
        ticket: ticket.clone(),
    };
    ticket.race.set(tag.racer, Pos::Waiting(0));
    ticket.race.turn(tag.racer).await;
    let response = TICKET.scope(ticket, next.run(req)).await;
    drop(departure);
    response
}

/// Called by `race_window()` (bug.rs): a racing request ends its segment here and waits for
/// its turn in the next phase. `false` when the request is not in a seeded race.
pub(crate) async fn window() -> bool {
    let Ok(t) = TICKET.try_with(Ticket::clone) else {
        return false;
    };
    let phase = {
        let mut p = t.phase.lock().unwrap_or_else(|p| p.into_inner());
        *p += 1;
        *p
    };
    t.race.set(t.racer, Pos::Waiting(phase));
    t.race.turn(t.racer).await;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_round_trips_and_bad_ones_are_ignored() {
        let t = RaceTag {
            id: "dst-s3-t0-17-0".into(),
            racer: 1,
            count: 3,
            seed: 0xabc,
        };
        assert_eq!(RaceTag::parse(&t.header()), Some(t));
        assert_eq!(RaceTag::parse("x;3;3;00"), None, "racer out of range");
        assert_eq!(RaceTag::parse("x;0;1000;00"), None, "too many racers");
        assert_eq!(RaceTag::parse(";0;2;00"), None, "no id");
        assert_eq!(RaceTag::parse("x;0;2;zz"), None, "bad seed");
    }

    /// The order in which `n` racers that all arrived pass phase 0 and then phase 1.
    fn order(seed: u64, n: usize) -> Vec<(usize, usize)> {
        let mut g = Gate {
            seed,
            pos: vec![Pos::Waiting(0); n],
            open: false,
            last_arrival: Instant::now(),
        };
        let mut seen = Vec::new();
        while g.schedule() {
            let i = g.pos.iter().position(|p| *p == Pos::Running).unwrap();
            let phase = seen.iter().filter(|(_, r)| *r == i).count();
            seen.push((phase, i));
            g.pos[i] = if phase == 0 {
                Pos::Waiting(1)
            } else {
                Pos::Done
            };
        }
        seen
    }

    #[test]
    fn every_racer_checks_before_any_writes_in_a_seeded_order() {
        let a = order(7, 4);
        assert_eq!(a.len(), 8);
        assert!(a[..4].iter().all(|(p, _)| *p == 0), "{a:?}");
        assert!(a[4..].iter().all(|(p, _)| *p == 1), "{a:?}");
        assert_eq!(a, order(7, 4), "same seed, same order");
        let orders: std::collections::BTreeSet<_> = (0..32).map(|s| order(s, 4)).collect();
        assert!(orders.len() > 4, "the seed decides the order: {orders:?}");
    }

    #[test]
    fn the_door_stays_shut_until_everyone_arrived() {
        let mut g = Gate {
            seed: 1,
            pos: vec![Pos::Waiting(0), Pos::Absent],
            open: false,
            last_arrival: Instant::now(),
        };
        assert!(!g.schedule());
        g.pos[1] = Pos::Waiting(0);
        assert!(g.schedule());
    }

    #[test]
    fn the_grace_counts_from_the_latest_arrival() {
        let race = Race {
            gate: Mutex::new(Gate {
                seed: 1,
                pos: vec![Pos::Absent; 3],
                open: false,
                last_arrival: Instant::now() - ARRIVAL_GRACE * 2,
            }),
            changed: Notify::new(),
        };
        // the first racer arrived long ago; a second arriving now restarts the grace
        race.lock().pos[0] = Pos::Waiting(0);
        race.set(1, Pos::Waiting(0));
        assert!(
            !race.lock().open,
            "shut: the grace restarted at the second arrival"
        );
        // a racer that never comes: once the grace has passed since the latest arrival, it opens
        race.lock().last_arrival = Instant::now() - ARRIVAL_GRACE;
        assert!(race.lock().schedule(), "open without the third racer");
    }
}
