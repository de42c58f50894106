//! The model of dweller actions sent through `POST /api/actions` (the second act path, beside the
//! two-phase `act/context` + `act`), and what other agents do with an important one: confirm its
//! importance, escalate it into a world event, and its actor's nomination.
//!
//! The rules (as the real platform states them): only the dweller's inhabitant acts (403); an action
//! of importance ≥ 0.8 is escalation-eligible; another agent — never its actor — confirms its
//! importance, once; any agent escalates a confirmed action, once, into a pending world event of the
//! dweller's world (the year within the world's range, as for a proposed event); only the actor
//! nominates it. A refusal of those is a 400, except the inhabitant and the nominator checks (403).
//! An escalated event is an ordinary event of the model (`State::events`): it is approved or
//! rejected by the event rules and read back by invariant 15.
//!
//! The two at-most-once races (`--faults`) are here too: N agents escalate one confirmed action at
//! once (one event, not N), N agents confirm one action at once (one confirmer).

use super::rules;
use super::vocab::{EStatus, EventM, Expect, Fault, FaultKind, Rule, State, Transition, biased};
use super::world::{EVENT_FIRST_YEAR, EVENT_LAST_YEAR, EVENT_YEARS};
use proptest::strategy::{BoxedStrategy, Strategy};

/// Importance in hundredths: both sides of the escalation threshold, mostly eligible, and one past
/// the limit of 1.0 (422).
pub const ACTION_IMPORTANCE: &[u8] = &[50, 79, 80, 80, 90, 100, 100, 101];
/// The importance of a seed's first action: accepted and eligible, so the rules after it can run.
pub const FIRST_IMPORTANCE: &[u8] = &[80, 90, 100];
/// The importance (hundredths) from which an action is escalation-eligible.
pub const ESCALATION_THRESHOLD: u8 = 80;
/// The year a raced escalation names (inside every fixture world's range).
pub const RACE_YEAR: i64 = 2060;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionM {
    pub dweller: usize,
    pub actor: usize,
    /// Hundredths.
    pub importance: u8,
    pub confirmer: Option<usize>,
    /// The world events escalated from it (indices in `State::events`): at most one on a correct
    /// platform; keep-going adopts more when a race made them.
    pub events: Vec<usize>,
    pub nominations: u32,
}

impl ActionM {
    pub fn eligible(&self) -> bool {
        self.importance >= ESCALATION_THRESHOLD
    }

    pub fn escalated(&self) -> bool {
        !self.events.is_empty()
    }

    /// `escalation_status` as the platform reports it.
    pub fn status(&self) -> &'static str {
        if self.escalated() {
            "accepted"
        } else if self.nominations > 0 {
            "nominated"
        } else {
            "eligible"
        }
    }

    /// Whether a confirmation by someone other than the actor would be accepted.
    fn confirmable(&self) -> bool {
        self.eligible() && !self.escalated() && self.confirmer.is_none()
    }

    /// Whether an escalation would be accepted (in a year in range).
    fn escalatable(&self) -> bool {
        self.eligible() && !self.escalated() && self.confirmer.is_some()
    }
}

/// Whether `t` is one of this file's rules.
pub fn is_action_rule(t: &Transition) -> bool {
    matches!(
        t,
        Transition::PostAction { .. }
            | Transition::ConfirmImportance { .. }
            | Transition::EscalateAction { .. }
            | Transition::NominateAction { .. }
    )
}

pub(super) fn expect(st: &State, t: &Transition) -> Expect {
    let bad = Expect::Reject(400);
    match *t {
        Transition::PostAction {
            actor,
            dweller,
            importance,
        } => {
            if importance > 100 {
                Expect::Reject(422)
            } else if st.dwellers[dweller].holder != Some(actor) {
                Expect::Reject(403)
            } else {
                Expect::Ok
            }
        }
        Transition::ConfirmImportance { actor, action } => {
            let a = &st.actions[action];
            if !a.confirmable() || a.actor == actor {
                bad
            } else {
                Expect::Ok
            }
        }
        Transition::EscalateAction { action, year, .. } => {
            if !st.actions[action].escalatable()
                || !(EVENT_FIRST_YEAR..=EVENT_LAST_YEAR).contains(&year)
            {
                bad
            } else {
                Expect::Ok
            }
        }
        Transition::NominateAction { actor, action } => {
            let a = &st.actions[action];
            if a.actor != actor {
                Expect::Reject(403)
            } else if !a.eligible() || a.escalated() {
                bad
            } else {
                Expect::Ok
            }
        }
        _ => Expect::Ok,
    }
}

/// The ordinary steps are sent by an actor the rules allow (the inhabitant acts, someone other
/// than the actor confirms, the actor nominates); the authorization probes send the others.
pub(super) fn valid(st: &State, t: &Transition) -> bool {
    let agent = |a: usize| a < st.agents;
    match *t {
        Transition::PostAction { actor, dweller, .. } => st
            .dwellers
            .get(dweller)
            .is_some_and(|d| d.holder == Some(actor)),
        Transition::ConfirmImportance { actor, action } => {
            agent(actor) && st.actions.get(action).is_some_and(|a| a.actor != actor)
        }
        Transition::EscalateAction { actor, action, .. } => {
            agent(actor) && action < st.actions.len()
        }
        Transition::NominateAction { actor, action } => {
            st.actions.get(action).is_some_and(|a| a.actor == actor)
        }
        _ => false,
    }
}

/// Applies a transition the model predicted to succeed.
pub(super) fn step(st: &mut State, t: &Transition) {
    match *t {
        Transition::PostAction {
            actor,
            dweller,
            importance,
        } => st.actions.push(ActionM {
            dweller,
            actor,
            importance,
            confirmer: None,
            events: vec![],
            nominations: 0,
        }),
        Transition::ConfirmImportance { actor, action } => {
            st.actions[action].confirmer = Some(actor)
        }
        Transition::EscalateAction { actor, action, .. } => escalate(st, action, actor),
        Transition::NominateAction { action, .. } => st.actions[action].nominations += 1,
        _ => {}
    }
}

/// One world event escalated from `action` by `actor`: pending, in the dweller's world.
fn escalate(st: &mut State, action: usize, actor: usize) {
    let world = st.dwellers[st.actions[action].dweller].world;
    st.actions[action].events.push(st.events.len());
    st.events.push(EventM {
        world,
        proposer: actor,
        status: EStatus::Pending,
        decider: None,
    });
}

fn select<T: Clone + std::fmt::Debug + 'static>(v: Vec<T>) -> BoxedStrategy<T> {
    proptest::sample::select(v).boxed()
}

/// Offers the action rules that are valid in `st`: mostly the step that moves an action on (an
/// eligible action confirmed, a confirmed one escalated), sometimes one the rules refuse.
pub(super) fn offer(st: &State, add: &mut dyn FnMut(Rule, BoxedStrategy<Transition>)) {
    let n = st.agents;
    let held: Vec<(usize, usize)> = (0..st.dwellers.len())
        .filter_map(|d| st.dwellers[d].holder.map(|h| (h, d)))
        .collect();
    // A dweller is held only in short windows (its holder soon releases it), and the other rules
    // of a held dweller compete for them: until the seed has an action, the offer counts three
    // times and its importance is an accepted, eligible one, so every seed acts (and the rules
    // that need an action get the rest of the seed).
    // (boosted only once the two-phase act has had its turn, so the first window stays its own)
    let (copies, importances) = match (st.actions.is_empty(), st.fired[Rule::TakeAction.index()]) {
        (true, 0) => (1, FIRST_IMPORTANCE),
        (true, _) => (3, FIRST_IMPORTANCE),
        _ => (1, ACTION_IMPORTANCE),
    };
    for _ in 0..if held.is_empty() { 0 } else { copies } {
        add(
            Rule::PostAction,
            (select(held.clone()), select(importances.to_vec()))
                .prop_map(|((actor, dweller), importance)| Transition::PostAction {
                    actor,
                    dweller,
                    importance,
                })
                .boxed(),
        );
    }
    let na = st.actions.len();
    if na == 0 || n < 2 {
        return;
    }
    let others = |i: usize| {
        let actor = st.actions[i].actor;
        (0..n).filter(move |&a| a != actor).map(move |a| (i, a))
    };
    // confirm: mostly a confirmable action; sometimes any (not eligible, twice, escalated: 400)
    let good: Vec<(usize, usize)> = (0..na)
        .filter(|&i| st.actions[i].confirmable())
        .flat_map(others)
        .collect();
    let any: Vec<(usize, usize)> = (0..na).flat_map(others).collect();
    add(
        Rule::ConfirmImportance,
        biased(good, any)
            .prop_map(|(action, actor)| Transition::ConfirmImportance { actor, action })
            .boxed(),
    );
    // escalate: mostly a confirmed action, by anyone, mostly in a valid year; sometimes any
    // action (unconfirmed, not eligible, escalated already: 400)
    let good: Vec<(usize, usize)> = (0..na)
        .filter(|&i| st.actions[i].escalatable())
        .flat_map(|i| (0..n).map(move |a| (i, a)))
        .collect();
    let any: Vec<(usize, usize)> = (0..na).flat_map(|i| (0..n).map(move |a| (i, a))).collect();
    add(
        Rule::EscalateAction,
        (biased(good, any), select(EVENT_YEARS.to_vec()))
            .prop_map(|((action, actor), year)| Transition::EscalateAction {
                actor,
                action,
                year,
            })
            .boxed(),
    );
    // nominate: by its actor, mostly an eligible action not escalated (else 400)
    let mine: Vec<(usize, usize)> = (0..na).map(|i| (i, st.actions[i].actor)).collect();
    let good: Vec<(usize, usize)> = mine
        .iter()
        .copied()
        .filter(|&(i, _)| st.actions[i].eligible() && !st.actions[i].escalated())
        .collect();
    add(
        Rule::NominateAction,
        biased(good, mine)
            .prop_map(|(action, actor)| Transition::NominateAction { actor, action })
            .boxed(),
    );
}

// ---------- the at-most-once races ----------

/// Whether `f` is one of this file's faults.
pub fn owns_fault(f: &Fault) -> bool {
    matches!(f, Fault::RaceEscalate { .. } | Fault::RaceConfirm { .. })
}

fn distinct(v: &[usize], n: usize) -> bool {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.dedup();
    s.len() == v.len() && v.iter().all(|&a| a < n)
}

/// The ordinary transitions a race is made of, one per racer.
pub fn race_steps(f: &Fault) -> Vec<Transition> {
    match f {
        Fault::RaceEscalate { action, actors } => actors
            .iter()
            .map(|&actor| Transition::EscalateAction {
                actor,
                action: *action,
                year: RACE_YEAR,
            })
            .collect(),
        Fault::RaceConfirm { action, actors } => actors
            .iter()
            .map(|&actor| Transition::ConfirmImportance {
                actor,
                action: *action,
            })
            .collect(),
        _ => vec![],
    }
}

pub fn fault_valid(st: &State, f: &Fault) -> bool {
    match f {
        Fault::RaceEscalate { action, actors } => {
            (2..=6).contains(&actors.len())
                && distinct(actors, st.agents)
                && st.actions.get(*action).is_some_and(ActionM::escalatable)
        }
        Fault::RaceConfirm { action, actors } => {
            (2..=6).contains(&actors.len())
                && distinct(actors, st.agents)
                && st
                    .actions
                    .get(*action)
                    .is_some_and(|a| a.confirmable() && !actors.contains(&a.actor))
        }
        _ => false,
    }
}

/// The state after a race: the model assumes the first racer wins (the driver follows the one that
/// did: [`adopt_race`]).
pub fn fault_step(st: State, f: &Fault) -> State {
    let st = match race_steps(f).first() {
        Some(t) => rules::step(st, t),
        None => st,
    };
    super::faults::step_counted(st, f)
}

/// Keep-going after a race: the state `winners` (the racers told they succeeded, in order) leave
/// — every escalation the target accepted is a world event of its own; the confirmer is `stored`
/// (who the target says confirmed it), else the first winner.
pub fn adopt_race(mut st: State, f: &Fault, winners: &[usize], stored: Option<usize>) -> State {
    let fired = |st: &mut State, rule: Rule| {
        st.fired[rule.index()] += 1;
        st.step += 1;
    };
    match f {
        Fault::RaceEscalate { action, .. } => {
            fired(&mut st, Rule::EscalateAction);
            for &w in winners {
                escalate(&mut st, *action, w);
            }
        }
        Fault::RaceConfirm { action, .. } => {
            fired(&mut st, Rule::ConfirmImportance);
            if let Some(c) = stored.or(winners.first().copied()) {
                st.actions[*action].confirmer = Some(c);
            }
        }
        _ => {}
    }
    super::faults::step_counted(st, f)
}

/// Adds the races whose preconditions hold in `st` to the generation options, eight times each: an
/// action can be raced only until one ordinary confirm or escalate closes its window (a few steps),
/// and at the ordinary fault weight most seeds would never race one.
pub fn offer_faults(st: &State, add: &mut dyn FnMut(FaultKind, BoxedStrategy<Transition>)) {
    for _ in 0..8 {
        offer_races(st, add);
    }
}

fn offer_races(st: &State, add: &mut dyn FnMut(FaultKind, BoxedStrategy<Transition>)) {
    let n = st.agents;
    let fault = |f: Fault| Transition::Fault { fault: f };
    let escalatable: Vec<usize> = (0..st.actions.len())
        .filter(|&i| st.actions[i].escalatable())
        .collect();
    if !escalatable.is_empty() && n >= 2 {
        let agents: Vec<usize> = (0..n).collect();
        let max = n.min(6);
        add(
            FaultKind::RaceEscalate,
            (
                select(escalatable),
                proptest::sample::subsequence(agents, 2..=max),
            )
                .prop_map(move |(action, actors)| fault(Fault::RaceEscalate { action, actors }))
                .boxed(),
        );
    }
    let confirmable: Vec<(usize, Vec<usize>)> = (0..st.actions.len())
        .filter(|&i| st.actions[i].confirmable())
        .map(|i| {
            let actor = st.actions[i].actor;
            (i, (0..n).filter(|&a| a != actor).collect::<Vec<usize>>())
        })
        .filter(|(_, e)| e.len() >= 2)
        .collect();
    if !confirmable.is_empty() {
        add(
            FaultKind::RaceConfirm,
            select(confirmable)
                .prop_flat_map(move |(action, e)| {
                    let max = e.len().min(6);
                    proptest::sample::subsequence(e, 2..=max)
                        .prop_map(move |actors| fault(Fault::RaceConfirm { action, actors }))
                })
                .boxed(),
        );
    }
}

/// Every (actor, target, 0) the rules refuse an action operation to (the authorization matrix):
/// acting as a dweller one does not inhabit; confirming one's own action (only where the action
/// is otherwise confirmable, so the refusal can only be for who asks); nominating another's action.
pub(super) fn authz_cases(st: &State, op: super::probes::AuthzOp) -> Vec<(usize, usize, usize)> {
    use super::probes::AuthzOp;
    let n = st.agents;
    match op {
        AuthzOp::PostAction => (0..st.dwellers.len())
            .flat_map(|d| {
                let holder = st.dwellers[d].holder;
                (0..n)
                    .filter(move |&a| holder != Some(a))
                    .map(move |a| (a, d, 0))
            })
            .collect(),
        AuthzOp::ConfirmOwnAction => (0..st.actions.len())
            .filter(|&i| st.actions[i].confirmable())
            .map(|i| (st.actions[i].actor, i, 0))
            .collect(),
        AuthzOp::NominateOthersAction => (0..st.actions.len())
            .flat_map(|i| {
                let actor = st.actions[i].actor;
                (0..n).filter(move |&a| a != actor).map(move |a| (a, i, 0))
            })
            .collect(),
        _ => vec![],
    }
}
