//! The crate's layout rules, checked on its source: no import cycle between its files, and no file
//! over 900 lines. A file's imports are the `crate::…` and `super::…` paths it names (and, in
//! `lib.rs`, the paths through its own modules), resolved to the longest module file they reach.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`crate::api::review`) → file, for every source file of the library.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if path.extension().is_none_or(|e| e != "rs") || parts == ["main"] {
                continue;
            }
            if matches!(parts.last().map(String::as_str), Some("lib" | "mod")) {
                parts.pop();
            }
            let name = std::iter::once("crate".to_string())
                .chain(parts)
                .collect::<Vec<_>>()
                .join("::");
            out.insert(name, path);
        }
    }
    out
}

/// The paths starting at each occurrence of `prefix` in `text` (`crate::db::qr`), with `{a, b}`
/// groups expanded one level.
fn paths_after(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    for (at, _) in text.match_indices(prefix) {
        if text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            continue; // part of a longer path or name
        }
        let rest = &text[at..];
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        let path = rest[..end].trim_end_matches(':');
        if rest[end..].starts_with('{') && rest[..end].ends_with("::") {
            let group = &rest[end + 1..rest[end..].find('}').map_or(rest.len(), |i| end + i)];
            for item in group.split(',') {
                let item = item.trim().split("::").next().unwrap_or("");
                if !item.is_empty() {
                    out.push(format!("{path}::{item}"));
                }
            }
        } else {
            out.push(path.to_string());
        }
    }
    out
}

/// The import edges of every module.
fn edges(mods: &BTreeMap<String, PathBuf>) -> BTreeMap<String, BTreeSet<String>> {
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .map(|n| parts[..n].join("::"))
            .rfind(|m| mods.contains_key(m))
    };
    let mut out = BTreeMap::new();
    for (module, file) in mods {
        let text = std::fs::read_to_string(file).unwrap();
        // unit tests may import anything
        let text = text.split("#[cfg(test)]").next().unwrap_or("");
        let parent: Vec<&str> = module.split("::").collect();
        let parent = parent[..parent.len().saturating_sub(1)].join("::");
        let mut targets = BTreeSet::new();
        let mut paths = paths_after(text, "crate::");
        paths.extend(
            paths_after(text, "super::")
                .into_iter()
                .map(|p| p.replacen("super", &parent, 1)),
        );
        if module == "crate" {
            for child in mods.keys().filter(|m| m.matches("::").count() == 1) {
                let name = &child["crate::".len()..];
                paths.extend(
                    paths_after(text, &format!("{name}::"))
                        .into_iter()
                        .map(|p| format!("crate::{p}")),
                );
            }
        }
        for p in paths {
            if let Some(t) = resolve(&p).filter(|t| t != module) {
                targets.insert(t);
            }
        }
        out.insert(module.clone(), targets);
    }
    out
}

/// A cycle through the graph, if there is one (depth-first search with an on-path set).
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for t in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(t, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|m| visit(m, edges, &mut Vec::new(), &mut done))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_import_cycle_between_files() {
    let mods = modules(&src());
    let edges = edges(&mods);
    // the reader sees real imports: a resource importing another, the root importing the router
    assert!(edges["crate::api::proposals"].contains("crate::api::review"));
    assert!(edges["crate"].contains("crate::api"));
    assert!(edges["crate::db"].contains("crate::faults"));
    if let Some(cycle) = find_cycle(&edges) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.insert("a".into(), ["b".to_string()].into());
    edges.insert("b".into(), ["c".to_string()].into());
    edges.insert("c".into(), ["a".to_string()].into());
    assert_eq!(find_cycle(&edges).map(|c| c.len()), Some(4));
    edges.insert("c".into(), BTreeSet::new());
    assert_eq!(find_cycle(&edges), None);
}

#[test]
fn no_source_file_over_900_lines() {
    let mut files: Vec<PathBuf> = modules(&src()).into_values().collect();
    files.push(src().join("main.rs"));
    for f in files {
        let n = std::fs::read_to_string(&f).unwrap().lines().count();
        assert!(n <= 900, "{} has {n} lines", f.display());
    }
}
