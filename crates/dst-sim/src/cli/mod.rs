//! The command line: arguments (parsed into typed values by clap), target construction, and one
//! function per command. Running seeds is in `seeds.rs`, the scorecard in `mutants.rs`; both take a
//! built target.

mod mutants;
mod seeds;

pub use mutants::{MutantRecord, MutantsOptions, mutants_markdown, mutants_table, scorecard};
pub use seeds::{RunOptions, Shard, parse_seeds, run_seeds};

use crate::driver::DbControl;
use crate::known::KnownFile;
use crate::report::Summary;
use crate::run::{self, Execution, RunError, Target, Trace};
use clap::{Args, Parser, Subcommand};
use markers::ExitStatus;
use reference_platform::Bug;
use std::io::IsTerminal;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// `--bug` values: the planted bugs by name (`--help` lists them; a typo is refused with the list).
fn bug_parser() -> impl clap::builder::TypedValueParser<Value = Bug> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Bug::all().iter().map(|b| b.name()))
        .map(|s| Bug::from_name(&s).expect("clap only passes listed names"))
}

#[derive(Parser, Debug)]
#[command(
    name = "dst-sim",
    version,
    about = "Deterministic simulation testing of the Deep Sci-Fi game rules against a live target",
    after_help = "Exit codes:\n  \
0  no violation, or only classes the known file lists (--known, or [dst] known in harness.toml)\n  \
1  a violation class not in the known file; with --strict, coverage fell short; with\n     \
--check-determinism, a seed ran differently twice (a harness defect)\n  \
2  usage or infrastructure: bad arguments, an unreadable trace or known file, a target that is\n     \
unreachable, does not answer within --request-timeout or dies mid-run (the message names the\n     \
seed and step; never a violation)\n\n\
`run` reports each violation class (invariant, operation, message shape) once with its seed count,\n\
first seed and one trace; --json adds them as `classes`, with `known` and the file's stale entries.\n\
Before any seed the target's capabilities (legitimate differences: aspect-review-approval,\n\
feedback-upvoters, event-decisions, event-approved-by, event-rejected-by) are probed by requests\n\
that change nothing; the summary and --json `capabilities` list them. See docs/dst.md."
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
    #[arg(long, default_value = "0..200", value_parser = parse_seeds)]
    pub seeds: Range<u64>,
    /// Steps per seed.
    #[arg(long, default_value_t = crate::SEED_STEPS)]
    pub steps: usize,
    /// Seeds run concurrently (on the embedded platform: over min(jobs, cores) worker threads,
    /// each with its own platform).
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Only these bugs (repeatable; default: all).
    #[arg(long = "bug", value_parser = bug_parser())]
    pub bugs: Vec<Bug>,
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
    /// Base URL of a running platform (default: start the reference platform in-process). Its
    /// capabilities are probed first (an anonymous POST to /api/aspects/<nil>/test-approve, its
    /// /openapi.json) and printed in the summary.
    #[arg(long)]
    pub target: Option<String>,
    /// Admin key for the admin feedback-status rule (env DSF_ADMIN_KEY).
    #[arg(long, env = "DSF_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// With --target: a request with no answer within this many seconds ends the run with exit 2
    /// (infrastructure, never a violation).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub request_timeout: u64,
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
    #[arg(long, default_value = "0..20", conflicts_with = "seed", value_parser = parse_seeds)]
    pub seeds: Range<u64>,
    /// A single seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Steps per seed.
    #[arg(long, default_value_t = crate::SEED_STEPS)]
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
    #[arg(long = "bug", value_parser = bug_parser())]
    pub bugs: Vec<Bug>,
    /// Also write JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Run only shard K of N (K in 1..=N) of the seed range.
    #[arg(long, value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Shrink iterations per failing seed.
    #[arg(long, default_value_t = 200)]
    pub shrink_iters: usize,
    /// Known-violations file (TOML): listed classes are reported as known and do not fail the run;
    /// a listed class that did not occur is reported as stale. Default: `[dst] known` in
    /// harness.toml.
    #[arg(long, value_name = "PATH")]
    pub known: Option<PathBuf>,
    /// Write this run's violation classes into the known file (keeping the reasons of entries that
    /// still occur; new ones get "not triaged yet"), then report against it.
    #[arg(long)]
    pub write_known: bool,
    /// Stop each seed at its first violation and write a trace per failing seed (without it, a
    /// seed runs to its end and each violation class is reported once, with one trace).
    #[arg(long)]
    pub fail_fast: bool,
    /// Run every seed twice and compare the hashes of its two request/response sequences (ids,
    /// names, keys, timestamps normalized); a seed whose runs differ is a harness defect (exit 1),
    /// reported with the first differing exchange.
    #[arg(long)]
    pub check_determinism: bool,
    /// Test-only: the second run of each seed drops its last step, so --check-determinism must
    /// report every seed (shows the check can fail).
    #[arg(long, hide = true, requires = "check_determinism")]
    pub determinism_self_test: bool,
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

impl TargetArgs {
    /// The target these arguments name: a remote `--target` (checked reachable), or the embedded
    /// reference platform with `bugs` switched on.
    pub async fn build(&self, bugs: &[Bug]) -> Result<Target, RunError> {
        let Some(url) = &self.target else {
            if self.fault_proxy.is_some() {
                return Err(RunError::Usage(
                    "--fault-proxy is for a remote --target; the embedded platform has its own fault control".into(),
                ));
            }
            return Target::embedded_with(bugs, self.faults).await;
        };
        if !bugs.is_empty() {
            return Err(RunError::Usage(
                "--bug switches bugs in the embedded target; it cannot be combined with --target"
                    .into(),
            ));
        }
        let tag = format!(
            "{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0)
                % 0xffff_ffff
        );
        let timeout = std::time::Duration::from_secs(self.request_timeout.max(1));
        let mut target = Target::remote(url, self.admin_key.clone(), tag, timeout).await?;
        target.faults = self.faults;
        if let Some(control) = &self.fault_proxy {
            let c = api_client::Client::new(api_client::ClientConfig::new(control.clone()))
                .map_err(|e| RunError::Usage(format!("--fault-proxy: {e}")))?;
            c.send_raw(api_client::Method::GET, "/faults", None)
                .await
                .map_err(|e| RunError::Unreachable {
                    url: control.clone(),
                    message: e.to_string(),
                })?;
            target.db_control = DbControl::Proxy(c);
        }
        Ok(target)
    }
}

/// Runs `dst-sim run`; returns the summary (and writes traces).
pub async fn run(args: &RunArgs, progress: bool) -> Result<Summary, RunError> {
    let mut seeds: Vec<u64> = match args.seed {
        Some(s) => vec![s],
        None => args.seeds.clone().collect(),
    };
    if let Some(shard) = &args.shard {
        seeds = shard.select(seeds);
    }
    if args.steps == 0 || args.jobs == 0 {
        return Err(RunError::Usage(
            "--steps and --jobs must be at least 1".into(),
        ));
    }
    if args.check_determinism && args.target.target.is_some() {
        return Err(RunError::Usage(
            "--check-determinism runs each seed on fresh embedded platforms; it cannot be combined with --target".into(),
        ));
    }
    let mut target = args.target.build(&args.bugs).await?;
    target.keep_going = !args.fail_fast;
    target.determinism = match (args.check_determinism, args.determinism_self_test) {
        (false, _) => crate::determinism::CheckMode::Off,
        (true, false) => crate::determinism::CheckMode::On,
        (true, true) => crate::determinism::CheckMode::Perturbed,
    };
    let target = Arc::new(target);
    let opts = RunOptions {
        steps: args.steps,
        // a proxy's faults hit every connection to the database: keep other seeds out of the way
        jobs: if args.target.fault_proxy.is_some() {
            1
        } else {
            args.jobs
        },
        out: args.out.clone(),
        shrink_iters: args.shrink_iters,
        floor: args.floor,
        url: args.target.target.clone(),
    };
    let known = match &args.known {
        Some(p) => Some(p.clone()),
        None => crate::known::default_path().map_err(RunError::Usage)?,
    };
    if args.write_known && known.is_none() {
        return Err(RunError::Usage(
            "--write-known needs --known PATH (or `[dst] known` in harness.toml)".into(),
        ));
    }
    let mut summary = seeds::run(target, &seeds, &opts, progress).await?;
    if let Some(path) = known {
        let mut file =
            KnownFile::load(&path, args.write_known).map_err(|e| RunError::Usage(e.to_string()))?;
        if args.write_known {
            file = KnownFile::from_summary(&file, &summary);
            file.save(&path).map_err(|e| RunError::Io(e.to_string()))?;
        }
        file.apply(&mut summary);
    }
    Ok(summary)
}

/// `dst-sim mutants`: the scorecard. Records come back in `Bug::all()` order, then `clean`.
pub async fn mutants(args: &MutantsArgs, progress: bool) -> Result<Vec<MutantRecord>, RunError> {
    if args.steps == 0 || args.jobs == 0 {
        return Err(RunError::Usage(
            "--steps and --jobs must be at least 1".into(),
        ));
    }
    let bugs = if args.bugs.is_empty() {
        Bug::all().to_vec()
    } else {
        args.bugs.clone()
    };
    let opts = MutantsOptions {
        seeds: args.seeds.clone().collect(),
        steps: args.steps,
        jobs: args.jobs,
        out: args.out.clone(),
        shrink_iters: args.shrink_iters,
    };
    scorecard(&bugs, &opts, progress).await
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
    let mut bugs = Vec::new();
    if args.target.target.is_none() {
        for name in &trace.bugs {
            bugs.push(Bug::from_name(name).ok_or_else(|| {
                RunError::Usage(format!(
                    "{}: unknown planted bug {name:?}",
                    args.file.display()
                ))
            })?);
        }
    }
    let mut targs = args.target.clone();
    targs.faults |= trace.faults;
    if targs.target.is_none() {
        targs.fault_proxy = None;
    }
    let t = targs.build(&bugs).await?;
    // run to the end: the trace's class need not be the first violation of the shrunk sequence
    let ex = run::execute_with(
        &t,
        format!("dst-replay{}-s{}", t.tag, trace.seed),
        &trace.transitions,
        None,
        true,
        true,
    )
    .await;
    if let Some(p) = t.embedded {
        p.shutdown().await;
    }
    if let Some((step, message)) = ex.infrastructure.clone() {
        return Err(RunError::Infrastructure {
            seed: trace.seed,
            step,
            message,
        });
    }
    let same = ex
        .violations
        .iter()
        .any(|(_, v)| v.invariant == trace.violation.invariant);
    Ok((trace, ex, same))
}

/// The process: parses arguments, runs, prints, returns the exit status.
pub fn main_with(cli: Cli) -> ExitStatus {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dst-sim: cannot start the runtime: {e}");
            return ExitStatus::Error;
        }
    };
    rt.block_on(async move {
        match cli.command {
            Command::Run(args) => run_command(&args).await,
            Command::Replay(args) => replay_command(&args).await,
            Command::Mutants(args) => mutants_command(&args).await,
            Command::Proxy(args) => proxy_command(&args).await,
            Command::Merge(args) => merge_command(&args),
        }
    })
}

/// A progress bar only for a person at a terminal.
fn show_progress(json: bool) -> bool {
    std::io::stderr().is_terminal() && !markers::gha::in_github_actions() && !json
}

async fn run_command(args: &RunArgs) -> ExitStatus {
    match run(args, show_progress(args.json)).await {
        Err(e) => {
            eprintln!("dst-sim: {e}");
            ExitStatus::Error
        }
        Ok(summary) => finish(&summary, args.json, args.strict, args.junit.as_deref()),
    }
}

async fn replay_command(args: &ReplayArgs) -> ExitStatus {
    let (trace, ex, same) = match replay(args).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dst-sim: {e}");
            return ExitStatus::Error;
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({"seed": trace.seed, "expected_invariant": trace.violation.invariant, "violation": ex.violation, "reproduced": same})
        );
    } else {
        match &ex.violation {
            Some(v) => println!(
                "replay of seed {}: {} at step {} — {}",
                trace.seed, v.invariant, v.step, v.message
            ),
            None => println!(
                "replay of seed {}: no violation (the trace expected {})",
                trace.seed, trace.violation.invariant
            ),
        }
        println!(
            "{}",
            if same {
                "reproduced"
            } else {
                "did not reproduce"
            }
        );
    }
    ExitStatus::pass_if(ex.violation.is_none())
}

async fn mutants_command(args: &MutantsArgs) -> ExitStatus {
    let records = match mutants(args, show_progress(args.json)).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dst-sim: {e}");
            return ExitStatus::Error;
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&records).unwrap_or_default()
        );
    } else {
        print!("{}", mutants_table(&records));
    }
    if markers::gha::in_github_actions() {
        let _ = markers::gha::append_step_summary(&mutants_markdown(&records));
    }
    ExitStatus::pass_if(records.iter().all(|r| r.caught))
}

async fn proxy_command(args: &ProxyArgs) -> ExitStatus {
    match crate::proxy::start(&args.listen, &args.upstream, &args.control, args.seed).await {
        Err(e) => {
            eprintln!(
                "dst-sim proxy: cannot bind {} / {}: {e}",
                args.listen, args.control
            );
            ExitStatus::Error
        }
        Ok((listen, control, _p)) => {
            eprintln!(
                "dst-sim proxy: {listen} -> {} (control http://{control}/faults); Ctrl-C to stop",
                args.upstream
            );
            let _ = tokio::signal::ctrl_c().await;
            ExitStatus::Pass
        }
    }
}

fn merge_command(args: &MergeArgs) -> ExitStatus {
    let mut total = Summary::default();
    for f in &args.files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("dst-sim: cannot read {}: {e}", f.display());
                return ExitStatus::Error;
            }
        };
        match serde_json::from_str::<Summary>(&text) {
            Ok(s) => total.merge(s),
            Err(e) => {
                eprintln!(
                    "dst-sim: {} is not a dst-sim --json summary: {e}",
                    f.display()
                );
                return ExitStatus::Error;
            }
        }
    }
    total.seeds.sort();
    total.compute_warnings(args.floor);
    finish(&total, args.json, args.strict, None)
}

fn finish(
    summary: &Summary,
    json: bool,
    strict: bool,
    junit: Option<&std::path::Path>,
) -> ExitStatus {
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
        return ExitStatus::Error;
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
    if summary.nondeterministic_seeds() > 0 {
        eprintln!(
            "dst-sim: --check-determinism: {} seed(s) ran differently twice (a harness defect)",
            summary.nondeterministic_seeds()
        );
        ExitStatus::Fail
    } else if summary.has_new_violations() {
        ExitStatus::Fail
    } else if strict && !summary.warnings.is_empty() {
        eprintln!(
            "dst-sim: --strict: {} coverage warning(s)",
            summary.warnings.len()
        );
        ExitStatus::Fail
    } else {
        ExitStatus::Pass
    }
}
