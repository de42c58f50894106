//! GitHub Actions output: workflow-command annotations and the job step summary.
//!
//! Values are escaped as the runner expects (`%`, `\r`, `\n`, and in properties `:` and `,`), so a
//! message from untrusted input cannot start a new workflow command.

use std::io::Write;

/// True inside a GitHub Actions job.
pub fn in_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Appends markdown to `$GITHUB_STEP_SUMMARY`. Returns `Ok(false)` when the variable is unset.
pub fn append_step_summary(markdown: &str) -> std::io::Result<bool> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(false);
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(markdown.as_bytes())?;
    if !markdown.ends_with('\n') {
        f.write_all(b"\n")?;
    }
    Ok(true)
}

/// The severity of a workflow annotation (`::error`, `::warning`, `::notice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `::error`
    Error,
    /// `::warning`
    Warning,
    /// `::notice`
    Notice,
}

/// Where an annotation points.
#[derive(Debug, Clone, Default)]
pub struct Location {
    /// Path relative to the repository root.
    pub file: String,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub col: Option<u32>,
}

/// One `::error file=…,line=…,title=…::message` line (without a trailing newline).
pub fn annotation(
    level: Level,
    loc: Option<&Location>,
    title: Option<&str>,
    message: &str,
) -> String {
    let name = match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Notice => "notice",
    };
    let mut props = Vec::new();
    if let Some(loc) = loc {
        props.push(format!("file={}", escape_property(&loc.file)));
        if let Some(line) = loc.line {
            props.push(format!("line={line}"));
        }
        if let Some(col) = loc.col {
            props.push(format!("col={col}"));
        }
    }
    if let Some(t) = title {
        props.push(format!("title={}", escape_property(t)));
    }
    let props = if props.is_empty() {
        String::new()
    } else {
        format!(" {}", props.join(","))
    };
    format!("::{name}{props}::{}", escape_data(message))
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Escapes text for a cell of a markdown table in a step summary.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_escapes_newlines_so_input_cannot_inject_commands() {
        let line = annotation(
            Level::Error,
            Some(&Location {
                file: "a,b:c.py".into(),
                line: Some(3),
                col: None,
            }),
            Some("t"),
            "bad\n::error::injected 100%",
        );
        assert_eq!(
            line,
            "::error file=a%2Cb%3Ac.py,line=3,title=t::bad%0A::error::injected 100%25"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn bare_annotation() {
        assert_eq!(annotation(Level::Warning, None, None, "w"), "::warning::w");
    }

    #[test]
    fn md_cell_escapes_pipes() {
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
    }
}
