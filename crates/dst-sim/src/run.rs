//! Seeds, execution against a target, shrinking, traces and coverage accounting.

use crate::capabilities::{Capabilities, Capability};
pub use crate::class::{ClassKey, shape};
use crate::driver::{DbControl, Driver, FaultRecord, RuleCount, TraceExchange};
use crate::invariants::{Failure, Invariant, Violation};
use crate::model::{self, Expect, Fault, FaultKind, FaultModel, Model, Rule, State, Transition};
use api_client::{Client, ClientConfig};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use proptest_state_machine::ReferenceStateMachine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("target {url} is unreachable: {message}")]
    Unreachable { url: String, message: String },
    #[error("cannot start the embedded reference platform: {0}")]
    Embedded(String),
    #[error(
        "the target stopped answering at seed {seed}, step {step}: {message} (infrastructure, not a violation)"
    )]
    Infrastructure {
        seed: u64,
        step: usize,
        message: String,
    },
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Usage(String),
}

/// Where the requests go.
pub struct Target {
    pub client: Client,
    pub admin_key: Option<String>,
    /// Set for the embedded reference platform (kept alive for the run).
    pub embedded: Option<reference_platform::RunningPlatform>,
    /// The planted bugs switched on in the embedded platform (a shard starts its own copy with them).
    pub bugs: Vec<reference_platform::Bug>,
    /// Run tag that keeps this run's names apart on a shared target ("" on the embedded target).
    pub tag: String,
    /// Generate fault steps (`--faults`).
    pub faults: bool,
    /// Run every seed to its end past violations (the default of `run`; `--fail-fast` and the
    /// mutants scorecard stop at the first).
    pub keep_going: bool,
    /// How database faults are injected (embedded fault control, a `dst-sim proxy`, or not at all).
    pub db_control: DbControl,
    /// What the target has where platforms legitimately differ, probed before any seed runs
    /// (`capabilities.rs`); the reference platform has every capability.
    pub capabilities: Capabilities,
    /// `--check-determinism`: every seed runs twice and the sequences are compared (determinism.rs).
    pub determinism: crate::determinism::CheckMode,
}

impl Target {
    pub async fn embedded(bugs: &[reference_platform::Bug]) -> Result<Target, RunError> {
        Self::embedded_with(bugs, false).await
    }

    /// The embedded platform; with `faults`, its test-only database fault control is switched on
    /// and the run generates fault steps.
    pub async fn embedded_with(
        bugs: &[reference_platform::Bug],
        faults: bool,
    ) -> Result<Target, RunError> {
        // in test mode, so the test-approve rule runs in every seed
        let p = reference_platform::start(reference_platform::PlatformOptions {
            bugs: bugs.to_vec(),
            fault_control: faults,
            test_mode: true,
            ..Default::default()
        })
        .await
        .map_err(|e| RunError::Embedded(e.to_string()))?;
        let client = Client::new(ClientConfig {
            base_url: p.base_url.clone(),
            api_key: None,
            timeout: Duration::from_secs(30),
        })
        .map_err(|e| RunError::Embedded(e.to_string()))?;
        let capabilities = Capabilities::probe(&client)
            .await
            .map_err(|e| RunError::Embedded(e.to_string()))?;
        let db_control = if faults {
            DbControl::Embedded(client.with_api_key(&p.admin_key))
        } else {
            DbControl::None
        };
        Ok(Target {
            client,
            admin_key: Some(p.admin_key.clone()),
            embedded: Some(p),
            bugs: bugs.to_vec(),
            tag: String::new(),
            faults,
            keep_going: false,
            db_control,
            capabilities,
            determinism: Default::default(),
        })
    }

    /// A running platform at `url`; a request with no answer within `timeout` ends the run as an
    /// infrastructure error.
    pub async fn remote(
        url: &str,
        admin_key: Option<String>,
        tag: String,
        timeout: Duration,
    ) -> Result<Target, RunError> {
        let client = Client::new(ClientConfig {
            base_url: url.to_string(),
            api_key: None,
            timeout,
        })
        .map_err(|e| RunError::Usage(e.to_string()))?;
        client.health().await.map_err(|e| RunError::Unreachable {
            url: url.to_string(),
            message: e.to_string(),
        })?;
        // Every request on a connection of its own: a remote platform may close a connection
        // after a 500 (uvicorn does), and a request already handed to that pooled connection is
        // then lost as "connection closed before message completed", which ends the run with
        // exit 2. Any rule can meet a 500 on a real target (they are findings), so no request may
        // reuse a connection; on loopback a new connection costs far less than the platform's
        // answer (the embedded platform keeps its connections: it never closes one).
        let client = client.with_header("connection", "close");
        let capabilities =
            Capabilities::probe(&client)
                .await
                .map_err(|e| RunError::Unreachable {
                    url: url.to_string(),
                    message: e.to_string(),
                })?;
        Ok(Target {
            client,
            admin_key,
            embedded: None,
            bugs: Vec::new(),
            tag,
            faults: false,
            keep_going: false,
            db_control: DbControl::None,
            capabilities,
            determinism: Default::default(),
        })
    }
}

/// 32 bytes of ChaCha seed from a u64 (splitmix64), so seed N always means the same stream.
fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut x = seed;
    for chunk in out.chunks_mut(8) {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out
}

pub type SeqTree = Box<dyn ValueTree<Value = (State, Vec<Transition>, Option<Arc<AtomicUsize>>)>>;

/// The value tree of seed `seed`: its current value is the sequence; simplify/complicate shrink it.
pub fn tree(seed: u64, steps: usize) -> SeqTree {
    tree_with(seed, steps, false)
}

/// The value tree of seed `seed`, with or without fault steps.
pub fn tree_with(seed: u64, steps: usize, faults: bool) -> SeqTree {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed)),
    );
    if faults {
        let strategy = FaultModel::sequential_strategy(steps..=steps);
        Box::new(
            strategy
                .new_tree(&mut runner)
                .expect("the model always generates"),
        )
    } else {
        let strategy = Model::sequential_strategy(steps..=steps);
        Box::new(
            strategy
                .new_tree(&mut runner)
                .expect("the model always generates"),
        )
    }
}

pub fn transitions(seed: u64, steps: usize) -> Vec<Transition> {
    tree(seed, steps).current().1
}

pub fn transitions_with(seed: u64, steps: usize, faults: bool) -> Vec<Transition> {
    tree_with(seed, steps, faults).current().1
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TraceStep {
    pub index: usize,
    pub transition: Transition,
    pub expected: Expect,
    pub actual: Expect,
    pub exchanges: Vec<TraceExchange>,
    /// For a fault step: which requests raced or were retried, and what each got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultRecord>,
}

/// How often a fault kind was generated and how often it actually fired.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FaultCount {
    pub generated: u64,
    pub fired: u64,
}

/// What one execution of a sequence gave.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Execution {
    pub steps_run: usize,
    pub effective_steps: u64,
    pub rules: BTreeMap<Rule, RuleCount>,
    pub invariants: BTreeMap<Invariant, u64>,
    /// Per fault kind (empty without `--faults`).
    #[serde(default)]
    pub faults: BTreeMap<FaultKind, FaultCount>,
    pub violation: Option<Violation>,
    /// Every violation class the seed hit, in order, with its first violation (only the first
    /// one without `keep_going`).
    #[serde(default)]
    pub violations: Vec<(ClassKey, Violation)>,
    /// The target gave no answer at this step: (step, what failed). The seed stopped there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure: Option<(usize, String)>,
    pub trace: Vec<TraceStep>,
    /// With bodies: the end-of-seed read-backs (after the last step's exchanges).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub end_exchanges: Vec<crate::driver::TraceExchange>,
    /// `--check-determinism`: what comparing this seed's two runs found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub determinism: Option<crate::determinism::SeedCheck>,
}

/// What one step gave: the model state after it (the one the platform chose among legal outcomes,
/// for a race), its trace record (exchanges filled in by the caller) and the violation it found.
struct StepResult {
    after: State,
    record: TraceStep,
    violation: Option<Failure>,
    /// Whether the model-agreement check ran (a step whose request failed outright has none).
    agreement_checked: bool,
    /// A probe whose refused operation the target accepted: `after` is what the accepted
    /// operation left (an accepted revise is a revision), for keep-going to follow.
    adopted: bool,
}

/// Runs `ts` from an empty model against `target`, stopping at the first violation (`--fail-fast`).
/// `seen` counts executed steps (for shrinking).
pub async fn execute(
    target: &Target,
    prefix: String,
    ts: &[Transition],
    seen: Option<&AtomicUsize>,
    bodies: bool,
) -> Execution {
    execute_with(target, prefix, ts, seen, bodies, false).await
}

/// Runs `ts` from an empty model against `target`. With `keep_going`, a violation is recorded
/// (once per class in the seed) and the seed runs on: where the platform refused what the model
/// predicted to succeed (or answered 5xx), the model adopts "nothing happened"; where it accepted
/// what the model predicted it to refuse, the model ignores what was created; a read-back that
/// disagreed leaves the model on the rules' state, so later steps are still judged by the rules.
pub async fn execute_with(
    target: &Target,
    prefix: String,
    ts: &[Transition],
    seen: Option<&AtomicUsize>,
    bodies: bool,
    keep_going: bool,
) -> Execution {
    let mut d = Driver::new(&target.client, target.admin_key.as_deref(), prefix, bodies);
    d.db_control = target.db_control.clone();
    d.capabilities = target.capabilities.clone();
    let mut st = State {
        aspects_need_explicit_approval: !target.capabilities.has(Capability::AspectReviewApproval),
        test_mode_off: !target.capabilities.has(Capability::TestMode),
        ..State::default()
    };
    let mut ex = Execution::default();
    for r in Rule::all() {
        ex.rules.insert(*r, RuleCount::default());
    }
    if target.faults {
        for k in FaultKind::all() {
            ex.faults.insert(*k, FaultCount::default());
        }
    }
    let mut agreement_checks = 0u64;
    let mut untracked = false;
    for (i, t) in ts.iter().enumerate() {
        if !model::valid(&st, t) {
            continue; // a shrunk candidate may refer to things that no longer exist
        }
        if let Some(s) = seen {
            s.fetch_add(1, Ordering::Relaxed);
        }
        let before_len = d.recorder.exchanges.lock().map(|v| v.len()).unwrap_or(0);
        let mut r = match t {
            Transition::Fault { fault } => fault_step(&mut d, &mut ex, i, &st, t, fault).await,
            _ => rule_step(&mut d, &mut ex, i, &st, t).await,
        };
        r.record.exchanges = d
            .recorder
            .exchanges
            .lock()
            .map(|v| v[before_len..].to_vec())
            .unwrap_or_default();
        agreement_checks += u64::from(r.agreement_checked);
        ex.steps_run += 1;
        let answered_as_predicted = r.record.expected == r.record.actual;
        ex.trace.push(r.record);
        let more = std::mem::take(&mut d.more_violations);
        if let Some(f) = r.violation {
            record(&mut ex, f, &operation(t));
            for f in more {
                record(&mut ex, f, &operation(t));
            }
            if !keep_going || ex.infrastructure.is_some() {
                break;
            }
            if answered_as_predicted || r.adopted || matches!(t, Transition::Fault { .. }) {
                // a fault step can stop before the driver learnt the ids of what the model says
                // it created (a retry whose first attempt was refused): the model follows the
                // driver's ids, so a later step never names an index the driver has no id for
                if tracks(&d, &r.after) {
                    st = r.after;
                } else if !tracks(&d, &st) {
                    // neither state matches the ids the driver holds: nothing sound to judge by
                    untracked = true;
                    break;
                }
            }
            continue;
        }
        st = r.after;
    }
    if (keep_going || ex.violation.is_none())
        && ex.infrastructure.is_none()
        && !untracked
        && let Err(f) = d.check_all(&st).await
    {
        record(&mut ex, f, "end-of-seed");
    }
    let all = d
        .recorder
        .exchanges
        .lock()
        .map(|v| v.len())
        .unwrap_or_default();
    if bodies {
        let in_steps: usize = ex.trace.iter().map(|s| s.exchanges.len()).sum();
        ex.end_exchanges = d
            .recorder
            .exchanges
            .lock()
            .map(|v| v[in_steps.min(v.len())..].to_vec())
            .unwrap_or_default();
    }
    ex.effective_steps = d.effective_steps;
    for inv in Invariant::all() {
        if target.faults || !inv.needs_faults() {
            ex.invariants.insert(*inv, d.checks[inv.index()]);
        }
    }
    ex.invariants
        .insert(Invariant::ModelAgreement, agreement_checks);
    ex.invariants.insert(Invariant::No5xx, all as u64);
    if !bodies {
        ex.trace.clear();
    }
    ex
}

/// The driver holds a server id for every thing (and review item) the model state `st` counts.
fn tracks(d: &Driver, st: &State) -> bool {
    d.agents.len() == st.agents
        && d.proposals.len() == st.proposals.len()
        && d.items.len() == st.proposals.len()
        && d.items
            .iter()
            .zip(&st.proposals)
            .all(|(ids, p)| ids.len() == p.items.len())
        && d.worlds.len() == st.worlds.len()
        && d.dwellers.len() == st.dwellers.len()
        && d.feedback.len() == st.feedback.len()
        && d.world.aspects.len() == st.aspects.len()
        && d.world.stories.len() == st.stories.len()
        && d.world.events.len() == st.events.len()
        && d.world.actions.len() == st.actions.len()
        && d.dp.ids.len() == st.dweller_proposals.list.len()
        && d.dp
            .items
            .iter()
            .zip(&st.dweller_proposals.list)
            .all(|(ids, p)| ids.len() == p.items.len())
}

/// Files a failure: a violation (the first of its class in the seed), or the target's silence
/// (never a violation).
fn record(ex: &mut Execution, f: Failure, operation: &str) {
    match f {
        Failure::Violation(v) => {
            let class = ClassKey::of(&v, operation);
            // a later read-back of the same broken state is the same finding, whichever step
            // read it: the class keeps the operation that first showed it
            if !ex
                .violations
                .iter()
                .any(|(c, _)| c.invariant == class.invariant && c.shape == class.shape)
            {
                ex.violations.push((class, v.clone()));
            }
            ex.violation.get_or_insert(v);
        }
        Failure::Infrastructure { step, message } => ex.infrastructure = Some((step, message)),
    }
}

/// The operation a step exercised, for violation classes: its rule, or its fault kind.
fn operation(t: &Transition) -> String {
    match t {
        Transition::Fault { fault } => fault.kind().to_string(),
        _ => t.rule().to_string(),
    }
}

/// One fault step: the fault driver checks its own outcome.
async fn fault_step(
    d: &mut Driver,
    ex: &mut Execution,
    i: usize,
    st: &State,
    t: &Transition,
    fault: &Fault,
) -> StepResult {
    let mut after = model::step(st.clone(), t);
    let result = d.apply_fault(i, st, &after, fault).await;
    let fc = ex.faults.entry(fault.kind()).or_default();
    fc.generated += 1;
    if d.last_fault.as_ref().is_some_and(|r| r.fired) {
        fc.fired += 1;
    }
    let violation = match result {
        Ok((_, actual)) => {
            if let Some(a) = actual {
                after = a;
            }
            None
        }
        Err(v) => {
            // keep-going: what the driver saw the target actually do (extra entities a key let
            // through, the regions a lost update left), so later steps are judged against it
            if let Some(a) = d.actual_after.take() {
                after = a;
            }
            Some(v)
        }
    };
    StepResult {
        after,
        record: TraceStep {
            index: i,
            transition: t.clone(),
            expected: Expect::Ok,
            actual: if violation.is_some() {
                Expect::Reject(0)
            } else {
                Expect::Ok
            },
            exchanges: Vec::new(),
            fault: d.last_fault.take(),
        },
        violation,
        agreement_checked: true,
        adopted: false,
    }
}

/// One ordinary step: the response against the model's prediction, then the read-backs.
async fn rule_step(
    d: &mut Driver,
    ex: &mut Execution,
    i: usize,
    st: &State,
    t: &Transition,
) -> StepResult {
    let sent = d.effective_steps;
    let result = d.apply(i, st, t).await;
    // a step the driver could not send (the admin rule without an admin key) changed nothing
    let after = if result.is_ok() && d.effective_steps == sent {
        st.clone()
    } else {
        model::step(st.clone(), t)
    };
    let rc = ex.rules.entry(t.rule()).or_default();
    rc.fired += 1;
    let (expected, actual, violation, agreement_checked) = match result {
        Ok((expected, actual)) => {
            if expected == actual {
                if actual == Expect::Ok {
                    rc.succeeded += 1
                } else {
                    rc.rejected_as_predicted += 1
                }
            }
            // Read back first: a broken invariant names the failure better than the mismatch.
            let violation = match d.check_step(&after, t).await {
                Err(v) => Some(v),
                Ok(()) if expected != actual => Some(Failure::Violation(Violation {
                    invariant: Invariant::ModelAgreement,
                    step: i,
                    message: format!(
                        "{t:?}: the model predicted {expected:?}, the platform answered {actual:?}"
                    ),
                })),
                Ok(()) => None,
            };
            (expected, actual, violation, true)
        }
        Err(v) => (Expect::Ok, Expect::Reject(500), Some(v), false),
    };
    let adopted = d.actual_after.take();
    StepResult {
        adopted: adopted.is_some(),
        after: adopted.unwrap_or(after),
        record: TraceStep {
            index: i,
            transition: t.clone(),
            expected,
            actual,
            exchanges: Vec::new(),
            fault: None,
        },
        violation,
        agreement_checked,
    }
}

/// A failing seed after shrinking: everything `replay` needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trace {
    pub seed: u64,
    pub steps_generated: usize,
    pub bugs: Vec<String>,
    /// The run had the fault layer on (replay switches the embedded fault control on too).
    #[serde(default)]
    pub faults: bool,
    pub target: Option<String>,
    pub violation: Violation,
    /// The shrunk sequence itself (not only the seed: a model change would remap the seed).
    pub transitions: Vec<Transition>,
    pub steps: Vec<TraceStep>,
    pub shrink_iterations: usize,
    pub reproduce: String,
    /// Who decided the order of racing requests (`seeded` on the embedded platform with faults,
    /// `target` otherwise); absent in traces written before seeded interleaving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interleaving: Option<crate::driver::Interleaving>,
}

fn prefix(target: &Target, seed: u64, attempt: usize) -> String {
    if target.tag.is_empty() {
        format!("dst-s{seed}-t{attempt}")
    } else {
        format!("dst-{}-s{seed}-t{attempt}", target.tag)
    }
}

/// Shrinks a failing seed to a short sequence that still breaks the same invariant first.
pub async fn shrink(
    target: &Target,
    seed: u64,
    steps: usize,
    first: &Execution,
    max_iters: usize,
) -> (Vec<Transition>, Execution, usize) {
    let inv = first.violation.as_ref().map(|v| v.invariant);
    shrink_where(target, seed, steps, first, (max_iters, 0), false, |ex| {
        ex.violation.as_ref().map(|v| v.invariant) == inv
    })
    .await
}

/// Shrinks a seed to a short sequence that, run to the end, still hits violation class `class`,
/// the seed's `nth` class (its shrink runs get names and keys of their own, below).
pub async fn shrink_class(
    target: &Target,
    seed: u64,
    steps: usize,
    first: &Execution,
    max_iters: usize,
    (nth, class): (usize, &ClassKey),
) -> (Vec<Transition>, Execution, usize) {
    // every run of every class's shrink gets its own attempt number: against a remote target
    // the seed's earlier runs are still there, and a reused prefix meant reused names and
    // idempotency keys, so a shrink run got answers replayed from another class's shrink
    let first_attempt = nth * (max_iters + 3);
    shrink_where(
        target,
        seed,
        steps,
        first,
        (max_iters, first_attempt),
        true,
        |ex| ex.violations.iter().any(|(c, _)| c == class),
    )
    .await
}

/// Shrinks through the seed's proptest value tree, keeping a candidate while `holds` does.
async fn shrink_where(
    target: &Target,
    seed: u64,
    steps: usize,
    first: &Execution,
    (max_iters, first_attempt): (usize, usize),
    keep_going: bool,
    holds: impl Fn(&Execution) -> bool,
) -> (Vec<Transition>, Execution, usize) {
    let mut t = tree_with(seed, steps, target.faults);
    // replay once through the tree so its "seen" counter drops the unexecuted tail
    let (_, ts0, seen0) = t.current();
    let run = |ts: Vec<Transition>, attempt: usize, seen: Option<Arc<AtomicUsize>>, bodies| async move {
        let ex = execute_with(
            target,
            prefix(target, seed, attempt),
            &ts,
            seen.as_deref(),
            bodies,
            keep_going,
        )
        .await;
        (ts, ex)
    };
    if max_iters == 0 {
        // no shrinking asked for: one recorded run instead of a check run and a recorded run
        // (against a remote target every run is a full seed's worth of requests)
        let (ts, ex) = run(ts0.clone(), first_attempt + 1, seen0, true).await;
        return if holds(&ex) {
            (ts, ex, 0)
        } else {
            (ts0, first.clone(), 0)
        };
    }
    let mut best = run(ts0.clone(), first_attempt + 1, seen0, false).await;
    if !holds(&best.1) {
        // not reproducible (a race that did not recur): keep the original run
        return (ts0, first.clone(), 0);
    }
    let mut iters = 0;
    let mut more = t.simplify();
    while more && iters < max_iters {
        iters += 1;
        let (_, ts, _) = t.current();
        let candidate = run(ts, first_attempt + iters + 1, None, false).await;
        if holds(&candidate.1) {
            best = candidate;
            more = t.simplify();
        } else {
            more = t.complicate();
        }
    }
    // the final, recorded run with bodies
    let (ts, ex) = run(best.0, first_attempt + iters + 2, None, true).await;
    (ts, ex, iters)
}
