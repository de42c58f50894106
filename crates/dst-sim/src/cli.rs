//! The command line: `run`, `replay`, `merge`.

use crate::report::{FailedSeed, Summary};
use crate::run::{self, Execution, RunError, Target, Trace};
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub const EXIT_PASS: u8 = 0;
pub const EXIT_VIOLATION: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "dst-sim",
    version,
    about = "Deterministic simulation testing of the Deep Sci-Fi game rules against a live target",
    after_help = "Exit codes: 0 every seed passed; 1 an invariant was violated (or, with --strict, coverage fell short);\n\
                  2 usage or infrastructure error (bad arguments, unreadable trace, target unreachable — never a violation)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run seeds against the embedded reference platform (default) or --target.
    Run(RunArgs),
    /// Re-run a failing seed's trace; exits 1 when the same invariant breaks again.
    Replay(ReplayArgs),
    /// Combine `--json` summaries of shards into one.
    Merge(MergeArgs),
    /// Scorecard: run the embedded platform once per planted bug (and once clean) with faults on.
    Mutants(MutantsArgs),
    /// A seeded TCP fault proxy to put in front of a remote target's database (see --help).
    Proxy(ProxyArgs),
}

#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Exit codes: 0 every planted bug was caught and the clean platform had no violation;\n\
                  1 a bug went uncaught or the clean run had a violation; 2 usage or infrastructure error."
)]
pub struct MutantsArgs {
    /// Seed range A..B (B exclusive) each bug gets to be caught in.
    #[arg(long, default_value = "0..200")]
    pub seeds: String,
    /// Steps per seed.
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// Seeds run concurrently (on the embedded platform: over min(jobs, cores) worker threads,
    /// each with its own platform).
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Only these bugs (repeatable; default: all).
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// Where the shrunk trace of each caught bug is written.
    #[arg(long, default_value = "dst-out/mutants")]
    pub out: PathBuf,
    /// One JSON record per bug (and one for the clean run).
    #[arg(long)]
    pub json: bool,
    /// Shrink iterations per caught bug.
    #[arg(long, default_value_t = 100)]
    pub shrink_iters: usize,
}

#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Control (plain HTTP on --control): POST /faults with {\"mode\":\"reset\",\"count\":N} |\n\
  {\"mode\":\"stall\",\"ms\":M,\"count\":N} | {\"mode\":\"latency\",\"ms\":M} | {\"mode\":\"none\"}; GET /faults for counters.\n\
  Point `dst-sim run --faults --fault-proxy http://CONTROL` at it.\n\
Exit codes: 2 when an address cannot be bound; otherwise it runs until interrupted."
)]
pub struct ProxyArgs {
    /// Address the platform connects to instead of its database.
    #[arg(long)]
    pub listen: String,
    /// The real database address (host:port).
    #[arg(long)]
    pub upstream: String,
    /// Control endpoint address (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:7474")]
    pub control: String,
    /// Seed for the latency jitter.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// Base URL of a running platform (default: start the reference platform in-process).
    #[arg(long)]
    pub target: Option<String>,
    /// Admin key for the admin feedback-status rule (env DSF_ADMIN_KEY).
    #[arg(long, env = "DSF_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// Turn the fault layer on: races, retries, lost responses, database faults.
    #[arg(long)]
    pub faults: bool,
    /// With --target: the control URL of a `dst-sim proxy` in front of the target's database
    /// (database faults go through it; seeds then run one at a time).
    #[arg(long, requires = "faults")]
    pub fault_proxy: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Seed range A..B (B exclusive).
    #[arg(long, default_value = "0..20", conflicts_with = "seed")]
    pub seeds: String,
    /// A single seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Steps per seed.
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// Seeds run concurrently (on the embedded platform: over min(jobs, cores) worker threads,
    /// each with its own platform).
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Where failing traces are written.
    #[arg(long, default_value = "dst-out")]
    pub out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Coverage warnings become errors (exit 1).
    #[arg(long)]
    pub strict: bool,
    /// Effective-step ratio floor.
    #[arg(long, default_value_t = 0.9)]
    pub floor: f64,
    /// Planted bug to switch on in the embedded target (repeatable).
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// Also write JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Run only shard K of N (K in 1..=N) of the seed range.
    #[arg(long)]
    pub shard: Option<String>,
    /// Shrink iterations per failing seed.
    #[arg(long, default_value_t = 200)]
    pub shrink_iters: usize,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    pub files: Vec<PathBuf>,
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub strict: bool,
    #[arg(long, default_value_t = 0.9)]
    pub floor: f64,
}

pub fn parse_range(s: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("--seeds {s:?}: expected A..B"))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("--seeds {s:?}: {a:?} is not a number"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| format!("--seeds {s:?}: {b:?} is not a number"))?;
    if b <= a {
        return Err(format!("--seeds {s:?}: the range is empty"));
    }
    Ok(a..b)
}

/// Seeds of shard `k` of `n` (1-based): every n-th seed, so shards get similar work.
pub fn shard(seeds: Vec<u64>, spec: &str) -> Result<Vec<u64>, String> {
    let (k, n) = spec
        .split_once('/')
        .ok_or_else(|| format!("--shard {spec:?}: expected K/N"))?;
    let k: usize = k.parse().map_err(|_| format!("--shard {spec:?}: bad K"))?;
    let n: usize = n.parse().map_err(|_| format!("--shard {spec:?}: bad N"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("--shard {spec:?}: need 1 <= K <= N"));
    }
    Ok(seeds
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % n == k - 1)
        .map(|(_, s)| s)
        .collect())
}

async fn target(t: &TargetArgs, bugs: &[String]) -> Result<Target, RunError> {
    match &t.target {
        Some(url) => {
            if !bugs.is_empty() {
                return Err(RunError::Usage("--bug switches bugs in the embedded target; it cannot be combined with --target".into()));
            }
            let tag = format!(
                "{:x}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0)
                    % 0xffff_ffff
            );
            let mut target = Target::remote(url, t.admin_key.clone(), tag).await?;
            target.faults = t.faults;
            if let Some(control) = &t.fault_proxy {
                let c = api_client::Client::new(api_client::ClientConfig::new(control.clone()))
                    .map_err(|e| RunError::Usage(format!("--fault-proxy: {e}")))?;
                c.send_raw(api_client::Method::GET, "/faults", None)
                    .await
                    .map_err(|e| RunError::Unreachable {
                        url: control.clone(),
                        message: e.to_string(),
                    })?;
                target.db_control = crate::fault_driver::DbControl::Proxy(c);
            }
            Ok(target)
        }
        None => {
            let mut list = Vec::new();
            for b in bugs {
                list.push(reference_platform::Bug::from_name(b).ok_or_else(|| {
                    RunError::Usage(format!(
                        "unknown bug {b:?}; `reference-platform --list-bugs` lists them"
                    ))
                })?);
            }
            if t.fault_proxy.is_some() {
                return Err(RunError::Usage(
                    "--fault-proxy is for a remote --target; the embedded platform has its own fault control".into(),
                ));
            }
            Target::embedded_with(&list, t.faults).await
        }
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
    if target.embedded.is_some() {
        return run_seeds_sharded(target, seeds, steps, jobs, bar).await;
    }
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
        results.push(r);
    }
    results.sort_by_key(|(s, _)| *s);
    Ok(results)
}

async fn run_one_seed(target: &Target, seed: u64, steps: usize) -> Execution {
    let ts = run::transitions_with(seed, steps, target.faults);
    run::execute(
        target,
        format!("dst-{}s{seed}-t0", target.tag),
        &ts,
        None,
        false,
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
        let (bugs, faults) = (target.bugs.clone(), target.faults);
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
                        Ok(t) => Arc::new(t),
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
async fn shrink_and_write(
    target: &Target,
    seed: u64,
    steps: usize,
    ex: &Execution,
    shrink_iters: usize,
    file: &std::path::Path,
    url: Option<&str>,
) -> Result<(Trace, PathBuf), RunError> {
    let (ts, shrunk, iters) = run::shrink(target, seed, steps, ex, shrink_iters).await;
    let violation = shrunk
        .violation
        .clone()
        .or_else(|| ex.violation.clone())
        .expect("failing seed");
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
    };
    let text = serde_json::to_string_pretty(&trace).map_err(|e| RunError::Io(e.to_string()))?;
    std::fs::write(file, text)
        .map_err(|e| RunError::Io(format!("cannot write {}: {e}", file.display())))?;
    Ok((trace, file.to_path_buf()))
}

/// Runs `dst-sim run`; returns the summary (and writes traces).
pub async fn run(args: &RunArgs, progress: bool) -> Result<Summary, RunError> {
    let mut seeds: Vec<u64> = match args.seed {
        Some(s) => vec![s],
        None => parse_range(&args.seeds).map_err(RunError::Usage)?.collect(),
    };
    if let Some(spec) = &args.shard {
        seeds = shard(seeds, spec).map_err(RunError::Usage)?;
    }
    if args.steps == 0 || args.jobs == 0 {
        return Err(RunError::Usage(
            "--steps and --jobs must be at least 1".into(),
        ));
    }
    let target = Arc::new(target(&args.target, &args.bugs).await?);
    // a proxy's faults hit every connection to the database: keep other seeds out of the way
    let jobs = if args.target.fault_proxy.is_some() {
        1
    } else {
        args.jobs
    };
    let start = Instant::now();
    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new(seeds.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let results = run_seeds(&target, &seeds, args.steps, jobs, bar.as_ref()).await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut summary = Summary::default();
    for (seed, ex) in &results {
        summary.add(*seed, ex);
    }
    // shrink and write a trace per failing seed
    for (seed, ex) in results.iter().filter(|(_, ex)| ex.violation.is_some()) {
        let (trace, file) = shrink_and_write(
            &target,
            *seed,
            args.steps,
            ex,
            args.shrink_iters,
            &args.out.join(format!("seed-{seed}.json")),
            args.target.target.as_deref(),
        )
        .await?;
        summary.failures.push(FailedSeed {
            seed: *seed,
            invariant: trace.violation.invariant.name().into(),
            message: trace.violation.message.clone(),
            shrunk_steps: trace.steps.len(),
            trace_file: Some(file.display().to_string()),
            reproduce: trace.reproduce,
        });
    }
    summary.elapsed_seconds = start.elapsed().as_secs_f64();
    summary.compute_warnings(args.floor);
    if let Ok(t) = Arc::try_unwrap(target)
        && let Some(p) = t.embedded
    {
        p.shutdown().await;
    }
    Ok(summary)
}

/// One line of the mutants scorecard.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct MutantRecord {
    /// The planted bug, or `clean` for the run without bugs.
    pub bug: String,
    /// For a bug: caught within the seed range. For `clean`: no violation.
    pub caught: bool,
    pub first_failing_seed: Option<u64>,
    pub invariant: Option<String>,
    pub shrunk_steps: Option<usize>,
    pub trace_file: Option<String>,
    /// Seeds run (a bug stops at its first failing chunk).
    pub seeds_run: usize,
    /// Violations seen (the clean run must have none).
    pub violations: usize,
    /// Fault kinds that fired in this run, of those generated.
    pub faults_fired: usize,
}

/// `dst-sim mutants`: the scorecard. Records come back in `Bug::all()` order, then `clean`.
pub async fn mutants(args: &MutantsArgs, progress: bool) -> Result<Vec<MutantRecord>, RunError> {
    let seeds: Vec<u64> = parse_range(&args.seeds).map_err(RunError::Usage)?.collect();
    if args.steps == 0 || args.jobs == 0 {
        return Err(RunError::Usage(
            "--steps and --jobs must be at least 1".into(),
        ));
    }
    let mut bugs = Vec::new();
    if args.bugs.is_empty() {
        bugs.extend(reference_platform::Bug::all().iter().copied());
    } else {
        for b in &args.bugs {
            bugs.push(reference_platform::Bug::from_name(b).ok_or_else(|| {
                RunError::Usage(format!(
                    "unknown bug {b:?}; `reference-platform --list-bugs` lists them"
                ))
            })?);
        }
    }
    let mut records = Vec::new();
    let chunk = (args.jobs * 4).max(1);
    for bug in bugs.iter().map(Some).chain([None]) {
        let label = bug
            .map(|b| b.name().to_string())
            .unwrap_or_else(|| "clean".into());
        if progress {
            eprintln!("mutants: {label} …");
        }
        let target = Arc::new(
            Target::embedded_with(&bug.map(|b| vec![*b]).unwrap_or_default(), true).await?,
        );
        let mut rec = MutantRecord {
            bug: label.clone(),
            caught: false,
            first_failing_seed: None,
            invariant: None,
            shrunk_steps: None,
            trace_file: None,
            seeds_run: 0,
            violations: 0,
            faults_fired: 0,
        };
        let mut fired = std::collections::BTreeSet::new();
        for part in seeds.chunks(chunk) {
            let results = run_seeds(&target, part, args.steps, args.jobs, None).await?;
            rec.seeds_run += part.len();
            for (_, ex) in &results {
                fired.extend(
                    ex.faults
                        .iter()
                        .filter(|(_, c)| c.fired > 0)
                        .map(|(k, _)| k.clone()),
                );
            }
            let failing: Vec<&(u64, Execution)> = results
                .iter()
                .filter(|(_, ex)| ex.violation.is_some())
                .collect();
            rec.violations += failing.len();
            if bug.is_some()
                && let Some((seed, ex)) = failing.first()
            {
                let (trace, file) = shrink_and_write(
                    &target,
                    *seed,
                    args.steps,
                    ex,
                    args.shrink_iters,
                    &args.out.join(format!("{label}-seed-{seed}.json")),
                    None,
                )
                .await?;
                rec.caught = true;
                rec.first_failing_seed = Some(*seed);
                rec.invariant = Some(trace.violation.invariant.name().to_string());
                rec.shrunk_steps = Some(trace.steps.len());
                rec.trace_file = Some(file.display().to_string());
                break;
            }
        }
        if bug.is_none() {
            rec.caught = rec.violations == 0;
        }
        rec.faults_fired = fired.len();
        if let Ok(t) = Arc::try_unwrap(target)
            && let Some(p) = t.embedded
        {
            p.shutdown().await;
        }
        records.push(rec);
    }
    Ok(records)
}

pub fn mutants_table(records: &[MutantRecord]) -> String {
    let mut s = format!(
        "{:<28} {:<8} {:>12} {:>8}  {}\n",
        "planted bug", "caught", "first seed", "shrunk", "invariant"
    );
    for r in records {
        if r.bug == "clean" {
            s.push_str(&format!(
                "{:<28} {:<8} {:>12} {:>8}  {} violation(s) in {} seeds, {} fault kinds fired\n",
                "(clean platform)",
                if r.caught { "ok" } else { "FAILED" },
                "-",
                "-",
                r.violations,
                r.seeds_run,
                r.faults_fired
            ));
        } else {
            s.push_str(&format!(
                "{:<28} {:<8} {:>12} {:>8}  {}\n",
                r.bug,
                if r.caught { "yes" } else { "NO" },
                r.first_failing_seed
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                r.shrunk_steps
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                r.invariant
                    .clone()
                    .unwrap_or_else(|| format!("not caught in {} seeds", r.seeds_run))
            ));
        }
    }
    s
}

/// Outcome of `replay`: the execution and whether it broke the trace's invariant again.
pub async fn replay(args: &ReplayArgs) -> Result<(Trace, Execution, bool), RunError> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| RunError::Usage(format!("cannot read {}: {e}", args.file.display())))?;
    let trace: Trace = serde_json::from_str(&text).map_err(|e| {
        RunError::Usage(format!(
            "{} is not a dst-sim trace: {e}",
            args.file.display()
        ))
    })?;
    let bugs = if args.target.target.is_some() {
        Vec::new()
    } else {
        trace.bugs.clone()
    };
    let mut targs = args.target.clone();
    targs.faults |= trace.faults;
    if targs.target.is_none() {
        targs.fault_proxy = None;
    }
    let t = target(&targs, &bugs).await?;
    let ex = run::execute(
        &t,
        format!("dst-replay{}-s{}", t.tag, trace.seed),
        &trace.transitions,
        None,
        true,
    )
    .await;
    let same = ex.violation.as_ref().map(|v| v.invariant) == Some(trace.violation.invariant);
    if let Some(p) = t.embedded {
        p.shutdown().await;
    }
    Ok((trace, ex, same))
}

/// The process: parses arguments, runs, prints, returns the exit code.
pub fn main_with(cli: Cli) -> u8 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dst-sim: cannot start the runtime: {e}");
            return EXIT_USAGE;
        }
    };
    rt.block_on(async move {
        match cli.command {
            Command::Run(args) => {
                let progress = std::io::stderr().is_terminal() && !markers::gha::in_github_actions() && !args.json;
                match run(&args, progress).await {
                    Err(e) => {
                        eprintln!("dst-sim: {e}");
                        EXIT_USAGE
                    }
                    Ok(summary) => finish(&summary, args.json, args.strict, args.junit.as_deref()),
                }
            }
            Command::Replay(args) => match replay(&args).await {
                Err(e) => {
                    eprintln!("dst-sim: {e}");
                    EXIT_USAGE
                }
                Ok((trace, ex, same)) => {
                    if args.json {
                        println!("{}", serde_json::json!({"seed": trace.seed, "expected_invariant": trace.violation.invariant.name(), "violation": ex.violation, "reproduced": same}));
                    } else {
                        match &ex.violation {
                            Some(v) => println!("replay of seed {}: {} at step {} — {}", trace.seed, v.invariant.name(), v.step, v.message),
                            None => println!("replay of seed {}: no violation (the trace expected {})", trace.seed, trace.violation.invariant.name()),
                        }
                        println!("{}", if same { "reproduced" } else { "did not reproduce" });
                    }
                    if ex.violation.is_some() { EXIT_VIOLATION } else { EXIT_PASS }
                }
            },
            Command::Mutants(args) => {
                let progress = std::io::stderr().is_terminal() && !markers::gha::in_github_actions() && !args.json;
                match mutants(&args, progress).await {
                    Err(e) => {
                        eprintln!("dst-sim: {e}");
                        EXIT_USAGE
                    }
                    Ok(records) => {
                        if args.json {
                            println!("{}", serde_json::to_string_pretty(&records).unwrap_or_default());
                        } else {
                            print!("{}", mutants_table(&records));
                        }
                        if markers::gha::in_github_actions() {
                            let mut md = String::from("## dst-sim mutants\n\n| planted bug | caught | first failing seed | shrunk steps | invariant |\n|---|---|---:|---:|---|\n");
                            for r in &records {
                                md.push_str(&format!("| {} | {} | {} | {} | {} |\n", r.bug, r.caught, r.first_failing_seed.map(|s| s.to_string()).unwrap_or_default(), r.shrunk_steps.map(|s| s.to_string()).unwrap_or_default(), r.invariant.clone().unwrap_or_default()));
                            }
                            let _ = markers::gha::append_step_summary(&md);
                        }
                        if records.iter().all(|r| r.caught) { EXIT_PASS } else { EXIT_VIOLATION }
                    }
                }
            }
            Command::Proxy(args) => {
                match crate::proxy::start(&args.listen, &args.upstream, &args.control, args.seed).await {
                    Err(e) => {
                        eprintln!("dst-sim proxy: cannot bind {} / {}: {e}", args.listen, args.control);
                        EXIT_USAGE
                    }
                    Ok((listen, control, _p)) => {
                        eprintln!("dst-sim proxy: {listen} -> {} (control http://{control}/faults); Ctrl-C to stop", args.upstream);
                        let _ = tokio::signal::ctrl_c().await;
                        EXIT_PASS
                    }
                }
            }
            Command::Merge(args) => {
                let mut total = Summary::default();
                for f in &args.files {
                    let text = match std::fs::read_to_string(f) {
                        Ok(t) => t,
                        Err(e) => {
                            eprintln!("dst-sim: cannot read {}: {e}", f.display());
                            return EXIT_USAGE;
                        }
                    };
                    match serde_json::from_str::<Summary>(&text) {
                        Ok(s) => total.merge(s),
                        Err(e) => {
                            eprintln!("dst-sim: {} is not a dst-sim --json summary: {e}", f.display());
                            return EXIT_USAGE;
                        }
                    }
                }
                total.seeds.sort();
                total.compute_warnings(args.floor);
                finish(&total, args.json, args.strict, None)
            }
        }
    })
}

fn finish(summary: &Summary, json: bool, strict: bool, junit: Option<&std::path::Path>) -> u8 {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(summary).unwrap_or_default()
        );
    } else {
        print!("{}", summary.table());
    }
    if let Some(path) = junit
        && let Err(e) = std::fs::write(path, summary.junit())
    {
        eprintln!("dst-sim: cannot write {}: {e}", path.display());
        return EXIT_USAGE;
    }
    if markers::gha::in_github_actions() {
        let _ = markers::gha::append_step_summary(&summary.markdown());
        for f in &summary.failures {
            eprintln!(
                "{}",
                markers::gha::annotation(
                    markers::gha::Level::Error,
                    None,
                    Some(&format!("dst-sim seed {}", f.seed)),
                    &format!("{}: {} ({})", f.invariant, f.message, f.reproduce)
                )
            );
        }
    }
    if !summary.failures.is_empty() {
        EXIT_VIOLATION
    } else if strict && !summary.warnings.is_empty() {
        eprintln!(
            "dst-sim: --strict: {} coverage warning(s)",
            summary.warnings.len()
        );
        EXIT_VIOLATION
    } else {
        EXIT_PASS
    }
}
