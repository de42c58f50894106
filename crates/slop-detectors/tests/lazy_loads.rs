//! The `selectinload` rule against minimal projects written from real lazy-load 500s (one directory
//! per case under `fixtures/lazy-loads/`, each README names the commit it follows): exactly the
//! `# expect: selectinload` lines are flagged, and the messages name the helper and the line that
//! reads.

mod common;

use slop_detectors::config::Settings;
use slop_detectors::scan::{ScanOutcome, ScanRequest, scan};
use slop_detectors::{Finding, Rule};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lazy-loads")
        .join(name)
}

fn run(root: &Path) -> ScanOutcome {
    scan(&ScanRequest {
        root: root.to_path_buf(),
        paths: vec![root.to_path_buf()],
        settings: Settings::default(),
        rules: vec![Rule::Selectinload],
    })
    .unwrap()
}

/// Scans one case and checks its findings are exactly its `# expect:` lines.
fn exactly_expected(name: &str) -> Vec<Finding> {
    let root = case(name);
    let o = run(&root);
    let got: BTreeSet<_> = o
        .findings
        .iter()
        .map(|f| (f.file.clone(), f.line, f.rule.id().to_string()))
        .collect();
    let want = common::expectations(&root);
    assert!(!want.is_empty(), "{name} expects nothing");
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{name}\nmissing: {missing:#?}\nunexpected: {extra:#?}\nall: {:#?}",
        o.findings
            .iter()
            .map(|f| format!("{}:{} {}", f.file, f.line, f.message))
            .collect::<Vec<_>>()
    );
    o.findings
}

fn at<'f>(findings: &'f [Finding], file: &str, line: u32) -> &'f Finding {
    findings
        .iter()
        .find(|f| f.file == file && f.line == line)
        .unwrap_or_else(|| panic!("no finding at {file}:{line}"))
}

#[test]
fn a_serializer_helper_reading_an_unloaded_relationship_is_flagged_at_each_endpoint() {
    let f = exactly_expected("serializer-helper");
    // GET and PATCH both name the helper, its line and the line inside it that reads.
    for line in [33, 42] {
        let m = &at(&f, "api/tickets.py", line).message;
        assert!(m.contains("ticket_as_dict (api/tickets.py:14)"), "{m}");
        assert!(
            m.contains("at api/tickets.py:18 reads `ticket.reporter`"),
            "{m}"
        );
        assert!(m.contains("Ticket.reporter"), "{m}");
    }
    // An imported helper: its own file and line.
    let m = &at(&f, "api/tickets.py", 57).message;
    assert!(m.contains("render_assignee (utils/render.py:4)"), "{m}");
    assert!(m.contains("at utils/render.py:5 reads `t.assignee`"), "{m}");
}

#[test]
fn a_join_is_not_an_eager_load_in_lists_gets_and_updates() {
    let f = exactly_expected("join-without-eager");
    let m = &at(&f, "api/songs.py", 35).message;
    assert!(
        m.contains("`song.performer` reads the lazy relationship Song.performer"),
        "{m}"
    );
    assert!(
        at(&f, "api/songs.py", 35)
            .hint
            .contains("selectinload(Song.performer)")
    );
}

#[test]
fn an_eager_chain_must_cover_the_whole_path_through_a_crud_module() {
    let f = exactly_expected("nested-path");
    let finding = at(&f, "app/api/jobs.py", 10);
    let m = &finding.message;
    assert!(
        m.contains("pending_jobs (app/crud/jobs.py:13) → source_urls (app/crud/jobs.py:7)"),
        "{m}"
    );
    assert!(m.contains("at app/crud/jobs.py:9 reads `p.sources`"), "{m}");
    assert!(
        m.contains("on the path Job.step.pipeline.linked.sources"),
        "{m}"
    );
    assert!(
        finding.hint.contains(
            "selectinload(Job.step).selectinload(Step.pipeline).selectinload(Pipeline.linked).selectinload(Pipeline.sources)"
        ),
        "{}",
        finding.hint
    );
}

#[test]
fn expired_objects_are_flagged_and_every_promised_negative_is_not() {
    let f = exactly_expected("expired-and-precision");
    // A built object refreshed; a loaded one refreshed (close_order) keeps its eager loads.
    let m = &at(&f, "api/orders.py", 28).message;
    assert!(m.contains("after `refresh` at line 27"), "{m}");
    let m = &at(&f, "api/orders.py", 46).message;
    assert!(m.contains("after `commit` at line 45"), "{m}");
    let m = &at(&f, "api/orders.py", 52).message;
    assert!(
        m.contains("through CustomerOut") && m.contains("on the path Order.customer.address"),
        "{m}"
    );
}

/// With `expire_on_commit=False` on the factory, a commit expires nothing.
#[test]
fn commit_expires_only_when_the_session_factory_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for rel in ["db/models.py", "api/orders.py", "schemas/orders.py"] {
        let text = std::fs::read_to_string(case("expired-and-precision").join(rel)).unwrap();
        let text = text.replace(
            "sessionmaker(class_=AsyncSession)",
            "sessionmaker(class_=AsyncSession, expire_on_commit=False)",
        );
        common::write(root, rel, &text);
    }
    let o = run(root);
    assert!(o.findings.iter().all(|f| f.line != 46), "{:#?}", o.findings);
    assert!(o.findings.iter().any(|f| f.line == 28));
}

/// Two schemas with one class name in different files (the albs-web-server `Role` pattern): the one
/// the route imports decides, not the union of both.
#[test]
fn a_schema_is_the_one_the_route_imports_not_a_namesake() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    common::write(
        root,
        "app/models.py",
        "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship\n\
         class Base(DeclarativeBase):\n    pass\n\
         class GrantRow(Base):\n    __tablename__ = 'grants'\n    id: Mapped[int] = mapped_column(primary_key=True)\n    name: Mapped[str] = mapped_column()\n    perms: Mapped[list['Perm']] = relationship()\n\
         class Perm(Base):\n    __tablename__ = 'perms'\n    id: Mapped[int] = mapped_column(primary_key=True)\n",
    );
    common::write(
        root,
        "app/schemas/grant.py",
        "from pydantic import BaseModel\nclass Grant(BaseModel):\n    id: int\n    name: str\n",
    );
    common::write(
        root,
        "app/policy/grants.py",
        "from pydantic import BaseModel\nclass Grant(BaseModel):\n    name: str\n    perms: list[str]\n",
    );
    common::write(
        root,
        "app/api/grants.py",
        "from fastapi import APIRouter, Depends\nfrom sqlalchemy import select\n\
         from app import models\nfrom app.schemas import grant as grant_schema\nfrom app.policy.grants import Grant as PolicyGrant\n\
         router = APIRouter()\n\
         @router.get('/grants', response_model=list[grant_schema.Grant])\n\
         async def grants(db=Depends(get_db)):\n    return (await db.execute(select(models.GrantRow))).scalars().all()\n\
         @router.get('/policy', response_model=dict)\n\
         async def policy(db=Depends(get_db)):\n    g = await db.get(models.GrantRow, 1)\n    return {'g': PolicyGrant.model_validate(g)}  # expect: selectinload\n",
    );
    let o = run(root);
    let lines: Vec<_> = o
        .findings
        .iter()
        .map(|f| (f.file.as_str(), f.line))
        .collect();
    assert_eq!(lines, vec![("app/api/grants.py", 13)], "{:#?}", o.findings);
}
