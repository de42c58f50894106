//! What an endpoint eager-loads: every loader-option chain written in it, in the functions it calls
//! (transitively, across modules), in the dependencies it declares (`Depends(get_world)`) and in the
//! module-level constants it names (`options(*WORLD_OPTIONS)`), as paths of relationship hops.
//!
//! `selectinload(A.b).selectinload(B.c)` is the path `A.b → B.c`; `defaultload(A.b)` names `A.b`
//! without loading it; `.options(...)` branches a path; `raiseload` and `noload` count as loaded (a
//! deliberate choice: the read raises a clear error or gives `None`, never an implicit query);
//! `"*"` (`selectinload("*")`, `raiseload("*")`) covers everything.

use crate::program::{FnRef, Program};
use crate::source::Module;
use ruff_python_ast::visitor::{Visitor, walk_expr};
use ruff_python_ast::{self as ast, Expr};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Loader functions/methods that load (or deliberately refuse to load) the relationship they name.
const LOADING: &[&str] = &[
    "selectinload",
    "joinedload",
    "subqueryload",
    "immediateload",
    "contains_eager",
    "raiseload",
    "noload",
];
/// Loader functions/methods that name a relationship on a path without loading it.
const PATH_ONLY: &[&str] = &["defaultload", "lazyload"];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hop {
    /// The class the relationship was written on (`A` in `A.b`); `None` for string paths.
    pub owner: Option<String>,
    pub rel: String,
    pub loads: bool,
}

/// The union of loader paths an endpoint reaches.
#[derive(Debug, Default)]
pub struct LoadSet {
    pub chains: HashSet<Vec<Hop>>,
    pub everything: bool,
}

impl LoadSet {
    /// Whether the last hop of `path` (owner model, relationship), reached from the root through the
    /// hops before it, is loaded by one chain that spells the whole path.
    pub fn covers(&self, path: &[(String, String)]) -> bool {
        if self.everything {
            return true;
        }
        self.chains.iter().any(|c| {
            c.len() >= path.len()
                && c[path.len() - 1].loads
                && c.iter().zip(path).all(|(h, (owner, rel))| {
                    h.rel == *rel && h.owner.as_deref().is_none_or(|o| o == owner)
                })
        })
    }
}

fn hops_of_arg(e: &Expr, loads: bool, out: &mut Vec<Hop>) {
    match e {
        Expr::Attribute(a) => {
            let owner = match &*a.value {
                Expr::Name(n) => Some(n.id.to_string()),
                Expr::Attribute(o) => Some(o.attr.id.to_string()),
                _ => None,
            };
            out.push(Hop {
                owner,
                rel: a.attr.id.to_string(),
                loads,
            });
        }
        // `A.b.of_type(X)`, `A.b.and_(...)`
        Expr::Call(c) => {
            if let Expr::Attribute(f) = &*c.func {
                hops_of_arg(&f.value, loads, out);
            }
        }
        Expr::StringLiteral(s) => {
            for part in s.value.to_str().split('.') {
                out.push(Hop {
                    owner: None,
                    rel: part.to_string(),
                    loads,
                });
            }
        }
        _ => {}
    }
}

/// The paths one loader expression spells, or `None` when `e` is not a loader chain.
fn chains(m: &Module, e: &Expr) -> Option<Vec<Vec<Hop>>> {
    let Expr::Call(c) = e else { return None };
    let name = m.callee_name(&c.func)?;
    // The chain this call continues: `selectinload(A.b).selectinload(B.c)`.
    let is_loader = LOADING.contains(&name.as_str()) || PATH_ONLY.contains(&name.as_str());
    let prefix = match &*c.func {
        Expr::Attribute(a) if matches!(&*a.value, Expr::Call(_)) => chains(m, &a.value),
        _ => None,
    };
    if prefix.is_none() && !is_loader {
        return None;
    }
    let prefixes = prefix.unwrap_or_else(|| vec![Vec::new()]);
    if name == "options" {
        let mut out = Vec::new();
        for p in &prefixes {
            for a in &c.arguments.args {
                for sub in chains(m, a).unwrap_or_default() {
                    out.push(p.iter().cloned().chain(sub).collect());
                }
            }
        }
        return Some(out);
    }
    let loads = LOADING.contains(&name.as_str());
    if !is_loader {
        // `load_only(...)`, `undefer(...)` on a chain: options on columns, the path stays.
        return Some(prefixes);
    }
    let mut hops = Vec::new();
    for a in &c.arguments.args {
        hops_of_arg(a, false, &mut hops);
    }
    // Old style `joinedload(A.b, B.c)`: only the last one is loaded.
    if let Some(last) = hops.last_mut() {
        last.loads = loads;
    }
    Some(
        prefixes
            .into_iter()
            .map(|p| p.into_iter().chain(hops.iter().cloned()).collect())
            .collect(),
    )
}

/// What one function contributes: its own loader chains (and those of the module constants it
/// names), and the project functions it reaches.
#[derive(Default)]
pub struct Local<'a> {
    chains: Vec<Vec<Hop>>,
    everything: bool,
    reached: Vec<FnRef<'a>>,
}

/// Each function's [`Local`], computed once per file.
pub type Memo<'a> = RefCell<HashMap<usize, Rc<Local<'a>>>>;

struct Collector<'p, 'a> {
    prog: &'p Program<'a>,
    module: usize,
    out: Local<'a>,
    constants: Vec<&'a Expr>,
}

impl<'a> Visitor<'a> for Collector<'_, 'a> {
    fn visit_expr(&mut self, e: &'a Expr) {
        let m = self.prog.module(self.module);
        match e {
            Expr::Call(c) => {
                if let Some(found) = chains(m, e) {
                    for chain in found {
                        if chain.iter().any(|h| h.rel == "*" && h.loads) {
                            self.out.everything = true;
                        }
                        if !chain.is_empty() {
                            self.out.chains.push(chain);
                        }
                    }
                }
                if let Some(f) = self.prog.resolve(self.module, &c.func) {
                    self.out.reached.push(f);
                }
                // `Depends(get_world)`: the dependency runs for this endpoint.
                if m.callee_name(&c.func).as_deref() == Some("Depends")
                    && let Some(dep) = c.arguments.args.first()
                    && let Some(f) = self.prog.resolve(self.module, dep)
                {
                    self.out.reached.push(f);
                }
            }
            Expr::Name(n) => {
                if let Some(v) = self.prog.constant(self.module, n.id.as_str()) {
                    self.constants.push(v);
                }
            }
            _ => {}
        }
        walk_expr(self, e);
    }
}

fn local<'a>(prog: &Program<'a>, (module, def): FnRef<'a>) -> Local<'a> {
    let mut c = Collector {
        prog,
        module,
        out: Local::default(),
        constants: Vec::new(),
    };
    // Parameters too: `db=Depends(get_db)`, `world: World = Depends(load_world)`.
    c.visit_parameters(&def.parameters);
    c.visit_body(&def.body);
    let mut seen = HashSet::new();
    while let Some(v) = c.constants.pop() {
        if seen.insert(v as *const Expr) {
            c.visit_expr(v);
        }
    }
    c.out
}

/// Everything `f` (an endpoint) loads, following calls and dependencies transitively.
pub fn collect<'a>(prog: &Program<'a>, f: FnRef<'a>, memo: &Memo<'a>) -> LoadSet {
    let mut set = LoadSet::default();
    let mut seen: HashSet<usize> = HashSet::new();
    let mut todo = vec![f];
    while let Some(g) = todo.pop() {
        let id = g.1 as *const ast::StmtFunctionDef as usize;
        if !seen.insert(id) {
            continue;
        }
        let l = memo
            .borrow_mut()
            .entry(id)
            .or_insert_with(|| Rc::new(local(prog, g)))
            .clone();
        set.everything |= l.everything;
        set.chains.extend(l.chains.iter().cloned());
        todo.extend(l.reached.iter().copied());
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_set(src: &str) -> LoadSet {
        let modules = vec![Module::parse("api/x.py".into(), src.into()).unwrap()];
        let p = Program::new(&modules);
        let f = p.function(0, "endpoint").unwrap();
        collect(&p, f, &Memo::default())
    }

    fn path(hops: &[(&str, &str)]) -> Vec<(String, String)> {
        hops.iter()
            .map(|(o, r)| (o.to_string(), r.to_string()))
            .collect()
    }

    #[test]
    fn a_chain_covers_its_whole_path_and_nothing_beside_it() {
        let s = load_set(
            "OPTS = [selectinload(T.task).selectinload(Task.build).selectinload(Build.repos)]\n\
             def helper(db):\n    return select(T).options(joinedload(T.task).options(selectinload(Task.ref), defaultload(Task.build).selectinload(Build.links)))\n\
             def endpoint(db):\n    q = select(T).options(*OPTS)\n    return helper(db)\n",
        );
        assert!(s.covers(&path(&[("T", "task")])));
        assert!(s.covers(&path(&[
            ("T", "task"),
            ("Task", "build"),
            ("Build", "repos")
        ])));
        assert!(s.covers(&path(&[("T", "task"), ("Task", "ref")])));
        assert!(s.covers(&path(&[
            ("T", "task"),
            ("Task", "build"),
            ("Build", "links")
        ])));
        // The linked builds' own repos are another path.
        assert!(!s.covers(&path(&[
            ("T", "task"),
            ("Task", "build"),
            ("Build", "links"),
            ("Build", "repos")
        ])));
        // Not rooted at T.
        assert!(!s.covers(&path(&[("Build", "repos")])));
        assert!(!s.everything);
    }

    #[test]
    fn defaultload_names_a_hop_without_loading_it_and_star_covers_all() {
        let s = load_set("def endpoint(db):\n    select(A).options(defaultload(A.b))\n");
        assert!(!s.covers(&path(&[("A", "b")])));
        let s = load_set("def endpoint(db):\n    select(A).options(raiseload('*'))\n");
        assert!(s.everything);
        let s = load_set("def endpoint(db):\n    select(A).options(selectinload('b.c'))\n");
        assert!(s.covers(&path(&[("A", "b"), ("B", "c")])));
    }
}
