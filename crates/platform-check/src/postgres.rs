//! The private PostgreSQL: the `pgserver` wheel's PostgreSQL 16 with pgvector, its own cluster in
//! the run's scratch directory, on a loopback port, stopped with the run.

use crate::error::StepError;
use crate::phase::Phase;
use crate::procs::{Group, run_logged};
use rustix::process::Signal;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Role, password and database the app connects as (the platform's own defaults).
pub const DB_USER: &str = "deepsci";
pub const DB_NAME: &str = "deepsci";

/// The platform's first migration runs `CREATE EXTENSION "uuid-ossp"` and uses only
/// `uuid_generate_v4()`; pgserver's wheel ships no contrib modules, so the cluster gets this
/// SQL-only stand-in built on PostgreSQL's own `gen_random_uuid()`.
const UUID_OSSP_CONTROL: &str = "# stand-in for contrib uuid-ossp: uuid_generate_v4() only\n\
default_version = '1.1'\nrelocatable = true\ntrusted = true\n";
const UUID_OSSP_SQL: &str = "CREATE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql \
VOLATILE PARALLEL SAFE AS 'SELECT gen_random_uuid()';\n";

/// A running private cluster; dropping it stops PostgreSQL.
#[derive(Debug)]
pub struct Postgres {
    pub port: u16,
    pub bin: PathBuf,
    group: Group,
}

impl Postgres {
    /// `postgresql://deepsci:deepsci@127.0.0.1:PORT/deepsci`.
    pub fn url(&self) -> String {
        format!(
            "postgresql://{DB_USER}:{DB_USER}@127.0.0.1:{}/{DB_NAME}",
            self.port
        )
    }

    pub fn log(&self) -> &Path {
        &self.group.log
    }

    pub fn pgid(&self) -> i32 {
        self.group.pgid()
    }
}

/// The pgserver wheel's site-packages directory inside the tools venv.
pub fn site_packages(tools: &Path) -> Result<PathBuf, StepError> {
    let lib = tools.join("lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|rd| {
        rd.flatten()
            .map(|e| e.path().join("site-packages"))
            .find(|p| p.join("pgserver/pginstall/bin/postgres").is_file())
    });
    found.ok_or_else(|| {
        StepError::new(
            Phase::Database,
            format!(
                "pgserver's PostgreSQL is not in {} (run scripts/setup.sh)",
                tools.display()
            ),
        )
    })
}

/// Copies `from` into `to` (files with their modes, symlinks as symlinks), skipping headers and
/// static libraries the server never loads.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let name = e.file_name();
        let n = name.to_string_lossy();
        if n == "include" || n.ends_with(".a") {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        let ft = e.file_type()?;
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if ft.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// The unprivileged account PostgreSQL runs as when we are root (it refuses to run as root).
fn service_account() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() > 3 && f[0] == wanted {
                return Some((f[2].parse().ok()?, f[3].parse().ok()?));
            }
        }
    }
    None
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> StepError {
    StepError::new(
        Phase::Database,
        format!("cannot {what} {}: {e}", path.display()),
    )
}

/// Lays out the server under `dir/install` (the wheel keeps its shared libraries two levels above
/// `bin`, so the copy keeps that shape) with the uuid-ossp stand-in; returns its `bin`.
fn install(tools: &Path, dir: &Path) -> Result<PathBuf, StepError> {
    let sp = site_packages(tools)?;
    let root = dir.join("install");
    let pginstall = root.join("pgserver/pginstall");
    copy_tree(&sp.join("pgserver/pginstall"), &pginstall)
        .map_err(|e| io_err("copy PostgreSQL into", &pginstall, e))?;
    copy_tree(&sp.join("pgserver.libs"), &root.join("pgserver.libs"))
        .map_err(|e| io_err("copy PostgreSQL's libraries into", &root, e))?;
    let ext = pginstall.join("share/postgresql/extension");
    std::fs::write(ext.join("uuid-ossp.control"), UUID_OSSP_CONTROL)
        .and_then(|_| std::fs::write(ext.join("uuid-ossp--1.1.sql"), UUID_OSSP_SQL))
        .map_err(|e| io_err("write the uuid-ossp stand-in into", &ext, e))?;
    Ok(pginstall.join("bin"))
}

/// A command that runs as the service account when we are root.
fn as_service(program: PathBuf, account: Option<(u32, u32)>) -> Command {
    let mut c = Command::new(program);
    if let Some((uid, gid)) = account {
        c.uid(uid).gid(gid);
    }
    c
}

/// Runs each statement (its own transaction: CREATE DATABASE cannot share one) against `url`
/// with psql, stopping at the first error.
pub fn psql(
    bin: &Path,
    url: &str,
    sql: &[&str],
    log: &Path,
    phase: Phase,
) -> Result<(), StepError> {
    let mut c = Command::new(bin.join("psql"));
    c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
    for s in sql {
        c.args(["-c", s]);
    }
    run_logged(phase, "psql", c, log, Some(Duration::from_secs(60)))
}

/// Starts a fresh cluster in `dir` on `port` and creates the app's role, database and `vector`.
pub fn start(
    tools: &Path,
    dir: &Path,
    port: u16,
    log: &Path,
) -> Result<(Postgres, String), StepError> {
    let bin = install(tools, dir)?;
    let account = if rustix::process::geteuid().is_root() {
        Some(service_account().ok_or_else(|| {
            StepError::new(
                Phase::Database,
                "running as root and no postgres/nobody account to run PostgreSQL as",
            )
        })?)
    } else {
        None
    };
    let cluster = dir.join("cluster");
    std::fs::create_dir_all(&cluster).map_err(|e| io_err("create", &cluster, e))?;
    if let Some((uid, gid)) = account {
        // The account must reach the copy and own the cluster directory.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| io_err("open up", dir, e))?;
        std::os::unix::fs::chown(&cluster, Some(uid), Some(gid))
            .map_err(|e| io_err("chown", &cluster, e))?;
    }
    let data = cluster.join("data");
    let mut initdb = as_service(bin.join("initdb"), account);
    initdb.arg("-D").arg(&data).args([
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
    ]);
    run_logged(
        Phase::Database,
        "initdb",
        initdb,
        log,
        Some(Duration::from_secs(120)),
    )?;
    let mut server = as_service(bin.join("postgres"), account);
    server
        .arg("-D")
        .arg(&data)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
        .arg(&cluster)
        // A throwaway cluster: durability off; room for the app's pool plus the tools.
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ])
        .args(["-c", "max_connections=200"]);
    let mut group = Group::spawn(Phase::Database, "postgres", server, log, Signal::QUIT)?;
    let t = Instant::now();
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args([
                "-q",
                "-U",
                "postgres",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            break;
        }
        if let Some(s) = group.try_wait() {
            return Err(StepError::new(
                Phase::Database,
                format!("postgres exited during start ({s})"),
            )
            .with_log(log));
        }
        if t.elapsed() > Duration::from_secs(60) {
            return Err(StepError::new(
                Phase::Database,
                "postgres did not accept connections within 60 s",
            )
            .with_log(log));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let admin = format!("postgresql://postgres@127.0.0.1:{port}/postgres");
    psql(
        &bin,
        &admin,
        &[
            &format!("CREATE ROLE {DB_USER} LOGIN SUPERUSER PASSWORD '{DB_USER}'"),
            &format!("CREATE DATABASE {DB_NAME} OWNER {DB_USER}"),
        ],
        log,
        Phase::Database,
    )?;
    let pg = Postgres { port, bin, group };
    psql(
        &pg.bin,
        &pg.url(),
        &["CREATE EXTENSION IF NOT EXISTS vector"],
        log,
        Phase::Database,
    )?;
    let detail = format!("PostgreSQL 16 + pgvector on 127.0.0.1:{port}");
    Ok((pg, detail))
}

/// Prepares a database someone else runs (CI's service container): the `vector` extension.
pub fn prepare_external(tools: &Path, url: &str, log: &Path) -> Result<String, StepError> {
    let sp = site_packages(tools)?;
    let bin = sp.join("pgserver/pginstall/bin");
    psql(
        &bin,
        &libpq_url(url),
        &["CREATE EXTENSION IF NOT EXISTS vector"],
        log,
        Phase::Database,
    )?;
    Ok(format!("external database {}", redact(url)))
}

/// A SQLAlchemy URL (`postgresql+asyncpg://`) as libpq reads it.
pub fn libpq_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if scheme.starts_with("postgresql") || scheme == "postgres" => {
            format!("postgresql://{rest}")
        }
        _ => url.to_string(),
    }
}

/// The URL without its password, for logs and reports.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((cred, host)) => {
            let user = cred.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised_and_redacted() {
        assert_eq!(
            libpq_url("postgresql+asyncpg://u:p@h:5432/d"),
            "postgresql://u:p@h:5432/d"
        );
        assert_eq!(libpq_url("postgres://u@h/d"), "postgresql://u@h/d");
        assert_eq!(
            redact("postgresql://u:secret@h:1/d"),
            "postgresql://u:***@h:1/d"
        );
        assert_eq!(redact("postgresql://h/d"), "postgresql://h/d");
    }
}
