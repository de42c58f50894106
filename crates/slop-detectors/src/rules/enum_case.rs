//! `enum-case`: enum values created or added in migrations are UPPERCASE.
//!
//! In migration files: string arguments of `sa.Enum(...)` / `postgresql.ENUM(...)` (any alias; not the
//! standard library's `enum.Enum`), and the values in SQL passed to `op.execute` / `execute` /
//! `text()`: `ALTER TYPE t ADD VALUE [IF NOT EXISTS] 'v'` and `CREATE TYPE t AS ENUM ('a', 'b')`.

use super::Checker;
use crate::finding::{Rule, normalize};
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange};

fn is_upper(v: &str) -> bool {
    v.to_uppercase() == v
}

/// Enum values a SQL statement creates or adds.
pub fn sql_enum_values(sql: &str) -> Vec<String> {
    let lower = sql.to_lowercase();
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let quoted = |i: usize| -> Option<(String, usize)> {
        if bytes.get(i) != Some(&b'\'') {
            return None;
        }
        let end = sql[i + 1..].find('\'')? + i + 1;
        Some((sql[i + 1..end].to_string(), end + 1))
    };
    for (at, _) in lower.match_indices("add value") {
        let mut i = skip_ws(at + "add value".len());
        if lower[i..].starts_with("if not exists") {
            i = skip_ws(i + "if not exists".len());
        }
        if let Some((v, _)) = quoted(i) {
            out.push(v);
        }
    }
    for (at, _) in lower.match_indices("as enum") {
        let mut i = skip_ws(at + "as enum".len());
        if bytes.get(i) != Some(&b'(') {
            continue;
        }
        i += 1;
        loop {
            i = skip_ws(i);
            let Some((v, next)) = quoted(i) else { break };
            out.push(v);
            i = skip_ws(next);
            if bytes.get(i) == Some(&b',') {
                i += 1;
            } else {
                break;
            }
        }
    }
    out
}

impl<'a> Checker<'a> {
    pub(super) fn check_enum_call(&mut self, call: &'a ast::ExprCall) {
        let Some(q) = self.m.qualified(&call.func) else {
            return;
        };
        let last = q.rsplit('.').next().unwrap_or(&q);
        if (last == "Enum" || last == "ENUM") && !q.starts_with("enum.") {
            let mut values: Vec<(&'a Expr, String)> = Vec::new();
            for a in &call.arguments.args {
                match a {
                    Expr::StringLiteral(s) => values.push((a, s.value.to_str().to_string())),
                    Expr::Starred(st) => {
                        if let Expr::List(ast::ExprList { elts, .. })
                        | Expr::Tuple(ast::ExprTuple { elts, .. }) = &*st.value
                        {
                            for e in elts {
                                if let Expr::StringLiteral(s) = e {
                                    values.push((e, s.value.to_str().to_string()));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            let type_name = match super::kwarg(call, "name") {
                Some(Expr::StringLiteral(s)) => s.value.to_str().to_string(),
                _ => String::new(),
            };
            for (e, v) in values {
                if !is_upper(&v) {
                    self.report_enum(e.range(), &v, &type_name);
                }
            }
            return;
        }
        // SQL that creates or extends an enum type.
        if let Some((sql_arg, _)) = self.sink_arg(call) {
            for sql in self.sql_of(sql_arg) {
                for v in sql_enum_values(&sql) {
                    if !is_upper(&v) {
                        self.report_enum(sql_arg.range(), &v, "");
                    }
                }
            }
        }
    }

    fn report_enum(&mut self, range: TextRange, value: &str, type_name: &str) {
        let of = if type_name.is_empty() {
            String::new()
        } else {
            format!(" of enum type `{type_name}`")
        };
        self.report(
            Rule::EnumCase,
            range,
            format!("enum value '{value}'{of} is not UPPERCASE"),
            format!("use '{}'", value.to_uppercase()),
            format!("{type_name}|{}", normalize(value)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_in_alter_and_create_type() {
        assert_eq!(
            sql_enum_values("ALTER TYPE s ADD VALUE IF NOT EXISTS 'archived' AFTER 'DONE'"),
            vec!["archived"]
        );
        assert_eq!(
            sql_enum_values("alter type s add value 'X'; ALTER TYPE s ADD VALUE 'y'"),
            vec!["X", "y"]
        );
        assert_eq!(
            sql_enum_values("CREATE TYPE s AS ENUM ('A', 'b' ,'C')"),
            vec!["A", "b", "C"]
        );
        assert!(sql_enum_values("SELECT 'add value'").is_empty());
    }
}
