//! The command line: `run` (the check), `merge` (CI's per-job reports into one) and `postgres`
//! (the private database alone, for scripts/ci-local.sh).

use crate::dst::DstOptions;
use crate::error::StepError;
use crate::phase::Phase;
use crate::pipeline::{self, Options, Subject};
use crate::report::{self, Outcome, Report};
use crate::report_md;
use crate::schemathesis::StOptions;
use clap::{Args, Parser, Subcommand, ValueEnum};
use markers::ExitStatus;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "platform-check",
    version,
    about = "Start a checkout of the platform on a private PostgreSQL+pgvector and run dst-sim and Schemathesis against it",
    after_help = "Exit codes: 0 no new findings, 1 new findings, 2 could not start or run (the failing phase and the last lines of its log are printed).\n\
                  Progress is one line per phase on stderr; --json prints the report on stdout.\n\
                  Reports: <out>/platform-check-report.{json,md}; logs: <out>/logs/. Details: docs/platform-check.md"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Bring the platform up, run the tools, write the report, stop everything.
    Run(Box<RunArgs>),
    /// Merge platform-check JSON reports (CI's jobs) into one; exit as the merged outcome.
    Merge(MergeArgs),
    /// Run the private PostgreSQL+pgvector alone on a port until interrupted (prints its URL).
    Postgres(PostgresArgs),
}

/// Tools that can be left out of a run (CI runs them in separate jobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Skip {
    Dst,
    Schemathesis,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// A checkout of the platform (nerdsane/deep-sci-fi or a fork).
    #[arg(long, env = "PLATFORM", required_unless_present_any = ["start_cmd", "target"])]
    pub platform: Option<PathBuf>,
    /// The backend's directory inside the checkout.
    #[arg(long, default_value = crate::checkout::BACKEND_DIR)]
    pub backend: String,
    /// With --platform: use this database instead of starting a private one (CI's service).
    #[arg(long, requires = "platform")]
    pub database_url: Option<String>,
    /// Instead of a checkout: a shell command starting a stand-in on $PORT that accepts
    /// $DSF_ADMIN_KEY as admin key (e.g. `reference-platform --port $PORT --test-mode`).
    #[arg(long, conflicts_with_all = ["platform", "target"])]
    pub start_cmd: Option<String>,
    /// Instead of a checkout: an already-running target (needs --admin-key).
    #[arg(long, conflicts_with = "platform", requires = "admin_key")]
    pub target: Option<String>,
    /// Admin key of --target (env DSF_ADMIN_KEY).
    #[arg(long, env = "DSF_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// App port on 127.0.0.1 (default: a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Private PostgreSQL port on 127.0.0.1 (default: a free one).
    #[arg(long)]
    pub pg_port: Option<u16>,
    /// Python 3.12 for the backend (default: python3.12 on PATH, then pyenv's).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Cache for the tools venv and backend venvs (env DSF_PLATFORM_CHECK_CACHE; default
    /// ${XDG_CACHE_HOME:-~/.cache}/dsf-harness/platform-check).
    #[arg(long, env = "DSF_PLATFORM_CHECK_CACHE")]
    pub cache_dir: Option<PathBuf>,
    /// Where the report, the tools' outputs and the logs go.
    #[arg(long, default_value = "platform-check-out")]
    pub out: PathBuf,
    /// Parent of the scratch directory holding the database cluster (default: the system temp dir).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Leave a tool out (repeatable).
    #[arg(long, value_enum)]
    pub skip: Vec<Skip>,
    /// dst-sim binary (default: next to this binary, then PATH).
    #[arg(long)]
    pub dst_sim: Option<PathBuf>,
    /// dst-sim seed range A..B.
    #[arg(long, default_value = "0..16")]
    pub seeds: String,
    /// dst-sim steps per seed.
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// dst-sim concurrent seeds.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// dst-sim shard K/N of the seed range.
    #[arg(long)]
    pub shard: Option<String>,
    /// dst-sim known-violations file (default: the checkout's dst-known.toml when present).
    #[arg(long)]
    pub dst_known: Option<PathBuf>,
    /// dst-sim shrink iterations per failing seed. Each replays a trace against the live app:
    /// on the real platform 20 per seed made dst 95 % of a 20-minute run (docs/PERFORMANCE.md),
    /// so the default is none; the findings still name each seed and its reproduce command.
    #[arg(long, default_value_t = 0)]
    pub shrink_iters: usize,
    /// dst-sim --strict: its coverage warnings become a finding.
    #[arg(long)]
    pub strict: bool,
    /// Where dst-sim's JUnit goes (default: <out>/dst-junit.xml).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Schemathesis time budget, seconds.
    #[arg(long, default_value_t = 300)]
    pub st_budget: u64,
    /// Schemathesis seed.
    #[arg(long, default_value_t = 1)]
    pub st_seed: u64,
    /// Schemathesis workers.
    #[arg(long, default_value_t = 2)]
    pub st_workers: u32,
    /// Schemathesis schema (file or URL; default <app>/openapi.json).
    #[arg(long)]
    pub schema: Option<String>,
    /// A platform-check JSON report whose findings are accepted (default: the checkout's
    /// platform-check-known.json when present).
    #[arg(long)]
    pub known: Option<PathBuf>,
    /// Seconds to wait for the app's /health.
    #[arg(long, default_value_t = 120)]
    pub start_timeout: u64,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// platform-check JSON reports.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Print the merged report as JSON (default: Markdown).
    #[arg(long)]
    pub json: bool,
    /// Also write the merged report's JSON and Markdown into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PostgresArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 5432)]
    pub port: u16,
    /// Cache holding the tools venv (as for `run`).
    #[arg(long, env = "DSF_PLATFORM_CHECK_CACHE")]
    pub cache_dir: Option<PathBuf>,
    /// Python used to create the tools venv if it is missing.
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Where the server log goes.
    #[arg(long, default_value = "platform-check-postgres.log")]
    pub log: PathBuf,
}

/// ${XDG_CACHE_HOME:-$HOME/.cache}/dsf-harness/platform-check
pub fn default_cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("dsf-harness/platform-check")
}

/// dst-sim next to this binary (cargo puts workspace binaries together), else on PATH.
fn default_dst_sim() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("dst-sim")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("dst-sim"))
}

fn options(a: &RunArgs) -> Options {
    let subject = match (&a.platform, &a.start_cmd, &a.target) {
        (Some(p), _, _) => Subject::Checkout {
            path: p.clone(),
            backend: a.backend.clone(),
            database_url: a.database_url.clone(),
        },
        (None, Some(c), _) => Subject::Command(c.clone()),
        (None, None, Some(t)) => Subject::Running {
            url: t.clone(),
            admin_key: a.admin_key.clone().unwrap_or_default(),
        },
        (None, None, None) => unreachable!("clap requires one of them"),
    };
    let cache = a.cache_dir.clone().unwrap_or_else(default_cache);
    Options {
        subject,
        python: a.python.clone(),
        port: a.port,
        pg_port: a.pg_port,
        out: a.out.clone(),
        work_dir: a.work_dir.clone(),
        dst: (!a.skip.contains(&Skip::Dst)).then(|| DstOptions {
            binary: a.dst_sim.clone().unwrap_or_else(default_dst_sim),
            seeds: a.seeds.clone(),
            steps: a.steps,
            jobs: a.jobs,
            shard: a.shard.clone(),
            known: a.dst_known.clone(),
            strict: a.strict,
            shrink_iters: a.shrink_iters,
            junit: a.junit.clone(),
        }),
        schemathesis: (!a.skip.contains(&Skip::Schemathesis)).then(|| StOptions {
            st: cache.join("tools/bin/st"),
            budget: a.st_budget,
            seed: a.st_seed,
            workers: a.st_workers,
            schema: a.schema.clone(),
        }),
        cache,
        known: a.known.clone(),
        start_timeout: Duration::from_secs(a.start_timeout),
        quiet: false,
    }
}

/// Writes `<dir>/platform-check-report.{json,md}`.
fn write_report(dir: &Path, r: &Report) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let (j, m) = (
        dir.join("platform-check-report.json"),
        dir.join("platform-check-report.md"),
    );
    std::fs::write(&j, r.to_json())?;
    std::fs::write(&m, report_md::render(r))?;
    Ok((j, m))
}

/// The terminal's closing lines: the verdict, the failing step with its log's tail, the files.
fn conclude(r: &Report, files: Option<&(PathBuf, PathBuf)>) {
    match (&r.error, r.outcome) {
        (Some(e), _) => {
            eprintln!("platform-check: could not run: {}: {}", e.phase, e.message);
            if let Some(l) = &e.log {
                eprintln!("platform-check: last lines of {l}:");
            }
            for line in &e.tail {
                eprintln!("    {line}");
            }
        }
        (None, Outcome::Pass) => eprintln!(
            "platform-check: no new findings ({} known)",
            r.findings.len()
        ),
        (None, _) => eprintln!(
            "platform-check: {} new finding(s), {} known",
            r.new_findings().count(),
            r.findings.iter().filter(|f| f.known).count()
        ),
    }
    if let Some((j, m)) = files {
        eprintln!("platform-check: report {} ({})", m.display(), j.display());
    }
}

fn run(a: &RunArgs) -> ExitStatus {
    crate::procs::install_signal_handler();
    let r = pipeline::run(&options(a));
    let files = match write_report(&a.out, &r) {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!(
                "platform-check: cannot write the report into {}: {e}",
                a.out.display()
            );
            None
        }
    };
    conclude(&r, files.as_ref());
    if a.json {
        println!("{}", r.to_json());
    }
    if files.is_none() {
        return ExitStatus::Error;
    }
    r.outcome.exit()
}

fn merge(a: &MergeArgs) -> ExitStatus {
    let mut reports = Vec::new();
    for p in &a.reports {
        match Report::read(p) {
            Ok(r) => reports.push(r),
            Err(m) => {
                eprintln!("platform-check: {m}");
                return ExitStatus::Error;
            }
        }
    }
    let r = report::merge(reports);
    if let Some(dir) = &a.out
        && let Err(e) = write_report(dir, &r)
    {
        eprintln!("platform-check: cannot write into {}: {e}", dir.display());
        return ExitStatus::Error;
    }
    if a.json {
        println!("{}", r.to_json());
    } else {
        print!("{}", report_md::render(&r));
    }
    r.outcome.exit()
}

fn postgres(a: &PostgresArgs) -> ExitStatus {
    crate::procs::install_signal_handler();
    let cache = a.cache_dir.clone().unwrap_or_else(default_cache);
    let fail = |e: StepError| {
        eprintln!("platform-check postgres: {e}");
        for l in &e.tail {
            eprintln!("    {l}");
        }
        ExitStatus::Error
    };
    let py = crate::python::find(a.python.as_deref()).unwrap_or(crate::python::Python {
        path: PathBuf::from("python3"),
        version: String::new(),
    });
    let tools = match crate::python::ensure_tools(&cache, &py, &a.log) {
        Ok((t, _)) => t,
        Err(e) => return fail(e),
    };
    if let Err(e) = pipeline::free_port(a.port) {
        return fail(e);
    }
    let scratch = match tempfile::Builder::new()
        .prefix("platform-check-pg-")
        .tempdir()
    {
        Ok(s) => s,
        Err(e) => return fail(StepError::new(Phase::Database, e.to_string())),
    };
    crate::procs::register_scratch(scratch.path());
    match crate::postgres::start(&tools, scratch.path(), a.port, &a.log) {
        Ok((pg, _)) => {
            println!("{}", pg.url());
            eprintln!(
                "platform-check postgres: {} (Ctrl-C or SIGTERM stops it)",
                pg.url()
            );
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        Err(e) => fail(e),
    }
}

pub fn main_with(cli: Cli) -> ExitStatus {
    match &cli.command {
        Command::Run(a) => run(a),
        Command::Merge(a) => merge(a),
        Command::Postgres(a) => postgres(a),
    }
}
