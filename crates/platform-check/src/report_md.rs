//! The report as Markdown: the outcome, the phases, a table of findings grouped by tool and
//! severity, then each new finding's detail (what the job summary and docs show).

use crate::report::{Finding, Outcome, Report, Tool};
use std::fmt::Write;

/// Longest detail quoted per finding (a 500's body with its traceback is enough to triage).
const DETAIL_CHARS: usize = 1200;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A code fence longer than any backtick run in `text`.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

fn clip(s: &str, n: usize) -> &str {
    &s[..s.floor_char_boundary(n)]
}

fn table(out: &mut String, findings: &[&Finding]) {
    let _ = writeln!(
        out,
        "| severity | tool | check | operations | count | example |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for f in findings {
        let ops = if f.operations.len() > 3 {
            format!(
                "{} (+{} more)",
                f.operations[..3].join(", "),
                f.operations.len() - 3
            )
        } else {
            f.operations.join(", ")
        };
        let _ = writeln!(
            out,
            "| {:?} | {} | {} {} | {} | {} | {} |",
            f.severity,
            f.tool.name(),
            cell(&f.code),
            cell(&f.title),
            cell(&ops),
            f.count,
            cell(f.examples.first().map_or("", |s| s.as_str()))
        );
    }
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let verdict = match r.outcome {
        Outcome::Pass => "pass (no new findings)",
        Outcome::NewFindings => "NEW FINDINGS",
        Outcome::Error => "could not run",
    };
    let _ = writeln!(out, "# platform-check: {verdict}\n");
    let _ = writeln!(
        out,
        "Platform: `{}`{}\n",
        r.platform,
        r.commit
            .as_deref()
            .map_or(String::new(), |c| format!(" at commit `{c}`"))
    );
    if let Some(e) = &r.error {
        let _ = writeln!(out, "**Failed step: {}** — {}\n", e.phase, e.message);
        if !e.tail.is_empty() {
            let body = e.tail.join("\n");
            let f = fence(&body);
            let _ = writeln!(
                out,
                "Last lines of {}:\n\n{f}\n{body}\n{f}\n",
                e.log.as_deref().unwrap_or("its log")
            );
        }
    }
    let _ = writeln!(
        out,
        "| phase | result | seconds | detail |\n|---|---|---|---|"
    );
    for p in &r.phases {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {} |",
            p.phase,
            if p.ok { "ok" } else { "FAILED" },
            p.seconds,
            cell(&p.detail)
        );
    }
    let new: Vec<&Finding> = r.new_findings().collect();
    let known: Vec<&Finding> = r.findings.iter().filter(|f| f.known).collect();
    let per_tool = |t: Tool| r.findings.iter().filter(|f| f.tool == t).count();
    let _ = writeln!(
        out,
        "\n## Findings: {} new, {} known (dst-sim: {} classes, Schemathesis: {} check×operation)\n",
        new.len(),
        known.len(),
        per_tool(Tool::Dst),
        per_tool(Tool::Schemathesis)
    );
    if !new.is_empty() {
        let _ = writeln!(out, "### New\n");
        table(&mut out, &new);
    }
    if !known.is_empty() {
        let _ = writeln!(out, "\n### Known\n");
        table(&mut out, &known);
    }
    if !new.is_empty() {
        let _ = writeln!(out, "\n### Details of the new findings\n");
        for f in &new {
            let _ = writeln!(
                out,
                "#### {} {} — {}\n",
                f.code,
                f.title,
                f.operations.join(", ")
            );
            let d = clip(&f.detail, DETAIL_CHARS);
            if !d.is_empty() {
                let fc = fence(d);
                let _ = writeln!(out, "{fc}\n{d}\n{fc}\n");
            }
            if !f.reproduce.is_empty() {
                let _ = writeln!(out, "Reproduce: `{}`\n", cell(clip(&f.reproduce, 400)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{FORMAT, Severity};

    #[test]
    fn markdown_lists_new_before_known_and_fences_hostile_detail() {
        let mk = |id: &str, known: bool, detail: &str| Finding {
            tool: Tool::Schemathesis,
            id: id.into(),
            title: "Server error".into(),
            code: "ST101".into(),
            severity: Severity::Critical,
            operations: vec!["GET /api/a|b".into()],
            count: 2,
            examples: vec!["curl x".into()],
            detail: detail.into(),
            reproduce: "curl -X GET http://h/api".into(),
            known,
        };
        let mut r = Report {
            format: FORMAT,
            outcome: Outcome::Pass,
            platform: "/src/p".into(),
            commit: Some("8308746".into()),
            phases: vec![],
            findings: vec![mk("k", true, ""), mk("n", false, "```\n500 body ````")],
            error: None,
            artifacts: vec![],
        };
        r.finish();
        let md = render(&r);
        assert!(md.starts_with("# platform-check: NEW FINDINGS"));
        assert!(md.contains("1 new, 1 known"));
        assert!(md.find("### New").unwrap() < md.find("### Known").unwrap());
        assert!(md.contains("GET /api/a\\|b"), "pipes in cells are escaped");
        assert!(
            md.contains("`````\n```\n500 body ````\n`````"),
            "fence outgrows the body's runs"
        );
        assert!(md.contains("at commit `8308746`"));
    }

    #[test]
    fn clip_is_utf8_safe() {
        assert_eq!(clip("ééé", 3), "é");
    }
}
