//! `harness.toml`: the one configuration file every harness binary reads, at the project root.
//!
//! Absent file → [`HarnessConfig::default`]. Each tool's own settings live in a section of the same
//! file (`[verify]`, `[slop]`, `[triage]`, `[dst]`), read with [`HarnessConfig::section`], so the
//! shared parts are parsed in exactly one place.
//!
//! ```toml
//! [markers]
//! expiry_minutes = 240          # a stale push marker can't trap a later session
//!
//! [stop_gate]
//! block_budget = 3              # Stop blocks per pending push before the session is let go
//!
//! [hooks]
//! merge_environment = "production"   # `gh pr merge` whose base branch can't be resolved
//!
//! [[environments]]              # replaces the default entry of the same name
//! name = "staging"
//! branches = ["staging"]
//! backend_url = "https://api.staging.example.com"
//! frontend_url = "https://staging.example.com"
//! frontend_marker = "Deep Sci-Fi"
//! health_path = "/health"
//! smoke = [{ path = "/api/worlds", expect_status = 200 }]
//! ```

use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// File name looked up at the project root.
pub const FILE_NAME: &str = "harness.toml";

/// Why `harness.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Not TOML, or a shared section has the wrong shape.
    #[error("{path} is not valid harness config: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A tool's own section (`[verify]`, `[slop]`, …) has the wrong shape.
    #[error("section [{section}] of {path} is invalid: {message}")]
    Section {
        /// The file.
        path: PathBuf,
        /// The section's name.
        section: String,
        /// The parser's message.
        message: String,
    },
}

/// One smoke request verify-deployment sends to an environment's backend.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeCheck {
    /// Path on the backend, starting with `/`.
    pub path: String,
    /// HTTP method (default `GET`).
    #[serde(default = "default_method")]
    pub method: String,
    /// The status that counts as a pass (default 200).
    #[serde(default = "default_status")]
    pub expect_status: u16,
}

fn default_method() -> String {
    "GET".into()
}
fn default_status() -> u16 {
    200
}
fn default_health_path() -> String {
    "/health".into()
}
fn yes() -> bool {
    true
}

/// One deploy target (`[[environments]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// `production`, `staging`, `local`, …: what commands and markers call it.
    pub name: String,
    /// Branches whose push deploys here.
    #[serde(default)]
    pub branches: Vec<String>,
    /// The backend's base URL.
    #[serde(default)]
    pub backend_url: Option<String>,
    /// The frontend's base URL.
    #[serde(default)]
    pub frontend_url: Option<String>,
    /// The backend's health endpoint (default `/health`).
    #[serde(default = "default_health_path")]
    pub health_path: String,
    /// Text the frontend's page must contain.
    #[serde(default)]
    pub frontend_marker: Option<String>,
    /// Smoke requests against the backend.
    #[serde(default)]
    pub smoke: Vec<SmokeCheck>,
    /// Check GitHub Actions for the SHA (off for `local`).
    #[serde(default = "yes")]
    pub ci: bool,
    /// Query Logfire for errors since the deploy (off for `local`).
    #[serde(default = "yes")]
    pub logfire: bool,
    /// Logfire's `service_name` of the backend, when Logfire holds more than one service.
    #[serde(default)]
    pub service_name: Option<String>,
    /// Logfire's `deployment_environment` for this environment, when it differs from `name`.
    #[serde(default)]
    pub logfire_environment: Option<String>,
}

impl Environment {
    fn named(name: &str, branches: &[&str]) -> Self {
        Environment {
            name: name.into(),
            branches: branches.iter().map(|b| b.to_string()).collect(),
            backend_url: None,
            frontend_url: None,
            health_path: default_health_path(),
            frontend_marker: None,
            smoke: Vec::new(),
            ci: true,
            logfire: true,
            service_name: None,
            logfire_environment: None,
        }
    }
}

/// `[markers]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerSettings {
    /// Age after which a pending push is cleared instead of blocking (`expiry_minutes`).
    pub expiry: Duration,
}

/// `[stop_gate]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopGateSettings {
    /// Consecutive Stop blocks per pending push before the session is let go.
    pub block_budget: u32,
}

/// `[hooks]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookSettings {
    /// Environment armed for a `gh pr merge` whose base branch could not be resolved.
    pub merge_environment: String,
}

/// The parsed `harness.toml` (or the defaults).
#[derive(Debug, Clone)]
pub struct HarnessConfig {
    /// Defaults merged with `[[environments]]` (an entry replaces the default of its name).
    pub environments: Vec<Environment>,
    /// `[markers]`.
    pub markers: MarkerSettings,
    /// `[stop_gate]`.
    pub stop_gate: StopGateSettings,
    /// `[hooks]`.
    pub hooks: HookSettings,
    /// Where it came from (`None` for built-in defaults), for error messages.
    pub source: Option<PathBuf>,
    raw: toml::Table,
}

impl Default for HarnessConfig {
    fn default() -> Self {
        let mut local = Environment::named("local", &[]);
        local.backend_url = Some("http://127.0.0.1:8000".into());
        local.ci = false;
        local.logfire = false;
        HarnessConfig {
            environments: vec![
                local,
                Environment::named("staging", &["staging"]),
                Environment::named("production", &["main", "master"]),
            ],
            markers: MarkerSettings {
                expiry: Duration::from_secs(4 * 3600),
            },
            stop_gate: StopGateSettings { block_budget: 3 },
            hooks: HookSettings {
                merge_environment: "production".into(),
            },
            source: None,
            raw: toml::Table::new(),
        }
    }
}

#[derive(Deserialize)]
struct RawMarkers {
    expiry_minutes: Option<u64>,
}
#[derive(Deserialize)]
struct RawStopGate {
    block_budget: Option<u32>,
}
#[derive(Deserialize)]
struct RawHooks {
    merge_environment: Option<String>,
}

impl HarnessConfig {
    /// `<project_root>/harness.toml`, or the defaults when there is none.
    pub fn load(project_root: &Path) -> Result<Self, ConfigError> {
        let path = project_root.join(FILE_NAME);
        match read_regular_file(&path) {
            Ok(bytes) => Self::from_bytes(&bytes, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// An explicit file (`--config`): it must exist. Read as given, so `--config <(…)` works.
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, path)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, ConfigError> {
        let parse_err = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| parse_err(format!("not UTF-8: {e}")))?;
        Self::parse(text).map_err(parse_err).map(|mut c| {
            c.source = Some(path.to_path_buf());
            c
        })
    }

    /// Parses TOML text over the defaults. Errors are one line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| e.message().to_string())?;
        let mut cfg = HarnessConfig::default();
        fn take<T: DeserializeOwned>(raw: &toml::Table, key: &str) -> Result<Option<T>, String> {
            raw.get(key)
                .map(|v| T::deserialize(v.clone()).map_err(|e| format!("[{key}]: {}", e.message())))
                .transpose()
        }
        if let Some(m) = take::<RawMarkers>(&raw, "markers")?
            && let Some(min) = m.expiry_minutes
        {
            cfg.markers.expiry = Duration::from_secs(min.saturating_mul(60));
        }
        if let Some(s) = take::<RawStopGate>(&raw, "stop_gate")?
            && let Some(b) = s.block_budget
        {
            cfg.stop_gate.block_budget = b;
        }
        if let Some(h) = take::<RawHooks>(&raw, "hooks")?
            && let Some(e) = h.merge_environment
        {
            cfg.hooks.merge_environment = e;
        }
        if let Some(envs) = take::<Vec<Environment>>(&raw, "environments")? {
            for env in envs {
                if env.name.trim().is_empty() {
                    return Err("[[environments]]: an entry has an empty name".into());
                }
                match cfg.environments.iter_mut().find(|e| e.name == env.name) {
                    Some(slot) => *slot = env,
                    None => cfg.environments.push(env),
                }
            }
        }
        cfg.raw = raw;
        Ok(cfg)
    }

    /// The environment called `name`.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The environment a push to `branch` deploys to; `None` when it deploys nowhere.
    pub fn environment_for_branch(&self, branch: &str) -> Option<&Environment> {
        self.environments
            .iter()
            .find(|e| e.branches.iter().any(|b| b == branch))
    }

    /// A tool's own section (`[verify]`, `[slop]`, …), `None` when absent.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        let Some(v) = self.raw.get(name) else {
            return Ok(None);
        };
        T::deserialize(v.clone())
            .map(Some)
            .map_err(|e| ConfigError::Section {
                path: self
                    .source
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(FILE_NAME)),
                section: name.into(),
                message: e.message().to_string(),
            })
    }
}

/// Larger `harness.toml` files are refused: a config is a few KB.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Reads the project's config without ever blocking or reading forever. The file is in the user's
/// repository, which can hold anything a clone brings (git keeps symlinks): a FIFO there would block
/// a plain read until a writer came (the hooks, and so the session, hung; found by
/// `make fuzz-hooks`), and a symlink to /dev/zero would never end. So it is opened with
/// `O_NONBLOCK` and read only if it is a regular file (symlinks to one are fine) of at most 1 MiB.
fn read_regular_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use rustix::fs::{FileType, Mode, OFlags};
    use std::io::Read;
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let st = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or directory); refusing to read it",
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("over {MAX_CONFIG_BYTES} bytes; not a harness config"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `load` on a thread: a config that blocks must fail the test, not hang it.
    fn load_bounded(root: &Path) -> Result<HarnessConfig, ConfigError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let root = root.to_path_buf();
        std::thread::spawn(move || {
            let _ = tx.send(HarnessConfig::load(&root));
        });
        // a hang guard, not a timing assertion: the unfixed read never returns
        rx.recv_timeout(Duration::from_secs(60))
            .expect("HarnessConfig::load blocked on the project's harness.toml")
    }

    #[test]
    fn a_fifo_device_directory_or_huge_file_as_config_is_refused_without_blocking() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(FILE_NAME);
        let refused = |what: &str| match load_bounded(tmp.path()) {
            Err(ConfigError::Read { source, .. }) => source.to_string(),
            other => panic!("{what}: expected a read error, got {other:?}"),
        };
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert!(refused("FIFO").contains("not a regular file"));
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        assert!(refused("/dev/zero").contains("not a regular file"));
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert!(refused("directory").contains("not a regular file"));
        std::fs::remove_dir(&path).unwrap();
        std::fs::write(&path, "#\n".repeat(600_000)).unwrap();
        assert!(refused("1.2 MB").contains("over 1048576 bytes"));
        // a symlink to a regular file is a config like any other
        let real = tmp.path().join("real.toml");
        std::fs::write(
            &real,
            "[[environments]]\nname = \"prod\"\nbranches = [\"trunk\"]\n",
        )
        .unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&real, &path).unwrap();
        let c = load_bounded(tmp.path()).unwrap();
        assert_eq!(c.environment_for_branch("trunk").unwrap().name, "prod");
    }

    #[test]
    fn defaults_map_main_to_production_and_feature_branches_nowhere() {
        let c = HarnessConfig::default();
        assert_eq!(c.environment_for_branch("main").unwrap().name, "production");
        assert_eq!(
            c.environment_for_branch("master").unwrap().name,
            "production"
        );
        assert_eq!(c.environment_for_branch("staging").unwrap().name, "staging");
        assert!(c.environment_for_branch("feature/maintenance").is_none());
        assert!(c.environment_for_branch("mainline").is_none());
        assert!(!c.environment("local").unwrap().ci);
        assert_eq!(c.stop_gate.block_budget, 3);
        assert_eq!(c.markers.expiry, Duration::from_secs(14_400));
    }

    #[test]
    fn file_overrides_and_extends() {
        let c = HarnessConfig::parse(
            r#"
            [markers]
            expiry_minutes = 30
            [stop_gate]
            block_budget = 5
            [[environments]]
            name = "production"
            branches = ["release"]
            backend_url = "https://api.example.com"
            smoke = [{ path = "/api/worlds" }]
            [[environments]]
            name = "preview"
            branches = ["preview"]
            [verify]
            ci_grace_seconds = 7
            "#,
        )
        .unwrap();
        assert_eq!(c.markers.expiry, Duration::from_secs(1800));
        assert_eq!(c.stop_gate.block_budget, 5);
        assert!(c.environment_for_branch("main").is_none());
        let prod = c.environment_for_branch("release").unwrap();
        assert_eq!(
            prod.smoke[0],
            SmokeCheck {
                path: "/api/worlds".into(),
                method: "GET".into(),
                expect_status: 200
            }
        );
        assert_eq!(c.environment_for_branch("preview").unwrap().name, "preview");
        #[derive(Deserialize)]
        struct V {
            ci_grace_seconds: u64,
        }
        assert_eq!(
            c.section::<V>("verify").unwrap().unwrap().ci_grace_seconds,
            7
        );
        assert!(c.section::<V>("slop").unwrap().is_none());
    }

    #[test]
    fn errors_are_clear() {
        assert!(
            HarnessConfig::parse("[stop_gate]\nblock_budget = \"x\"")
                .unwrap_err()
                .contains("stop_gate")
        );
        assert!(HarnessConfig::parse("not toml = = 1").is_err());
        let e = HarnessConfig::parse("[[environments]]\nname = \"p\"\nbogus = 1").unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(FILE_NAME), b"\xff\xfe").unwrap();
        let err = HarnessConfig::load(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("not UTF-8"), "{err}");
        assert!(matches!(
            HarnessConfig::load_file(&tmp.path().join("nope.toml")),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn the_shipped_example_parses() {
        let c = HarnessConfig::parse(include_str!("../../../harness.toml.example")).unwrap();
        assert_eq!(c.environment_for_branch("main").unwrap().name, "production");
        assert_eq!(c.environment("staging").unwrap().smoke.len(), 2);
    }

    #[test]
    fn missing_file_means_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let c = HarnessConfig::load(tmp.path()).unwrap();
        assert!(c.source.is_none());
        assert_eq!(c.environments.len(), 3);
    }
}
