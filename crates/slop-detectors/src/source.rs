//! One parsed Python file: its text, AST, tokens, line index and import table.

use ruff_python_ast::statement_visitor::{StatementVisitor, walk_stmt};
use ruff_python_ast::{self as ast, Expr, ModModule, Stmt};
use ruff_python_parser::Parsed;
use ruff_text_size::{Ranged, TextRange, TextSize};
use std::collections::HashMap;

pub struct Module {
    /// Path relative to the scan root, `/`-separated.
    pub rel: String,
    pub text: String,
    pub parsed: Parsed<ModModule>,
    line_starts: Vec<u32>,
    /// Local name → dotted origin: `sa` → `sqlalchemy`, `sl` → `sqlalchemy.orm.selectinload`.
    pub imports: HashMap<String, String>,
    pub is_migration: bool,
    pub is_model_file: bool,
}

/// Why a file was not checked.
#[derive(Debug, Clone)]
pub struct Unparsable {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl Module {
    /// Parses `text`. A syntax error gives `Err` with its position (the file is then not checked).
    pub fn parse(rel: String, text: String) -> Result<Module, Unparsable> {
        let parsed = ruff_python_parser::parse_unchecked_source(&text, ast::PySourceType::Python);
        let line_starts = line_starts(&text);
        if let Some(err) = parsed.errors().first() {
            let (line, column) = line_col(&line_starts, &text, err.location.start());
            return Err(Unparsable {
                line,
                column,
                message: format!("syntax error: {}", err.error),
            });
        }
        let imports = collect_imports(parsed.suite());
        Ok(Module {
            rel,
            text,
            parsed,
            line_starts,
            imports,
            is_migration: false,
            is_model_file: true,
        })
    }

    pub fn suite(&self) -> &[Stmt] {
        self.parsed.suite()
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 1-based line and character column of `offset`.
    pub fn line_col(&self, offset: TextSize) -> (u32, u32) {
        line_col(&self.line_starts, &self.text, offset)
    }

    pub fn slice(&self, range: TextRange) -> &str {
        &self.text[range]
    }

    /// The dotted origin of a callee or attribute chain, through this file's imports:
    /// `sa.Enum` → `sqlalchemy.Enum`; a local name stays as written.
    pub fn qualified(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Name(n) => {
                let id = n.id.as_str();
                Some(
                    self.imports
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| id.to_string()),
                )
            }
            Expr::Attribute(a) => {
                let base = self.qualified(&a.value)?;
                Some(format!("{base}.{}", a.attr.id.as_str()))
            }
            _ => None,
        }
    }

    /// The last segment of [`Module::qualified`], i.e. what the callee is called at its origin.
    pub fn callee_name(&self, func: &Expr) -> Option<String> {
        match func {
            Expr::Attribute(a) => Some(a.attr.id.as_str().to_string()),
            Expr::Name(_) => self
                .qualified(func)
                .map(|q| q.rsplit('.').next().unwrap_or(&q).to_string()),
            _ => None,
        }
    }
}

pub(crate) fn line_starts(text: &str) -> Vec<u32> {
    let mut v = vec![0u32];
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            v.push(i as u32 + 1);
        }
    }
    v
}

fn line_col(starts: &[u32], text: &str, offset: TextSize) -> (u32, u32) {
    let off = u32::from(offset).min(text.len() as u32);
    let idx = match starts.binary_search(&off) {
        Ok(i) => i,
        Err(i) => i - 1,
    };
    let start = starts[idx] as usize;
    let col = text
        .get(start..off as usize)
        .map_or(0, |s| s.chars().count());
    (idx as u32 + 1, col as u32 + 1)
}

fn collect_imports(body: &[Stmt]) -> HashMap<String, String> {
    struct V(HashMap<String, String>);
    impl<'a> StatementVisitor<'a> for V {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::Import(i) => {
                    for a in &i.names {
                        let full = a.name.id.as_str();
                        match &a.asname {
                            Some(asn) => {
                                self.0.insert(asn.id.to_string(), full.to_string());
                            }
                            None => {
                                let first = full.split('.').next().unwrap_or(full);
                                self.0.insert(first.to_string(), first.to_string());
                            }
                        }
                    }
                }
                Stmt::ImportFrom(i) => {
                    let module = i.module.as_ref().map_or("", |m| m.id.as_str());
                    let prefix = format!("{}{}", ".".repeat(i.level as usize), module);
                    for a in &i.names {
                        let name = a.name.id.as_str();
                        let local = a.asname.as_ref().map_or(name, |n| n.id.as_str());
                        let full = if prefix.is_empty() || prefix.ends_with('.') {
                            format!("{prefix}{name}")
                        } else {
                            format!("{prefix}.{name}")
                        };
                        self.0.insert(local.to_string(), full);
                    }
                }
                _ => walk_stmt(self, stmt),
            }
        }
    }
    let mut v = V(HashMap::new());
    v.visit_body(body);
    v.0
}

/// Names assigned in a body (not descending into nested functions or classes) → assigned values,
/// in source order. Used to see what a variable passed as `detail=` or to `text()` holds.
pub type Bindings<'a> = HashMap<&'a str, Vec<&'a Expr>>;

pub fn collect_bindings(body: &[Stmt]) -> Bindings<'_> {
    struct V<'a>(Bindings<'a>);
    impl<'a> StatementVisitor<'a> for V<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                Stmt::Assign(a) => {
                    for t in &a.targets {
                        if let Expr::Name(n) = t {
                            self.0.entry(n.id.as_str()).or_default().push(&a.value);
                        }
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let (Expr::Name(n), Some(v)) = (&*a.target, &a.value) {
                        self.0.entry(n.id.as_str()).or_default().push(v);
                    }
                }
                _ => walk_stmt(self, stmt),
            }
        }
    }
    let mut v = V(HashMap::new());
    v.visit_body(body);
    v.0
}

/// The literal text of a string-ish expression: plain and implicitly concatenated strings, f-strings
/// (each `{…}` becomes `{}`), `+` concatenation, `"…" % x` and `"…".format(…)`. `None` otherwise.
pub fn string_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        Expr::FString(f) => Some(fstring_text(f)),
        Expr::BinOp(b) if matches!(b.op, ast::Operator::Add) => {
            match (string_text(&b.left), string_text(&b.right)) {
                (None, None) => None,
                (l, r) => Some(format!(
                    "{}{}",
                    l.unwrap_or_else(|| "{}".into()),
                    r.unwrap_or_else(|| "{}".into())
                )),
            }
        }
        Expr::BinOp(b) if matches!(b.op, ast::Operator::Mod) => string_text(&b.left),
        Expr::Call(c) => match &*c.func {
            Expr::Attribute(a) if a.attr.id.as_str() == "format" => string_text(&a.value),
            _ => None,
        },
        _ => None,
    }
}

pub fn fstring_text(f: &ast::ExprFString) -> String {
    let mut out = String::new();
    for part in f.value.iter() {
        match part {
            ast::FStringPart::Literal(l) => out.push_str(&l.value),
            ast::FStringPart::FString(fs) => {
                for el in &fs.elements {
                    match el {
                        ast::InterpolatedStringElement::Literal(l) => out.push_str(&l.value),
                        ast::InterpolatedStringElement::Interpolation(_) => out.push_str("{}"),
                    }
                }
            }
        }
    }
    out
}

/// The range of an expression, for findings.
pub fn range_of<T: Ranged>(node: &T) -> TextRange {
    node.range()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_and_handles_crlf() {
        let m = Module::parse("a.py".into(), "x = 'é'\r\ny = 2\n".into()).unwrap();
        assert_eq!(m.line_col(TextSize::from(0)), (1, 1));
        // `y` is after "x = 'é'\r\n" = 9 bytes (é is 2 bytes).
        assert_eq!(m.line_col(TextSize::from(10)), (2, 1));
        assert_eq!(m.line_col(TextSize::from(7)), (1, 7));
    }

    #[test]
    fn imports_resolve_aliases_and_relative_modules() {
        let m = Module::parse(
            "a.py".into(),
            "import sqlalchemy as sa\nimport os.path\nfrom sqlalchemy.orm import selectinload as sl\nfrom ..utils.errors import agent_error\nfrom . import x\n".into(),
        )
        .unwrap();
        assert_eq!(m.imports["sa"], "sqlalchemy");
        assert_eq!(m.imports["os"], "os");
        assert_eq!(m.imports["sl"], "sqlalchemy.orm.selectinload");
        assert_eq!(m.imports["agent_error"], "..utils.errors.agent_error");
        assert_eq!(m.imports["x"], ".x");
    }

    #[test]
    fn syntax_errors_are_reported_with_a_position() {
        let e = Module::parse("a.py".into(), "x = 1\ndef f(:\n    pass\n".into())
            .err()
            .unwrap();
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("syntax error"), "{}", e.message);
    }
}
