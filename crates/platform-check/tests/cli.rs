//! platform-check end to end without the platform's code: bad input exits 2 with one clear line,
//! a fake checkout whose migrations fail, the reference platform standing in for the app, merge,
//! Ctrl-C — and after each, nothing it started is still running.
//!
//! The tools venv (pgserver, uv, Schemathesis) comes from scripts/setup.sh; reference-platform and
//! dst-sim from the workspace build (`make test` builds every binary first).

use assert_cmd::cargo::cargo_bin;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Every process platform-check starts inherits this variable; a scan of /proc for its value
/// finds anything left running.
const MARKER_VAR: &str = "DSF_PLATFORM_CHECK_TEST_MARKER";

fn marker() -> String {
    format!(
        "pc-test-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_u64()
    )
}

fn rand_u64() -> u128 {
    let mut b = [0u8; 8];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut b)
    });
    u64::from_le_bytes(b) as u128
}

/// Pids whose environment carries `marker` (other than ourselves).
fn survivors(marker: &str) -> Vec<String> {
    let needle = format!("{MARKER_VAR}={marker}");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(env) = std::fs::read(e.path().join("environ"))
            && env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes())
        {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            out.push(format!(
                "{name}: {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    out
}

/// Waits briefly for stragglers (a SIGKILLed group is reaped by init) and asserts none remain.
fn assert_nothing_left(marker: &str) {
    let t = Instant::now();
    loop {
        let s = survivors(marker);
        if s.is_empty() {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "left running: {s:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
    base.join("dsf-harness/platform-check")
}

/// The tools venv scripts/setup.sh installs (its Python also serves the fake checkout).
fn tools() -> PathBuf {
    let t = cache_dir().join("tools");
    assert!(
        t.join("bin/st").is_file() && t.join("bin/uv").is_file(),
        "the platform-check tools venv is missing at {}: run scripts/setup.sh",
        t.display()
    );
    t
}

fn workspace_bin(name: &str) -> PathBuf {
    let p = cargo_bin(name);
    assert!(
        p.is_file(),
        "{} is not built: cargo build -p {name} (make test builds it)",
        p.display()
    );
    p
}

struct Run {
    cmd: Command,
    marker: String,
    _dirs: Vec<tempfile::TempDir>,
    out: PathBuf,
}

fn pc(args: &[&str]) -> Run {
    let out_dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let marker = marker();
    let mut cmd = Command::new(cargo_bin("platform-check"));
    cmd.arg("run")
        .args(args)
        .arg("--out")
        .arg(out_dir.path())
        .arg("--work-dir")
        .arg(work.path())
        .env(MARKER_VAR, &marker)
        .env_remove("PLATFORM")
        .env_remove("DSF_ADMIN_KEY");
    Run {
        cmd,
        marker,
        out: out_dir.path().to_path_buf(),
        _dirs: vec![out_dir, work],
    }
}

impl Run {
    fn output(mut self) -> (Output, String, Run) {
        let o = self.cmd.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_nothing_left(&self.marker);
        (o, err, self)
    }
}

/// A directory shaped like the platform's checkout with an empty requirements.txt and an
/// `alembic` module of our own that fails the way a broken migration does.
fn fake_checkout(migration_ok: bool) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let b = d.path().join("platform/backend");
    std::fs::create_dir_all(b.join("alembic")).unwrap();
    std::fs::write(b.join("main.py"), "# stand-in\n").unwrap();
    std::fs::write(b.join("alembic.ini"), "[alembic]\n").unwrap();
    std::fs::write(b.join("requirements.txt"), "# nothing to install\n").unwrap();
    std::fs::write(b.join("alembic/__init__.py"), "").unwrap();
    let main = if migration_ok {
        "print('fake alembic: at head')\n"
    } else {
        "import sys\nprint('fake alembic: relation \"worlds\" does not exist', file=sys.stderr)\nsys.exit(1)\n"
    };
    std::fs::write(b.join("alembic/__main__.py"), main).unwrap();
    d
}

fn exit_code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn a_path_that_is_not_a_checkout_exits_2_naming_it() {
    let d = tempfile::tempdir().unwrap();
    let (o, err, _r) = pc(&["--platform", d.path().to_str().unwrap()]).output();
    assert_eq!(exit_code(&o), 2, "{err}");
    assert!(
        err.contains("could not run: checkout: ")
            && err
                .contains("is not a checkout of the platform: platform/backend/main.py is missing"),
        "{err}"
    );
    let missing = pc(&["--platform", "/nonexistent/checkout"]).output();
    assert_eq!(exit_code(&missing.0), 2);
    assert!(
        missing
            .1
            .contains("/nonexistent/checkout is not a checkout of the platform")
    );
}

#[test]
fn a_missing_python_exits_2() {
    let c = fake_checkout(true);
    let given = pc(&[
        "--platform",
        c.path().to_str().unwrap(),
        "--python",
        "/nonexistent/python3.12",
    ])
    .output();
    assert_eq!(exit_code(&given.0), 2, "{}", given.1);
    assert!(
        given
            .1
            .contains("could not run: python: /nonexistent/python3.12 cannot be run as Python"),
        "{}",
        given.1
    );
    // None given and none to find: an empty PATH and a HOME without pyenv.
    let home = tempfile::tempdir().unwrap();
    let mut r = pc(&["--platform", c.path().to_str().unwrap()]);
    r.cmd
        .env("PATH", home.path())
        .env("HOME", home.path())
        .env_remove("PYENV_ROOT");
    let (o, err, _r) = r.output();
    assert_eq!(exit_code(&o), 2, "{err}");
    assert!(
        err.contains("could not run: python: no Python 3.12 found"),
        "{err}"
    );
}

#[test]
fn a_port_in_use_exits_2() {
    let c = fake_checkout(true);
    let busy = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let (o, err, _r) = pc(&["--platform", c.path().to_str().unwrap(), "--port", &port]).output();
    assert_eq!(exit_code(&o), 2, "{err}");
    assert!(
        err.contains(&format!("could not run: ports: 127.0.0.1:{port} is in use")),
        "{err}"
    );
    let (o, err, _r) = pc(&["--platform", c.path().to_str().unwrap(), "--pg-port", &port]).output();
    assert_eq!(exit_code(&o), 2, "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{port} is in use")),
        "{err}"
    );
}

#[test]
fn failing_migrations_exit_2_with_their_log_and_stop_the_database() {
    let tools = tools();
    let c = fake_checkout(false);
    let r = pc(&[
        "--platform",
        c.path().to_str().unwrap(),
        "--python",
        tools.join("bin/python").to_str().unwrap(),
        "--json",
    ]);
    let work = r._dirs[1].path().to_path_buf();
    let (o, err, r) = r.output();
    assert_eq!(exit_code(&o), 2, "{err}");
    assert!(
        err.contains("could not run: migrate: alembic upgrade head failed"),
        "{err}"
    );
    assert!(
        err.contains("relation \"worlds\" does not exist"),
        "the log's tail is shown: {err}"
    );
    // The database phase ran (so PostgreSQL was started and has been stopped again).
    assert!(err.contains("database     ok"), "{err}");
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["outcome"], "error");
    assert_eq!(report["error"]["phase"], "migrate");
    assert!(r.out.join("platform-check-report.md").is_file());
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "the scratch directory with the cluster is removed"
    );
}

fn stand_in_cmd() -> String {
    format!(
        "exec {} --port $PORT --test-mode --fault-control",
        workspace_bin("reference-platform").display()
    )
}

/// A small OpenAPI document of our own for the reference platform's read endpoints.
fn stand_in_schema(dir: &Path) -> PathBuf {
    let p = dir.join("openapi.json");
    let schema = serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "stand-in", "version": "1"},
        "paths": {
            "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/api/worlds/{id}": {"get": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok"}, "404": {"description": "none"}}
            }}
        }
    });
    std::fs::write(&p, schema.to_string()).unwrap();
    p
}

#[test]
fn the_reference_platform_stands_in_for_both_tools() {
    tools();
    let dst = workspace_bin("dst-sim");
    let schema_dir = tempfile::tempdir().unwrap();
    let schema = stand_in_schema(schema_dir.path());
    let cmd = stand_in_cmd();
    let (o, err, r) = pc(&[
        "--start-cmd",
        &cmd,
        "--dst-sim",
        dst.to_str().unwrap(),
        "--seeds",
        "0..2",
        "--steps",
        "40",
        "--schema",
        schema.to_str().unwrap(),
        "--st-budget",
        "3",
        "--json",
    ])
    .output();
    let code = exit_code(&o);
    assert!(code == 0 || code == 1, "{err}");
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        ["ports", "start", "tools", "dst", "agent", "schemathesis"],
        "{err}"
    );
    assert!(
        report["phases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["ok"] == true)
    );
    assert_eq!(report["outcome"] == "pass", code == 0);
    for f in [
        "dst-summary.json",
        "schemathesis-report.json",
        "schemathesis-junit.xml",
        "platform-check-report.md",
    ] {
        assert!(r.out.join(f).is_file(), "{f} kept");
    }
    // Progress: one line per phase on stderr.
    assert!(
        err.lines()
            .filter(|l| l.starts_with("platform-check: "))
            .count()
            >= 6
    );
}

#[test]
fn a_stand_in_that_dies_during_start_exits_2_and_leaves_no_child() {
    // The command forks a long sleeper and exits: the whole group must go.
    let (o, err, _r) = pc(&[
        "--start-cmd",
        "sleep 300 & echo starting; exit 3",
        "--skip",
        "schemathesis",
    ])
    .output();
    assert_eq!(exit_code(&o), 2, "{err}");
    assert!(
        err.contains("could not run: start: the platform exited during start"),
        "{err}"
    );
    assert!(err.contains("starting"), "the start log's tail: {err}");
}

#[test]
fn a_failure_after_start_stops_the_app() {
    let cmd = stand_in_cmd();
    let (o, err, _r) = pc(&[
        "--start-cmd",
        &cmd,
        "--dst-sim",
        "/nonexistent/dst-sim",
        "--skip",
        "schemathesis",
    ])
    .output();
    assert_eq!(exit_code(&o), 2, "{err}");
    assert!(err.contains("start        ok"), "{err}");
    assert!(
        err.contains("could not run: dst: cannot start dst-sim"),
        "{err}"
    );
}

#[test]
fn ctrl_c_stops_everything_it_started() {
    let dst = workspace_bin("dst-sim");
    let cmd = stand_in_cmd();
    let mut r = pc(&[
        "--start-cmd",
        &cmd,
        "--dst-sim",
        dst.to_str().unwrap(),
        "--seeds",
        "0..1000",
        "--steps",
        "200",
        "--skip",
        "schemathesis",
    ]);
    r.cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = r.cmd.spawn().unwrap();
    // Wait until dst-sim runs (its log exists), then interrupt as a terminal would.
    let log = r.out.join("logs/dst.log");
    let t = Instant::now();
    while !log.is_file() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "dst-sim never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(!survivors(&r.marker).is_empty());
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted; stopping everything it started"),
        "{err}"
    );
    assert_nothing_left(&r.marker);
}

#[test]
fn merge_unites_reports_and_exits_as_the_merged_outcome() {
    let d = tempfile::tempdir().unwrap();
    let mk = |name: &str, id: &str, known: bool| {
        let r = serde_json::json!({
            "format": 1, "outcome": "pass", "platform": "p", "commit": "abc", "phases": [],
            "findings": [{"tool": "dst", "id": id, "title": "t", "code": "invariant",
                          "severity": "high", "count": 1, "known": known}],
            "error": null, "artifacts": []
        });
        let p = d.path().join(name);
        std::fs::File::create(&p)
            .unwrap()
            .write_all(r.to_string().as_bytes())
            .unwrap();
        p
    };
    let a = mk("a.json", "dst:x", true);
    let b = mk("b.json", "dst:x", true);
    let o = Command::new(cargo_bin("platform-check"))
        .arg("merge")
        .args([&a, &b])
        .output()
        .unwrap();
    assert_eq!(exit_code(&o), 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 new, 1 known"));
    let c = mk("c.json", "dst:y", false);
    let o = Command::new(cargo_bin("platform-check"))
        .arg("merge")
        .args([&a, &c])
        .output()
        .unwrap();
    assert_eq!(exit_code(&o), 1);
    let bad = d.path().join("bad.json");
    std::fs::write(&bad, "{").unwrap();
    let o = Command::new(cargo_bin("platform-check"))
        .args(["merge"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(exit_code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a platform-check report"));
}

#[test]
fn setup_installs_the_pins_the_tool_expects() {
    let setup = include_str!("../../../scripts/setup.sh");
    for pin in platform_check::python::TOOL_PINS {
        assert!(setup.contains(pin), "scripts/setup.sh must install {pin}");
    }
}
