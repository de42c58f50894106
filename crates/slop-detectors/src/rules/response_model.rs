//! `response-model`: a route must declare the shape of what it returns.
//!
//! Not findings, as the platform team's own CI gate (`scripts/check_response_model_coverage.py`)
//! and FastAPI's semantics decide: `response_model=` (including `None`, a deliberate opt-out);
//! `include_in_schema=False` (an internal route, outside the agents' contract); a `responses=` entry
//! for a 2xx status that names a `"model"` (the schema is in the OpenAPI document) or declares only
//! non-JSON `content` (a Server-Sent Events stream); and a function whose every `return` hands back a
//! non-JSON `Response` object (`PlainTextResponse(...)`, `StreamingResponse(...)`), whose body has no
//! JSON shape to declare. A `responses=` entry with only a description still leaves the JSON body
//! untyped, so it stays a finding.

use super::{Checker, kwarg};
use crate::finding::{Rule, normalize};
use ruff_python_ast::statement_visitor::{StatementVisitor, walk_stmt};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

/// Whether a `responses=` key is a success status: `200`, `"201"`, `"2XX"`.
fn is_success(key: &Expr) -> bool {
    match key {
        Expr::NumberLiteral(_) | Expr::Attribute(_) => {
            super::status_code(key).is_some_and(|c| (200..300).contains(&c))
        }
        Expr::StringLiteral(s) => s.value.to_str().starts_with('2'),
        _ => false,
    }
}

fn dict_get<'a>(d: &'a ast::ExprDict, name: &str) -> Option<&'a Expr> {
    d.items.iter().find_map(|item| match &item.key {
        Some(Expr::StringLiteral(k)) if k.value.to_str() == name => Some(&item.value),
        _ => None,
    })
}

/// A success entry of `responses=` that types the body: a `"model"`, or only non-JSON content.
fn responses_declare_body(responses: &Expr) -> bool {
    let Expr::Dict(d) = responses else {
        return false;
    };
    d.items.iter().any(|item| {
        let (Some(key), Expr::Dict(entry)) = (&item.key, &item.value) else {
            return false;
        };
        if !is_success(key) {
            return false;
        }
        if dict_get(entry, "model").is_some() {
            return true;
        }
        match dict_get(entry, "content") {
            Some(Expr::Dict(content)) => {
                !content.items.is_empty()
                    && content.items.iter().all(|c| {
                        matches!(&c.key, Some(Expr::StringLiteral(m)) if !m.value.to_str().contains("json"))
                    })
            }
            _ => false,
        }
    })
}

impl<'a> Checker<'a> {
    /// Whether every `return` of `f` (outside nested functions) gives back a non-JSON `Response`
    /// object, built in the return or in a variable assigned one. A `JSONResponse` body still has a
    /// shape worth declaring (FastAPI documents `response_model=` even when it does not apply it).
    fn returns_only_responses(&self, f: &'a ast::StmtFunctionDef) -> bool {
        struct Returns<'a>(Vec<Option<&'a Expr>>);
        impl<'a> StatementVisitor<'a> for Returns<'a> {
            fn visit_stmt(&mut self, stmt: &'a Stmt) {
                match stmt {
                    Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                    Stmt::Return(r) => self.0.push(r.value.as_deref()),
                    _ => walk_stmt(self, stmt),
                }
            }
        }
        let mut r = Returns(Vec::new());
        r.visit_body(&f.body);
        let is_response = |e: &Expr| match e {
            Expr::Call(c) => self
                .m
                .callee_name(&c.func)
                .is_some_and(|n| n.ends_with("Response") && !n.ends_with("JSONResponse")),
            _ => false,
        };
        !r.0.is_empty()
            && r.0.iter().all(|v| match v {
                Some(Expr::Name(n)) => {
                    let bound = self.bound(n.id.as_str());
                    !bound.is_empty() && bound.iter().all(|b| is_response(b))
                }
                Some(e) => is_response(e),
                None => false,
            })
    }

    pub(super) fn check_response_model(
        &mut self,
        f: &'a ast::StmtFunctionDef,
        route: &'a ast::ExprCall,
    ) {
        if kwarg(route, "response_model").is_some()
            || matches!(kwarg(route, "include_in_schema"), Some(Expr::BooleanLiteral(b)) if !b.value)
            || kwarg(route, "responses").is_some_and(responses_declare_body)
            || self.returns_only_responses(f)
        {
            return;
        }
        let method = match &*route.func {
            Expr::Attribute(a) => a.attr.id.to_uppercase(),
            _ => String::new(),
        };
        let path = route
            .arguments
            .args
            .first()
            .and_then(|p| match p {
                Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
                _ => None,
            })
            .or_else(|| match kwarg(route, "path") {
                Some(Expr::StringLiteral(s)) => Some(s.value.to_str().to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "?".into());
        let why = if kwarg(route, "responses").is_some() {
            "declares responses= without a model for its success status, and no response_model="
        } else {
            "declares no response_model="
        };
        let key = normalize(self.src(route));
        self.report(
            Rule::ResponseModel,
            route.range(),
            format!("route {method} \"{path}\" (`{}`) {why}", f.name.id),
            Rule::ResponseModel.hint().into(),
            key,
        );
    }
}
