//! Python: the interpreter, the cached tools venv (pgserver, uv, Schemathesis) and the checkout's
//! backend venv, cached by what decides its contents.

use crate::checkout::Checkout;
use crate::error::StepError;
use crate::phase::Phase;
use crate::procs::run_logged;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The tools venv's pins, one line; `scripts/setup.sh` installs exactly these (a test keeps the
/// two in step). pgserver's wheel carries PostgreSQL 16 with pgvector's `vector.so`; uv resolves
/// and installs the backend's requirements; Schemathesis fuzzes the OpenAPI schema.
pub const TOOL_PINS: [&str; 3] = ["pgserver==0.1.4", "uv==0.13.9", "schemathesis==4.32.5"];

/// The Python the backend needs (pyproject says >=3.11; the platform runs on 3.12).
pub const WANTED: &str = "3.12";

#[derive(Debug, Clone)]
pub struct Python {
    pub path: PathBuf,
    pub version: String,
}

/// Runs `python` and reads its version; None when it cannot be run.
fn probe(python: &Path) -> Option<String> {
    let out = Command::new(python)
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        .output()
        .ok()?;
    let v = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !v.is_empty()).then_some(v)
}

/// Candidates for Python 3.12 when none is given: `python3.12` on PATH (pyenv shims that refuse to
/// run are skipped by the probe), then pyenv's versions directory.
fn candidates() -> Vec<PathBuf> {
    let mut c = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("python3.12");
            if p.is_file() {
                c.push(p);
            }
        }
    }
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    if let Some(root) = pyenv
        && let Ok(rd) = std::fs::read_dir(root.join("versions"))
    {
        let mut vs: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("3.12"))
            .map(|e| e.path().join("bin/python3.12"))
            .collect();
        vs.sort();
        c.extend(vs.into_iter().rev());
    }
    c
}

/// The interpreter to use: `given`, or the first working Python 3.12 found.
pub fn find(given: Option<&Path>) -> Result<Python, StepError> {
    if let Some(p) = given {
        let version = probe(p).ok_or_else(|| {
            StepError::new(
                Phase::Python,
                format!("{} cannot be run as Python", p.display()),
            )
        })?;
        let minor_ok = version
            .split('.')
            .take(2)
            .map(|s| s.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
            >= vec![3, 11];
        if !minor_ok {
            return Err(StepError::new(
                Phase::Python,
                format!(
                    "{} is Python {version}; the platform needs {WANTED}",
                    p.display()
                ),
            ));
        }
        return Ok(Python {
            path: p.to_path_buf(),
            version,
        });
    }
    for p in candidates() {
        if let Some(version) = probe(&p) {
            return Ok(Python { path: p, version });
        }
    }
    Err(StepError::new(
        Phase::Python,
        format!("no Python {WANTED} found (python3.12 on PATH or pyenv); pass --python"),
    ))
}

/// The tools venv under `cache`: created (with pip, binary wheels only) when its pins differ.
pub fn ensure_tools(
    cache: &Path,
    python: &Python,
    log: &Path,
) -> Result<(PathBuf, String), StepError> {
    let dir = cache.join("tools");
    let pins = TOOL_PINS.join(" ");
    let pins_file = dir.join(".pins");
    let ready = std::fs::read_to_string(&pins_file).is_ok_and(|s| s.trim() == pins)
        && dir.join("bin/uv").is_file()
        && dir.join("bin/st").is_file();
    if ready {
        return Ok((dir, format!("cached ({pins})")));
    }
    std::fs::create_dir_all(cache).map_err(|e| {
        StepError::new(
            Phase::Tools,
            format!("cannot create {}: {e}", cache.display()),
        )
    })?;
    let mut venv = Command::new(&python.path);
    venv.args(["-m", "venv", "--clear"]).arg(&dir);
    run_logged(Phase::Tools, "python -m venv (tools)", venv, log, None)?;
    let mut pip = Command::new(dir.join("bin/python"));
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
    ])
    .args(TOOL_PINS);
    run_logged(Phase::Tools, "pip install (tools)", pip, log, None)?;
    std::fs::write(&pins_file, format!("{pins}\n")).map_err(|e| {
        StepError::new(
            Phase::Tools,
            format!("cannot write {}: {e}", pins_file.display()),
        )
    })?;
    Ok((dir, format!("installed {pins}")))
}

/// What decides the backend venv's contents: the interpreter, requirements.txt, the resolution
/// date and uv's version. The backend's uv.lock covers pyproject.toml, which lacks packages
/// main.py imports (pgvector, slowapi, logfire...), so requirements.txt resolved as of the
/// commit's date is the pin that reproduces.
pub fn venv_key(python: &Python, requirements: &[u8], exclude_newer: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(python.version.as_bytes());
    h.update(b"\0");
    h.update(requirements);
    h.update(b"\0");
    h.update(exclude_newer.unwrap_or("-").as_bytes());
    h.update(b"\0");
    h.update(TOOL_PINS.join(" ").as_bytes());
    let d = h.finalize();
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The backend venv for `checkout`, built once per key under `cache/venvs`.
pub fn ensure_backend_venv(
    cache: &Path,
    tools: &Path,
    python: &Python,
    checkout: &Checkout,
    log: &Path,
) -> Result<(PathBuf, String), StepError> {
    let req_path = checkout.backend.join("requirements.txt");
    let req = std::fs::read(&req_path).map_err(|e| {
        StepError::new(
            Phase::Venv,
            format!("cannot read {}: {e}", req_path.display()),
        )
    })?;
    let date = checkout.commit_date.as_deref();
    let key = venv_key(python, &req, date);
    let dir = cache.join("venvs").join(&key);
    let py = dir.join("venv/bin/python");
    if dir.join(".complete").is_file() && py.is_file() {
        return Ok((py, format!("cached venv {key}")));
    }
    let tmp = cache
        .join("venvs")
        .join(format!("{key}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| {
        StepError::new(Phase::Venv, format!("cannot create {}: {e}", tmp.display()))
    })?;
    let uv = tools.join("bin/uv");
    let tmp_py = tmp.join("venv/bin/python");
    let lock = tmp.join("requirements.lock.txt");
    let mut venv = Command::new(&uv);
    venv.args(["venv", "--quiet", "--python"])
        .arg(&python.path)
        .arg(tmp.join("venv"));
    run_logged(Phase::Venv, "uv venv", venv, log, None)?;
    let mut compile = Command::new(&uv);
    compile
        .args(["pip", "compile", "--quiet", "--python"])
        .arg(&tmp_py)
        .arg(&req_path)
        .arg("-o")
        .arg(&lock);
    if let Some(d) = date {
        compile.args(["--exclude-newer", d]);
    }
    run_logged(
        Phase::Venv,
        "uv pip compile requirements.txt",
        compile,
        log,
        None,
    )?;
    let mut sync = Command::new(&uv);
    sync.args(["pip", "sync", "--quiet", "--python"])
        .arg(&tmp_py)
        .arg(&lock);
    run_logged(Phase::Venv, "uv pip sync", sync, log, None)?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(|e| {
        StepError::new(
            Phase::Venv,
            format!("cannot move the venv into {}: {e}", dir.display()),
        )
    })?;
    std::fs::write(dir.join(".complete"), "").map_err(|e| {
        StepError::new(
            Phase::Venv,
            format!("cannot mark {} complete: {e}", dir.display()),
        )
    })?;
    let pinned = date.map_or("unpinned (not a git tree)".to_string(), |d| {
        format!("resolved as of {d}")
    });
    Ok((py, format!("built venv {key}, {pinned}")))
}
