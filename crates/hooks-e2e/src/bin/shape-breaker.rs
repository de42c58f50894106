//! Test-only filter that deliberately breaks a hook's output shape. It reads the hook's stdout JSON on
//! stdin and prints it broken, in one of two ways the client silently ignores:
//!
//! - `shape-breaker` (or `shape-breaker top-level`): moves `hookSpecificOutput.additionalContext` to
//!   a top-level `additionalContext` and drops `hookSpecificOutput` — what the old bash hook printed;
//! - `shape-breaker wrong-event`: keeps the shape but names another event in
//!   `hookSpecificOutput.hookEventName`.
//!
//! Used as `<real hook> | shape-breaker [mode]` in a scratch project's settings, to prove the e2e
//! assertion fails on a wrong shape. Input that is not a JSON object is passed through unchanged.
//! Always exits 0.

use std::io::{Read, Write};

use serde_json::Value;

fn main() {
    let mode = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "top-level".into());
    let mut input = String::new();
    if std::io::stdin().read_to_string(&mut input).is_err() {
        return;
    }
    let output = match serde_json::from_str::<Value>(&input) {
        Ok(Value::Object(mut obj)) => {
            match (mode.as_str(), obj.remove("hookSpecificOutput")) {
                ("wrong-event", Some(Value::Object(mut specific))) => {
                    specific.insert("hookEventName".into(), Value::from("PreToolUse"));
                    obj.insert("hookSpecificOutput".into(), specific.into());
                }
                (_, Some(Value::Object(mut specific))) => {
                    match specific.remove("additionalContext") {
                        Some(ctx) => {
                            obj.insert("additionalContext".into(), ctx);
                        }
                        None => {
                            obj.insert("hookSpecificOutput".into(), specific.into());
                        }
                    }
                }
                (_, Some(other)) => {
                    obj.insert("hookSpecificOutput".into(), other);
                }
                (_, None) => {}
            }
            Value::Object(obj).to_string()
        }
        _ => input,
    };
    let _ = std::io::stdout().write_all(output.as_bytes());
}
