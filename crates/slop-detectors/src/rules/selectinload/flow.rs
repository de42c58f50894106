//! The walk over one function body that finds the relationship reads an endpoint can reach.
//!
//! A small type inference tracks which variables hold instances of which model and how they got
//! there: loaded by a query (`select(World, …)` through `execute()` / `.scalars()` /
//! `.scalar_one_or_none()` / `.unique()` / `.all()` …, `db.get(World, id)`, loops and comprehensions
//! over results, tuple rows), reached through relationships (`world.creator` is a `User` on the path
//! `World.creator`), created in the request (`World(...)`: never loaded, never a finding), or expired
//! (`expire`, `commit()` when the session factory expires on commit, and a created object's
//! `refresh(x)`; a loaded object's `refresh(x)` re-runs its own loader options, so it stays loaded). Calls into project functions are followed with the arguments' types (a
//! `feedback_to_dict(feedback)` helper, an imported `serialize_world(w)`, a crud function that runs
//! its own query), and so are Pydantic `Schema.model_validate(x)` and the route's response model,
//! whose fields name relationships (nested schemas follow the relationship path).
//!
//! The result is every read of a lazily loaded relationship, with its whole path from the loaded
//! root; whether an eager load covers it is decided by the endpoint against its [`LoadSet`].
//!
//! [`LoadSet`]: super::loads::LoadSet

use crate::facts::Facts;
use crate::program::{FnRef, Program};
use crate::source::Module;
use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{self as ast, Expr, ExprContext, Stmt};
use ruff_text_size::{Ranged, TextRange};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

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
    "with_for_update",
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
/// How deep calls into helpers are followed from an endpoint.
const MAX_DEPTH: usize = 4;
/// How deep nested response schemas are followed.
const MAX_SCHEMA_DEPTH: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Loaded,
    /// Built in this request (`World(...)`): its relationships hold what was assigned, no query.
    Created,
    /// Attributes expired by `by` (`expire`, an expiring `commit`) at `line`, or an object built in
    /// the request and then refreshed: the next read of a lazy relationship queries. `created`
    /// remembers which, because `refresh()` reloads a loaded object with the loader options of the
    /// query that loaded it (what it eager-loaded is loaded again) but gives a built one none.
    Expired {
        by: &'static str,
        line: u32,
        created: bool,
    },
}

/// What a variable holds: instances of `model`, reached from a loaded root through `path`.
#[derive(Debug, Clone)]
pub struct Val {
    pub model: String,
    /// (owner model, relationship) hops from the root the query loaded.
    pub path: Vec<(String, String)>,
    pub origin: Origin,
    /// Relationships reloaded by `refresh(x, ["rel"])`.
    pub refreshed: Vec<String>,
}

impl Val {
    fn root(model: String, origin: Origin) -> Val {
        Val {
            model,
            path: Vec::new(),
            origin,
            refreshed: Vec::new(),
        }
    }

    fn sig(&self) -> String {
        let hops: Vec<String> = self.path.iter().map(|(o, r)| format!("{o}.{r}")).collect();
        format!(
            "{}/{}/{:?}/{}",
            self.model,
            hops.join(","),
            self.origin,
            self.refreshed.join(",")
        )
    }
}

/// A helper call between the analyzed function and a read.
#[derive(Debug, Clone)]
pub struct Via {
    pub name: String,
    pub file: String,
    pub line: u32,
}

/// One read of a lazily loaded relationship.
#[derive(Debug, Clone)]
pub struct Read {
    /// The whole path from the loaded root; the last hop is the relationship read.
    pub path: Vec<(String, String)>,
    /// `feedback.agent`, or `WorldOut.creator` for a serialized field.
    pub text: String,
    pub file: String,
    pub line: u32,
    pub expired: Option<(&'static str, u32)>,
    /// The schema whose field reads it, when it is read by serializing.
    pub schema: Option<String>,
    pub via: Vec<Via>,
    /// Where it shows in the analyzed function: the read itself, or the call that leads to it.
    pub site: TextRange,
}

/// Keyword arguments' types at a call.
type KwVals = Vec<(String, Option<Val>)>;

pub struct Summary {
    pub reads: Vec<Read>,
    pub ret: Option<Val>,
}

/// Shared by every walk of one file: the program, the facts, and helper summaries.
pub struct Ctx<'p, 'a> {
    pub prog: &'p Program<'a>,
    pub facts: &'p Facts,
    memo: RefCell<HashMap<(usize, String), Rc<Summary>>>,
    stack: RefCell<Vec<usize>>,
}

impl<'p, 'a> Ctx<'p, 'a> {
    pub fn new(prog: &'p Program<'a>, facts: &'p Facts) -> Self {
        Ctx {
            prog,
            facts,
            memo: RefCell::new(HashMap::new()),
            stack: RefCell::new(Vec::new()),
        }
    }

    /// The schema a class reference in module `module` names (`Role`, `role_schema.Role`), as a
    /// [`Facts::schema_key`]: same-named schemas of other files are told apart by the import.
    pub fn schema_key(&self, module: usize, e: &Expr) -> Option<String> {
        // What the class is called where it is declared: `import Grant as PolicyGrant` → `Grant`.
        let name = match e {
            Expr::Name(_) => self.prog.module(module).callee_name(e)?,
            Expr::Attribute(a) => a.attr.id.to_string(),
            _ => return None,
        };
        let file = self.prog.module_of(module, e).map(|m| m.rel.as_str());
        self.facts.schema_key(file, &name)
    }

    /// Walks `f` with its parameters bound to the call's argument types (or their annotations).
    fn summary(
        &self,
        (module, def): FnRef<'a>,
        args: &[Option<Val>],
        kwargs: &[(String, Option<Val>)],
    ) -> Option<Rc<Summary>> {
        let id = def as *const ast::StmtFunctionDef as usize;
        if self.stack.borrow().contains(&id) || self.stack.borrow().len() >= MAX_DEPTH {
            return None;
        }
        let mut flow = Flow::new(self, module, None);
        let p = &def.parameters;
        let positional = p.posonlyargs.iter().chain(&p.args);
        for (i, param) in positional.chain(&p.kwonlyargs).enumerate() {
            let name = param.parameter.name.id.as_str();
            let passed = kwargs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| {
                    (i < p.posonlyargs.len() + p.args.len()).then(|| args.get(i).cloned().flatten())
                })
                .flatten();
            // Without a type from the call, only an annotation that admits nothing but one model
            // (`t: Ticket`, `Optional[Ticket]`, `list[Ticket]`) says what the helper is given:
            // `Union[ErrataRow, ErrataIn]` may well be handed the schema.
            let val = passed.or_else(|| {
                let ann = param.parameter.annotation.as_deref()?;
                let model = flow.only_model(ann).ok()??;
                Some(Val::root(model, Origin::Loaded))
            });
            if let Some(v) = val {
                flow.env.insert(name.to_string(), v);
            }
        }
        let mut keys: Vec<String> = flow
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", v.sig()))
            .collect();
        keys.sort();
        let key = (id, keys.join(";"));
        if let Some(s) = self.memo.borrow().get(&key) {
            return Some(s.clone());
        }
        self.stack.borrow_mut().push(id);
        flow.visit_body(&def.body);
        self.stack.borrow_mut().pop();
        let ret = flow.ret.take().or_else(|| {
            def.returns
                .as_deref()
                .and_then(|r| flow.model_of_annotation(r))
                .map(|m| Val::root(m, Origin::Loaded))
        });
        let s = Rc::new(Summary {
            reads: flow.reads,
            ret,
        });
        self.memo.borrow_mut().insert(key, s.clone());
        Some(s)
    }
}

fn expire(v: &mut Val, by: &'static str, line: u32) {
    let created = matches!(
        v.origin,
        Origin::Created | Origin::Expired { created: true, .. }
    );
    v.origin = Origin::Expired { by, line, created };
    v.refreshed.clear();
}

pub struct Flow<'c, 'p, 'a> {
    ctx: &'c Ctx<'p, 'a>,
    module: usize,
    m: &'a Module,
    pub env: HashMap<String, Val>,
    pub reads: Vec<Read>,
    ret: Option<Val>,
    /// The route's response model, checked against returned values (endpoints only).
    schema: Option<String>,
}

impl<'c, 'p, 'a> Flow<'c, 'p, 'a> {
    pub fn new(ctx: &'c Ctx<'p, 'a>, module: usize, schema: Option<String>) -> Self {
        Flow {
            ctx,
            module,
            m: ctx.prog.module(module),
            env: HashMap::new(),
            reads: Vec::new(),
            ret: None,
            schema,
        }
    }

    fn facts(&self) -> &'p Facts {
        self.ctx.facts
    }

    pub fn model_of_annotation(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Name(n) => self
                .facts()
                .is_model(n.id.as_str())
                .then(|| n.id.to_string()),
            Expr::StringLiteral(s) => {
                let s = s.value.to_str();
                self.facts().is_model(s).then(|| s.to_string())
            }
            Expr::Attribute(a) => self
                .facts()
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

    pub fn param_annotation(&self, p: &ast::ParameterWithDefault) -> Option<Val> {
        let ann = p.parameter.annotation.as_deref()?;
        self.model_of_annotation(ann)
            .map(|m| Val::root(m, Origin::Loaded))
    }

    /// The one model an annotation admits: `Ok(None)` for `None`, `Err` when it admits anything
    /// that is not that model.
    fn only_model(&self, e: &Expr) -> Result<Option<String>, ()> {
        let both = |a: Result<Option<String>, ()>, b: Result<Option<String>, ()>| match (a?, b?) {
            (Some(x), Some(y)) if x != y => Err(()),
            (x, y) => Ok(x.or(y)),
        };
        match e {
            Expr::NoneLiteral(_) => Ok(None),
            Expr::Name(_) | Expr::Attribute(_) | Expr::StringLiteral(_) => {
                self.model_of_annotation(e).map(Some).ok_or(())
            }
            Expr::BinOp(b) => both(self.only_model(&b.left), self.only_model(&b.right)),
            Expr::Subscript(s) => {
                let outer = match &*s.value {
                    Expr::Name(n) => n.id.as_str(),
                    Expr::Attribute(a) => a.attr.id.as_str(),
                    _ => return Err(()),
                };
                match (outer, &*s.slice) {
                    ("Annotated", Expr::Tuple(t)) => self.only_model(t.elts.first().ok_or(())?),
                    ("Union", Expr::Tuple(t)) => t
                        .elts
                        .iter()
                        .map(|x| self.only_model(x))
                        .try_fold(None, |acc, x| both(Ok(acc), x)),
                    (
                        "Optional" | "list" | "List" | "Sequence" | "Iterable" | "set" | "Set"
                        | "Mapped",
                        inner,
                    ) => self.only_model(inner),
                    _ => Err(()),
                }
            }
            _ => Err(()),
        }
    }

    /// `World` or `models.World` as a model class.
    fn model_ref(&self, e: &Expr) -> Option<String> {
        let name = match e {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.id.as_str(),
            _ => return None,
        };
        self.facts().is_model(name).then(|| name.to_string())
    }

    fn model_arg(&self, call: &ast::ExprCall) -> Option<Val> {
        let model = self.model_ref(call.arguments.args.first()?)?;
        Some(Val::root(model, Origin::Loaded))
    }

    fn call_args(&self, c: &ast::ExprCall) -> (Vec<Option<Val>>, KwVals) {
        let args = c
            .arguments
            .args
            .iter()
            .map(|a| match a {
                Expr::Starred(_) => None,
                _ => self.infer(a),
            })
            .collect();
        let kwargs = c
            .arguments
            .keywords
            .iter()
            .filter_map(|k| Some((k.arg.as_ref()?.id.to_string(), self.infer(&k.value))))
            .collect();
        (args, kwargs)
    }

    fn helper(&self, c: &ast::ExprCall) -> Option<(FnRef<'a>, Rc<Summary>)> {
        let f = self.ctx.prog.resolve(self.module, &c.func)?;
        let (args, kwargs) = self.call_args(c);
        Some((f, self.ctx.summary(f, &args, &kwargs)?))
    }

    /// The model whose instances `e` holds or yields, and how they were obtained.
    pub fn infer(&self, e: &Expr) -> Option<Val> {
        match e {
            Expr::Name(n) => self.env.get(n.id.as_str()).cloned(),
            Expr::Await(a) => self.infer(&a.value),
            Expr::Subscript(s) => self.infer(&s.value),
            Expr::If(i) => self.infer(&i.body).or_else(|| self.infer(&i.orelse)),
            Expr::BoolOp(b) => b.values.iter().find_map(|v| self.infer(v)),
            Expr::Named(n) => self.infer(&n.value),
            Expr::Attribute(a) => {
                let v = self.infer(&a.value)?;
                let rel = self.facts().relationship(&v.model, a.attr.id.as_str())?;
                let target = rel.target.clone().filter(|t| self.facts().is_model(t))?;
                let mut path = v.path.clone();
                path.push((v.model.clone(), a.attr.id.to_string()));
                Some(Val {
                    model: target,
                    path,
                    origin: match v.origin {
                        Origin::Created => Origin::Created,
                        _ => Origin::Loaded,
                    },
                    refreshed: Vec::new(),
                })
            }
            Expr::Call(c) => self.infer_call(c),
            _ => None,
        }
    }

    fn infer_call(&self, c: &ast::ExprCall) -> Option<Val> {
        match &*c.func {
            Expr::Attribute(a) => {
                let name = a.attr.id.as_str();
                if matches!(name, "get" | "get_one" | "query") {
                    return self.model_arg(c);
                }
                if name == "merge" {
                    let v = self.infer(c.arguments.args.first()?)?;
                    return Some(Val::root(v.model, Origin::Loaded));
                }
                if RUNNERS.contains(&name)
                    && let Some(first) = c.arguments.args.first()
                {
                    return self.infer(first);
                }
                if PASS_THROUGH.contains(&name) {
                    return self.infer(&a.value);
                }
                if let Some(model) = self.model_ref(&c.func) {
                    return Some(Val::root(model, Origin::Created));
                }
                self.helper(c).and_then(|(_, s)| s.ret.clone())
            }
            Expr::Name(n) => match self.m.callee_name(&c.func).as_deref() {
                Some("select" | "query") => self.model_arg(c),
                Some("list" | "sorted" | "next" | "iter" | "reversed" | "tuple" | "set") => {
                    self.infer(c.arguments.args.first()?)
                }
                _ if self.facts().is_model(n.id.as_str()) => {
                    Some(Val::root(n.id.to_string(), Origin::Created))
                }
                _ => self.helper(c).and_then(|(_, s)| s.ret.clone()),
            },
            _ => None,
        }
    }

    fn bind(&mut self, target: &Expr, val: Option<Val>) {
        match target {
            Expr::Name(n) => match val {
                Some(v) => {
                    self.env.insert(n.id.to_string(), v);
                }
                None => {
                    self.env.remove(n.id.as_str());
                }
            },
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for (i, t) in elts.iter().enumerate() {
                    self.bind(t, if i == 0 { val.clone() } else { None });
                }
            }
            _ => {}
        }
    }

    fn line(&self, r: TextRange) -> u32 {
        self.m.line_col(r.start()).0
    }

    /// Records a read of `rel` on `v` when `rel` is a lazily loaded relationship that could query.
    fn read(&mut self, v: &Val, rel: &str, text: String, site: TextRange, schema: Option<&str>) {
        let lazy = self
            .facts()
            .relationship(&v.model, rel)
            .is_some_and(|r| r.lazy);
        if !lazy || v.origin == Origin::Created || v.refreshed.iter().any(|r| r == rel) {
            return;
        }
        let mut path = v.path.clone();
        path.push((v.model.clone(), rel.to_string()));
        self.reads.push(Read {
            path,
            text,
            file: self.m.rel.clone(),
            line: self.line(site),
            expired: match v.origin {
                Origin::Expired { by, line, .. } => Some((by, line)),
                _ => None,
            },
            schema: schema.map(str::to_string),
            via: Vec::new(),
            site,
        });
    }

    /// Serializing `v` through `schema` reads every field that is a relationship of its model, and
    /// the fields of nested schemas along those relationships.
    fn serialize(&mut self, v: &Val, schema: &str, site: TextRange, depth: usize) {
        let facts = self.facts();
        let Some(fields) = facts.schema_fields(schema) else {
            return;
        };
        for f in fields {
            let Some(rel) = facts.relationship(&v.model, f) else {
                continue;
            };
            let shown = schema.rsplit("::").next().unwrap_or(schema);
            self.read(v, f, format!("{shown}.{f}"), site, Some(shown));
            if depth < MAX_SCHEMA_DEPTH
                && let Some(nested) = facts.schema_field_schema(schema, f)
                && let Some(target) = rel.target.as_ref().filter(|t| facts.is_model(t))
            {
                let mut path = v.path.clone();
                path.push((v.model.clone(), f.clone()));
                let child = Val {
                    model: target.clone(),
                    path,
                    origin: match v.origin {
                        Origin::Created => Origin::Created,
                        _ => Origin::Loaded,
                    },
                    refreshed: Vec::new(),
                };
                self.serialize(&child, nested, site, depth + 1);
            }
        }
    }

    fn expire_all(&mut self, by: &'static str, line: u32) {
        for v in self.env.values_mut() {
            expire(v, by, line);
        }
    }

    /// `refresh`, `expire`, `expire_all` and (when the factory expires on commit) `commit`.
    fn session_call(&mut self, c: &ast::ExprCall, name: &str) {
        let line = self.line(c.range());
        let target = match c.arguments.args.first() {
            Some(Expr::Name(n)) if self.env.contains_key(n.id.as_str()) => Some(n.id.to_string()),
            _ => None,
        };
        match name {
            "refresh" => {
                let Some(t) = target else { return };
                let names_arg = c
                    .arguments
                    .args
                    .get(1)
                    .or_else(|| super::super::kwarg(c, "attribute_names"));
                let mut names = Vec::new();
                if let Some(
                    Expr::List(ast::ExprList { elts, .. })
                    | Expr::Tuple(ast::ExprTuple { elts, .. }),
                ) = names_arg
                {
                    for e in elts {
                        if let Expr::StringLiteral(s) = e {
                            names.push(s.value.to_str().to_string());
                        }
                    }
                }
                let v = self.env.get_mut(&t).expect("checked above");
                if names_arg.is_some() {
                    v.refreshed.extend(names);
                } else {
                    // Checked against SQLAlchemy 2.1: `refresh(x)` re-runs x's own loader options,
                    // so what its query eager-loaded is loaded again; a built object has none.
                    v.origin = match v.origin {
                        Origin::Loaded | Origin::Expired { created: false, .. } => Origin::Loaded,
                        Origin::Created | Origin::Expired { created: true, .. } => {
                            Origin::Expired {
                                by: "refresh",
                                line,
                                created: true,
                            }
                        }
                    };
                }
            }
            "expire" => {
                if let Some(t) = target {
                    expire(self.env.get_mut(&t).expect("checked above"), "expire", line);
                }
            }
            "expire_all" => self.expire_all("expire_all", line),
            "commit" if self.facts().commit_expires && c.arguments.is_empty() => {
                self.expire_all("commit", line)
            }
            _ => {}
        }
    }

    fn visit_call(&mut self, c: &'a ast::ExprCall) {
        if let Expr::Attribute(a) = &*c.func {
            let name = a.attr.id.as_str();
            if SERIALIZERS.contains(&name)
                && let Some(schema) = self.ctx.schema_key(self.module, &a.value)
                && let Some(v) = c.arguments.args.first().and_then(|x| self.infer(x))
            {
                self.serialize(&v, &schema, c.range(), 0);
                return;
            }
            if matches!(name, "refresh" | "expire" | "expire_all" | "commit") {
                self.session_call(c, name);
                return;
            }
        }
        if let Some(((module, def), s)) = self.helper(c) {
            let via = Via {
                name: def.name.id.to_string(),
                file: self.ctx.prog.module(module).rel.clone(),
                line: self.ctx.prog.module(module).line_col(def.range().start()).0,
            };
            for r in &s.reads {
                let mut r = r.clone();
                r.via.insert(0, via.clone());
                r.site = c.range();
                self.reads.push(r);
            }
        }
    }
}

impl<'a> Visitor<'a> for Flow<'_, '_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Assign(a) => {
                self.visit_expr(&a.value);
                let val = self.infer(&a.value);
                for t in &a.targets {
                    self.bind(t, val.clone());
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.visit_expr(v);
                }
                let val = a.value.as_deref().and_then(|v| self.infer(v)).or_else(|| {
                    self.model_of_annotation(&a.annotation)
                        .map(|m| Val::root(m, Origin::Loaded))
                });
                self.bind(&a.target, val);
            }
            Stmt::For(f) => {
                self.visit_expr(&f.iter);
                let val = self.infer(&f.iter);
                self.bind(&f.target, val);
                self.visit_body(&f.body);
                self.visit_body(&f.orelse);
            }
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    self.visit_expr(v);
                    let val = self.infer(v);
                    if let (Some(val), Some(schema)) = (&val, self.schema.clone()) {
                        self.serialize(val, &schema, v.range(), 0);
                    }
                    if self.ret.is_none() {
                        self.ret = val;
                    }
                }
            }
            // Nested functions and classes run at another time, with other variables.
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            _ => walk_stmt(self, stmt),
        }
    }

    fn visit_comprehension(&mut self, c: &'a ast::Comprehension) {
        self.visit_expr(&c.iter);
        let val = self.infer(&c.iter);
        self.bind(&c.target, val);
        for cond in &c.ifs {
            self.visit_expr(cond);
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Attribute(a) if a.ctx == ExprContext::Load => {
                if let Some(v) = self.infer(&a.value) {
                    let text = self.m.slice(a.range()).trim().to_string();
                    self.read(&v, a.attr.id.as_str(), text, a.range(), None);
                }
            }
            Expr::Named(n) => {
                self.visit_expr(&n.value);
                let val = self.infer(&n.value);
                self.bind(&n.target, val);
                return;
            }
            Expr::Call(c) => {
                // Arguments first: `to_dict(await db.get(World, id))`.
                walk_expr(self, expr);
                self.visit_call(c);
                return;
            }
            _ => {}
        }
        walk_expr(self, expr);
    }
}
