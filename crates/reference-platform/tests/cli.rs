//! The `reference-platform` binary: first stdout line, --list-bugs, bad arguments, and the README's
//! curl walkthrough (scripts/walkthrough.sh) run against it.

use assert_cmd::cargo::cargo_bin;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Server, String, String) {
    let mut child = Command::new(cargo_bin("reference-platform"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {first:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (Server(child), url, second)
}

#[test]
fn lists_every_bug() {
    let out = Command::new(cargo_bin("reference-platform"))
        .arg("--list-bugs")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for b in reference_platform::Bug::all() {
        assert!(
            text.lines().any(|l| l.starts_with(b.name())),
            "{} missing",
            b.name()
        );
    }
}

#[test]
fn unknown_bug_and_bad_admin_key_exit_2() {
    let out = Command::new(cargo_bin("reference-platform"))
        .args(["--port", "0", "--bug", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown bug"));
    let out = Command::new(cargo_bin("reference-platform"))
        .args(["--port", "0", "--admin-key", "short"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("short"),
        "the key is not echoed"
    );
}

#[test]
fn passed_admin_key_is_not_printed() {
    let key = "dsf_walkthroughADMINkey0123456789abcdefghij";
    let (_s, _url, second) = start(&["--admin-key", key]);
    assert!(!second.contains(key));
}

#[test]
fn curl_walkthrough_reaches_a_world_a_claim_an_action_and_a_summary() {
    for tool in ["curl", "jq"] {
        assert!(
            Command::new(tool).arg("--version").output().is_ok(),
            "{tool} is required by scripts/walkthrough.sh"
        );
    }
    let key = "dsf_walkthroughADMINkey0123456789abcdefghij";
    let (_s, url, _) = start(&["--admin-key", key]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/walkthrough.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(&url)
        .arg(key)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "walkthrough failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(r#""status":"validating""#), "{stdout}");
    assert!(
        stdout.contains(r#""graduation":null"#),
        "first resolve does not graduate: {stdout}"
    );
    assert!(stdout.contains(r#""claimed":true"#), "{stdout}");
    assert!(
        stdout.contains(r#"{"status":"acknowledged","upvote_count":1}"#),
        "{stdout}"
    );
    let stats: serde_json::Value =
        serde_json::from_str(stdout.trim_end().lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("last line is not JSON ({e}): {stdout}"));
    assert_eq!(
        stats,
        serde_json::json!({"total": 1, "open": 1, "resolved": 0}),
        "{stdout}"
    );
}
