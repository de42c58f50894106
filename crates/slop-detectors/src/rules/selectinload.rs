//! `selectinload`: an endpoint that reads or serializes an ORM relationship must eager-load it.
//!
//! [`flow`] walks the endpoint (and, with the arguments' types, every project function it calls:
//! `feedback_to_dict(feedback)`, `Schema.model_validate(x)`, a crud function in another module) and
//! lists every read of a lazily loaded relationship with its whole path from the loaded root.
//! [`loads`] gathers what the endpoint eager-loads, as paths: the loader chains in its body, in the
//! functions and dependencies it reaches and in the module constants it names. A read is a finding
//! unless one chain spells its whole path (`a.b.c` needs `selectinload(A.b).selectinload(B.c)`), or it
//! happens after `expire`, an expiring `commit()` or the `refresh(x)` of an object built in the
//! request (then only `refresh(x, ["rel"])` helps). Relationships declared eager (`lazy="selectin"`, `"joined"`, `"raise"` …), objects built
//! in the request and columns are never findings. One finding per relationship per endpoint, at the
//! read or at the call that leads to it, naming the helper and the line that reads.

mod flow;
mod loads;

use super::{Checker, kwarg};
use crate::facts::Facts;
use crate::finding::Rule;
use crate::program::Program;
use flow::{Flow, Read};

/// Per file: helper summaries and each function's loader chains, shared by the file's endpoints.
pub(super) struct LazyCtx<'a> {
    flow: flow::Ctx<'a, 'a>,
    loads: loads::Memo<'a>,
}

impl<'a> LazyCtx<'a> {
    pub(super) fn new(prog: &'a Program<'a>, facts: &'a Facts) -> Self {
        LazyCtx {
            flow: flow::Ctx::new(prog, facts),
            loads: loads::Memo::default(),
        }
    }
}
use ruff_python_ast::visitor::Visitor;
use ruff_python_ast::{self as ast, Expr};
use std::collections::HashSet;

/// The class reference `response_model=` names (`X`, `list[X]`, `Optional[X]`, `mod.X`).
fn schema_ref(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Name(_) | Expr::Attribute(_) => Some(e),
        Expr::Subscript(s) => schema_ref(&s.slice),
        Expr::BinOp(b) => schema_ref(&b.left),
        _ => None,
    }
}

/// `A.b → B.c` as the loader chain that covers it.
fn chain_hint(path: &[(String, String)]) -> String {
    path.iter()
        .map(|(o, r)| format!("selectinload({o}.{r})"))
        .collect::<Vec<_>>()
        .join(".")
}

fn describe(r: &Read) -> (String, String) {
    let (owner, rel) = r.path.last().expect("a read has a path");
    let root = &r.path[0].0;
    let what = if r.path.len() > 1 {
        let dotted: Vec<&str> = r.path.iter().map(|(_, rel)| rel.as_str()).collect();
        format!(
            "the lazy relationship {owner}.{rel} on the path {root}.{}",
            dotted.join(".")
        )
    } else {
        format!("the lazy relationship {owner}.{rel}")
    };
    let why = match r.expired {
        Some((by, line)) => {
            format!("after `{by}` at line {line} expired it (a lazy load raises in async code)")
        }
        None if r.path.len() > 1 => {
            "and no eager load in this endpoint covers that whole path (a lazy load raises in async code)"
                .into()
        }
        None => "which this endpoint never eager-loads (a lazy load raises in async code)".into(),
    };
    let read = match &r.schema {
        Some(schema) => format!("returns {owner} through {schema}, whose field `{rel}` is {what}"),
        None => format!("`{}` reads {what}", r.text),
    };
    let message = if r.via.is_empty() {
        format!("{read}, {why}")
    } else {
        // Name every helper on the way and the line that reads, with their files.
        let chain: Vec<String> = r
            .via
            .iter()
            .map(|v| format!("{} ({}:{})", v.name, v.file, v.line))
            .collect();
        let read = match &r.schema {
            Some(schema) => {
                format!("serializes {owner} through {schema}, whose field `{rel}` is {what}")
            }
            None => format!("reads `{}`: {what}", r.text),
        };
        format!(
            "calls {}, which at {}:{} {read}, {why}",
            chain.join(" → "),
            r.file,
            r.line
        )
    };
    let hint = match r.expired {
        Some(_) => format!(
            "name the relationship in the refresh (refresh(obj, [\"{rel}\"])) or re-query with .options({})",
            chain_hint(&r.path)
        ),
        None => format!(
            "add .options({}) to the query that loads {root}",
            chain_hint(&r.path)
        ),
    };
    (message, hint)
}

impl<'a> Checker<'a> {
    pub(super) fn check_selectinload(
        &mut self,
        f: &'a ast::StmtFunctionDef,
        route: &'a ast::ExprCall,
    ) {
        let Some(module) = self.prog.index_of(self.m) else {
            return;
        };
        let loaded = loads::collect(self.prog, (module, f), &self.lazy.loads);
        if loaded.everything {
            return;
        }
        // FastAPI serializes through `response_model=`, or else through the return annotation.
        let schema = kwarg(route, "response_model")
            .or(f.returns.as_deref())
            .and_then(schema_ref)
            .and_then(|e| self.lazy.flow.schema_key(module, e));
        let mut flow = Flow::new(&self.lazy.flow, module, schema);
        let p = &f.parameters;
        for param in p.posonlyargs.iter().chain(&p.args).chain(&p.kwonlyargs) {
            if let Some(v) = flow.param_annotation(param) {
                flow.env.insert(param.parameter.name.id.to_string(), v);
            }
        }
        flow.visit_body(&f.body);
        let mut reported = HashSet::new();
        for r in std::mem::take(&mut flow.reads) {
            if r.expired.is_none() && loaded.covers(&r.path) {
                continue;
            }
            let (owner, rel) = r.path.last().expect("a read has a path").clone();
            if !reported.insert((owner.clone(), rel.clone())) {
                continue;
            }
            let (message, hint) = describe(&r);
            self.report(
                Rule::Selectinload,
                r.site,
                message,
                hint,
                format!("{owner}.{rel}"),
            );
        }
    }
}
