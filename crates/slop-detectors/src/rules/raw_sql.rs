//! `raw-sql`: SQL text that names a table known from the models.
//!
//! Sinks: `text(...)` from SQLAlchemy (under any alias) and the first argument of `.execute`,
//! `.exec_driver_sql`, `.executemany` and asyncpg's `.fetch*` when it is a string (literal, f-string,
//! concatenation, `%`, `.format`, or a variable assigned one of those in the same function or module).
//! Outside sinks, an f-string is SQL when it starts with a statement keyword and names a table after
//! `FROM`/`JOIN`/`INTO`/`UPDATE`/`TABLE`. Plain strings elsewhere (log messages, docstrings) are prose.
//! Migrations are exempt: SQL is their job.

use super::Checker;
use crate::finding::{Rule, normalize};
use crate::source::{fstring_text, string_text};
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange};
use std::collections::HashSet;

const SINK_METHODS: &[&str] = &[
    "execute",
    "exec_driver_sql",
    "executemany",
    "fetch",
    "fetchrow",
    "fetchval",
];
const STATEMENT_WORDS: &[&str] = &[
    "select", "insert", "update", "delete", "with", "alter", "create", "drop", "truncate", "merge",
];
const TABLE_POSITION_WORDS: &[&str] = &["from", "join", "into", "update", "table"];

fn words(sql: &str) -> Vec<String> {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The first known table `sql` names. `structured` requires SQL shape: a leading statement keyword
/// and the table right after `FROM`/`JOIN`/`INTO`/`UPDATE`/`TABLE` (optionally schema-qualified).
pub fn sql_mentions_table(sql: &str, tables: &HashSet<String>, structured: bool) -> Option<String> {
    let w = words(sql);
    if structured
        && !w
            .first()
            .is_some_and(|f| STATEMENT_WORDS.contains(&f.as_str()))
    {
        return None;
    }
    w.iter().enumerate().find_map(|(i, word)| {
        if !tables.contains(word) {
            return None;
        }
        let in_position = |j: Option<usize>| {
            j.and_then(|j| w.get(j))
                .is_some_and(|p| TABLE_POSITION_WORDS.contains(&p.as_str()))
        };
        (!structured || in_position(i.checked_sub(1)) || in_position(i.checked_sub(2)))
            .then(|| word.clone())
    })
}

impl<'a> Checker<'a> {
    /// The SQL text an argument carries: inline, or through a variable.
    pub(super) fn sql_of(&self, e: &'a Expr) -> Vec<String> {
        if let Some(t) = string_text(e) {
            return vec![t];
        }
        if let Expr::Name(n) = e {
            return self
                .bound(n.id.as_str())
                .into_iter()
                .filter_map(string_text)
                .collect();
        }
        Vec::new()
    }

    /// The SQL argument of a sink call, if `call` is one.
    pub(super) fn sink_arg(&self, call: &'a ast::ExprCall) -> Option<(&'a Expr, &'static str)> {
        let first = call.arguments.args.first()?;
        match &*call.func {
            Expr::Attribute(a) if SINK_METHODS.contains(&a.attr.id.as_str()) => {
                // `execute(text("..."))` is judged at the text() call.
                if matches!(first, Expr::Call(_)) {
                    return None;
                }
                Some((first, "execute()"))
            }
            func => {
                let q = self.m.qualified(func)?;
                // Only SQLAlchemy's (or SQLModel's) `text`, under any alias; a local `text()` is not SQL.
                let from_sqlalchemy = (q.starts_with("sqlalchemy.") || q.starts_with("sqlmodel."))
                    && q.ends_with(".text");
                from_sqlalchemy.then_some((first, "text()"))
            }
        }
    }

    pub(super) fn check_sql_sink(&mut self, call: &'a ast::ExprCall) {
        let Some((sql_arg, via)) = self.sink_arg(call) else {
            return;
        };
        self.covered.push(sql_arg.range());
        let texts: Vec<String> = match sql_arg {
            // An f-string assigned to a variable is reported where it is written (if it is SQL).
            Expr::Name(n) => self
                .bound(n.id.as_str())
                .into_iter()
                .filter(|v| {
                    !matches!(v, Expr::FString(f)
                        if sql_mentions_table(&fstring_text(f), &self.facts.tables, true).is_some())
                })
                .filter_map(string_text)
                .collect(),
            _ => self.sql_of(sql_arg),
        };
        for sql in texts {
            if let Some(table) = sql_mentions_table(&sql, &self.facts.tables, false) {
                self.report_table(call.range(), &table, via, &sql);
                return;
            }
        }
    }

    pub(super) fn check_sql_fstring(&mut self, f: &'a ast::ExprFString) {
        let r = f.range();
        if self.covered.iter().any(|c| c.contains_range(r)) {
            return;
        }
        let sql = fstring_text(f);
        if let Some(table) = sql_mentions_table(&sql, &self.facts.tables, true) {
            self.report_table(r, &table, "an f-string", &sql);
        }
    }

    fn report_table(&mut self, at: TextRange, table: &str, via: &str, sql: &str) {
        let hint = match self.facts.table_models.get(table) {
            Some(model) => format!("query through the ORM model `{model}` instead of SQL text"),
            None => Rule::RawSql.hint().to_string(),
        };
        self.report(
            Rule::RawSql,
            at,
            format!("raw SQL in {via} names table `{table}`"),
            hint,
            format!("{table}|{}", normalize(sql)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_matching_needs_sql_shape() {
        let t: HashSet<String> = ["platform_worlds".to_string()].into();
        assert_eq!(
            sql_mentions_table("SELECT * FROM platform_worlds WHERE id = {}", &t, true).as_deref(),
            Some("platform_worlds")
        );
        assert_eq!(
            sql_mentions_table("update public.\"platform_worlds\" set x = 1", &t, true).as_deref(),
            Some("platform_worlds")
        );
        assert!(sql_mentions_table("deleted from platform_worlds: {}", &t, true).is_none());
        assert!(sql_mentions_table("SELECT * FROM {}", &t, true).is_none());
        assert!(sql_mentions_table("SELECT platform_worlds_count FROM x", &t, true).is_none());
        assert!(sql_mentions_table("platform_worlds.id = :id", &t, false).is_some());
    }
}
