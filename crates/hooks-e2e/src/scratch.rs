//! A scratch project for one session: a git repo on `main` with one commit, a bare remote as `origin`,
//! our hooks installed with `make install-hooks PROJECT=<repo>`, an isolated HOME and marker dir.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use crate::client::{run_bounded, workspace_root};

const GIT_TIMEOUT: Duration = Duration::from_secs(60);
/// `make install-hooks` builds the hooks in release mode (a no-op when up to date).
pub const INSTALL_HOOKS_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Scratch {
    /// Owns every path below; removed on drop.
    pub dir: tempfile::TempDir,
    /// The working repository (the client's cwd and `$CLAUDE_PROJECT_DIR`).
    pub repo: PathBuf,
    /// The bare remote `origin` points at.
    pub remote: PathBuf,
    /// HOME and CLAUDE_CONFIG_DIR of the client.
    pub home: PathBuf,
    /// HARNESS_MARKER_DIR for the hooks and the markers CLI.
    pub markers: PathBuf,
    /// SHA of the commit on `main` that the session pushes.
    pub head_sha: String,
}

/// Runs git with a fixed identity and no user/system config.
pub async fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "hooks-e2e")
        .env("GIT_AUTHOR_EMAIL", "hooks-e2e@example.invalid")
        .env("GIT_COMMITTER_NAME", "hooks-e2e")
        .env("GIT_COMMITTER_EMAIL", "hooks-e2e@example.invalid");
    let out = run_bounded(cmd, GIT_TIMEOUT)
        .await
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.code != Some(0) {
        return Err(format!("git {args:?} failed: {}", out.stderr.trim()));
    }
    Ok(out.stdout.trim().to_string())
}

impl Scratch {
    /// Creates the repo, its bare remote and one commit on `main`. `harness_toml`, when given, is
    /// written at the repo root (and committed), as a project would configure the gate.
    pub async fn new(harness_toml: Option<&str>) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("hooks-e2e-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        // Canonical: the hooks key markers by the canonical git top-level.
        let root = dir
            .path()
            .canonicalize()
            .map_err(|e| format!("canonicalize: {e}"))?;
        let repo = root.join("project");
        let remote = root.join("remote.git");
        let home = root.join("home");
        let markers = root.join("markers");
        for d in [&repo, &home] {
            std::fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
        }
        git(&root, &["init", "-q", "--bare", "-b", "main", "remote.git"]).await?;
        git(&repo, &["init", "-q", "-b", "main"]).await?;
        std::fs::write(repo.join("README.md"), "scratch project for hooks-e2e\n")
            .map_err(|e| format!("write README: {e}"))?;
        if let Some(toml) = harness_toml {
            std::fs::write(repo.join("harness.toml"), toml)
                .map_err(|e| format!("write harness.toml: {e}"))?;
        }
        git(&repo, &["add", "-A"]).await?;
        git(&repo, &["commit", "-q", "-m", "scratch: first commit"]).await?;
        git(
            &repo,
            &["remote", "add", "origin", &remote.display().to_string()],
        )
        .await?;
        let head_sha = git(&repo, &["rev-parse", "HEAD"]).await?;
        Ok(Self {
            dir,
            repo,
            remote,
            home,
            markers,
            head_sha,
        })
    }

    /// Why our hooks cannot be installed in this checkout at all (`None`: they can). Only their absence
    /// is a reason to skip; a failing install is a test failure.
    pub fn hooks_missing() -> Option<String> {
        let root = workspace_root();
        ["hooks/settings.json", "scripts/install-hooks.sh"]
            .iter()
            .find(|p| !root.join(p).is_file())
            .map(|p| format!("{p} is not in this checkout"))
    }

    /// `make install-hooks PROJECT=<repo>`: the documented way a user wires our hooks.
    pub async fn install_hooks(&self) -> Result<(), String> {
        let root = workspace_root();
        let mut cmd = Command::new("make");
        cmd.current_dir(&root).args([
            "-s",
            "install-hooks",
            &format!("PROJECT={}", self.repo.display()),
        ]);
        let out = run_bounded(cmd, INSTALL_HOOKS_TIMEOUT)
            .await
            .map_err(|e| format!("cannot run make: {e}"))?;
        if out.code != Some(0) {
            return Err(format!(
                "make install-hooks failed (exit {:?}): {}{}",
                out.code,
                out.stdout.trim(),
                out.stderr.trim()
            ));
        }
        if !self.settings_path().is_file() {
            return Err(format!(
                "make install-hooks wrote no {}",
                self.settings_path().display()
            ));
        }
        Ok(())
    }

    /// Where `make install-hooks` put our binaries (`hook-post-push`, `hook-stop`, `harness-markers`).
    pub fn bin_dir(&self) -> PathBuf {
        self.repo.join(".claude/bin")
    }

    pub fn settings_path(&self) -> PathBuf {
        self.repo.join(".claude/settings.json")
    }

    /// What the bare remote's `main` points at (empty when nothing was pushed).
    pub async fn remote_main(&self) -> String {
        git(
            &self.remote,
            &["rev-parse", "--verify", "-q", "refs/heads/main"],
        )
        .await
        .unwrap_or_default()
    }
}
