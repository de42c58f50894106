//! The known-violations file (`--known`, TOML): violation classes a team has accepted for now, each
//! with a reason and an optional issue link. A run marks the classes it finds as known or new (a
//! new class fails the run); an entry whose class no longer occurs is reported as stale, so the file
//! only shrinks (a ratchet). `dst-sim run --write-known` writes the run's classes into it, keeping
//! the reasons of the entries that still occur.
//!
//! ```toml
//! [[known]]
//! class = "8-one-world-per-proposal resolve_item: approved proposal <id>: resulting_world_id is None, its world is <id>"
//! reason = "the platform never sets the backlink"
//! issue = "https://github.com/…/issues/…"
//! ```

use crate::report::Summary;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The reason `--write-known` gives a class nobody has triaged yet.
pub const UNTRIAGED: &str = "not triaged yet";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KnownFile {
    #[serde(default, rename = "known")]
    pub entries: Vec<KnownEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownEntry {
    /// The class key as a run reports it: `invariant operation: shape`.
    pub class: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KnownError {
    #[error("cannot read the known-violations file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a known-violations file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write the known-violations file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl KnownFile {
    /// Reads `path`; a missing file is an empty one only when it is about to be written.
    pub fn load(path: &Path, may_be_missing: bool) -> Result<KnownFile, KnownError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if may_be_missing && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(KnownFile::default());
            }
            Err(source) => {
                return Err(KnownError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|e| KnownError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), KnownError> {
        let body = toml::to_string(self).map_err(|e| KnownError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let text = format!(
            "# dst-sim known violations: classes accepted for now (see docs/dst.md).\n\
             # A class not listed here fails the run; an entry that no longer occurs is reported stale.\n\n{body}"
        );
        std::fs::write(path, text).map_err(|source| KnownError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The run's classes, keeping the reason and issue of entries that still occur; entries that
    /// no longer occur are dropped.
    pub fn from_summary(previous: &KnownFile, summary: &Summary) -> KnownFile {
        let entries = summary
            .classes
            .iter()
            .map(|c| {
                previous
                    .entries
                    .iter()
                    .find(|e| e.class == c.key)
                    .cloned()
                    .unwrap_or_else(|| KnownEntry {
                        class: c.key.clone(),
                        reason: UNTRIAGED.into(),
                        issue: None,
                    })
            })
            .collect();
        KnownFile { entries }
    }

    /// Marks the summary's known classes (with their reason) and lists the stale entries.
    pub fn apply(&self, summary: &mut Summary) {
        for c in &mut summary.classes {
            if let Some(e) = self.entries.iter().find(|e| e.class == c.key) {
                c.known = true;
                c.reason = Some(e.reason.clone());
                c.issue = e.issue.clone();
            }
        }
        summary.stale_known = self
            .entries
            .iter()
            .filter(|e| !summary.classes.iter().any(|c| c.key == e.class))
            .map(|e| e.class.clone())
            .collect();
    }
}

/// The `[dst]` section of `harness.toml`.
#[derive(Debug, Default, Deserialize)]
pub struct DstSection {
    /// The known-violations file, relative to the project root.
    pub known: Option<PathBuf>,
}

/// The known-violations file `harness.toml` names (`[dst] known = "…"`), if the current directory is
/// in a project whose configuration names one.
pub fn default_path() -> Result<Option<PathBuf>, String> {
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(None);
    };
    let Ok(root) = markers::project_root(&cwd) else {
        return Ok(None);
    };
    let config = markers::HarnessConfig::load(&root).map_err(|e| e.to_string())?;
    let section: Option<DstSection> = config.section("dst").map_err(|e| e.to_string())?;
    Ok(section.and_then(|s| s.known).map(|p| root.join(p)))
}
