//! Merging the harness's hook wiring (`hooks/settings.json`) into a project's
//! `.claude/settings.json` without touching the user's other settings or hooks.
//!
//! Our handlers are recognised by their command ending in `/.claude/bin/<one of our hook binaries>`;
//! merging first removes those (wherever they are) and then appends our matcher groups, so running it
//! twice gives the same file.

use serde_json::{Map, Value};

/// Binary names the harness installs as hooks.
pub const OUR_HOOKS: &[&str] = &["hook-post-push", "hook-stop"];

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{what} is not valid JSON: {message}")]
    Json { what: String, message: String },
    #[error("{what}: {message}")]
    Shape { what: String, message: String },
}

fn is_ours(handler: &Value) -> bool {
    handler
        .get("command")
        .and_then(Value::as_str)
        .is_some_and(|c| {
            OUR_HOOKS.iter().any(|h| {
                c.trim_end_matches('"')
                    .ends_with(&format!("/.claude/bin/{h}"))
            })
        })
}

/// Returns `existing` with `ours` merged in. `existing` may be empty text (no file yet).
pub fn merge(existing: &str, ours: &str) -> Result<String, SettingsError> {
    let mut settings: Value = if existing.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(existing).map_err(|e| SettingsError::Json {
            what: "the project's .claude/settings.json".into(),
            message: e.to_string(),
        })?
    };
    let ours: Value = serde_json::from_str(ours).map_err(|e| SettingsError::Json {
        what: "hooks/settings.json".into(),
        message: e.to_string(),
    })?;
    let shape = |m: &str| SettingsError::Shape {
        what: ".claude/settings.json".into(),
        message: m.into(),
    };
    let root = settings
        .as_object_mut()
        .ok_or_else(|| shape("top level is not an object"))?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let hooks = hooks
        .as_object_mut()
        .ok_or_else(|| shape("\"hooks\" is not an object"))?;
    let our_hooks = ours
        .get("hooks")
        .and_then(Value::as_object)
        .ok_or_else(|| SettingsError::Shape {
            what: "hooks/settings.json".into(),
            message: "no \"hooks\" object".into(),
        })?;
    // Remove our handlers from every event, dropping groups we emptied.
    for (_, groups) in hooks.iter_mut() {
        if let Some(groups) = groups.as_array_mut() {
            for g in groups.iter_mut() {
                if let Some(hs) = g.get_mut("hooks").and_then(Value::as_array_mut) {
                    hs.retain(|h| !is_ours(h));
                }
            }
            groups.retain(|g| {
                g.get("hooks")
                    .and_then(Value::as_array)
                    .is_none_or(|hs| !hs.is_empty())
            });
        }
    }
    for (event, groups) in our_hooks {
        let slot = hooks
            .entry(event.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        let slot = slot
            .as_array_mut()
            .ok_or_else(|| shape(&format!("hooks.{event} is not an array")))?;
        slot.extend(groups.as_array().cloned().unwrap_or_default());
    }
    let mut text = serde_json::to_string_pretty(&settings).expect("serializable");
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = include_str!("../../../hooks/settings.json");

    #[test]
    fn merge_into_nothing_gives_our_wiring() {
        let out: Value = serde_json::from_str(&merge("", OURS).unwrap()).unwrap();
        let ours: Value = serde_json::from_str(OURS).unwrap();
        assert_eq!(out, ours);
    }

    #[test]
    fn keeps_user_hooks_and_settings_and_is_idempotent() {
        let user = r#"{"permissions":{"allow":["Bash(ls)"]},
            "hooks":{"PostToolUse":[{"matcher":"Edit","hooks":[{"type":"command","command":"lint.sh"}]},
                                    {"matcher":"Bash","hooks":[{"type":"command","command":"audit.sh"}]}],
                     "SessionStart":[{"hooks":[{"type":"command","command":"hello.sh"}]}]}}"#;
        let once = merge(user, OURS).unwrap();
        let twice = merge(&once, OURS).unwrap();
        assert_eq!(once, twice, "idempotent");
        let v: Value = serde_json::from_str(&twice).unwrap();
        assert_eq!(v["permissions"]["allow"][0], "Bash(ls)");
        assert_eq!(
            v["hooks"]["SessionStart"][0]["hooks"][0]["command"],
            "hello.sh"
        );
        let post = v["hooks"]["PostToolUse"].as_array().unwrap();
        assert_eq!(post.len(), 3);
        assert_eq!(post[0]["hooks"][0]["command"], "lint.sh");
        assert_eq!(post[1]["hooks"][0]["command"], "audit.sh");
        assert!(
            post[2]["hooks"][0]["command"]
                .as_str()
                .unwrap()
                .ends_with("/.claude/bin/hook-post-push")
        );
        assert_eq!(v["hooks"]["Stop"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn malformed_project_settings_is_an_error_not_an_overwrite() {
        assert!(matches!(
            merge("{oops", OURS),
            Err(SettingsError::Json { .. })
        ));
        assert!(matches!(
            merge("[]", OURS),
            Err(SettingsError::Shape { .. })
        ));
        assert!(matches!(
            merge(r#"{"hooks":[]}"#, OURS),
            Err(SettingsError::Shape { .. })
        ));
    }
}
