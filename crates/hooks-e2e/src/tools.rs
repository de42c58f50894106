//! Our binaries the sessions need: the two hooks and the markers CLI, built from the checkout's source
//! every run (a no-op when unchanged), so the sessions never run stale hooks.
//!
//! They are built into their own target directory (`<target>/hooks-e2e-bins`): a `cargo build -p …`
//! into the shared `target/debug` could relink `target/debug/hook-post-push` with another feature set
//! while other crates' tests (run in parallel by nextest) execute it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

use crate::client::{run_bounded, workspace_root};

/// The packages whose binaries the sessions use.
pub const PACKAGES: &[&str] = &["hook-post-push", "hook-stop", "markers"];
/// Longest a (normally no-op) cargo build of them may take.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(540);

/// Built executables by binary name (e.g. `hook-post-push`).
#[derive(Debug, Clone)]
pub struct Tools {
    pub bins: BTreeMap<String, PathBuf>,
}

impl Tools {
    pub fn get(&self, name: &str) -> Result<&PathBuf, String> {
        self.bins.get(name).ok_or_else(|| {
            format!(
                "binary `{name}` was not built (have: {:?})",
                self.bins.keys().collect::<Vec<_>>()
            )
        })
    }

    /// The directory of the hook binaries (they are all in one cargo target dir).
    pub fn bin_dir(&self) -> Option<PathBuf> {
        self.bins
            .values()
            .next()
            .and_then(|p| p.parent().map(PathBuf::from))
    }
}

/// `cargo build -p hook-post-push -p hook-stop -p markers --bins`, reading the executables' paths from
/// cargo's JSON messages (so CARGO_TARGET_DIR and profiles are respected).
pub async fn build() -> Result<Tools, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", target_dir())
        .arg("build");
    for p in PACKAGES {
        cmd.args(["-p", p]);
    }
    cmd.args(["--bins", "--message-format=json-render-diagnostics"]);
    let out = run_bounded(cmd, BUILD_TIMEOUT)
        .await
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if out.code != Some(0) {
        return Err(format!(
            "cargo build of {PACKAGES:?} failed (exit {:?}): {}",
            out.code,
            tail(&out.stderr, 3000)
        ));
    }
    let mut bins = BTreeMap::new();
    for line in out.stdout.lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        if let (Some(exe), Some(name)) =
            (msg["executable"].as_str(), msg["target"]["name"].as_str())
        {
            bins.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    Ok(Tools { bins })
}

/// `<workspace target dir>/hooks-e2e-bins`.
pub fn target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { workspace_root().join(p) })
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("hooks-e2e-bins")
}

fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}
