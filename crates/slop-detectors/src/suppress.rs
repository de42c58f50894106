//! Inline suppressions: `# slop: ignore[rule-id, other-id] reason`.
//!
//! Read from the parser's comment tokens, so text inside a string that merely looks like the comment
//! suppresses nothing. A suppression covers findings on its own line; a comment alone on its line also
//! covers the next line. A reason is required: without one (or with an unknown rule id) the comment
//! is ignored and reported as a `bad-suppression` diagnostic.

use crate::finding::Rule;
use crate::source::Module;
use ruff_python_ast::token::TokenKind;
use ruff_text_size::Ranged;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Suppression {
    pub rules: Vec<Rule>,
    pub reason: String,
    pub line: u32,
    /// The comment is the only thing on its line (then it also covers the next line).
    pub own_line: bool,
}

/// A malformed suppression comment, with its position and what is wrong.
#[derive(Debug, Clone)]
pub struct BadSuppression {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Suppressions {
    by_line: HashMap<u32, Vec<Suppression>>,
}

/// Parses one comment's text. `None` when it is not a slop comment at all.
pub fn parse_comment(text: &str) -> Option<Result<(Vec<Rule>, String), String>> {
    let body = text.trim_start_matches('#').trim_start();
    let rest = body.strip_prefix("slop:")?.trim_start();
    let Some(rest) = rest.strip_prefix("ignore") else {
        return Some(Err(format!(
            "unknown slop directive `{}` (expected `slop: ignore[rule-id] reason`)",
            rest.split_whitespace().next().unwrap_or("")
        )));
    };
    let Some(rest) = rest.trim_start().strip_prefix('[') else {
        return Some(Err(
            "`slop: ignore` needs rule ids in brackets: `# slop: ignore[raw-sql] reason`".into(),
        ));
    };
    let Some((ids, reason)) = rest.split_once(']') else {
        return Some(Err("`slop: ignore[` is missing its closing `]`".into()));
    };
    let mut rules = Vec::new();
    for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match Rule::from_id(id) {
            Some(r) => rules.push(r),
            None => return Some(Err(format!("unknown rule id `{id}` in suppression"))),
        }
    }
    if rules.is_empty() {
        return Some(Err("`slop: ignore[]` names no rule".into()));
    }
    let reason = reason
        .trim()
        .trim_start_matches([':', '-', '—', '–'])
        .trim();
    if reason.is_empty() {
        return Some(Err(
            "suppression without a reason is ignored: write `# slop: ignore[rule] why it is fine`"
                .into(),
        ));
    }
    Some(Ok((rules, reason.to_string())))
}

impl Suppressions {
    pub fn collect(m: &Module) -> (Suppressions, Vec<BadSuppression>) {
        let mut out = Suppressions::default();
        let mut bad = Vec::new();
        for tok in m.parsed.tokens().iter() {
            if tok.kind() != TokenKind::Comment {
                continue;
            }
            let text = m.slice(tok.range());
            let Some(parsed) = parse_comment(text) else {
                continue;
            };
            let (line, column) = m.line_col(tok.start());
            match parsed {
                Ok((rules, reason)) => {
                    let line_start = &m.text[..usize::from(tok.start())];
                    let own_line = line_start
                        .rsplit('\n')
                        .next()
                        .is_some_and(|s| s.trim().is_empty());
                    out.by_line.entry(line).or_default().push(Suppression {
                        rules,
                        reason,
                        line,
                        own_line,
                    });
                }
                Err(message) => bad.push(BadSuppression {
                    line,
                    column,
                    message,
                }),
            }
        }
        (out, bad)
    }

    /// True when a finding of `rule` on `line` is suppressed.
    pub fn covers(&self, rule: Rule, line: u32) -> bool {
        let on = |l: u32, need_own_line: bool| {
            self.by_line.get(&l).is_some_and(|v| {
                v.iter()
                    .any(|s| s.rules.contains(&rule) && (!need_own_line || s.own_line))
            })
        };
        on(line, false) || (line > 1 && on(line - 1, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_and_requires_a_reason() {
        let (rules, reason) =
            parse_comment("# slop: ignore[raw-sql, enum_case] legacy report query")
                .unwrap()
                .unwrap();
        assert_eq!(rules, vec![Rule::RawSql, Rule::EnumCase]);
        assert_eq!(reason, "legacy report query");
        assert!(parse_comment("# slop: ignore[raw-sql]").unwrap().is_err());
        assert!(
            parse_comment("# slop: ignore[raw-sql]  - ")
                .unwrap()
                .is_err()
        );
        assert!(parse_comment("# slop: ignore[nope] x").unwrap().is_err());
        assert!(parse_comment("# slop: ignore raw-sql x").unwrap().is_err());
        assert!(parse_comment("# noqa: E501").is_none());
        assert!(parse_comment("# a comment about slop: ignore").is_none());
    }

    #[test]
    fn same_line_and_own_line_above_only() {
        let src = "a = 1  # slop: ignore[raw-sql] fine here\n# slop: ignore[agent-error] next line\nb = 2\nc = 3  # slop: ignore[enum-case] only this line\nd = 4\ne = '# slop: ignore[raw-sql] in a string'\n";
        let m = Module::parse("x.py".into(), src.into()).unwrap();
        let (s, bad) = Suppressions::collect(&m);
        assert!(bad.is_empty());
        assert!(s.covers(Rule::RawSql, 1));
        assert!(!s.covers(Rule::RawSql, 2));
        assert!(s.covers(Rule::AgentError, 3));
        assert!(!s.covers(Rule::AgentError, 4));
        assert!(s.covers(Rule::EnumCase, 4));
        assert!(
            !s.covers(Rule::EnumCase, 5),
            "trailing comment covers only its line"
        );
        assert!(
            !s.covers(Rule::RawSql, 6),
            "text inside a string is not a comment"
        );
    }
}
