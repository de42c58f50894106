//! Running seeds: over shards of the embedded platform (a thread, runtime and platform per core)
//! or concurrently against a remote target; the `run` command's summary; shrinking a failing
//! seed and writing its trace. Everything here takes a built [`Target`], never command-line
//! arguments.

use crate::report::{FailedSeed, Summary};
use crate::run::{self, ClassKey, Execution, RunError, Target, Trace};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// How `dst-sim run` runs its seeds (validated by the command line).
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub steps: usize,
    /// Seeds in flight at once.
    pub jobs: usize,
    /// Where failing traces are written.
    pub out: PathBuf,
    pub shrink_iters: usize,
    /// Effective-step ratio floor for the coverage warnings.
    pub floor: f64,
    /// The remote target's URL, for reproduce commands (`None`: the embedded platform).
    pub url: Option<String>,
}

/// Which seeds of a range shard `k` of `n` runs (1-based): every n-th seed, so shards get
/// similar work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    /// Parses `K/N` with 1 <= K <= N (a clap value parser).
    pub fn parse(spec: &str) -> Result<Shard, String> {
        let (k, n) = spec
            .split_once('/')
            .ok_or_else(|| format!("{spec:?}: expected K/N"))?;
        let k: usize = k.parse().map_err(|_| format!("{spec:?}: bad K"))?;
        let n: usize = n.parse().map_err(|_| format!("{spec:?}: bad N"))?;
        if n == 0 || k == 0 || k > n {
            return Err(format!("{spec:?}: need 1 <= K <= N"));
        }
        Ok(Shard { k, n })
    }

    /// This shard's seeds of `seeds`.
    pub fn select(&self, seeds: Vec<u64>) -> Vec<u64> {
        seeds
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % self.n == self.k - 1)
            .map(|(_, s)| s)
            .collect()
    }
}

/// Parses a seed range `A..B` (B exclusive, not empty): a clap value parser.
pub fn parse_seeds(s: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("{s:?}: expected A..B"))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: {a:?} is not a number"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: {b:?} is not a number"))?;
    if b <= a {
        return Err(format!("{s:?}: the range is empty"));
    }
    Ok(a..b)
}

/// `dst-sim run` on a built target: runs `seeds`, shrinks and writes a trace per failing seed,
/// and returns the summary (with coverage warnings).
pub async fn run(
    target: Arc<Target>,
    seeds: &[u64],
    opts: &RunOptions,
    progress: bool,
) -> Result<Summary, RunError> {
    let start = Instant::now();
    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new(seeds.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let results = run_seeds(&target, seeds, opts.steps, opts.jobs, bar.as_ref()).await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut summary = Summary {
        capabilities: Some(target.capabilities.clone()),
        ..Summary::default()
    };
    summary.interleaving = target
        .faults
        .then(|| crate::driver::Interleaving::of(&target));
    for (seed, ex) in &results {
        summary.add(*seed, ex);
    }
    if target.keep_going {
        write_class_traces(&target, &results, opts, &mut summary).await?;
    } else {
        write_seed_traces(&target, &results, opts, &mut summary).await?;
    }
    summary.elapsed_seconds = start.elapsed().as_secs_f64();
    summary.compute_warnings(opts.floor);
    shutdown(target).await;
    Ok(summary)
}

/// `--fail-fast`: a shrunk trace per failing seed (its first violation), as one class each.
async fn write_seed_traces(
    target: &Target,
    results: &[(u64, Execution)],
    opts: &RunOptions,
    summary: &mut Summary,
) -> Result<(), RunError> {
    for (seed, ex) in results.iter().filter(|(_, ex)| ex.violation.is_some()) {
        let (trace, file) = shrink_and_write(
            target,
            *seed,
            opts.steps,
            ex,
            opts.shrink_iters,
            (
                &opts.out.join(format!("seed-{seed}.json")),
                opts.url.as_deref(),
            ),
            None,
        )
        .await?;
        summary.failures.push(FailedSeed {
            seed: *seed,
            invariant: trace.violation.invariant,
            message: trace.violation.message.clone(),
            shrunk_steps: trace.steps.len(),
            trace_file: Some(file.display().to_string()),
            reproduce: trace.reproduce.clone(),
        });
        summary.add_classes(*seed, ex, Some((&trace, &file)));
    }
    Ok(())
}

/// The default: every violation class once, with how many seeds hit it and one shrunk trace,
/// from the first seed that hit it; each failing seed is listed with its first violation.
async fn write_class_traces(
    target: &Target,
    results: &[(u64, Execution)],
    opts: &RunOptions,
    summary: &mut Summary,
) -> Result<(), RunError> {
    for (seed, ex) in results.iter().filter(|(_, ex)| ex.violation.is_some()) {
        for (k, (class, v)) in ex.violations.iter().enumerate() {
            if summary.classes.iter().any(|c| c.key == class.key()) {
                summary.add_classes(*seed, &class_only(class, v), None);
                continue;
            }
            let name = if k == 0 {
                format!("seed-{seed}.json")
            } else {
                format!("seed-{seed}-class-{k}.json")
            };
            let (trace, file) = shrink_and_write(
                target,
                *seed,
                opts.steps,
                ex,
                opts.shrink_iters,
                (&opts.out.join(name), opts.url.as_deref()),
                Some((k, class)),
            )
            .await?;
            summary.add_classes(*seed, &class_only(class, v), Some((&trace, &file)));
        }
        let (first_class, v) = &ex.violations[0];
        let class = summary.classes.iter().find(|c| c.key == first_class.key());
        summary.failures.push(FailedSeed {
            seed: *seed,
            invariant: v.invariant,
            message: v.message.clone(),
            shrunk_steps: class.and_then(|c| c.shrunk_steps).unwrap_or(0),
            trace_file: class
                .filter(|c| c.first_seed == *seed)
                .and_then(|c| c.trace_file.clone()),
            reproduce: class.and_then(|c| c.reproduce.clone()).unwrap_or_default(),
        });
    }
    Ok(())
}

/// An execution that holds only one class (to count a seed for it).
fn class_only(class: &ClassKey, v: &crate::invariants::Violation) -> Execution {
    Execution {
        violations: vec![(class.clone(), v.clone())],
        ..Execution::default()
    }
}

/// Stops the embedded platform, if this was its last holder.
pub(super) async fn shutdown(target: Arc<Target>) {
    if let Ok(t) = Arc::try_unwrap(target)
        && let Some(p) = t.embedded
    {
        p.shutdown().await;
    }
}

/// Runs `seeds` against `target`, `jobs` at a time; results in seed order.
///
/// Against the embedded platform the seeds run in shards: one OS thread per core (at most `jobs`),
/// each with a single-threaded runtime and its own embedded platform (fresh in-memory database,
/// same bugs and fault control), taking the next seed from a shared counter. A request and its
/// response then never hop between threads, which made a step cost about 30 % less CPU than on one
/// shared multi-threaded runtime (docs/PERFORMANCE.md). Seeds are isolated by name prefix either
/// way, and a seed's request sequence depends on the seed alone, so results are the same.
pub async fn run_seeds(
    target: &Arc<Target>,
    seeds: &[u64],
    steps: usize,
    jobs: usize,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<Vec<(u64, Execution)>, RunError> {
    let results = if target.embedded.is_some() {
        run_seeds_sharded(target, seeds, steps, jobs, bar).await?
    } else {
        run_seeds_concurrently(target, seeds, steps, jobs, bar).await?
    };
    // a target that stopped answering ends the run (exit 2): never a violation, never a trace
    if let Some((seed, (step, message))) = results
        .iter()
        .find_map(|(s, ex)| ex.infrastructure.clone().map(|i| (*s, i)))
    {
        return Err(RunError::Infrastructure {
            seed,
            step,
            message,
        });
    }
    Ok(results)
}

/// A remote target's seeds, `jobs` at a time on the caller's runtime.
async fn run_seeds_concurrently(
    target: &Arc<Target>,
    seeds: &[u64],
    steps: usize,
    jobs: usize,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<Vec<(u64, Execution)>, RunError> {
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for &seed in seeds {
        let (target, sem) = (target.clone(), sem.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (seed, run_one_seed(&target, seed, steps).await)
        });
    }
    let mut results: Vec<(u64, Execution)> = Vec::new();
    while let Some(r) = set.join_next().await {
        let r = r.map_err(|e| RunError::Io(format!("a seed task failed: {e}")))?;
        tick(bar, &r.1);
        let silent = r.1.infrastructure.is_some();
        results.push(r);
        if silent {
            // the target stopped answering: the other seeds would only wait for it
            set.abort_all();
            break;
        }
    }
    results.sort_by_key(|(s, _)| *s);
    Ok(results)
}

async fn run_one_seed(target: &Target, seed: u64, steps: usize) -> Execution {
    if target.determinism != crate::determinism::CheckMode::Off {
        return crate::determinism::check_seed(target, seed, steps).await;
    }
    let ts = run::transitions_with(seed, steps, target.faults);
    run::execute_with(
        target,
        format!("dst-{}s{seed}-t0", target.tag),
        &ts,
        None,
        false,
        target.keep_going,
    )
    .await
}

fn tick(bar: Option<&indicatif::ProgressBar>, ex: &Execution) {
    if let Some(b) = bar {
        b.inc(1);
        if ex.violation.is_some() {
            b.set_message("(failures)");
        }
    }
}

/// The embedded target's seeds over `min(jobs, cores)` shards (see [`run_seeds`]); a shard runs
/// `jobs / shards` (rounded up) seeds at a time, so `--jobs` stays the number of seeds in flight.
async fn run_seeds_sharded(
    target: &Arc<Target>,
    seeds: &[u64],
    steps: usize,
    jobs: usize,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<Vec<(u64, Execution)>, RunError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let shards = jobs.clamp(1, cores.max(1)).min(seeds.len().max(1));
    let per_shard = jobs.max(1).div_ceil(shards);
    let seeds: Arc<[u64]> = seeds.into();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<(u64, Execution), RunError>>();
    let mut threads = Vec::new();
    for k in 0..shards {
        let (seeds, next, tx) = (seeds.clone(), next.clone(), tx.clone());
        let (bugs, faults, keep_going, determinism) = (
            target.bugs.clone(),
            target.faults,
            target.keep_going,
            target.determinism,
        );
        let spawned = std::thread::Builder::new()
            .name(format!("dst-shard-{k}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(RunError::Embedded(format!(
                            "cannot start a shard runtime: {e}"
                        ))));
                        return;
                    }
                };
                rt.block_on(async move {
                    let shard = match Target::embedded_with(&bugs, faults).await {
                        Ok(t) => Arc::new(Target {
                            keep_going,
                            determinism,
                            ..t
                        }),
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..per_shard {
                        let (shard, seeds, next, tx) =
                            (shard.clone(), seeds.clone(), next.clone(), tx.clone());
                        set.spawn(async move {
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some(&seed) = seeds.get(i) else { break };
                                let ex = run_one_seed(&shard, seed, steps).await;
                                if tx.send(Ok((seed, ex))).is_err() {
                                    break; // the collector gave up
                                }
                            }
                        });
                    }
                    while let Some(r) = set.join_next().await {
                        if let Err(e) = r {
                            let _ = tx.send(Err(RunError::Io(format!("a seed task failed: {e}"))));
                        }
                    }
                    if let Ok(t) = Arc::try_unwrap(shard)
                        && let Some(p) = t.embedded
                    {
                        p.shutdown().await;
                    }
                });
            });
        match spawned {
            Ok(h) => threads.push(h),
            Err(e) => return Err(RunError::Io(format!("cannot start a shard thread: {e}"))),
        }
    }
    drop(tx);
    let mut results: Vec<(u64, Execution)> = Vec::with_capacity(seeds.len());
    let mut failure = None;
    while let Some(r) = rx.recv().await {
        match r {
            Ok(r) => {
                tick(bar, &r.1);
                results.push(r);
            }
            Err(e) => {
                // stop handing out seeds; the shards finish the ones they hold
                next.store(usize::MAX / 2, std::sync::atomic::Ordering::Relaxed);
                failure.get_or_insert(e);
            }
        }
    }
    for h in threads {
        if h.join().is_err() {
            failure.get_or_insert(RunError::Io("a shard thread panicked".into()));
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    results.sort_by_key(|(s, _)| *s);
    Ok(results)
}

/// Shrinks failing seed `seed` and writes its trace to `file` (creating the directory); `url` is
/// the remote target the reproduce command names, if any. Returns the trace and its path.
pub(super) async fn shrink_and_write(
    target: &Target,
    seed: u64,
    steps: usize,
    ex: &Execution,
    shrink_iters: usize,
    (file, url): (&Path, Option<&str>),
    class: Option<(usize, &ClassKey)>,
) -> Result<(Trace, PathBuf), RunError> {
    let (ts, shrunk, iters) = match class {
        Some(c) => run::shrink_class(target, seed, steps, ex, shrink_iters, c).await,
        None => run::shrink(target, seed, steps, ex, shrink_iters).await,
    };
    let of_class = |e: &Execution| {
        class.and_then(|(_, c)| {
            e.violations
                .iter()
                .find(|(k, _)| k == c)
                .map(|(_, v)| v.clone())
        })
    };
    // the shrunk run's steps after the trace's violation never ran in a fail-fast recording (and
    // are not needed to reproduce a class): the trace ends at that step, so a replay, which runs
    // the whole list, runs what was recorded. Only a violation of the shrunk run itself gives the
    // step: one taken from the unshrunk run counts the steps of another list.
    let cut = of_class(&shrunk)
        .or_else(|| class.is_none().then(|| shrunk.violation.clone()).flatten())
        .map(|v| v.step + 1);
    let violation = of_class(&shrunk)
        .or_else(|| of_class(ex))
        .or_else(|| shrunk.violation.clone())
        .or_else(|| ex.violation.clone())
        .expect("failing seed");
    let mut ts = ts;
    if let Some(n) = cut {
        ts.truncate(n);
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| RunError::Io(format!("cannot create {}: {e}", dir.display())))?;
    }
    let reproduce = match url {
        Some(url) => format!("dst-sim replay {} --target {url}", file.display()),
        None => format!("dst-sim replay {}", file.display()),
    };
    let trace = Trace {
        seed,
        steps_generated: steps,
        bugs: target.bugs.iter().map(|b| b.name().to_string()).collect(),
        faults: target.faults,
        target: url.map(str::to_string),
        violation,
        transitions: ts,
        steps: shrunk.trace,
        shrink_iterations: iters,
        reproduce,
        interleaving: Some(crate::driver::Interleaving::of(target)),
    };
    let text = serde_json::to_string_pretty(&trace).map_err(|e| RunError::Io(e.to_string()))?;
    std::fs::write(file, text)
        .map_err(|e| RunError::Io(format!("cannot write {}: {e}", file.display())))?;
    Ok((trace, file.to_path_buf()))
}
