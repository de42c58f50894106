//! The per-user, per-project marker directory and its JSON markers.
//!
//! Layout: `<base>/<project-name>-<hash of canonical root>/{push-pending,deploy-verified,stop-blocks}.json`
//! where `<base>` is `$HARNESS_MARKER_DIR`, else `$XDG_STATE_HOME/dsf-harness`, else
//! `~/.local/state/dsf-harness`. Markers are keyed by project (never by process id, never global in
//! /tmp), so one project's push never blocks another's session, and every hook invocation of the
//! same project finds the same files.
//!
//! Safety: directories are created 0700; a directory that is a symlink or owned by another user is
//! refused with a clear error; files are written 0600 to a unique temp file and renamed into place,
//! so a reader sees either the old or the new marker, never half of one.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub const PUSH_PENDING: &str = "push-pending.json";
pub const DEPLOY_VERIFIED: &str = "deploy-verified.json";
pub const STOP_BLOCKS: &str = "stop-blocks.json";
/// Markers larger than this are not ours; refuse rather than parse.
const MAX_MARKER_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    #[error(
        "marker directory {0} is a symlink; refusing to use it (remove it, the harness recreates it)"
    )]
    Symlink(PathBuf),
    #[error(
        "marker directory {path} is owned by uid {owner}, not by you (uid {me}); refusing to use it"
    )]
    ForeignOwner { path: PathBuf, owner: u32, me: u32 },
    #[error("marker path {0} exists but is not a directory")]
    NotADirectory(PathBuf),
    #[error("marker file {0} is a symlink or not a regular file; refusing to read it")]
    NotAFile(PathBuf),
    #[error("no marker directory: set HARNESS_MARKER_DIR or HOME")]
    NoBase,
    #[error("marker I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("marker {path} is corrupt ({message}); `harness-markers clear` removes it")]
    Corrupt { path: PathBuf, message: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MarkerError + '_ {
    move |source| MarkerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Written by hook-post-push when a push to a deploying branch succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPending {
    pub branch: String,
    pub environment: String,
    pub sha: String,
    pub command: String,
    pub session_id: String,
    pub time: Timestamp,
    /// Human-readable `time`, for people reading the file.
    #[serde(default)]
    pub time_utc: String,
}

/// Written by verify-deployment (or `harness-markers verify`) when every check passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployVerified {
    pub environment: String,
    pub sha: String,
    pub time: Timestamp,
    pub checks: Vec<String>,
    #[serde(default)]
    pub time_utc: String,
}

impl PushPending {
    pub fn is_expired(&self, expiry: Duration, now: Timestamp) -> bool {
        self.time.age(now) > expiry
    }

    /// True when `v` verifies exactly this push: same environment, same SHA, written after it.
    /// A push whose SHA could not be resolved (empty `sha`, e.g. `gh pr merge` without `gh`) is
    /// verified by any verification of its environment written after it.
    pub fn is_verified_by(&self, v: &DeployVerified) -> bool {
        v.environment == self.environment
            && v.time >= self.time
            && (self.sha.is_empty() || shas_match(&v.sha, &self.sha))
    }
}

/// Full SHAs must be equal; an abbreviated SHA (≥7 hex chars) matches its full form.
pub fn shas_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().to_ascii_lowercase(), b.trim().to_ascii_lowercase());
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a.len() == b.len() {
        return a == b;
    }
    let (short, long) = if a.len() < b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    short.len() >= 7 && long.starts_with(short.as_str())
}

/// How many times the Stop gate blocked for one pending push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopBlocks {
    pub sha: String,
    pub environment: String,
    pub count: u32,
}

#[derive(Debug, Clone)]
pub struct MarkerStore {
    dir: PathBuf,
}

impl MarkerStore {
    /// Opens (creating if needed) the marker directory of the project at `project_root`.
    pub fn open(project_root: &Path) -> Result<Self, MarkerError> {
        Self::open_in(&base_dir()?, project_root)
    }

    /// Like [`open`](Self::open) with an explicit base directory instead of the environment.
    pub fn open_in(base: &Path, project_root: &Path) -> Result<Self, MarkerError> {
        let base = base.to_path_buf();
        ensure_private_dir(&base, false)?;
        let dir = base.join(project_key(project_root));
        ensure_private_dir(&dir, true)?;
        Ok(MarkerStore { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn read_push_pending(&self) -> Result<Option<PushPending>, MarkerError> {
        self.read(PUSH_PENDING)
    }
    pub fn write_push_pending(&self, m: &PushPending) -> Result<(), MarkerError> {
        let mut m = m.clone();
        m.time_utc = m.time.to_rfc3339();
        self.write(PUSH_PENDING, &m)
    }
    pub fn read_deploy_verified(&self) -> Result<Option<DeployVerified>, MarkerError> {
        self.read(DEPLOY_VERIFIED)
    }
    pub fn write_deploy_verified(&self, m: &DeployVerified) -> Result<(), MarkerError> {
        let mut m = m.clone();
        m.time_utc = m.time.to_rfc3339();
        self.write(DEPLOY_VERIFIED, &m)
    }
    pub fn read_stop_blocks(&self) -> Result<Option<StopBlocks>, MarkerError> {
        self.read(STOP_BLOCKS)
    }
    pub fn write_stop_blocks(&self, m: &StopBlocks) -> Result<(), MarkerError> {
        self.write(STOP_BLOCKS, m)
    }
    pub fn clear_stop_blocks(&self) -> Result<(), MarkerError> {
        self.remove(STOP_BLOCKS)
    }

    /// Removes every marker of this project.
    pub fn clear(&self) -> Result<(), MarkerError> {
        for name in [PUSH_PENDING, DEPLOY_VERIFIED, STOP_BLOCKS] {
            self.remove(name)?;
        }
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<(), MarkerError> {
        let path = self.dir.join(name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
            _ => Ok(()),
        }
    }

    fn read<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Result<Option<T>, MarkerError> {
        let path = self.dir.join(name);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        if !meta.file_type().is_file() {
            return Err(MarkerError::NotAFile(path));
        }
        if meta.len() > MAX_MARKER_BYTES {
            return Err(MarkerError::Corrupt {
                path,
                message: format!("{} bytes", meta.len()),
            });
        }
        let bytes = fs::read(&path).map_err(io(&path))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| MarkerError::Corrupt {
                path,
                message: e.to_string(),
            })
    }

    fn write<T: Serialize>(&self, name: &str, value: &T) -> Result<(), MarkerError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let target = self.dir.join(name);
        let tmp = self.dir.join(format!(
            ".{name}.{}.{}.{}.tmp",
            std::process::id(),
            Timestamp::now().0,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut body = serde_json::to_vec_pretty(value).expect("markers serialize");
        body.push(b'\n');
        let result = (|| {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io(&tmp))?;
            f.write_all(&body).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
            // rename(2) replaces the name atomically and never follows a symlink at `target`.
            fs::rename(&tmp, &target).map_err(io(&target))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

fn base_dir() -> Result<PathBuf, MarkerError> {
    if let Some(d) = std::env::var_os("HARNESS_MARKER_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("dsf-harness"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".local/state/dsf-harness")),
        None => Err(MarkerError::NoBase),
    }
}

/// `<last path component>-<16 hex digits of FNV-1a over the canonical path>`: readable, and distinct
/// for two projects with the same folder name.
pub fn project_key(project_root: &Path) -> String {
    let canon = project_root
        .canonicalize()
        .unwrap_or_else(|_| project_root.to_path_buf());
    let bytes = canon.as_os_str().as_encoded_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let name: String = canon
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .take(40)
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{}-{h:016x}",
        if name.is_empty() { "root".into() } else { name }
    )
}

fn ensure_private_dir(path: &Path, tighten: bool) -> Result<(), MarkerError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(io(parent))?;
            }
            match fs::DirBuilder::new().mode(0o700).create(path) {
                // another hook process may have created it a moment ago: check it below
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(path)(e)),
                _ => {}
            }
        }
        Err(e) => return Err(io(path)(e)),
        Ok(_) => {}
    }
    let meta = fs::symlink_metadata(path).map_err(io(path))?;
    if meta.file_type().is_symlink() {
        return Err(MarkerError::Symlink(path.to_path_buf()));
    }
    if !meta.is_dir() {
        return Err(MarkerError::NotADirectory(path.to_path_buf()));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(MarkerError::ForeignOwner {
            path: path.to_path_buf(),
            owner: meta.uid(),
            me,
        });
    }
    if tighten && meta.mode() & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(io(path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_matching_is_exact_or_a_long_enough_prefix() {
        let full = "0123456789abcdef0123456789abcdef01234567";
        assert!(shas_match(full, full));
        assert!(shas_match("0123456", full));
        assert!(shas_match(full, "0123456789AB"));
        assert!(!shas_match("012345", full));
        assert!(!shas_match("1123456", full));
        assert!(!shas_match("", ""));
        assert!(!shas_match(
            full,
            "0123456789abcdef0123456789abcdef01234568"
        ));
    }

    #[test]
    fn verified_must_match_env_sha_and_come_after() {
        let p = PushPending {
            branch: "main".into(),
            environment: "production".into(),
            sha: "abcdef1234567".into(),
            command: "git push".into(),
            session_id: "s".into(),
            time: Timestamp(1000),
            time_utc: String::new(),
        };
        let v = |env: &str, sha: &str, t| DeployVerified {
            environment: env.into(),
            sha: sha.into(),
            time: Timestamp(t),
            checks: vec![],
            time_utc: String::new(),
        };
        assert!(p.is_verified_by(&v("production", "abcdef1234567", 1000)));
        assert!(!p.is_verified_by(&v("staging", "abcdef1234567", 2000)));
        assert!(!p.is_verified_by(&v("production", "bbcdef1234567", 2000)));
        assert!(!p.is_verified_by(&v("production", "abcdef1234567", 999)));
        assert!(p.is_expired(Duration::from_secs(1), Timestamp(2001)));
        assert!(!p.is_expired(Duration::from_secs(1), Timestamp(2000)));
    }

    #[test]
    fn project_keys_differ_for_same_folder_name() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::create_dir(a.path().join("app")).unwrap();
        std::fs::create_dir(b.path().join("app")).unwrap();
        let ka = project_key(&a.path().join("app"));
        let kb = project_key(&b.path().join("app"));
        assert!(ka.starts_with("app-") && kb.starts_with("app-"));
        assert_ne!(ka, kb);
    }
}
