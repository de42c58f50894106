//! Shared by the integration tests: a copy of the fixture corpus in a temp dir, and the expectations
//! written in it as `# expect: rule-id` comments.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/platform")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The fixture corpus copied into a fresh temp dir, plus what can't be committed as a fixture:
/// a non-UTF-8 file and a virtualenv full of violations.
pub fn corpus() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir(), tmp.path());
    std::fs::write(
        tmp.path().join("api/latin1.py"),
        b"# caf\xe9\nraise HTTPException(status_code=400, detail='never checked')\n",
    )
    .unwrap();
    let venv = tmp.path().join("venv/lib/python3.12/site-packages/pkg");
    std::fs::create_dir_all(&venv).unwrap();
    std::fs::write(tmp.path().join("venv/pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    std::fs::write(
        venv.join("mod.py"),
        "from fastapi import HTTPException\nraise HTTPException(status_code=400, detail='vendored')\n",
    )
    .unwrap();
    tmp
}

/// `(file, line, rule)` for every `# expect: a, b` comment under `root`.
pub fn expectations(root: &Path) -> BTreeSet<(String, u32, String)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "py") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            for (i, line) in text.lines().enumerate() {
                if let Some((_, rules)) = line.split_once("# expect: ") {
                    for r in rules.split(',') {
                        out.insert((rel.clone(), i as u32 + 1, r.trim().to_string()));
                    }
                }
            }
        }
    }
    out
}

pub fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}
