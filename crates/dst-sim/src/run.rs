//! Seeds, execution against a target, shrinking, traces and coverage accounting.

use crate::driver::{Driver, RuleCount, TraceExchange};
use crate::fault_driver::{DbControl, FaultRecord};
use crate::invariants::{Invariant, Violation};
use crate::model::{self, Expect, FaultModel, Model, Rule, State, Transition};
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
    /// How database faults are injected (embedded fault control, a `dst-sim proxy`, or not at all).
    pub db_control: DbControl,
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
        let p = reference_platform::start(reference_platform::PlatformOptions {
            bugs: bugs.to_vec(),
            fault_control: faults,
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
            db_control,
        })
    }

    pub async fn remote(
        url: &str,
        admin_key: Option<String>,
        tag: String,
    ) -> Result<Target, RunError> {
        let client = Client::new(ClientConfig {
            base_url: url.to_string(),
            api_key: None,
            timeout: Duration::from_secs(30),
        })
        .map_err(|e| RunError::Usage(e.to_string()))?;
        client.health().await.map_err(|e| RunError::Unreachable {
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
            db_control: DbControl::None,
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
    pub rules: BTreeMap<String, RuleCount>,
    pub invariants: BTreeMap<String, u64>,
    /// Per fault kind (empty without `--faults`).
    #[serde(default)]
    pub faults: BTreeMap<String, FaultCount>,
    pub violation: Option<Violation>,
    pub trace: Vec<TraceStep>,
}

/// Runs `ts` from an empty model against `target`. `seen` counts executed steps (for shrinking).
pub async fn execute(
    target: &Target,
    prefix: String,
    ts: &[Transition],
    seen: Option<&AtomicUsize>,
    bodies: bool,
) -> Execution {
    let mut d = Driver::new(&target.client, target.admin_key.as_deref(), prefix, bodies);
    d.db_control = target.db_control.clone();
    let mut st = State::default();
    let mut ex = Execution::default();
    for r in Rule::ALL {
        ex.rules.insert(r.name().into(), RuleCount::default());
    }
    if target.faults {
        for k in crate::faults::KINDS {
            ex.faults.insert(k.into(), FaultCount::default());
        }
    }
    let mut agreement_checks = 0u64;
    for (i, t) in ts.iter().enumerate() {
        if !model::valid(&st, t) {
            continue; // a shrunk candidate may refer to things that no longer exist
        }
        if let Some(s) = seen {
            s.fetch_add(1, Ordering::Relaxed);
        }
        let before_len = d.recorder.exchanges.lock().map(|v| v.len()).unwrap_or(0);
        if let Transition::Fault { fault } = t {
            let mut after = model::step(st.clone(), t);
            let result = d.apply_fault(i, &st, &after, fault).await;
            let fc = ex.faults.entry(fault.kind().into()).or_default();
            fc.generated += 1;
            if matches!(result, Ok((true, _))) {
                fc.fired += 1;
            }
            let result = result.map(|(fired, actual)| {
                if let Some(a) = actual {
                    after = a;
                }
                fired
            });
            agreement_checks += 1;
            let exchanges = d
                .recorder
                .exchanges
                .lock()
                .map(|v| v[before_len..].to_vec())
                .unwrap_or_default();
            ex.steps_run += 1;
            let failed = result.as_ref().err().cloned();
            ex.trace.push(TraceStep {
                index: i,
                transition: t.clone(),
                expected: Expect::Ok,
                actual: if failed.is_some() {
                    Expect::Reject(0)
                } else {
                    Expect::Ok
                },
                exchanges,
                fault: d.last_fault.take(),
            });
            if let Some(v) = failed {
                ex.violation = Some(v);
                break;
            }
            st = after;
            continue;
        }
        let result = d.apply(i, &st, t).await;
        let after = model::step(st.clone(), t);
        let rc = ex.rules.entry(t.rule().name().into()).or_default();
        rc.fired += 1;
        let outcome = match result {
            Ok((expected, actual)) => {
                if expected == actual {
                    if actual == Expect::Ok {
                        rc.succeeded += 1
                    } else {
                        rc.rejected_as_predicted += 1
                    }
                }
                agreement_checks += 1;
                // Read back first: a broken invariant names the failure better than the mismatch.
                match d.check_step(&after, t).await {
                    Err(v) => Err((v, expected, actual)),
                    Ok(()) if expected != actual => Err((
                        Violation {
                            invariant: Invariant::ModelAgreement,
                            step: i,
                            message: format!(
                                "{t:?}: the model predicted {expected:?}, the platform answered {actual:?}"
                            ),
                        },
                        expected,
                        actual,
                    )),
                    Ok(()) => Ok((expected, actual)),
                }
            }
            Err(v) => Err((v, Expect::Ok, Expect::Reject(500))),
        };
        let exchanges = d
            .recorder
            .exchanges
            .lock()
            .map(|v| v[before_len..].to_vec())
            .unwrap_or_default();
        ex.steps_run += 1;
        match outcome {
            Ok((expected, actual)) => {
                ex.trace.push(TraceStep {
                    index: i,
                    transition: t.clone(),
                    expected,
                    actual,
                    exchanges,
                    fault: None,
                });
                st = after;
            }
            Err((v, expected, actual)) => {
                ex.trace.push(TraceStep {
                    index: i,
                    transition: t.clone(),
                    expected,
                    actual,
                    exchanges,
                    fault: None,
                });
                ex.violation = Some(v);
                break;
            }
        }
    }
    if ex.violation.is_none()
        && let Err(v) = d.check_all(&st).await
    {
        ex.violation = Some(v);
    }
    let all = d
        .recorder
        .exchanges
        .lock()
        .map(|v| v.clone())
        .unwrap_or_default();
    ex.effective_steps = d.effective_steps;
    for inv in Invariant::ALL {
        ex.invariants
            .insert(inv.name().into(), d.checks[inv.index()]);
    }
    ex.invariants
        .insert(Invariant::ModelAgreement.name().into(), agreement_checks);
    ex.invariants
        .insert(Invariant::No5xx.name().into(), all.len() as u64);
    if !bodies {
        ex.trace.clear();
    }
    ex
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
}

fn prefix(target: &Target, seed: u64, attempt: usize) -> String {
    if target.tag.is_empty() {
        format!("dst-s{seed}-t{attempt}")
    } else {
        format!("dst-{}-s{seed}-t{attempt}", target.tag)
    }
}

/// Shrinks a failing seed to a short sequence that still breaks the same invariant.
pub async fn shrink(
    target: &Target,
    seed: u64,
    steps: usize,
    first: &Execution,
    max_iters: usize,
) -> (Vec<Transition>, Execution, usize) {
    let inv = first.violation.as_ref().map(|v| v.invariant);
    let mut t = tree_with(seed, steps, target.faults);
    // replay once through the tree so its "seen" counter drops the unexecuted tail
    let (_, ts0, seen0) = t.current();
    let mut best = (
        ts0.clone(),
        execute(
            target,
            prefix(target, seed, 1),
            &ts0,
            seen0.as_deref(),
            false,
        )
        .await,
    );
    if best.1.violation.as_ref().map(|v| v.invariant) != inv {
        // not reproducible (a race that did not recur): keep the original run
        return (ts0, first.clone(), 0);
    }
    let mut iters = 0;
    let mut more = t.simplify();
    while more && iters < max_iters {
        iters += 1;
        let (_, ts, _) = t.current();
        let ex = execute(target, prefix(target, seed, iters + 1), &ts, None, false).await;
        if ex.violation.as_ref().map(|v| v.invariant) == inv {
            best = (ts, ex);
            more = t.simplify();
        } else {
            more = t.complicate();
        }
    }
    // the final, recorded run with bodies
    let ts = best.0;
    let ex = execute(target, prefix(target, seed, iters + 2), &ts, None, true).await;
    (ts, ex, iters)
}
