//! Finding the Python files to scan: ripgrep's `ignore` walker, so `.gitignore`, `.ignore` and
//! `.git/info/exclude` hold (even outside a git repository), hidden directories are skipped, and so is
//! every virtualenv (any directory holding `pyvenv.cfg`, plus the usual names below). Files named
//! explicitly on the command line are always scanned.

use ignore::WalkBuilder;
use ignore::overrides::OverrideBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Directory names never descended into.
pub const SKIP_DIRS: &[&str] = &[
    ".venv",
    "venv",
    "site-packages",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
];

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{path}: {source}")]
    Path {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid exclude pattern `{pattern}`: {message}")]
    Exclude { pattern: String, message: String },
    #[error("walking {path}: {message}")]
    Walk { path: PathBuf, message: String },
}

/// The files of one scan, and what was asked for (to tell "fixed" from "not scanned this time").
#[derive(Debug, Default)]
pub struct Discovered {
    /// Relative path (`/`-separated) → absolute path, sorted.
    pub files: BTreeMap<String, PathBuf>,
    /// Relative directories that were walked (`""` is the root itself).
    pub dirs: Vec<String>,
}

/// `path` relative to `root`, `/`-separated; the absolute path when it is outside `root`.
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut out = String::new();
    for c in rel.components() {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(&c.as_os_str().to_string_lossy());
    }
    if rel.is_absolute() {
        format!("/{}", out.trim_start_matches('/'))
    } else {
        out
    }
}

fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py")
}

/// Walks `paths` (directories or files; relative to the current directory) under `root`.
pub fn discover(
    root: &Path,
    paths: &[PathBuf],
    exclude: &[String],
) -> Result<Discovered, DiscoverError> {
    let mut out = Discovered::default();
    let mut overrides = OverrideBuilder::new(root);
    for pattern in exclude {
        overrides
            .add(&format!("!{pattern}"))
            .map_err(|e| DiscoverError::Exclude {
                pattern: pattern.clone(),
                message: e.to_string(),
            })?;
    }
    let overrides = overrides.build().map_err(|e| DiscoverError::Exclude {
        pattern: exclude.join(", "),
        message: e.to_string(),
    })?;
    for p in paths {
        let abs = p.canonicalize().map_err(|source| DiscoverError::Path {
            path: p.clone(),
            source,
        })?;
        if abs.is_file() {
            out.files.insert(relative(root, &abs), abs);
            continue;
        }
        out.dirs.push(relative(root, &abs));
        let walker = WalkBuilder::new(&abs)
            .standard_filters(true)
            .require_git(false)
            .overrides(overrides.clone())
            .filter_entry(|e| {
                if !e.file_type().is_some_and(|t| t.is_dir()) {
                    return true;
                }
                let name = e.file_name().to_string_lossy();
                !(SKIP_DIRS.contains(&name.as_ref()) || e.path().join("pyvenv.cfg").exists())
            })
            .build();
        for entry in walker {
            let entry = entry.map_err(|e| DiscoverError::Walk {
                path: abs.clone(),
                message: e.to_string(),
            })?;
            if entry.file_type().is_some_and(|t| t.is_file()) && is_python(entry.path()) {
                let path = entry.into_path();
                out.files.insert(relative(root, &path), path);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respects_gitignore_excludes_and_virtualenvs() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let w = |p: &str| {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x = 1\n").unwrap();
        };
        w("api/a.py");
        w("api/notes.txt");
        w("generated/g.py");
        w(".venv/lib/site.py");
        w("env2/lib/x.py");
        std::fs::write(root.join("env2/pyvenv.cfg"), "home = /usr\n").unwrap();
        w("node_modules/x.py");
        w("tests/test_a.py");
        w("api/test_b.py");
        std::fs::write(root.join(".gitignore"), "generated/\n").unwrap();
        let d = discover(
            &root,
            std::slice::from_ref(&root),
            &crate::config::SlopConfig::default().exclude,
        )
        .unwrap();
        let names: Vec<&str> = d.files.keys().map(String::as_str).collect();
        assert_eq!(names, vec!["api/a.py"]);
        assert_eq!(d.dirs, vec![""]);
        // An explicit file is scanned even if excluded.
        let d = discover(&root, &[root.join("tests/test_a.py")], &[]).unwrap();
        assert_eq!(d.files.keys().next().unwrap(), "tests/test_a.py");
        assert!(discover(&root, &[root.join("missing")], &[]).is_err());
    }
}
