//! What makes a directory a checkout of the platform, and which commit it is.

use crate::error::StepError;
use crate::phase::Phase;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the backend lives inside a checkout of nerdsane/deep-sci-fi (`--backend` overrides).
pub const BACKEND_DIR: &str = "platform/backend";
/// Files the backend must have for this tool to run it (app, migrations, requirements).
const REQUIRED: [&str; 3] = ["main.py", "alembic.ini", "requirements.txt"];
/// dst-sim's acknowledged-violations file, looked for at the checkout's root.
pub const DST_KNOWN_FILE: &str = "dst-known.toml";
/// A previous platform-check JSON report whose findings count as known (a ratchet).
pub const CHECK_KNOWN_FILE: &str = "platform-check-known.json";

#[derive(Debug, Clone, Serialize)]
pub struct Checkout {
    pub root: PathBuf,
    pub backend: PathBuf,
    /// HEAD commit, when the checkout is a git work tree.
    pub commit: Option<String>,
    /// HEAD's committer date (ISO 8601): the pin for resolving requirements.txt.
    pub commit_date: Option<String>,
}

impl Checkout {
    /// Checks that `root` holds the platform's backend in `backend_rel`; reads its commit when it
    /// is a git tree.
    pub fn open(root: &Path, backend_rel: &str) -> Result<Checkout, StepError> {
        let root = root.canonicalize().map_err(|e| {
            StepError::new(
                Phase::Checkout,
                format!("{} is not a checkout of the platform: {e}", root.display()),
            )
        })?;
        let backend_rel = backend_rel.trim_end_matches('/');
        let backend = root.join(backend_rel);
        for f in REQUIRED {
            if !backend.join(f).is_file() {
                return Err(StepError::new(
                    Phase::Checkout,
                    format!(
                        "{} is not a checkout of the platform: {backend_rel}/{f} is missing",
                        root.display()
                    ),
                ));
            }
        }
        let git = |args: &[&str]| -> Option<String> {
            let out = Command::new("git")
                .arg("-C")
                .arg(&root)
                .args(args)
                .output()
                .ok()?;
            let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
            (out.status.success() && !s.is_empty()).then_some(s)
        };
        let commit = git(&["rev-parse", "HEAD"]);
        let commit_date = commit
            .as_ref()
            .and_then(|_| git(&["log", "-1", "--format=%cI", "HEAD"]));
        Ok(Checkout {
            root,
            backend,
            commit,
            commit_date,
        })
    }

    /// The checkout's dst-sim known file, if it ships one.
    pub fn dst_known(&self) -> Option<PathBuf> {
        let p = self.root.join(DST_KNOWN_FILE);
        p.is_file().then_some(p)
    }

    /// The checkout's accepted platform-check findings, if it ships them.
    pub fn check_known(&self) -> Option<PathBuf> {
        let p = self.root.join(CHECK_KNOWN_FILE);
        p.is_file().then_some(p)
    }

    pub fn short_commit(&self) -> &str {
        self.commit
            .as_deref()
            .map_or("(not a git tree)", |c| &c[..c.len().min(7)])
    }
}
