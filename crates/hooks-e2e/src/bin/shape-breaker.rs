//! Test-only filter that deliberately breaks a hook's output shape, the way the old bash hook did:
//! it reads the hook's stdout JSON on stdin and moves `hookSpecificOutput.additionalContext` to a
//! top-level `additionalContext` (dropping `hookSpecificOutput`). Used as `<real hook> | shape-breaker`
//! in a scratch project's settings to prove the e2e assertion fails on the wrong shape.
//! Input that is not a JSON object is passed through unchanged. Always exits 0.

use std::io::{Read, Write};

fn main() {
    let mut input = String::new();
    if std::io::stdin().read_to_string(&mut input).is_err() {
        return;
    }
    let output = match serde_json::from_str::<serde_json::Value>(&input) {
        Ok(serde_json::Value::Object(mut obj)) => {
            if let Some(serde_json::Value::Object(mut specific)) = obj.remove("hookSpecificOutput")
            {
                if let Some(ctx) = specific.remove("additionalContext") {
                    obj.insert("additionalContext".to_string(), ctx);
                } else {
                    obj.insert("hookSpecificOutput".to_string(), specific.into());
                }
            }
            serde_json::Value::Object(obj).to_string()
        }
        _ => input,
    };
    let _ = std::io::stdout().write_all(output.as_bytes());
}
