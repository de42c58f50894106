//! What a scan produces: findings of the five rules, and diagnostics (files that could not be checked,
//! suppressions that are malformed).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The five detectors. Ids are stable: they appear in baselines, suppressions and SARIF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    #[serde(rename = "selectinload")]
    Selectinload,
    #[serde(rename = "agent-error")]
    AgentError,
    #[serde(rename = "raw-sql")]
    RawSql,
    #[serde(rename = "enum-case")]
    EnumCase,
    #[serde(rename = "response-model")]
    ResponseModel,
}

impl Rule {
    pub const ALL: [Rule; 5] = [
        Rule::Selectinload,
        Rule::AgentError,
        Rule::RawSql,
        Rule::EnumCase,
        Rule::ResponseModel,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::Selectinload => "selectinload",
            Rule::AgentError => "agent-error",
            Rule::RawSql => "raw-sql",
            Rule::EnumCase => "enum-case",
            Rule::ResponseModel => "response-model",
        }
    }

    /// Accepts the id, and the snake_case spelling for config files written by hand.
    pub fn from_id(s: &str) -> Option<Rule> {
        let s = s.trim().replace('_', "-");
        Rule::ALL.into_iter().find(|r| r.id() == s)
    }

    /// One line, for `--list-rules` and SARIF `shortDescription`.
    pub fn summary(self) -> &'static str {
        match self {
            Rule::Selectinload => {
                "endpoint reads or serializes an ORM relationship it did not eager-load"
            }
            Rule::AgentError => "error response not built with the project's error helper",
            Rule::RawSql => "SQL text names a table that has an ORM model",
            Rule::EnumCase => "enum value created or added in a migration is not UPPERCASE",
            Rule::ResponseModel => "route decorator without response_model=",
        }
    }

    /// A paragraph, for SARIF `fullDescription`.
    pub fn description(self) -> &'static str {
        match self {
            Rule::Selectinload => {
                "In async SQLAlchemy a lazy load raises (MissingGreenlet) instead of querying. An endpoint \
                 that reads a relationship declared in the models, or returns an ORM object through a \
                 response_model that has a field of that name, must load it in its query with \
                 selectinload()/joinedload() (or the relationship must be declared eager)."
            }
            Rule::AgentError => {
                "Agents act on error bodies. Every HTTPException detail and every error JSONResponse \
                 body must come from the project's helper (agent_error by default), which carries \
                 what went wrong and how to fix it; a bare string or a hand-built dict does not."
            }
            Rule::RawSql => {
                "SQL text (text(\"...\"), execute(\"...\"), SQL built in f-strings) that names a table \
                 known from the models' __tablename__ bypasses the ORM and its types; use the model."
            }
            Rule::EnumCase => {
                "The platform's Postgres enums are UPPERCASE. Values given to sa.Enum(...) / \
                 postgresql.ENUM(...) or added with ALTER TYPE ... ADD VALUE in a migration must be \
                 UPPERCASE, or the ORM cannot read the rows back."
            }
            Rule::ResponseModel => {
                "Every route declares its response shape with response_model= (response_model=None for \
                 a deliberate non-JSON response), so the OpenAPI schema and the serialized output \
                 match what agents are told."
            }
        }
    }

    /// The default fix hint.
    pub fn hint(self) -> &'static str {
        match self {
            Rule::Selectinload => {
                "add .options(selectinload(Model.relationship)) to the endpoint's query"
            }
            Rule::AgentError => "use detail=agent_error(error=..., how_to_fix=...)",
            Rule::RawSql => "query through the ORM model instead of SQL text",
            Rule::EnumCase => "use the UPPERCASE spelling of the value",
            Rule::ResponseModel => {
                "add response_model=SomeResponse to the decorator (response_model=None if deliberate)"
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Whether a finding is new (fails the run) or recorded in the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Baselined,
}

/// One finding. `file` is relative to the scan root with `/` separators; lines and columns are 1-based,
/// columns count characters, `end_column` is exclusive.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: Rule,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub message: String,
    pub hint: String,
    /// Enclosing `Class.function` (empty at module level); part of the fingerprint.
    pub scope: String,
    /// Line-independent identity used by the baseline (see [`crate::baseline`]).
    pub fingerprint: String,
    pub status: Status,
}

/// What kind of problem a [`Diagnostic`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DiagnosticKind {
    /// The file has a syntax error, is not UTF-8, is too large or could not be read: not checked.
    #[serde(rename = "parse-error")]
    ParseError,
    /// A `# slop: ignore[...]` comment without a reason or with an unknown rule id: ignored.
    #[serde(rename = "bad-suppression")]
    BadSuppression,
}

impl DiagnosticKind {
    pub fn id(self) -> &'static str {
        match self {
            DiagnosticKind::ParseError => "parse-error",
            DiagnosticKind::BadSuppression => "bad-suppression",
        }
    }
}

/// A warning about the scan itself. Never fails the run, never hides other files' findings.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Drops all whitespace and trailing commas before a closing bracket, so a fingerprint survives
/// re-indentation and a formatter reflowing a call (Black's "magic trailing comma").
pub(crate) fn normalize(text: &str) -> String {
    let compact: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = String::with_capacity(compact.len());
    for (i, c) in compact.iter().enumerate() {
        if *c == ',' && matches!(compact.get(i + 1), Some(')' | ']' | '}')) {
            continue;
        }
        out.push(*c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_round_trip_and_accept_snake_case() {
        for r in Rule::ALL {
            assert_eq!(Rule::from_id(r.id()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(r.id()));
        }
        assert_eq!(Rule::from_id("agent_error"), Some(Rule::AgentError));
        assert_eq!(Rule::from_id("nope"), None);
    }

    #[test]
    fn normalize_ignores_layout_and_trailing_commas() {
        assert_eq!(normalize("f(\n    a,\n    b,\n)"), normalize("f(a, b)"));
        assert_ne!(normalize("f(a, b)"), normalize("f(b, a)"));
    }
}
