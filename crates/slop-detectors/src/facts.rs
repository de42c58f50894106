//! Pass 1: project facts every detector needs, gathered from all scanned files before any file is
//! checked. Model classes and their `relationship()`s (with the target class and whether the default
//! load is lazy), table names from `__tablename__` / `Table("name", …)`, and Pydantic schemas (class →
//! field names, inheritance resolved).

use crate::source::Module;
use ruff_python_ast::visitor::{Visitor, walk_expr};
use ruff_python_ast::{self as ast, Expr, Stmt};
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelInfo {
    /// Target class name, when written as a string, a name or in `Mapped[...]`.
    pub target: Option<String>,
    /// True when the default loader is lazy (`lazy` absent, `"select"` or `True`): reading it in async
    /// code without eager loading raises.
    pub lazy: bool,
}

#[derive(Debug, Default, Clone)]
struct ClassInfo {
    bases: Vec<String>,
    rels: BTreeMap<String, RelInfo>,
    fields: Vec<String>,
    /// Field → the class its annotation names (`creator: UserOut`, `items: list[ItemOut]`).
    field_types: Vec<(String, String)>,
    model_marker: bool,
}

/// One file's declaration of a class: (file, own fields, bases).
type Declaration = (String, Vec<String>, Vec<String>);

/// What one file contributes.
#[derive(Debug, Default)]
pub struct FileFacts {
    rel: String,
    classes: Vec<(String, ClassInfo, bool)>,
    tables: Vec<(String, Option<String>)>,
    /// (class the backref lands on, attribute name, class it points to, lazy)
    backrefs: Vec<(String, String, String, bool)>,
    /// A session factory was configured here, and whether it set `expire_on_commit=False`.
    session_factory: Option<bool>,
}

/// The merged facts of a scan.
#[derive(Debug, Default)]
pub struct Facts {
    /// Lower-case table names.
    pub tables: HashSet<String>,
    /// Table → model class, for hints.
    pub table_models: HashMap<String, String>,
    models: HashMap<String, BTreeMap<String, RelInfo>>,
    schemas: HashMap<String, Vec<String>>,
    /// (schema, field) → the schema class the field's annotation names.
    schema_field_types: HashMap<(String, String), String>,
    /// Schemas whose class name is declared in several files: (file, class) → that file's fields.
    /// `schemas` then holds only the fields they all share.
    schemas_by_file: HashMap<(String, String), Vec<String>>,
    /// True when the scan saw a session factory and none of them set `expire_on_commit=False`:
    /// then `commit()` expires every loaded object and a later relationship read is a lazy load.
    pub commit_expires: bool,
}

const WRAPPERS: &[&str] = &[
    "Mapped", "list", "List", "set", "Set", "Optional", "Union", "Sequence", "tuple", "Tuple",
    "None",
];

fn last_segment(m: &Module, e: &Expr) -> Option<String> {
    match e {
        Expr::Subscript(s) => last_segment(m, &s.value),
        _ => m.callee_name(e),
    }
}

/// The class named inside an annotation like `Mapped[list["Dweller"]]`.
fn annotation_target(e: &Expr) -> Option<String> {
    match e {
        Expr::StringLiteral(s) => {
            let s = s.value.to_str().trim();
            // "Dweller" or a string annotation such as "list[Dweller]"
            let inner = s
                .rsplit(['[', ','])
                .next()
                .unwrap_or(s)
                .trim_matches([']', ' ', '"', '\'']);
            (!inner.is_empty() && !WRAPPERS.contains(&inner)).then(|| inner.to_string())
        }
        Expr::Name(n) => {
            let id = n.id.as_str();
            (!WRAPPERS.contains(&id)).then(|| id.to_string())
        }
        Expr::Attribute(a) => Some(a.attr.id.to_string()),
        Expr::Subscript(s) => annotation_target(&s.slice),
        Expr::Tuple(t) => t.elts.iter().find_map(annotation_target),
        Expr::BinOp(b) => annotation_target(&b.left).or_else(|| annotation_target(&b.right)),
        _ => None,
    }
}

fn kw<'a>(call: &'a ast::ExprCall, name: &str) -> Option<&'a Expr> {
    call.arguments
        .keywords
        .iter()
        .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == name))
        .map(|k| &k.value)
}

fn lazy_of(call: &ast::ExprCall) -> bool {
    match kw(call, "lazy") {
        None => true,
        Some(Expr::StringLiteral(s)) => s.value.to_str() == "select",
        Some(Expr::BooleanLiteral(b)) => b.value,
        Some(_) => false,
    }
}

fn string_or_name(e: &Expr) -> Option<String> {
    match e {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        Expr::Name(n) => Some(n.id.to_string()),
        _ => None,
    }
}

/// Pass 1 over one file.
pub fn collect(m: &Module) -> FileFacts {
    let mut out = FileFacts {
        rel: m.rel.clone(),
        ..FileFacts::default()
    };
    collect_body(m, m.suite(), &mut out);
    // Cheap text test first: only a few files configure the session.
    if m.text.contains("sessionmaker") || m.text.contains("expire_on_commit") {
        out.session_factory = session_factory(m);
    }
    out
}

/// `sessionmaker(...)` / `async_sessionmaker(...)` / `AsyncSession(...)` calls in a file: `Some(true)`
/// when one of them passes `expire_on_commit=False`, `Some(false)` when there are some but none does.
fn session_factory(m: &Module) -> Option<bool> {
    struct V<'m> {
        m: &'m Module,
        found: Option<bool>,
    }
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Call(c) = e
                && matches!(
                    self.m.callee_name(&c.func).as_deref(),
                    Some("sessionmaker" | "async_sessionmaker" | "AsyncSession" | "Session")
                )
            {
                let keeps = matches!(
                    kw(c, "expire_on_commit"),
                    Some(Expr::BooleanLiteral(b)) if !b.value
                );
                self.found = Some(self.found.unwrap_or(false) || keeps);
            }
            walk_expr(self, e);
        }
    }
    let mut v = V { m, found: None };
    v.visit_body(m.suite());
    v.found
}

fn collect_body(m: &Module, body: &[Stmt], out: &mut FileFacts) {
    for stmt in body {
        match stmt {
            Stmt::ClassDef(c) => collect_class(m, c, out),
            Stmt::If(i) => {
                collect_body(m, &i.body, out);
                for clause in &i.elif_else_clauses {
                    collect_body(m, &clause.body, out);
                }
            }
            Stmt::Assign(a) if m.is_model_file => tables_in(m, &a.value, out),
            _ => {}
        }
    }
}

fn tables_in(m: &Module, value: &Expr, out: &mut FileFacts) {
    if let Expr::Call(c) = value
        && m.callee_name(&c.func).as_deref() == Some("Table")
        && let Some(Expr::StringLiteral(s)) = c.arguments.args.first()
    {
        out.tables.push((s.value.to_str().to_lowercase(), None));
    }
}

fn collect_class(m: &Module, c: &ast::StmtClassDef, out: &mut FileFacts) {
    let name = c.name.id.to_string();
    let mut info = ClassInfo::default();
    if let Some(args) = &c.arguments {
        info.bases = args
            .args
            .iter()
            .filter_map(|b| last_segment(m, b))
            .collect();
    }
    for stmt in &c.body {
        let (target, annotation, value) = match stmt {
            Stmt::Assign(a) => match a.targets.as_slice() {
                [Expr::Name(n)] => (n.id.as_str(), None, Some(&*a.value)),
                _ => continue,
            },
            Stmt::AnnAssign(a) => match &*a.target {
                Expr::Name(n) => (n.id.as_str(), Some(&*a.annotation), a.value.as_deref()),
                _ => continue,
            },
            _ => continue,
        };
        if target == "__tablename__" || target == "__table__" {
            info.model_marker = true;
            if m.is_model_file {
                if let Some(Expr::StringLiteral(s)) = value {
                    out.tables
                        .push((s.value.to_str().to_lowercase(), Some(name.clone())));
                } else if let Some(v) = value {
                    tables_in(m, v, out);
                }
            }
            continue;
        }
        if let Some(ann) = annotation
            && !target.starts_with('_')
        {
            info.fields.push(target.to_string());
            if let Some(t) = annotation_target(ann) {
                info.field_types.push((target.to_string(), t));
            }
        }
        let Some(Expr::Call(call)) = value else {
            continue;
        };
        match m.callee_name(&call.func).as_deref() {
            Some("relationship" | "Relationship") => {
                info.model_marker = true;
                let write_only = annotation.is_some_and(|a| {
                    matches!(
                        last_segment(m, a).as_deref(),
                        Some("WriteOnlyMapped" | "DynamicMapped")
                    )
                });
                let target_class = call
                    .arguments
                    .args
                    .first()
                    .and_then(string_or_name)
                    .or_else(|| annotation.and_then(annotation_target));
                let lazy = lazy_of(call) && !write_only;
                if let Some(target_class) = &target_class {
                    match kw(call, "backref") {
                        Some(Expr::StringLiteral(s)) => out.backrefs.push((
                            target_class.clone(),
                            s.value.to_str().to_string(),
                            name.clone(),
                            true,
                        )),
                        Some(Expr::Call(b)) => {
                            if let Some(Expr::StringLiteral(s)) = b.arguments.args.first() {
                                out.backrefs.push((
                                    target_class.clone(),
                                    s.value.to_str().to_string(),
                                    name.clone(),
                                    lazy_of(b),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
                info.rels.insert(
                    target.to_string(),
                    RelInfo {
                        target: target_class,
                        lazy,
                    },
                );
            }
            Some("mapped_column" | "Column" | "column_property") => info.model_marker = true,
            _ => {}
        }
    }
    out.classes.push((name, info, m.is_model_file));
}

impl Facts {
    /// Merges every file's facts and resolves inheritance.
    pub fn merge(files: impl IntoIterator<Item = FileFacts>, extra_tables: &[String]) -> Facts {
        let mut classes: HashMap<String, ClassInfo> = HashMap::new();
        let mut model_file_classes: HashSet<String> = HashSet::new();
        let mut facts = Facts::default();
        let mut backrefs = Vec::new();
        let mut factories = Vec::new();
        // class name → (file, own fields, bases) of each declaration
        let mut declared: HashMap<String, Vec<Declaration>> = HashMap::new();
        for f in files {
            for (name, info, in_model_file) in f.classes {
                if in_model_file {
                    model_file_classes.insert(name.clone());
                }
                declared.entry(name.clone()).or_default().push((
                    f.rel.clone(),
                    info.fields.clone(),
                    info.bases.clone(),
                ));
                let slot = classes.entry(name).or_default();
                slot.bases.extend(info.bases);
                slot.fields.extend(info.fields);
                slot.field_types.extend(info.field_types);
                slot.rels.extend(info.rels);
                slot.model_marker |= info.model_marker;
            }
            for (t, model) in f.tables {
                if let Some(model) = model {
                    facts.table_models.insert(t.clone(), model);
                }
                facts.tables.insert(t);
            }
            backrefs.extend(f.backrefs);
            factories.extend(f.session_factory);
        }
        // Unknown (no factory in the scanned files) counts as not expiring: no finding on a guess.
        facts.commit_expires = !factories.is_empty() && !factories.iter().any(|&keeps| keeps);
        facts.tables.extend(extra_tables.iter().cloned());
        for (on, attr, points_to, lazy) in backrefs {
            model_file_classes.insert(on.clone());
            let slot = classes.entry(on).or_default();
            slot.model_marker = true;
            slot.rels.entry(attr).or_insert(RelInfo {
                target: Some(points_to),
                lazy,
            });
        }
        // A model is a class with model markers in a model file, or one inheriting from a model;
        // a schema is a class that reaches pydantic's BaseModel.
        let is_model = |name: &str, classes: &HashMap<String, ClassInfo>| {
            reaches(name, classes, &mut HashSet::new(), &|n, c: &ClassInfo| {
                c.model_marker && model_file_classes.contains(n)
            })
        };
        let is_schema = |name: &str, classes: &HashMap<String, ClassInfo>| {
            reaches(name, classes, &mut HashSet::new(), &|_, c: &ClassInfo| {
                c.bases.iter().any(|b| b == "BaseModel")
            })
        };
        for name in classes.keys() {
            if is_model(name, &classes) {
                let mut rels = BTreeMap::new();
                inherited(name, &classes, &mut HashSet::new(), &mut |c| {
                    for (k, v) in &c.rels {
                        rels.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                });
                facts.models.insert(name.clone(), rels);
            } else if is_schema(name, &classes) {
                let mut fields = Vec::new();
                let mut types = Vec::new();
                inherited(name, &classes, &mut HashSet::new(), &mut |c| {
                    fields.extend(c.fields.iter().cloned());
                    types.extend(c.field_types.iter().cloned());
                });
                for (field, ty) in types {
                    facts
                        .schema_field_types
                        .entry((name.clone(), field))
                        .or_insert(ty);
                }
                fields.sort();
                fields.dedup();
                facts.schemas.insert(name.clone(), fields);
            }
        }
        // Same-named schemas in different files (`schemas/role.py: Role` and `perms/roles.py: Role`)
        // keep their own fields, found through the import that names them.
        for (name, decls) in declared {
            if decls.len() < 2 || !facts.schemas.contains_key(&name) {
                continue;
            }
            let mut shared: Option<Vec<String>> = None;
            for (rel, own, bases) in decls {
                let mut fields = own;
                for b in &bases {
                    inherited(b, &classes, &mut HashSet::new(), &mut |c| {
                        fields.extend(c.fields.iter().cloned())
                    });
                }
                fields.sort();
                fields.dedup();
                shared = Some(match shared {
                    None => fields.clone(),
                    Some(s) => s.into_iter().filter(|f| fields.contains(f)).collect(),
                });
                facts.schemas_by_file.insert((rel, name.clone()), fields);
            }
            facts.schemas.insert(name, shared.unwrap_or_default());
        }
        facts
    }

    /// How to look up schema `name` as written in a file that resolves it to `file` (through its
    /// imports): that file's own class when the name is declared in several files, else the name.
    pub fn schema_key(&self, file: Option<&str>, name: &str) -> Option<String> {
        if let Some(file) = file
            && self
                .schemas_by_file
                .contains_key(&(file.to_string(), name.to_string()))
        {
            return Some(format!("{file}::{name}"));
        }
        self.schemas.contains_key(name).then(|| name.to_string())
    }

    pub fn is_model(&self, class: &str) -> bool {
        self.models.contains_key(class)
    }

    pub fn relationship(&self, model: &str, attr: &str) -> Option<&RelInfo> {
        self.models.get(model)?.get(attr)
    }

    /// A schema's fields, by name or by a [`Facts::schema_key`].
    pub fn schema_fields(&self, schema: &str) -> Option<&[String]> {
        match schema.split_once("::") {
            Some((file, name)) => self
                .schemas_by_file
                .get(&(file.to_string(), name.to_string())),
            None => self.schemas.get(schema),
        }
        .map(Vec::as_slice)
    }

    /// The schema a schema's field nests (`creator: UserOut` → `UserOut`), if it names one.
    pub fn schema_field_schema(&self, schema: &str, field: &str) -> Option<&str> {
        let schema = schema.rsplit("::").next().unwrap_or(schema);
        self.schema_field_types
            .get(&(schema.to_string(), field.to_string()))
            .map(String::as_str)
            .filter(|t| self.schemas.contains_key(*t))
    }

    pub fn model_count(&self) -> usize {
        self.models.len()
    }
}

fn reaches(
    name: &str,
    classes: &HashMap<String, ClassInfo>,
    seen: &mut HashSet<String>,
    pred: &dyn Fn(&str, &ClassInfo) -> bool,
) -> bool {
    if !seen.insert(name.to_string()) {
        return false;
    }
    let Some(c) = classes.get(name) else {
        return false;
    };
    pred(name, c) || c.bases.iter().any(|b| reaches(b, classes, seen, pred))
}

fn inherited(
    name: &str,
    classes: &HashMap<String, ClassInfo>,
    seen: &mut HashSet<String>,
    f: &mut dyn FnMut(&ClassInfo),
) {
    if !seen.insert(name.to_string()) {
        return;
    }
    if let Some(c) = classes.get(name) {
        f(c);
        for b in &c.bases {
            inherited(b, classes, seen, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> Facts {
        let m = Module::parse("db/models.py".into(), src.into()).unwrap();
        Facts::merge([collect(&m)], &["audit_log".into()])
    }

    #[test]
    fn relationships_targets_laziness_tables_and_schemas() {
        let f = facts(
            r#"
from sqlalchemy.orm import relationship as rel, Mapped, mapped_column
from pydantic import BaseModel
class Base(DeclarativeBase): pass
class World(Base):
    __tablename__ = "platform_worlds"
    id: Mapped[int] = mapped_column(primary_key=True)
    creator: Mapped["User"] = rel(back_populates="worlds")
    dwellers: Mapped[list["Dweller"]] = rel(lazy="selectin")
    events = rel("Event", backref="world")
class ArchivedWorld(World):
    pass
class WorldOut(BaseModel):
    id: int
    dwellers: list[str]
class WorldDetail(WorldOut):
    creator: str
"#,
        );
        let creator = f.relationship("World", "creator").unwrap();
        assert_eq!(creator.target.as_deref(), Some("User"));
        assert!(creator.lazy);
        assert!(!f.relationship("World", "dwellers").unwrap().lazy);
        assert_eq!(
            f.relationship("World", "events").unwrap().target.as_deref(),
            Some("Event")
        );
        assert_eq!(
            f.relationship("Event", "world").unwrap().target.as_deref(),
            Some("World")
        );
        assert!(f.relationship("ArchivedWorld", "creator").is_some());
        assert!(f.relationship("World", "id").is_none());
        assert!(f.tables.contains("platform_worlds") && f.tables.contains("audit_log"));
        assert_eq!(f.table_models["platform_worlds"], "World");
        assert_eq!(
            f.schema_fields("WorldDetail").unwrap(),
            &["creator".to_string(), "dwellers".into(), "id".into()]
        );
        assert!(!f.is_model("WorldOut"));
    }
}
