//! `selectinload`: an endpoint that reads or serializes an ORM relationship must eager-load it.
//!
//! Inside each route function, a small flow-insensitive type inference tracks which variables hold
//! instances of which model: parameters annotated with a model (`user: User = Depends(...)`),
//! `await db.get(World, id)`, `select(World, …)` through `execute()` / `.scalars()` / `.first()` /
//! `.all()` …, `for w in worlds`, comprehensions, tuple unpacking of rows (`world, n = row`, first
//! element), and relationship hops (`world.creator` is a `User`). Then:
//!
//! * reading `x.rel` where `rel` is a lazily loaded relationship of `x`'s model, or
//! * returning a model instance through a `response_model` (or `Schema.model_validate(x)`) whose
//!   schema has a field named like one of the model's lazy relationships,
//!
//! is a finding unless the endpoint, or a module-level function it calls, names that relationship in
//! `selectinload` / `joinedload` / `subqueryload` / `immediateload` / `contains_eager` (or
//! `refresh(x, ["rel"])`). Relationships declared with an eager `lazy=` are never findings. One finding
//! per relationship per endpoint.

use super::{Checker, kwarg};
use crate::facts::Facts;
use crate::finding::Rule;
use crate::source::Module;
use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{self as ast, Expr, ExprContext, Stmt};
use ruff_text_size::{Ranged, TextRange};
use std::collections::{HashMap, HashSet};

const LOADERS: &[&str] = &[
    "selectinload",
    "joinedload",
    "subqueryload",
    "immediateload",
    "contains_eager",
];
/// Methods that return "the same entities" as their receiver.
const PASS_THROUGH: &[&str] = &[
    "where",
    "filter",
    "filter_by",
    "options",
    "order_by",
    "limit",
    "offset",
    "join",
    "outerjoin",
    "distinct",
    "group_by",
    "having",
    "execution_options",
    "scalars",
    "scalar",
    "scalar_one",
    "scalar_one_or_none",
    "first",
    "one",
    "one_or_none",
    "all",
    "unique",
    "fetchall",
    "fetchone",
    "tuples",
];
/// Methods whose first argument is the statement that decides the entities.
const RUNNERS: &[&str] = &["execute", "scalars", "scalar", "stream", "stream_scalars"];
const SERIALIZERS: &[&str] = &["model_validate", "from_orm", "parse_obj", "validate"];

/// Relationship names an endpoint eager-loads, and the module-level functions it calls.
struct LoadCollector<'m> {
    m: &'m Module,
    loaded: HashSet<String>,
    called: Vec<String>,
}

impl<'a> Visitor<'a> for LoadCollector<'_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(c) = expr {
            if let Expr::Name(n) = &*c.func {
                self.called.push(n.id.to_string());
            }
            // Through import aliases: `from sqlalchemy.orm import selectinload as eager`.
            let callee = self.m.callee_name(&c.func);
            let callee = callee.as_deref();
            if callee.is_some_and(|n| LOADERS.contains(&n)) {
                for a in &c.arguments.args {
                    self.note(a);
                }
            }
            if callee == Some("refresh") {
                for a in c.arguments.args.iter().skip(1) {
                    self.note(a);
                }
                if let Some(a) = kwarg(c, "attribute_names") {
                    self.note(a);
                }
            }
        }
        walk_expr(self, expr);
    }
}

impl LoadCollector<'_> {
    fn note(&mut self, e: &Expr) {
        match e {
            Expr::Attribute(a) => {
                self.loaded.insert(a.attr.id.to_string());
            }
            Expr::StringLiteral(s) => {
                self.loaded.insert(s.value.to_str().to_string());
            }
            Expr::List(l) => l.elts.iter().for_each(|x| self.note(x)),
            Expr::Tuple(t) => t.elts.iter().for_each(|x| self.note(x)),
            _ => {}
        }
    }
}

struct Finding {
    range: TextRange,
    message: String,
    hint: String,
    key: String,
}

struct Endpoint<'c> {
    m: &'c Module,
    facts: &'c Facts,
    env: HashMap<String, String>,
    loaded: &'c HashSet<String>,
    schema: Option<(String, &'c [String])>,
    reported: HashSet<(String, String)>,
    out: Vec<Finding>,
}

impl<'c> Endpoint<'c> {
    fn model_of_annotation(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Name(n) => self.facts.is_model(n.id.as_str()).then(|| n.id.to_string()),
            Expr::StringLiteral(s) => {
                let s = s.value.to_str();
                self.facts.is_model(s).then(|| s.to_string())
            }
            Expr::Attribute(a) => self
                .facts
                .is_model(a.attr.id.as_str())
                .then(|| a.attr.id.to_string()),
            Expr::Subscript(s) => {
                if let (Expr::Name(n), Expr::Tuple(t)) = (&*s.value, &*s.slice)
                    && n.id.as_str() == "Annotated"
                {
                    return t.elts.first().and_then(|x| self.model_of_annotation(x));
                }
                self.model_of_annotation(&s.slice)
            }
            Expr::Tuple(t) => t.elts.iter().find_map(|x| self.model_of_annotation(x)),
            Expr::BinOp(b) => self
                .model_of_annotation(&b.left)
                .or_else(|| self.model_of_annotation(&b.right)),
            _ => None,
        }
    }

    fn model_arg(&self, call: &ast::ExprCall) -> Option<String> {
        match call.arguments.args.first()? {
            Expr::Name(n) if self.facts.is_model(n.id.as_str()) => Some(n.id.to_string()),
            _ => None,
        }
    }

    /// The model whose instances `e` holds or yields.
    fn infer(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Name(n) => self.env.get(n.id.as_str()).cloned(),
            Expr::Await(a) => self.infer(&a.value),
            Expr::Subscript(s) => self.infer(&s.value),
            Expr::If(i) => self.infer(&i.body).or_else(|| self.infer(&i.orelse)),
            Expr::BoolOp(b) => b.values.iter().find_map(|v| self.infer(v)),
            Expr::Named(n) => self.infer(&n.value),
            Expr::Attribute(a) => {
                let model = self.infer(&a.value)?;
                let rel = self.facts.relationship(&model, a.attr.id.as_str())?;
                rel.target.clone().filter(|t| self.facts.is_model(t))
            }
            Expr::Call(c) => match &*c.func {
                Expr::Attribute(a) => {
                    let name = a.attr.id.as_str();
                    if matches!(name, "get" | "get_one" | "query") {
                        return self.model_arg(c);
                    }
                    if RUNNERS.contains(&name)
                        && let Some(first) = c.arguments.args.first()
                    {
                        return self.infer(first);
                    }
                    if PASS_THROUGH.contains(&name) {
                        return self.infer(&a.value);
                    }
                    None
                }
                Expr::Name(_) => match self.m.callee_name(&c.func).as_deref() {
                    Some("select" | "query") => self.model_arg(c),
                    Some("list" | "sorted" | "next" | "iter" | "reversed" | "tuple" | "set") => {
                        self.infer(c.arguments.args.first()?)
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    fn bind(&mut self, target: &Expr, model: Option<String>) {
        match target {
            Expr::Name(n) => match model {
                Some(m) => {
                    self.env.insert(n.id.to_string(), m);
                }
                None => {
                    self.env.remove(n.id.as_str());
                }
            },
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for (i, t) in elts.iter().enumerate() {
                    self.bind(t, if i == 0 { model.clone() } else { None });
                }
            }
            _ => {}
        }
    }

    fn unloaded(&self, model: &str, rel: &str) -> bool {
        self.facts
            .relationship(model, rel)
            .is_some_and(|r| r.lazy && !self.loaded.contains(rel))
            && !self
                .reported
                .contains(&(model.to_string(), rel.to_string()))
    }

    fn check_serialized(&mut self, value: &Expr, schema: &str, fields: &[String], at: TextRange) {
        let Some(model) = self.infer(value) else {
            return;
        };
        for f in fields {
            if self.unloaded(&model, f) {
                self.reported.insert((model.clone(), f.clone()));
                self.out.push(Finding {
                    range: at,
                    message: format!(
                        "returns {model} through {schema}, whose field `{f}` is the lazy relationship {model}.{f}, not eager-loaded here"
                    ),
                    hint: format!("add .options(selectinload({model}.{f})) to the query that loads {model}"),
                    key: format!("{model}.{f}"),
                });
            }
        }
    }
}

impl<'a> Visitor<'a> for Endpoint<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Assign(a) => {
                self.visit_expr(&a.value);
                let model = self.infer(&a.value);
                for t in &a.targets {
                    self.bind(t, model.clone());
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.visit_expr(v);
                }
                let model = self
                    .model_of_annotation(&a.annotation)
                    .or_else(|| a.value.as_deref().and_then(|v| self.infer(v)));
                self.bind(&a.target, model);
            }
            Stmt::For(f) => {
                self.visit_expr(&f.iter);
                let model = self.infer(&f.iter);
                self.bind(&f.target, model);
                self.visit_body(&f.body);
                self.visit_body(&f.orelse);
            }
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    self.visit_expr(v);
                    if let Some((schema, fields)) = self.schema.clone() {
                        self.check_serialized(v, &schema, fields, v.range());
                    }
                }
            }
            _ => walk_stmt(self, stmt),
        }
    }

    fn visit_comprehension(&mut self, c: &'a ast::Comprehension) {
        self.visit_expr(&c.iter);
        let model = self.infer(&c.iter);
        self.bind(&c.target, model);
        for cond in &c.ifs {
            self.visit_expr(cond);
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Attribute(a) if a.ctx == ExprContext::Load => {
                let rel = a.attr.id.as_str();
                if let Some(model) = self.infer(&a.value)
                    && self.unloaded(&model, rel)
                {
                    self.reported.insert((model.clone(), rel.to_string()));
                    let receiver = self.m.slice(a.value.range()).trim();
                    self.out.push(Finding {
                        range: a.range(),
                        message: format!(
                            "`{receiver}.{rel}` reads the lazy relationship {model}.{rel}, which this endpoint never eager-loads (a lazy load raises in async code)"
                        ),
                        hint: format!(
                            "add .options(selectinload({model}.{rel})) to the query that loads {model}"
                        ),
                        key: format!("{model}.{rel}"),
                    });
                }
            }
            Expr::Named(n) => {
                self.visit_expr(&n.value);
                let model = self.infer(&n.value);
                self.bind(&n.target, model);
                return;
            }
            Expr::Call(c) => {
                if let Expr::Attribute(a) = &*c.func
                    && SERIALIZERS.contains(&a.attr.id.as_str())
                    && let Expr::Name(schema) = &*a.value
                    && let Some(fields) = self.facts.schema_fields(schema.id.as_str())
                    && let Some(first) = c.arguments.args.first()
                {
                    let schema = schema.id.to_string();
                    self.check_serialized(first, &schema, fields, c.range());
                }
            }
            _ => {}
        }
        walk_expr(self, expr);
    }
}

/// The schema class named by `response_model=` (`X`, `list[X]`, `Optional[X]`, `mod.X`).
fn schema_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => Some(a.attr.id.to_string()),
        Expr::Subscript(s) => schema_name(&s.slice),
        Expr::BinOp(b) => schema_name(&b.left),
        _ => None,
    }
}

impl<'a> Checker<'a> {
    pub(super) fn check_selectinload(
        &mut self,
        f: &'a ast::StmtFunctionDef,
        route: &'a ast::ExprCall,
    ) {
        // What the endpoint loads, following calls into module-level functions (transitively).
        let mut lc = LoadCollector {
            m: self.m,
            loaded: HashSet::new(),
            called: Vec::new(),
        };
        lc.visit_body(&f.body);
        let mut seen: HashSet<String> = HashSet::from([f.name.id.to_string()]);
        while let Some(name) = lc.called.pop() {
            if seen.insert(name.clone())
                && let Some(g) = self.functions.get(name.as_str())
            {
                lc.visit_body(&g.body);
            }
        }
        if lc.loaded.contains("*") {
            return;
        }
        let schema = kwarg(route, "response_model")
            .and_then(schema_name)
            .and_then(|s| self.facts.schema_fields(&s).map(|f| (s, f)));
        let mut ep = Endpoint {
            m: self.m,
            facts: self.facts,
            env: HashMap::new(),
            loaded: &lc.loaded,
            schema,
            reported: HashSet::new(),
            out: Vec::new(),
        };
        let p = &f.parameters;
        for param in p.posonlyargs.iter().chain(&p.args).chain(&p.kwonlyargs) {
            if let Some(ann) = &param.parameter.annotation
                && let Some(model) = ep.model_of_annotation(ann)
            {
                ep.env.insert(param.parameter.name.id.to_string(), model);
            }
        }
        ep.visit_body(&f.body);
        for found in ep.out {
            self.report(
                Rule::Selectinload,
                found.range,
                found.message,
                found.hint,
                found.key,
            );
        }
    }
}
