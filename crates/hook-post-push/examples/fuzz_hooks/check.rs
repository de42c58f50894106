//! What counts as a valid answer from each hook: the fuzzer's definition of "invalid output".
//!
//! Both hooks document the same contract (crate docs, `--help`, docs/hooks.md): whatever arrives on
//! stdin, the process exits 0, and
//! - stdout is empty, or exactly one line (one `\n` at the end) holding one JSON object of the
//!   hook's documented shape:
//!   - hook-post-push: `{"hookSpecificOutput":{"hookEventName":"PostToolUse","additionalContext":S}}`
//!     with exactly those keys, `S` naming the `verify-deployment` command;
//!   - hook-stop: `{"decision":"block","reason":S}` (`S` naming `verify-deployment`), and only when
//!     it decided to block; or `{"systemMessage":S}` with `S` non-empty, only when it allowed;
//! - every stderr line starts with `<hook name>: ` (no panic message, no stray multi-line text).
//!
//! Anything else is an invalid output. A panic (exit 101 from a binary, an unwind in-process), a
//! death by signal or a run over the per-input time cap is counted separately (panics, hangs).

use serde_json::Value;

/// Which hook, for the shape and the stderr prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    PostPush,
    Stop,
}

impl Hook {
    pub const ALL: [Hook; 2] = [Hook::PostPush, Hook::Stop];

    pub fn name(self) -> &'static str {
        match self {
            Hook::PostPush => "hook-post-push",
            Hook::Stop => "hook-stop",
        }
    }
}

/// An in-process hook-post-push answer.
pub fn post_push(out: &hook_post_push::Outcome) -> Result<(), String> {
    stderr_lines(&printed(&out.stderr), Hook::PostPush)?;
    match &out.stdout {
        None => Ok(()),
        Some(s) => post_push_json(&one_json_line(s)?, s),
    }
}

/// An in-process hook-stop answer: the JSON must also agree with the decision it reports.
pub fn stop(out: &hook_stop::Outcome) -> Result<(), String> {
    stderr_lines(&printed(&out.stderr), Hook::Stop)?;
    let Some(s) = &out.stdout else {
        return match out.decision {
            hook_stop::Decision::Block => Err("blocked without saying so on stdout".into()),
            _ => Ok(()),
        };
    };
    let blocks = stop_json(&one_json_line(s)?, s)?;
    match (blocks, out.decision) {
        (true, hook_stop::Decision::Block) => Ok(()),
        (false, hook_stop::Decision::Allow | hook_stop::Decision::GaveUp) => Ok(()),
        _ => Err(format!(
            "stop stdout does not match its decision {:?}: {s}",
            out.decision
        )),
    }
}

/// What a real process left: exit code, stdout bytes, stderr bytes.
pub fn process(hook: Hook, code: Option<i32>, stdout: &[u8], stderr: &[u8]) -> Result<(), String> {
    if code != Some(0) {
        return Err(format!(
            "exit {code:?} (documented: always 0); stderr: {}",
            String::from_utf8_lossy(&stderr[..stderr.len().min(300)])
        ));
    }
    let err = std::str::from_utf8(stderr).map_err(|_| "stderr is not UTF-8".to_string())?;
    stderr_lines(err.strip_suffix('\n').unwrap_or(err), hook)?;
    if stdout.is_empty() {
        return Ok(());
    }
    let out = std::str::from_utf8(stdout).map_err(|_| "stdout is not UTF-8".to_string())?;
    let line = out
        .strip_suffix('\n')
        .ok_or_else(|| format!("stdout does not end in one newline: {out:?}"))?;
    let v = one_json_line(line)?;
    match hook {
        Hook::PostPush => post_push_json(&v, line),
        Hook::Stop => stop_json(&v, line).map(|_| ()),
    }
}

fn post_push_json(v: &Value, s: &str) -> Result<(), String> {
    let spec = &v["hookSpecificOutput"];
    let ok = v.as_object().is_some_and(|o| o.len() == 1)
        && spec.as_object().is_some_and(|o| o.len() == 2)
        && spec["hookEventName"] == "PostToolUse"
        && spec["additionalContext"]
            .as_str()
            .is_some_and(|c| c.contains("verify-deployment"));
    if ok {
        Ok(())
    } else {
        Err(format!("post-push stdout of the wrong shape: {s}"))
    }
}

/// `Ok(true)` for a block, `Ok(false)` for a systemMessage.
fn stop_json(v: &Value, s: &str) -> Result<bool, String> {
    let o = v.as_object().ok_or("stop stdout is not an object")?;
    let block = o.len() == 2
        && v["decision"] == "block"
        && v["reason"]
            .as_str()
            .is_some_and(|r| r.contains("verify-deployment"));
    let message = o.len() == 1 && v["systemMessage"].as_str().is_some_and(|m| !m.is_empty());
    match (block, message) {
        (true, _) => Ok(true),
        (_, true) => Ok(false),
        _ => Err(format!("stop stdout of the wrong shape: {s}")),
    }
}

fn one_json_line(s: &str) -> Result<Value, String> {
    if s.contains('\n') {
        return Err(format!("stdout is more than one line: {s:?}"));
    }
    serde_json::from_str(s).map_err(|e| format!("stdout is not JSON ({e}): {s:?}"))
}

/// The stderr text `hook_main` prints for these lines (without the final newline).
fn printed(lines: &[String]) -> String {
    let lines: Vec<_> = lines.iter().map(|l| markers::hookio::one_line(l)).collect();
    lines.join("\n")
}

/// `text` is what the hook writes on stderr without the final newline.
fn stderr_lines(text: &str, hook: Hook) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    let prefix = format!("{}: ", hook.name());
    match text.split('\n').find(|l| !l.starts_with(&prefix)) {
        Some(l) => Err(format!("stderr line without the {prefix:?} prefix: {l:?}")),
        None => Ok(()),
    }
}
