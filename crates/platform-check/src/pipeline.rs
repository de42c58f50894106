//! The run, phase by phase: what starts, in which order, and the report at the end. Every started
//! process is a [`crate::procs::Group`] owned here, dropped (stopped) on every way out.

use crate::checkout::Checkout;
use crate::dst::{self, DstOptions};
use crate::error::StepError;
use crate::phase::{Phase, Progress};
use crate::platform::{self, Launch};
use crate::postgres::{self, Postgres};
use crate::procs::{self, Group};
use crate::python::{self, Python};
use crate::report::{self, ErrorInfo, FORMAT, Finding, Outcome, Report};
use crate::schemathesis::{self, StOptions};
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the app under test is.
#[derive(Debug, Clone)]
pub enum Subject {
    /// A checkout of the platform: database, venv, migrations, admin key, uvicorn.
    Checkout {
        path: PathBuf,
        /// The backend's directory inside the checkout.
        backend: String,
        /// Use this database (CI's service container) instead of a private one.
        database_url: Option<String>,
    },
    /// A stand-in started by a shell command (`$PORT`, `$DSF_ADMIN_KEY` in its environment).
    Command(String),
    /// Something already running, with its admin key.
    Running { url: String, admin_key: String },
}

#[derive(Debug, Clone)]
pub struct Options {
    pub subject: Subject,
    pub python: Option<PathBuf>,
    pub port: Option<u16>,
    pub pg_port: Option<u16>,
    pub cache: PathBuf,
    pub out: PathBuf,
    pub work_dir: Option<PathBuf>,
    pub dst: Option<DstOptions>,
    pub schemathesis: Option<StOptions>,
    /// A platform-check report whose findings are accepted (default: the checkout's).
    pub known: Option<PathBuf>,
    pub start_timeout: Duration,
    pub quiet: bool,
}

/// Binds 127.0.0.1:`want` (0 = any) to prove it free; returns the port.
pub fn free_port(want: u16) -> Result<u16, StepError> {
    TcpListener::bind(("127.0.0.1", want))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| StepError::new(Phase::Ports, format!("127.0.0.1:{want} is in use ({e})")))
}

/// Everything a run holds while the tools run; dropped app first, then the database.
struct Running {
    url: String,
    admin_key: String,
    app: Option<Group>,
    db: Option<Postgres>,
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.app.take());
        drop(self.db.take());
    }
}

fn mkdir(p: &Path, phase: Phase) -> Result<(), StepError> {
    std::fs::create_dir_all(p)
        .map_err(|e| StepError::new(phase, format!("cannot create {}: {e}", p.display())))
}

/// Database, venv, migrations, admin key and uvicorn for a checkout.
fn bring_up_checkout(
    o: &Options,
    p: &mut Progress,
    checkout: &Checkout,
    database_url: Option<&str>,
    work: &Path,
    logs: &Path,
) -> Result<Running, StepError> {
    let (app_port, pg_port) = p.run(Phase::Ports, || {
        let app = free_port(o.port.unwrap_or(0))?;
        let pg = match database_url {
            Some(_) => 0,
            None => free_port(o.pg_port.unwrap_or(0))?,
        };
        let d = match pg {
            0 => format!("app 127.0.0.1:{app}"),
            pg => format!("app 127.0.0.1:{app}, database 127.0.0.1:{pg}"),
        };
        Ok(((app, pg), d))
    })?;
    let py = p.run(Phase::Python, || {
        python::find(o.python.as_deref()).map(|py| {
            let d = format!("{} ({})", py.path.display(), py.version);
            (py, d)
        })
    })?;
    let tools = p.run(Phase::Tools, || {
        python::ensure_tools(&o.cache, &py, &logs.join("tools.log"))
    })?;
    let db_log = logs.join("postgres.log");
    let (db, url) = p.run(Phase::Database, || match database_url {
        Some(u) => {
            postgres::prepare_external(&tools, u, &db_log).map(|d| ((None, u.to_string()), d))
        }
        None => {
            let dir = work.join("pg");
            mkdir(&dir, Phase::Database)?;
            postgres::start(&tools, &dir, pg_port, &db_log).map(|(pg, d)| {
                let url = pg.url();
                ((Some(pg), url), d)
            })
        }
    })?;
    let psql_bin = match &db {
        Some(pg) => pg.bin.clone(),
        None => postgres::site_packages(&tools)?.join("pgserver/pginstall/bin"),
    };
    let venv_py = p.run(Phase::Venv, || {
        python::ensure_backend_venv(&o.cache, &tools, &py, checkout, &logs.join("venv.log"))
    })?;
    p.run(Phase::Migrate, || {
        platform::migrate(&venv_py, &checkout.backend, &url, &logs.join("migrate.log"))
            .map(|d| ((), d))
    })?;
    let admin_key = platform::new_admin_key();
    p.run(Phase::Seed, || {
        let sql = platform::seed_sql(&admin_key);
        postgres::psql(
            &psql_bin,
            &postgres::libpq_url(&url),
            &[&sql],
            &logs.join("seed.log"),
            Phase::Seed,
        )
        .map(|_| ((), "admin key seeded (not shown)".to_string()))
    })?;
    let launch = Launch::Checkout {
        python: &venv_py,
        backend: &checkout.backend,
        db_url: &url,
    };
    let mut running = Running {
        url: format!("http://127.0.0.1:{app_port}"),
        admin_key,
        app: None,
        db,
    };
    let app = p.run(Phase::Start, || {
        platform::start(
            &launch,
            app_port,
            &running.admin_key,
            &logs.join("platform.log"),
            o.start_timeout,
        )
    })?;
    running.app = Some(app);
    Ok(running)
}

/// A stand-in started by a command, or a target already running.
fn bring_up_other(o: &Options, p: &mut Progress, logs: &Path) -> Result<Running, StepError> {
    match &o.subject {
        Subject::Running { url, admin_key } => Ok(Running {
            url: url.trim_end_matches('/').to_string(),
            admin_key: admin_key.clone(),
            app: None,
            db: None,
        }),
        Subject::Command(shell) => {
            let port = p.run(Phase::Ports, || {
                let port = free_port(o.port.unwrap_or(0))?;
                Ok((port, format!("app 127.0.0.1:{port}")))
            })?;
            let admin_key = platform::new_admin_key();
            let launch = Launch::Command {
                shell,
                db_url: None,
            };
            let app = p.run(Phase::Start, || {
                platform::start(
                    &launch,
                    port,
                    &admin_key,
                    &logs.join("platform.log"),
                    o.start_timeout,
                )
            })?;
            Ok(Running {
                url: format!("http://127.0.0.1:{port}"),
                admin_key,
                app: Some(app),
                db: None,
            })
        }
        Subject::Checkout { .. } => unreachable!("checkouts go through bring_up_checkout"),
    }
}

/// The tools venv when Schemathesis runs without a checkout (a stand-in or a running target).
fn tools_for_stand_in(o: &Options, p: &mut Progress, logs: &Path) -> Result<PathBuf, StepError> {
    p.run(Phase::Tools, || {
        let py = python::find(o.python.as_deref()).unwrap_or(Python {
            path: PathBuf::from("python3"),
            version: String::new(),
        });
        python::ensure_tools(&o.cache, &py, &logs.join("tools.log"))
    })
}

/// dst-sim and Schemathesis against the running app; their findings.
fn run_tools(
    o: &Options,
    dst_opts: Option<&DstOptions>,
    p: &mut Progress,
    up: &Running,
    tools: Option<&Path>,
    logs: &Path,
    artifacts: &mut Vec<String>,
) -> Result<Vec<Finding>, StepError> {
    let mut findings = Vec::new();
    if let Some(d) = dst_opts {
        let out = p.run(Phase::Dst, || {
            dst::run(d, &up.url, &up.admin_key, &o.out, &logs.join("dst.log"))
        })?;
        artifacts.push(out.summary_file.display().to_string());
        findings.extend(out.findings);
    }
    if let Some(s) = &o.schemathesis {
        let key = p.run(Phase::Agent, || platform::register_agent(&up.url))?;
        let mut s = s.clone();
        if let Some(t) = tools {
            s.st = t.join("bin/st");
        }
        let out = p.run(Phase::Schemathesis, || {
            schemathesis::run(&s, &up.url, &key, &o.out, &logs.join("schemathesis.log"))
        })?;
        artifacts.extend(out.files.iter().map(|f| f.display().to_string()));
        findings.extend(out.findings);
    }
    Ok(findings)
}

/// Runs everything and returns the report (also on failure: outcome `error`).
pub fn run(o: &Options) -> Report {
    let mut p = Progress::new(o.quiet);
    let mut rep = Report {
        format: FORMAT,
        outcome: Outcome::Pass,
        platform: String::new(),
        commit: None,
        phases: Vec::new(),
        findings: Vec::new(),
        error: None,
        artifacts: Vec::new(),
    };
    let result = run_inner(o, &mut p, &mut rep);
    rep.phases = p.records.iter().map(Into::into).collect();
    match result {
        Ok(findings) => {
            rep.findings = findings;
            rep.finish();
        }
        Err(e) => {
            rep.outcome = Outcome::Error;
            rep.error = Some(ErrorInfo {
                phase: e.phase.name().to_string(),
                message: e.message,
                log: e.log.map(|l| l.display().to_string()),
                tail: e.tail,
            });
        }
    }
    rep
}

fn run_inner(o: &Options, p: &mut Progress, rep: &mut Report) -> Result<Vec<Finding>, StepError> {
    let checkout = match &o.subject {
        Subject::Checkout { path, backend, .. } => Some(p.run(Phase::Checkout, || {
            Checkout::open(path, backend).map(|c| {
                let d = format!("{} at {}", c.root.display(), c.short_commit());
                (c, d)
            })
        })?),
        Subject::Command(c) => {
            rep.platform = format!("stand-in: {c}");
            None
        }
        Subject::Running { url, .. } => {
            rep.platform = url.clone();
            None
        }
    };
    if let Some(c) = &checkout {
        rep.platform = c.root.display().to_string();
        rep.commit = c.commit.clone();
    }
    mkdir(&o.out, Phase::Checkout)?;
    let logs = o.out.join("logs");
    mkdir(&logs, Phase::Checkout)?;
    // Scratch (the cluster) lives in a temp dir removed on every way out, signals included.
    let scratch = match &o.work_dir {
        Some(w) => {
            mkdir(w, Phase::Checkout)?;
            tempfile::Builder::new()
                .prefix("platform-check-")
                .tempdir_in(w)
        }
        None => tempfile::Builder::new().prefix("platform-check-").tempdir(),
    }
    .map_err(|e| {
        StepError::new(
            Phase::Checkout,
            format!("cannot create a scratch directory: {e}"),
        )
    })?;
    procs::register_scratch(scratch.path());
    let result = (|| {
        let (up, tools) = match (&checkout, &o.subject) {
            (Some(c), Subject::Checkout { database_url, .. }) => {
                let up =
                    bring_up_checkout(o, p, c, database_url.as_deref(), scratch.path(), &logs)?;
                (up, Some(o.cache.join("tools")))
            }
            _ => {
                let up = bring_up_other(o, p, &logs)?;
                let tools = match &o.schemathesis {
                    Some(_) => Some(tools_for_stand_in(o, p, &logs)?),
                    None => None,
                };
                (up, tools)
            }
        };
        // dst-sim gets the checkout's known file unless one was given.
        let dst_opts = o.dst.clone().map(|mut d| {
            if d.known.is_none() {
                d.known = checkout.as_ref().and_then(|c| c.dst_known());
            }
            d
        });
        let mut findings = run_tools(
            o,
            dst_opts.as_ref(),
            p,
            &up,
            tools.as_deref(),
            &logs,
            &mut rep.artifacts,
        )?;
        drop(up);
        let known = o
            .known
            .clone()
            .or_else(|| checkout.as_ref().and_then(|c| c.check_known()));
        if let Some(k) = known {
            let ids: BTreeSet<String> =
                report::known_ids(&k).map_err(|m| StepError::new(Phase::Report, m))?;
            report::apply_known(&mut findings, &ids);
        }
        Ok(findings)
    })();
    procs::forget_scratch(scratch.path());
    result
}
