//! The phases of a check, in order, and the one line per phase a terminal sees.

use serde::Serialize;
use std::io::Write;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The path is a checkout of the platform.
    Checkout,
    /// The loopback ports are free.
    Ports,
    /// A Python 3.12 interpreter.
    Python,
    /// The cached tools venv (pgserver, uv, Schemathesis).
    Tools,
    /// The private PostgreSQL with pgvector.
    Database,
    /// The checkout's backend requirements in a cached venv.
    Venv,
    /// Alembic migrations.
    Migrate,
    /// The admin key's rows.
    Seed,
    /// The app (or the stand-in) answering /health.
    Start,
    /// A registered agent's key for Schemathesis.
    Agent,
    /// dst-sim against the app.
    Dst,
    /// Schemathesis against the app's OpenAPI schema.
    Schemathesis,
    /// The merged report.
    Report,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Checkout => "checkout",
            Phase::Python => "python",
            Phase::Ports => "ports",
            Phase::Tools => "tools",
            Phase::Database => "database",
            Phase::Venv => "venv",
            Phase::Migrate => "migrate",
            Phase::Seed => "seed",
            Phase::Start => "start",
            Phase::Agent => "agent",
            Phase::Dst => "dst",
            Phase::Schemathesis => "schemathesis",
            Phase::Report => "report",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a phase ended, as the report records it.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseRecord {
    pub phase: Phase,
    pub ok: bool,
    pub seconds: f64,
    pub detail: String,
}

/// Writes one line per finished phase to stderr (stdout is kept for `--json`).
#[derive(Debug, Default)]
pub struct Progress {
    pub records: Vec<PhaseRecord>,
    pub quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress {
            records: Vec::new(),
            quiet,
        }
    }

    /// Records a phase that ended (`ok` or not) after `elapsed`, and prints its line.
    pub fn record(&mut self, phase: Phase, ok: bool, elapsed: Duration, detail: &str) {
        let rec = PhaseRecord {
            phase,
            ok,
            seconds: (elapsed.as_secs_f64() * 10.0).round() / 10.0,
            detail: detail.to_string(),
        };
        if !self.quiet {
            let mark = if ok { "ok" } else { "FAILED" };
            let _ = writeln!(
                std::io::stderr(),
                "platform-check: {:<12} {:<6} {:>7.1}s  {}",
                phase.name(),
                mark,
                rec.seconds,
                detail
            );
        }
        self.records.push(rec);
    }

    /// Runs `f` as `phase`: records its time and outcome; the detail is what `f` returns.
    pub fn run<T>(
        &mut self,
        phase: Phase,
        f: impl FnOnce() -> Result<(T, String), crate::error::StepError>,
    ) -> Result<T, crate::error::StepError> {
        let t = Instant::now();
        match f() {
            Ok((v, detail)) => {
                self.record(phase, true, t.elapsed(), &detail);
                Ok(v)
            }
            Err(e) => {
                self.record(phase, false, t.elapsed(), &e.message);
                Err(e)
            }
        }
    }
}
