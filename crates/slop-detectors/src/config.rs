//! The `[slop]` section of `harness.toml` (read through `markers::HarnessConfig`).
//!
//! ```toml
//! [slop]
//! error_helpers = ["agent_error"]          # agent-error: names whose call builds an error body
//! model_dirs = []                          # where models live; empty = any scanned file
//! migration_dirs = ["alembic/versions", "migrations/versions", "migrations"]
//! extra_tables = []                        # raw-sql: tables not declared with __tablename__
//! exclude = ["tests/", "test_*.py", "*_test.py", "conftest.py"]   # gitignore-style, on top of .gitignore
//! baseline = "docs/slop/baseline.json"     # relative to the project root
//! max_file_bytes = 4000000                 # larger files are reported as parse-error, not read
//!
//! [slop.rules]                             # each rule on (default) or off
//! raw-sql = true
//! ```
//!
//! Directory settings match path segments anywhere in a file's path relative to the root, so
//! `alembic/versions` matches `platform/backend/alembic/versions/0001_x.py`.

use crate::finding::Rule;
use markers::HarnessConfig;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlopConfig {
    pub error_helpers: Vec<String>,
    pub model_dirs: Vec<String>,
    pub migration_dirs: Vec<String>,
    pub extra_tables: Vec<String>,
    pub exclude: Vec<String>,
    pub baseline: String,
    pub max_file_bytes: u64,
    pub rules: BTreeMap<String, bool>,
}

impl Default for SlopConfig {
    fn default() -> Self {
        SlopConfig {
            error_helpers: vec!["agent_error".into()],
            model_dirs: Vec::new(),
            migration_dirs: vec![
                "alembic/versions".into(),
                "migrations/versions".into(),
                "migrations".into(),
            ],
            extra_tables: Vec::new(),
            exclude: vec![
                "tests/".into(),
                "test_*.py".into(),
                "*_test.py".into(),
                "conftest.py".into(),
            ],
            baseline: "docs/slop/baseline.json".into(),
            max_file_bytes: 4_000_000,
            rules: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Config(#[from] markers::ConfigError),
    #[error(
        "[slop.rules] names an unknown rule `{0}` (known: selectinload, agent-error, raw-sql, enum-case, response-model)"
    )]
    UnknownRule(String),
    #[error("[slop] error_helpers must name at least one function")]
    NoHelper,
}

/// Validated settings the scanner uses.
#[derive(Debug, Clone)]
pub struct Settings {
    pub error_helpers: Vec<String>,
    pub model_dirs: Vec<Vec<String>>,
    pub migration_dirs: Vec<Vec<String>>,
    pub extra_tables: Vec<String>,
    pub exclude: Vec<String>,
    pub baseline: String,
    pub max_file_bytes: u64,
    pub enabled: Vec<Rule>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_config(SlopConfig::default()).expect("defaults are valid")
    }
}

fn segments(dir: &str) -> Vec<String> {
    dir.split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != ".")
        .map(str::to_string)
        .collect()
}

impl Settings {
    pub fn from_harness(cfg: &HarnessConfig) -> Result<Self, SettingsError> {
        let slop = cfg.section::<SlopConfig>("slop")?.unwrap_or_default();
        Self::from_config(slop)
    }

    pub fn from_config(c: SlopConfig) -> Result<Self, SettingsError> {
        let mut enabled: Vec<Rule> = Rule::ALL.to_vec();
        for (name, on) in &c.rules {
            let rule =
                Rule::from_id(name).ok_or_else(|| SettingsError::UnknownRule(name.clone()))?;
            if !on {
                enabled.retain(|r| *r != rule);
            }
        }
        let error_helpers: Vec<String> = c
            .error_helpers
            .into_iter()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .collect();
        if error_helpers.is_empty() {
            return Err(SettingsError::NoHelper);
        }
        Ok(Settings {
            error_helpers,
            model_dirs: c.model_dirs.iter().map(|d| segments(d)).collect(),
            migration_dirs: c.migration_dirs.iter().map(|d| segments(d)).collect(),
            extra_tables: c.extra_tables.iter().map(|t| t.to_lowercase()).collect(),
            exclude: c.exclude,
            baseline: c.baseline,
            max_file_bytes: c.max_file_bytes,
            enabled,
        })
    }

    pub fn is_migration(&self, rel: &str) -> bool {
        in_dirs(rel, &self.migration_dirs)
    }

    /// True when `rel` may declare models (always, when `model_dirs` is empty).
    pub fn is_model_file(&self, rel: &str) -> bool {
        self.model_dirs.is_empty() || in_dirs(rel, &self.model_dirs)
    }
}

/// True when the directory part of `rel` contains one of `dirs` as a contiguous run of segments.
fn in_dirs(rel: &str, dirs: &[Vec<String>]) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    let dir_parts = &parts[..parts.len().saturating_sub(1)];
    dirs.iter().any(|d| {
        !d.is_empty()
            && dir_parts
                .windows(d.len())
                .any(|w| w.iter().zip(d).all(|(a, b)| *a == b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirs_match_segments_anywhere_but_not_substrings() {
        let s = Settings::default();
        assert!(s.is_migration("platform/backend/alembic/versions/0001_x.py"));
        assert!(s.is_migration("alembic/versions/0001_x.py"));
        assert!(s.is_migration("migrations/0002.py"));
        assert!(!s.is_migration("alembic/env.py"));
        assert!(!s.is_migration("my_migrations/0001.py"));
        assert!(!s.is_migration("api/migrations.py"));
        assert!(s.is_model_file("anything.py"));
    }

    #[test]
    fn section_turns_rules_off_and_rejects_unknown_keys() {
        let h = HarnessConfig::parse(
            "[slop]\nerror_helpers = [\"err\"]\nmodel_dirs = [\"db\"]\n[slop.rules]\nraw_sql = false\n",
        )
        .unwrap();
        let s = Settings::from_harness(&h).unwrap();
        assert!(!s.enabled.contains(&Rule::RawSql));
        assert!(s.enabled.contains(&Rule::EnumCase));
        assert_eq!(s.error_helpers, vec!["err"]);
        assert!(s.is_model_file("backend/db/models.py"));
        assert!(!s.is_model_file("backend/api/models.py"));

        let bad = HarnessConfig::parse("[slop]\nhelper = \"x\"\n").unwrap();
        let e = Settings::from_harness(&bad).unwrap_err().to_string();
        assert!(e.contains("helper"), "{e}");
        let bad = HarnessConfig::parse("[slop.rules]\nno-such-rule = false\n").unwrap();
        let e = Settings::from_harness(&bad).unwrap_err().to_string();
        assert!(e.contains("no-such-rule"), "{e}");
        let bad = HarnessConfig::parse("[slop]\nerror_helpers = []\n").unwrap();
        assert!(matches!(
            Settings::from_harness(&bad),
            Err(SettingsError::NoHelper)
        ));
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    #[test]
    fn the_shipped_harness_example_has_a_valid_slop_section() {
        let h = HarnessConfig::parse(include_str!("../../../harness.toml.example")).unwrap();
        assert!(h.section::<SlopConfig>("slop").unwrap().is_some());
        let s = Settings::from_harness(&h).unwrap();
        assert_eq!(s.error_helpers, vec!["agent_error"]);
        assert_eq!(s.enabled.len(), 5);
    }
}
