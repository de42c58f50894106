//! Merging the harness's hook wiring (`hooks/settings.json`) into a project's
//! `.claude/settings.json` without touching the user's other settings or hooks.
//!
//! Our handlers are recognised by their command ending in `/.claude/bin/<one of our hook binaries>`;
//! merging first removes those (wherever they are) and then appends our matcher groups, so running it
//! twice gives the same file.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Binary names the harness installs as hooks.
pub const OUR_HOOKS: &[&str] = &["hook-post-push", "hook-stop"];

/// Why two settings files could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A file is not JSON.
    #[error("{what} is not valid JSON: {message}")]
    Json {
        /// Which file.
        what: String,
        /// The parser's message.
        message: String,
    },
    /// A file is JSON but not shaped like Claude Code settings.
    #[error("{what}: {message}")]
    Shape {
        /// Which file.
        what: String,
        /// What is wrong.
        message: String,
    },
}

/// A JSON tree whose objects keep their keys in file order.
///
/// The user's settings file must come back with its keys where they were. serde_json only keeps key
/// order with its `preserve_order` feature, and cargo turns a feature on for every crate in a build:
/// it would put a SipHash-keyed map under every `serde_json::Value` in dst-sim and the reference
/// platform (≈3 % of their instructions, docs/PERFORMANCE.md). So the merge works on this tree instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(IndexMap<String, Json>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(o) => o.get(key),
            _ => None,
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(o) => o.get_mut(key),
            _ => None,
        }
    }
}

fn is_ours(handler: &Json) -> bool {
    match handler.get("command") {
        Some(Json::String(c)) => OUR_HOOKS.iter().any(|h| {
            c.trim_end_matches('"')
                .ends_with(&format!("/.claude/bin/{h}"))
        }),
        _ => false,
    }
}

fn parse(text: &str, what: &str) -> Result<Json, SettingsError> {
    serde_json::from_str(text).map_err(|e| SettingsError::Json {
        what: what.into(),
        message: e.to_string(),
    })
}

/// Returns `existing` with `ours` merged in. `existing` may be empty text (no file yet).
pub fn merge(existing: &str, ours: &str) -> Result<String, SettingsError> {
    let mut settings = if existing.trim().is_empty() {
        Json::Object(IndexMap::new())
    } else {
        parse(existing, "the project's .claude/settings.json")?
    };
    let ours = parse(ours, "hooks/settings.json")?;
    let shape = |m: &str| SettingsError::Shape {
        what: ".claude/settings.json".into(),
        message: m.into(),
    };
    let Json::Object(root) = &mut settings else {
        return Err(shape("top level is not an object"));
    };
    let hooks = root
        .entry("hooks".to_string())
        .or_insert_with(|| Json::Object(IndexMap::new()));
    let Json::Object(hooks) = hooks else {
        return Err(shape("\"hooks\" is not an object"));
    };
    let Some(Json::Object(our_hooks)) = ours.get("hooks") else {
        return Err(SettingsError::Shape {
            what: "hooks/settings.json".into(),
            message: "no \"hooks\" object".into(),
        });
    };
    // Remove our handlers from every event, dropping groups we emptied.
    for groups in hooks.values_mut() {
        if let Json::Array(groups) = groups {
            for g in groups.iter_mut() {
                if let Some(Json::Array(hs)) = g.get_mut("hooks") {
                    hs.retain(|h| !is_ours(h));
                }
            }
            groups.retain(|g| !matches!(g.get("hooks"), Some(Json::Array(hs)) if hs.is_empty()));
        }
    }
    for (event, groups) in our_hooks {
        let slot = hooks
            .entry(event.clone())
            .or_insert_with(|| Json::Array(Vec::new()));
        let Json::Array(slot) = slot else {
            return Err(shape(&format!("hooks.{event} is not an array")));
        };
        if let Json::Array(groups) = groups {
            slot.extend(groups.iter().cloned());
        }
    }
    let mut text = serde_json::to_string_pretty(&settings).expect("serializable");
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

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

    #[test]
    fn keeps_the_users_key_order_and_values() {
        let user = r#"{"zeta":1,"model":"opus","alpha":{"y":[1.5,-2,null,true],"b":"x"},
            "hooks":{"Stop":[{"hooks":[{"type":"command","command":"bye.sh"}]}],"PostToolUse":[]}}"#;
        let out = merge(user, OURS).unwrap();
        let at = |k: &str| {
            out.find(k)
                .unwrap_or_else(|| panic!("{k} missing in {out}"))
        };
        assert!(at("\"zeta\"") < at("\"model\"") && at("\"model\"") < at("\"alpha\""));
        assert!(at("\"y\"") < at("\"b\""), "nested keys keep their order");
        assert!(
            at("\"Stop\"") < at("\"PostToolUse\""),
            "events keep their order"
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["alpha"]["y"], serde_json::json!([1.5, -2, null, true]));
        assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["command"], "bye.sh");
    }
}
