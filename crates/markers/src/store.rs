//! The per-user, per-project marker directory and its JSON markers.
//!
//! Layout: `<base>/<project-name>-<hash of canonical root>/{push-pending,deploy-verified,stop-blocks}.json`
//! plus one `pushed-<ms>-<pid>-<n>.json` record per push, where `<base>` is `$HARNESS_MARKER_DIR`, else `$XDG_STATE_HOME/dsf-harness`, else
//! `~/.local/state/dsf-harness`. Markers are keyed by project (never by process id, never global in
//! /tmp), so one project's push never blocks another's session, and every hook invocation of the
//! same project finds the same files.
//!
//! Safety: directories are created 0700; a directory that is a symlink or owned by another user is
//! refused with a clear error; files are written 0600 to a unique temp file and renamed into place,
//! so a reader sees either the old or the new marker, never half of one.
//!
//! Concurrency: Claude Code runs the hooks of parallel tool calls at the same time, so several
//! pushes can be recorded at once. Each push first gets its own record file (a name no other
//! writer uses, so no push is ever lost to an overwrite); then `push-pending.json`, the one the
//! Stop gate and verify-deployment read, is replaced under an exclusive `flock` on
//! `.push-pending.lock` only when the new push is the newest, so the gate names the latest push
//! rather than whichever hook happened to rename last.

use crate::sha::Sha;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// File of the [`PushPending`] marker.
pub const PUSH_PENDING: &str = "push-pending.json";
/// File of the [`DeployVerified`] marker.
pub const DEPLOY_VERIFIED: &str = "deploy-verified.json";
/// File of the [`StopBlocks`] counter.
pub const STOP_BLOCKS: &str = "stop-blocks.json";
/// Name prefix of the per-push records (`pushed-<ms>-<pid>-<n>.json`).
pub const PUSH_RECORD_PREFIX: &str = "pushed-";
/// Lock taken while deciding whether a push replaces `push-pending.json`.
const PUSH_LOCK: &str = ".push-pending.lock";
/// Markers larger than this are not ours; refuse rather than parse.
const MAX_MARKER_BYTES: u64 = 64 * 1024;

/// Why a marker could not be read or written (each one refused rather than worked around).
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    /// The marker directory is a symlink (someone could redirect our writes).
    #[error(
        "marker directory {0} is a symlink; refusing to use it (remove it, the harness recreates it)"
    )]
    Symlink(PathBuf),
    /// The marker directory belongs to another user.
    #[error(
        "marker directory {path} is owned by uid {owner}, not by you (uid {me}); refusing to use it"
    )]
    ForeignOwner {
        /// The directory.
        path: PathBuf,
        /// Its owner's uid.
        owner: u32,
        /// Our effective uid.
        me: u32,
    },
    /// Something other than a directory is where the marker directory belongs.
    #[error("marker path {0} exists but is not a directory")]
    NotADirectory(PathBuf),
    /// A marker file is a symlink, a FIFO, a directory, …
    #[error("marker file {0} is a symlink or not a regular file; refusing to read it")]
    NotAFile(PathBuf),
    /// Neither `HARNESS_MARKER_DIR`, `XDG_STATE_HOME` nor `HOME` is set.
    #[error("no marker directory: set HARNESS_MARKER_DIR or HOME")]
    NoBase,
    /// Reading, writing or renaming failed.
    #[error("marker I/O on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A marker file is too large or not the JSON we write.
    #[error("marker {path} is corrupt ({message}); `harness-markers clear` removes it")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        message: String,
    },
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
    /// The branch pushed (or merged into).
    pub branch: String,
    /// The environment that branch deploys to.
    pub environment: String,
    /// The commit pushed; `None` (`""` on disk) when it could not be resolved, e.g. `gh pr merge`
    /// without `gh` to ask.
    #[serde(with = "crate::sha::optional")]
    pub sha: Option<Sha>,
    /// The command that pushed, as the agent ran it.
    pub command: String,
    /// The Claude Code session that pushed.
    pub session_id: String,
    /// When the push was seen.
    pub time: Timestamp,
    /// Human-readable `time`, for people reading the file.
    #[serde(default)]
    pub time_utc: String,
}

/// Written by verify-deployment (or `harness-markers verify`) when every check passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployVerified {
    /// The environment verified.
    pub environment: String,
    /// The commit verified.
    pub sha: Sha,
    /// When the verification finished.
    pub time: Timestamp,
    /// The checks that passed.
    pub checks: Vec<String>,
    /// Human-readable `time`, for people reading the file.
    #[serde(default)]
    pub time_utc: String,
}

impl PushPending {
    /// True when the push is older than `expiry` at `now`.
    pub fn is_expired(&self, expiry: Duration, now: Timestamp) -> bool {
        self.time.age(now) > expiry
    }

    /// True when `v` verifies exactly this push: same environment, same SHA, written after it.
    /// A push whose SHA could not be resolved (`sha: None`, e.g. `gh pr merge` without `gh`) is
    /// verified by any verification of its environment written after it.
    pub fn is_verified_by(&self, v: &DeployVerified) -> bool {
        v.environment == self.environment
            && v.time >= self.time
            && self.sha.as_ref().is_none_or(|sha| sha.matches(&v.sha))
    }
}

/// How many times the Stop gate blocked for one pending push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopBlocks {
    /// The pending push's commit (`""` on disk when unknown).
    #[serde(with = "crate::sha::optional")]
    pub sha: Option<Sha>,
    /// The pending push's environment.
    pub environment: String,
    /// Consecutive blocks so far.
    pub count: u32,
}

/// One project's marker directory (see the module docs).
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

    /// The project's marker directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pending push, if one is recorded.
    pub fn read_push_pending(&self) -> Result<Option<PushPending>, MarkerError> {
        self.read(PUSH_PENDING)
    }
    /// Records a pending push (filling in `time_utc`): its own record, then `push-pending.json`
    /// if it is the newest push (see the module docs).
    pub fn write_push_pending(&self, m: &PushPending) -> Result<(), MarkerError> {
        static RECORDS: AtomicU64 = AtomicU64::new(0);
        let mut m = m.clone();
        m.time_utc = m.time.to_rfc3339();
        let record = format!(
            "{PUSH_RECORD_PREFIX}{:013}-{}-{}.json",
            m.time.0,
            std::process::id(),
            RECORDS.fetch_add(1, Ordering::Relaxed)
        );
        self.write(&record, &m)?;
        let _lock = self.lock(PUSH_LOCK)?;
        // A corrupt or unreadable current marker is replaced: the new push is the best we know.
        if let Ok(Some(current)) = self.read_push_pending()
            && push_order(&current) > push_order(&m)
        {
            return Ok(());
        }
        self.write(PUSH_PENDING, &m)
    }
    /// Every push recorded since the markers were last cleared, oldest first (by time, then SHA,
    /// branch and environment: the order that decides which one is `push-pending.json`).
    pub fn read_push_records(&self) -> Result<Vec<PushPending>, MarkerError> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let name = entry.map_err(io(&self.dir))?.file_name();
            if let Some(name) = name.to_str()
                && name.starts_with(PUSH_RECORD_PREFIX)
                && name.ends_with(".json")
            {
                names.push(name.to_string());
            }
        }
        let mut records = Vec::with_capacity(names.len());
        for name in names {
            // cleared between listing and reading: no longer pending
            if let Some(r) = self.read::<PushPending>(&name)? {
                records.push(r);
            }
        }
        records.sort_by(|a, b| push_order(a).cmp(&push_order(b)));
        Ok(records)
    }
    /// The last verification, if one is recorded.
    pub fn read_deploy_verified(&self) -> Result<Option<DeployVerified>, MarkerError> {
        self.read(DEPLOY_VERIFIED)
    }
    /// Records a verification (filling in `time_utc`).
    pub fn write_deploy_verified(&self, m: &DeployVerified) -> Result<(), MarkerError> {
        let mut m = m.clone();
        m.time_utc = m.time.to_rfc3339();
        self.write(DEPLOY_VERIFIED, &m)
    }
    /// The Stop gate's block counter, if any.
    pub fn read_stop_blocks(&self) -> Result<Option<StopBlocks>, MarkerError> {
        self.read(STOP_BLOCKS)
    }
    /// Records the Stop gate's block counter.
    pub fn write_stop_blocks(&self, m: &StopBlocks) -> Result<(), MarkerError> {
        self.write(STOP_BLOCKS, m)
    }
    /// Removes the Stop gate's block counter.
    pub fn clear_stop_blocks(&self) -> Result<(), MarkerError> {
        self.remove(STOP_BLOCKS)
    }

    /// Removes every marker of this project, push records included.
    pub fn clear(&self) -> Result<(), MarkerError> {
        for name in [PUSH_PENDING, DEPLOY_VERIFIED, STOP_BLOCKS] {
            self.remove(name)?;
        }
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let name = entry.map_err(io(&self.dir))?.file_name();
            if let Some(name) = name.to_str()
                && name.starts_with(PUSH_RECORD_PREFIX)
                && name.ends_with(".json")
            {
                self.remove(name)?;
            }
        }
        Ok(())
    }

    /// An exclusive `flock` on `name`, released when the returned descriptor is dropped. Opened
    /// without following symlinks and without blocking (a FIFO planted there must not hang a hook).
    fn lock(&self, name: &str) -> Result<rustix::fd::OwnedFd, MarkerError> {
        use rustix::fs::{FileType, FlockOperation, Mode, OFlags};
        let path = self.dir.join(name);
        let to_io = |e: rustix::io::Errno| io(&path)(e.into());
        let fd = rustix::fs::open(
            &path,
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(to_io)?;
        let st = rustix::fs::fstat(&fd).map_err(to_io)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(MarkerError::NotAFile(path));
        }
        rustix::fs::flock(&fd, FlockOperation::LockExclusive).map_err(to_io)?;
        Ok(fd)
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

/// Which of two pushes is newer: time first; ties (same millisecond) broken by content so every
/// writer agrees on the winner.
fn push_order(p: &PushPending) -> (Timestamp, &str, &str, &str) {
    (
        p.time,
        p.sha.as_ref().map_or("", Sha::as_str),
        &p.branch,
        &p.environment,
    )
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

    fn sha(s: &str) -> Sha {
        Sha::parse(s).unwrap()
    }

    #[test]
    fn sha_matching_is_exact_or_a_long_enough_prefix() {
        let full = sha("0123456789abcdef0123456789abcdef01234567");
        assert!(full.matches(&full));
        assert!(sha("0123456").matches(&full));
        assert!(full.matches(&sha("0123456789AB")));
        assert!(!full.matches_str("012345"));
        assert!(!sha("1123456").matches(&full));
        assert!(!full.matches_str(""));
        assert!(!full.matches(&sha("0123456789abcdef0123456789abcdef01234568")));
    }

    #[test]
    fn markers_keep_their_json_shape() {
        let p = PushPending {
            branch: "main".into(),
            environment: "production".into(),
            sha: None,
            command: "gh pr merge 1".into(),
            session_id: "s".into(),
            time: Timestamp(1000),
            time_utc: String::new(),
        };
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["sha"], "");
        assert_eq!(serde_json::from_value::<PushPending>(json).unwrap(), p);
        let b: StopBlocks =
            serde_json::from_str(r#"{"sha":"ABCDEF1234567","environment":"staging","count":2}"#)
                .unwrap();
        assert_eq!(b.sha, Some(sha("abcdef1234567")));
    }

    #[test]
    fn verified_must_match_env_sha_and_come_after() {
        let p = PushPending {
            branch: "main".into(),
            environment: "production".into(),
            sha: Some(sha("abcdef1234567")),
            command: "git push".into(),
            session_id: "s".into(),
            time: Timestamp(1000),
            time_utc: String::new(),
        };
        let v = |env: &str, s: &str, t| DeployVerified {
            environment: env.into(),
            sha: sha(s),
            time: Timestamp(t),
            checks: vec![],
            time_utc: String::new(),
        };
        assert!(p.is_verified_by(&v("production", "abcdef1234567", 1000)));
        assert!(!p.is_verified_by(&v("staging", "abcdef1234567", 2000)));
        assert!(!p.is_verified_by(&v("production", "bbcdef1234567", 2000)));
        assert!(!p.is_verified_by(&v("production", "abcdef1234567", 999)));
        let unknown = PushPending {
            sha: None,
            ..p.clone()
        };
        assert!(unknown.is_verified_by(&v("production", "bbcdef1234567", 1000)));
        assert!(!unknown.is_verified_by(&v("staging", "bbcdef1234567", 1000)));
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

    #[test]
    fn every_push_keeps_a_record_and_the_newest_is_pending_whatever_the_write_order() {
        let tmp = tempfile::tempdir().unwrap();
        let store = MarkerStore::open_in(&tmp.path().join("m"), tmp.path()).unwrap();
        let push = |branch: &str, sha: &str, t: u64| PushPending {
            branch: branch.into(),
            environment: "production".into(),
            sha: Some(Sha::parse(sha).unwrap()),
            command: format!("git push origin {branch}"),
            session_id: "s".into(),
            time: Timestamp(t),
            time_utc: String::new(),
        };
        // the newest push is written first; the older one finishing later must not replace it
        store
            .write_push_pending(&push("main", "bbbbbbb", 2000))
            .unwrap();
        store
            .write_push_pending(&push("main", "aaaaaaa", 1000))
            .unwrap();
        store
            .write_push_pending(&push("release", "ccccccc", 2000))
            .unwrap();
        let pending = store.read_push_pending().unwrap().unwrap();
        assert_eq!(
            pending.sha.unwrap().as_str(),
            "ccccccc",
            "same ms: the larger SHA wins"
        );
        let records = store.read_push_records().unwrap();
        let shas: Vec<_> = records
            .iter()
            .map(|r| r.sha.as_ref().unwrap().as_str())
            .collect();
        assert_eq!(shas, ["aaaaaaa", "bbbbbbb", "ccccccc"]);
        store.clear().unwrap();
        assert!(store.read_push_records().unwrap().is_empty());
        assert!(store.read_push_pending().unwrap().is_none());
    }
}
