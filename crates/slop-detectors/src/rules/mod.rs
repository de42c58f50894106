//! Pass 2: the five detectors, run over one parsed file against the project [`Facts`].
//!
//! One AST walk per file ([`Checker`]) keeps the enclosing scope (for fingerprints), the variables
//! assigned in the current function (to see what `detail=err` or `text(sql)` really holds) and the
//! routers defined in the file, and hands each node to the rules that care about it.

mod agent_error;
mod enum_case;
mod raw_sql;
mod response_model;
mod selectinload;

use crate::config::Settings;
use crate::facts::Facts;
use crate::finding::Rule;
use crate::program::Program;
use crate::source::{Bindings, Module, collect_bindings};
use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};
use std::collections::HashSet;

pub use raw_sql::sql_mentions_table;

/// A finding before positions and fingerprints are attached.
#[derive(Debug, Clone)]
pub struct RawFinding {
    pub rule: Rule,
    pub range: TextRange,
    pub message: String,
    pub hint: String,
    /// Enclosing `Class.function`, `""` at module level.
    pub scope: String,
    /// What identifies the finding inside its scope, independent of line numbers.
    pub key: String,
}

/// HTTP methods of FastAPI route decorators.
const ROUTE_METHODS: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "options",
    "head",
    "trace",
    "api_route",
];

/// Runs the enabled `rules` over `m`.
pub fn check<'a>(
    m: &'a Module,
    prog: &'a Program<'a>,
    facts: &'a Facts,
    settings: &'a Settings,
    rules: &[Rule],
) -> Vec<RawFinding> {
    let mut c = Checker {
        m,
        prog,
        lazy: selectinload::LazyCtx::new(prog, facts),
        facts,
        settings,
        rules: rules.iter().copied().collect(),
        out: Vec::new(),
        scope: Vec::new(),
        bindings: vec![collect_bindings(m.suite())],
        routers: HashSet::new(),
        covered: Vec::new(),
        helper_depth: 0,
    };
    for stmt in m.suite() {
        if let Stmt::Assign(a) = stmt
            && let Expr::Call(call) = &*a.value
            && matches!(
                m.callee_name(&call.func).as_deref(),
                Some("APIRouter" | "FastAPI")
            )
        {
            for t in &a.targets {
                if let Expr::Name(n) = t {
                    c.routers.insert(n.id.to_string());
                }
            }
        }
    }
    c.visit_body(m.suite());
    c.out
}

pub(crate) struct Checker<'a> {
    m: &'a Module,
    /// Every scanned file, to follow an endpoint into the helpers it calls.
    prog: &'a Program<'a>,
    /// `selectinload`'s helper summaries, shared by the file's endpoints.
    lazy: selectinload::LazyCtx<'a>,
    facts: &'a Facts,
    settings: &'a Settings,
    rules: HashSet<Rule>,
    out: Vec<RawFinding>,
    scope: Vec<String>,
    /// Module bindings first, then one entry per enclosing function.
    bindings: Vec<Bindings<'a>>,
    routers: HashSet<String>,
    /// Expressions already checked as SQL sinks (so an f-string inside `text(...)` is not reported twice).
    covered: Vec<TextRange>,
    /// > 0 inside the error helper's own definition.
    helper_depth: usize,
}

impl<'a> Checker<'a> {
    fn on(&self, rule: Rule) -> bool {
        self.rules.contains(&rule)
    }

    fn report(&mut self, rule: Rule, range: TextRange, message: String, hint: String, key: String) {
        self.out.push(RawFinding {
            rule,
            range,
            message,
            hint,
            scope: self.scope.join("."),
            key,
        });
    }

    fn src(&self, node: &impl Ranged) -> &'a str {
        self.m.slice(node.range())
    }

    /// Values assigned to `name` in the innermost function, falling back to module level.
    fn bound(&self, name: &str) -> Vec<&'a Expr> {
        for b in self.bindings.iter().rev() {
            if let Some(v) = b.get(name) {
                return v.clone();
            }
        }
        Vec::new()
    }

    /// The route decorator of `f` (`@router.get("/x", ...)`), if it is an endpoint.
    fn route_decorator(&self, f: &'a ast::StmtFunctionDef) -> Option<&'a ast::ExprCall> {
        f.decorator_list.iter().find_map(|d| {
            let Expr::Call(call) = &d.expression else {
                return None;
            };
            let Expr::Attribute(a) = &*call.func else {
                return None;
            };
            if !ROUTE_METHODS.contains(&a.attr.id.as_str()) {
                return None;
            }
            let receiver = match &*a.value {
                Expr::Name(n) => n.id.as_str(),
                Expr::Attribute(inner) => inner.attr.id.as_str(),
                _ => return None,
            };
            let routerish = self.routers.contains(receiver)
                || receiver == "app"
                || receiver.to_ascii_lowercase().ends_with("router");
            routerish.then_some(call)
        })
    }
}

impl<'a> Visitor<'a> for Checker<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(f) => {
                let is_helper = self
                    .settings
                    .error_helpers
                    .iter()
                    .any(|h| h == f.name.id.as_str());
                self.scope.push(f.name.id.to_string());
                self.helper_depth += usize::from(is_helper);
                self.bindings.push(collect_bindings(&f.body));
                if let Some(route) = self.route_decorator(f) {
                    if self.on(Rule::ResponseModel) {
                        self.check_response_model(f, route);
                    }
                    if self.on(Rule::Selectinload) {
                        self.check_selectinload(f, route);
                    }
                }
                walk_stmt(self, stmt);
                self.bindings.pop();
                self.helper_depth -= usize::from(is_helper);
                self.scope.pop();
            }
            Stmt::ClassDef(c) => {
                self.scope.push(c.name.id.to_string());
                walk_stmt(self, stmt);
                self.scope.pop();
            }
            _ => walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                if self.m.is_migration {
                    if self.on(Rule::EnumCase) {
                        self.check_enum_call(call);
                    }
                } else {
                    if self.on(Rule::AgentError) && self.helper_depth == 0 {
                        self.check_error_response(call);
                    }
                    if self.on(Rule::RawSql) {
                        self.check_sql_sink(call);
                    }
                }
            }
            Expr::FString(f) if !self.m.is_migration && self.on(Rule::RawSql) => {
                self.check_sql_fstring(f);
            }
            _ => {}
        }
        walk_expr(self, expr);
    }
}

/// A keyword argument's value.
pub(crate) fn kwarg<'a>(call: &'a ast::ExprCall, name: &str) -> Option<&'a Expr> {
    call.arguments
        .keywords
        .iter()
        .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == name))
        .map(|k| &k.value)
}

/// A keyword argument, or else the positional one at `index`.
pub(crate) fn arg<'a>(call: &'a ast::ExprCall, name: &str, index: usize) -> Option<&'a Expr> {
    kwarg(call, name).or_else(|| {
        call.arguments
            .args
            .get(index)
            .filter(|e| !matches!(e, Expr::Starred(_)))
    })
}

/// An HTTP status written as `404` or `status.HTTP_404_NOT_FOUND`.
pub(crate) fn status_code(e: &Expr) -> Option<u16> {
    match e {
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_u16(),
            _ => None,
        },
        Expr::Attribute(a) => a
            .attr
            .id
            .as_str()
            .strip_prefix("HTTP_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|d| d.parse().ok()),
        _ => None,
    }
}
