//! Shared test helpers: a scratch git project with `origin` and `upstream` remotes, the binary run
//! with a clean environment, and GitHub workflow-run bodies.
#![allow(dead_code)]

use markers::MarkerStore;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const GH_TOKEN: &str = "ghp_TESTSECRETgithubTOKEN0123456789";
pub const LF_TOKEN: &str = "pylf_v1_us_TESTSECRETlogfireTOKEN0123";
pub const OLD_SHA: &str = "fedcba9876543210fedcba9876543210fedcba98";

pub struct Project {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub markers: PathBuf,
    pub sha: String,
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Project {
    /// A repository on `main` with one commit; `origin` = acme/app, `upstream` = upstream-org/app.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("app");
        std::fs::create_dir(&root).unwrap();
        git(&root, &["init", "-q", "-b", "main"]);
        git(&root, &["commit", "-q", "--allow-empty", "-m", "first"]);
        git(
            &root,
            &[
                "remote",
                "add",
                "upstream",
                "https://github.com/upstream-org/app.git",
            ],
        );
        git(
            &root,
            &["remote", "add", "origin", "git@github.com:acme/app.git"],
        );
        let sha = git(&root, &["rev-parse", "HEAD"]);
        let root = root.canonicalize().unwrap();
        Project {
            markers: dir.path().join("markers"),
            _dir: dir,
            root,
            sha,
        }
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.root, args)
    }

    pub fn write_config(&self, toml: &str) {
        std::fs::write(self.root.join("harness.toml"), toml).unwrap();
    }

    pub fn store(&self) -> MarkerStore {
        MarkerStore::open_in(&self.markers, &self.root).unwrap()
    }

    /// The binary in the project, with no tokens or CI variables from the outer environment.
    pub fn command(&self, args: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_verify-deployment"));
        c.current_dir(&self.root)
            .args(args)
            .env("HARNESS_MARKER_DIR", &self.markers)
            .env("NO_COLOR", "1");
        for k in [
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "GITHUB_API_URL",
            "LOGFIRE_READ_TOKEN",
            "LOGFIRE_BASE_URL",
            "GITHUB_ACTIONS",
            "GITHUB_STEP_SUMMARY",
            "XDG_STATE_HOME",
        ] {
            c.env_remove(k);
        }
        for (k, v) in envs {
            c.env(k, v);
        }
        c
    }

    /// Runs the binary off the async runtime (the servers it talks to live on the runtime).
    pub async fn run(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let mut c = self.command(args, envs);
        let out = tokio::task::spawn_blocking(move || c.output().expect("binary runs"))
            .await
            .unwrap();
        Run::from(out)
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Asserts the exit code and that no token appears anywhere in the output.
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self.no_secrets()
    }

    pub fn no_secrets(&self) -> &Self {
        for secret in [GH_TOKEN, LF_TOKEN, "TESTSECRET"] {
            assert!(
                !self.all().contains(secret),
                "a token leaked:\n{}",
                self.all()
            );
        }
        self
    }

    pub fn says(&self, needle: &str) -> &Self {
        assert!(
            self.all().contains(needle),
            "expected {needle:?} in\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// `{"total_count": n, "workflow_runs": [...]}` from (id, sha, event, status, conclusion).
pub fn runs(list: &[(u64, &str, &str, &str, Option<&str>)]) -> serde_json::Value {
    let runs: Vec<_> = list
        .iter()
        .map(|(id, sha, event, status, concl)| {
            serde_json::json!({
                "id": id, "name": format!("workflow-{id}"), "workflow_id": id, "head_sha": sha,
                "head_branch": "main", "event": event, "status": status, "conclusion": concl,
                "html_url": format!("https://github.com/acme/app/actions/runs/{id}"),
                "run_attempt": 1, "created_at": "2026-11-24T10:00:00Z"
            })
        })
        .collect();
    serde_json::json!({"total_count": runs.len(), "workflow_runs": runs})
}

/// Fast waits for tests: poll every 20 ms.
pub const FAST: &[&str] = &["--poll-interval", "20ms"];
