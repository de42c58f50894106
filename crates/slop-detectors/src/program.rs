//! The scanned files as one program: each file's module-level functions, and the resolution of a
//! call (`helper(x)`, an imported `feedback_to_dict(x)`, `crud.get_tasks(db)`) to the function it
//! runs, so a detector can follow a loaded object into the helpers that read it.

use crate::source::Module;
use ruff_python_ast::{self as ast, Expr, Stmt};
use std::collections::HashMap;

/// A function definition and the index of the module that holds it.
pub type FnRef<'a> = (usize, &'a ast::StmtFunctionDef);

pub struct Program<'a> {
    modules: &'a [Module],
    /// Dotted module path (`api.feedback`, a package's `__init__.py` as `api`) → index.
    by_path: HashMap<String, usize>,
    /// Last path segment → indices, to resolve `from api.feedback import …` when the scan root is
    /// above the import root (`platform.backend.api.feedback`).
    by_last: HashMap<String, Vec<usize>>,
    functions: Vec<HashMap<&'a str, &'a ast::StmtFunctionDef>>,
    /// Module-level `NAME = value` (the first assignment), per module.
    constants: Vec<HashMap<&'a str, &'a Expr>>,
    by_rel: HashMap<&'a str, usize>,
}

fn dotted(rel: &str) -> String {
    let stem = rel.strip_suffix(".py").unwrap_or(rel);
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    stem.replace('/', ".")
}

impl<'a> Program<'a> {
    pub fn new(modules: &'a [Module]) -> Program<'a> {
        let mut p = Program {
            modules,
            by_path: HashMap::new(),
            by_last: HashMap::new(),
            functions: Vec::with_capacity(modules.len()),
            constants: Vec::with_capacity(modules.len()),
            by_rel: HashMap::new(),
        };
        for (i, m) in modules.iter().enumerate() {
            let path = dotted(&m.rel);
            let last = path.rsplit('.').next().unwrap_or(&path).to_string();
            p.by_last.entry(last).or_default().push(i);
            p.by_path.insert(path, i);
            p.by_rel.insert(m.rel.as_str(), i);
            let mut fns = HashMap::new();
            let mut consts = HashMap::new();
            for stmt in m.suite() {
                match stmt {
                    Stmt::FunctionDef(f) => {
                        fns.insert(f.name.id.as_str(), f);
                    }
                    Stmt::Assign(a) => {
                        for t in &a.targets {
                            if let Expr::Name(n) = t {
                                consts.entry(n.id.as_str()).or_insert(&*a.value);
                            }
                        }
                    }
                    Stmt::AnnAssign(a) => {
                        if let (Expr::Name(n), Some(v)) = (&*a.target, &a.value) {
                            consts.entry(n.id.as_str()).or_insert(&**v);
                        }
                    }
                    _ => {}
                }
            }
            p.functions.push(fns);
            p.constants.push(consts);
        }
        p
    }

    pub fn module(&self, i: usize) -> &'a Module {
        &self.modules[i]
    }

    /// The index of `m` in this program.
    pub fn index_of(&self, m: &Module) -> Option<usize> {
        self.by_rel.get(m.rel.as_str()).copied()
    }

    /// The value first assigned to a module-level name of module `i`.
    pub fn constant(&self, i: usize, name: &str) -> Option<&'a Expr> {
        self.constants[i].get(name).copied()
    }

    /// A module-level function of module `i`.
    pub fn function(&self, i: usize, name: &str) -> Option<FnRef<'a>> {
        self.functions[i].get(name).map(|f| (i, *f))
    }

    /// The module an import origin names, from module `from`: `..utils.x` (relative), `api.x`
    /// (exact, or the unique module whose path ends with it).
    fn find_module(&self, from: usize, origin: &str) -> Option<usize> {
        let level = origin.len() - origin.trim_start_matches('.').len();
        let rest = &origin[level..];
        let full = if level > 0 {
            let me = &self.modules[from].rel;
            let me_dotted = dotted(me);
            let parts: Vec<&str> = me_dotted.split('.').collect();
            // A module's package is its path minus the module itself (a package's `__init__` is
            // already its package), then one more level per extra dot.
            let is_package = me.ends_with("__init__.py");
            let drop = usize::from(!is_package) + level - 1;
            let keep = parts.len().saturating_sub(drop);
            let mut base = parts[..keep].join(".");
            if !rest.is_empty() {
                if !base.is_empty() {
                    base.push('.');
                }
                base.push_str(rest);
            }
            base
        } else {
            rest.to_string()
        };
        if let Some(&i) = self.by_path.get(&full) {
            return Some(i);
        }
        let last = full.rsplit('.').next()?;
        let suffix = format!(".{full}");
        let mut hits = self.by_last.get(last)?.iter().copied().filter(|&i| {
            let p = dotted(&self.modules[i].rel);
            p == full || p.ends_with(&suffix)
        });
        let first = hits.next()?;
        hits.next().is_none().then_some(first)
    }

    /// The module a class reference comes from: `Role` (defined here or imported by name) or
    /// `role_schema.Role` (through an imported module).
    pub fn module_of(&self, from: usize, e: &Expr) -> Option<&'a Module> {
        let m = &self.modules[from];
        let i = match e {
            Expr::Name(n) => match m.imports.get(n.id.as_str()) {
                Some(origin) => self.find_module(from, origin.rsplit_once('.')?.0)?,
                None => from,
            },
            Expr::Attribute(a) => match &*a.value {
                Expr::Name(n) => self.find_module(from, m.imports.get(n.id.as_str())?)?,
                _ => return None,
            },
            _ => return None,
        };
        Some(&self.modules[i])
    }

    /// The project function a call's callee runs, if it is one: a module-level function of the same
    /// file, a function imported by name, or `module.function` through an imported module.
    pub fn resolve(&self, from: usize, func: &Expr) -> Option<FnRef<'a>> {
        let m = &self.modules[from];
        match func {
            Expr::Name(n) => {
                let name = n.id.as_str();
                if let Some(f) = self.function(from, name) {
                    return Some(f);
                }
                let origin = m.imports.get(name)?;
                let (module, fname) = origin.rsplit_once('.')?;
                let module = if module.is_empty() || module.ends_with('.') {
                    // `from . import f` gives `.f`: the package itself.
                    origin[..origin.len() - fname.len()].to_string()
                } else {
                    module.to_string()
                };
                let i = self.find_module(from, &module)?;
                self.function(i, fname)
            }
            Expr::Attribute(a) => {
                let Expr::Name(n) = &*a.value else {
                    return None;
                };
                let origin = m.imports.get(n.id.as_str())?;
                let i = self.find_module(from, origin)?;
                self.function(i, a.attr.id.as_str())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(rel: &str, src: &str) -> Module {
        Module::parse(rel.into(), src.into()).unwrap()
    }

    #[test]
    fn resolves_local_imported_relative_and_module_attribute_calls() {
        let modules = vec![
            module(
                "app/api/feedback.py",
                "from app.utils.ser import to_dict\nfrom ..crud import tasks\nfrom .helpers import h\ndef local(): pass\n",
            ),
            module("app/utils/ser.py", "def to_dict(x): pass\n"),
            module("app/crud/tasks.py", "def get_tasks(db): pass\n"),
            module("app/api/helpers.py", "def h(): pass\n"),
        ];
        let p = Program::new(&modules);
        let call = |src: &str| {
            let e = ruff_python_parser::parse_expression(src).unwrap();
            let Expr::Call(c) = e.expr() else { panic!() };
            p.resolve(0, &c.func)
                .map(|(i, f)| (i, f.name.id.to_string()))
        };
        assert_eq!(call("local()"), Some((0, "local".into())));
        assert_eq!(call("to_dict(x)"), Some((1, "to_dict".into())));
        assert_eq!(call("tasks.get_tasks(db)"), Some((2, "get_tasks".into())));
        assert_eq!(call("h()"), Some((3, "h".into())));
        assert_eq!(call("missing()"), None);
        assert_eq!(call("tasks.missing()"), None);
    }

    #[test]
    fn an_import_root_below_the_scan_root_still_resolves() {
        let modules = vec![
            module("backend/api/x.py", "from utils.ser import to_dict\n"),
            module("backend/utils/ser.py", "def to_dict(x): pass\n"),
        ];
        let p = Program::new(&modules);
        let e = ruff_python_parser::parse_expression("to_dict(x)").unwrap();
        let Expr::Call(c) = e.expr() else { panic!() };
        assert_eq!(p.resolve(0, &c.func).map(|(i, _)| i), Some(1));
    }
}
