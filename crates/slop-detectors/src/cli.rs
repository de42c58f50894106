//! The command line: argument parsing, config and baseline handling, exit codes.

use crate::baseline::{Baseline, BaselineError, write_atomic};
use crate::config::{Settings, SettingsError};
use crate::finding::{Rule, Status};
use crate::output::{self, Report};
use crate::scan::{ScanRequest, scan};
use clap::{Parser, ValueEnum};
use markers::{ExitStatus, HarnessConfig};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

const AFTER_HELP: &str = "\
Rules: selectinload, agent-error, raw-sql, enum-case, response-model (--list-rules describes them).
Suppress one finding with a comment on its line (or alone on the line above):
    # slop: ignore[raw-sql] reporting query, reviewed in #123      (a reason is required)

Baseline: --update-baseline records today's findings in docs/slop/baseline.json (or [slop] baseline,
or --baseline FILE) and writes REPORT.md next to it; later runs fail only on findings not in it and
list the fixed ones so the baseline can shrink. --report FILE re-renders REPORT.md from the baseline.
Config: the [slop] section of harness.toml at the project root (or --config FILE).

Exit codes:
  0  no new findings (clean, or only baselined/suppressed ones); also after --update-baseline/--report
  1  new findings
  2  usage, config, baseline or I/O error";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable report (default outside GitHub Actions)
    Text,
    /// One JSON array of findings
    Json,
    /// SARIF 2.1.0 for GitHub code scanning
    Sarif,
    /// GitHub Actions annotations (default when GITHUB_ACTIONS=true)
    Github,
}

/// Project-specific static detectors for a FastAPI + SQLAlchemy + Alembic codebase.
#[derive(Debug, Parser)]
#[command(name = "slop-detectors", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Directories or files to scan [default: the current directory]
    pub paths: Vec<PathBuf>,
    /// Directory that reported paths are relative to, and where harness.toml and the default
    /// baseline live [default: the git top-level of the first PATH, else that directory]
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// harness.toml to read instead of <root>/harness.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Baseline file [default: <root>/docs/slop/baseline.json, used when it exists]
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Ignore any baseline: every finding is new
    #[arg(long, conflicts_with_all = ["baseline", "update_baseline"])]
    pub no_baseline: bool,
    /// Rewrite the baseline (and REPORT.md beside it) with the current findings; exits 0
    #[arg(long)]
    pub update_baseline: bool,
    /// Render the baseline as Markdown to FILE and exit, without scanning
    #[arg(long, value_name = "FILE", conflicts_with = "update_baseline")]
    pub report: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Same as --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Only run these rules (repeatable or comma-separated)
    #[arg(long = "rule", value_name = "RULE", value_delimiter = ',')]
    pub rules: Vec<String>,
    /// Write the report to FILE instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Describe the rules and exit
    #[arg(long)]
    pub list_rules: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(
        "unknown rule `{0}` (known: selectinload, agent-error, raw-sql, enum-case, response-model)"
    )]
    UnknownRule(String),
    #[error(transparent)]
    Config(#[from] markers::ConfigError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Discover(#[from] crate::discover::DiscoverError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Runs the CLI; returns the process exit code.
pub fn main_with(cli: Cli) -> u8 {
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("slop-detectors: error: {e}");
            ExitStatus::Error.code()
        }
    }
}

fn default_root(first: &Path) -> Result<PathBuf, CliError> {
    let abs = first.canonicalize().map_err(|source| CliError::Io {
        path: first.to_path_buf(),
        source,
    })?;
    let dir = if abs.is_file() {
        abs.parent().map(Path::to_path_buf).unwrap_or(abs)
    } else {
        abs
    };
    Ok(markers::project_root(&dir).unwrap_or(dir))
}

fn run(cli: Cli) -> Result<u8, CliError> {
    if cli.list_rules {
        for r in Rule::ALL {
            println!(
                "{:<15} {}\n{:<15} fix: {}",
                r.id(),
                r.summary(),
                "",
                r.hint()
            );
        }
        return Ok(ExitStatus::Pass.code());
    }
    let mut selected = Vec::new();
    for name in &cli.rules {
        selected.push(Rule::from_id(name).ok_or_else(|| CliError::UnknownRule(name.clone()))?);
    }
    let paths = if cli.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        cli.paths.clone()
    };
    let root = match &cli.root {
        Some(r) => r.canonicalize().map_err(|source| CliError::Io {
            path: r.clone(),
            source,
        })?,
        None => default_root(&paths[0])?,
    };
    let harness = match &cli.config {
        Some(f) => HarnessConfig::load_file(f)?,
        None => HarnessConfig::load(&root)?,
    };
    let settings = Settings::from_harness(&harness)?;
    let baseline_path = cli
        .baseline
        .clone()
        .unwrap_or_else(|| root.join(&settings.baseline));
    let baseline_name = crate::discover::relative(&root, &baseline_path);

    if let Some(report_path) = &cli.report {
        let b = Baseline::load(&baseline_path)?;
        write_atomic(report_path, b.render_report(&baseline_name).as_bytes())?;
        eprintln!(
            "slop-detectors: wrote {} ({} finding(s) from {baseline_name})",
            report_path.display(),
            b.findings.len()
        );
        return Ok(ExitStatus::Pass.code());
    }

    let rules: Vec<Rule> = if selected.is_empty() {
        settings.enabled.clone()
    } else {
        selected
    };
    let mut outcome = scan(&ScanRequest {
        root: root.clone(),
        paths,
        settings: settings.clone(),
        rules,
    })?;

    let existing = if cli.no_baseline {
        None
    } else {
        match Baseline::load(&baseline_path) {
            Ok(b) => Some(b),
            Err(BaselineError::Missing(_)) if cli.baseline.is_none() || cli.update_baseline => None,
            Err(e) => return Err(e.into()),
        }
    };
    let mut fixed = Vec::new();
    let mut used_baseline = None;
    if cli.update_baseline {
        let updated = Baseline::updated(existing.as_ref(), &outcome);
        updated.save(&baseline_path)?;
        let report_path = baseline_path.with_file_name("REPORT.md");
        write_atomic(
            &report_path,
            updated.render_report(&baseline_name).as_bytes(),
        )?;
        eprintln!(
            "slop-detectors: wrote {baseline_name} ({} finding(s)) and {}",
            updated.findings.len(),
            crate::discover::relative(&root, &report_path)
        );
        for f in &mut outcome.findings {
            f.status = Status::Baselined;
        }
        used_baseline = Some(baseline_name.as_str());
    } else if let Some(b) = &existing {
        fixed = b.apply(&mut outcome);
        used_baseline = Some(baseline_name.as_str());
    }

    let report = Report {
        outcome: &outcome,
        fixed: &fixed,
        baseline: used_baseline,
    };
    let format = if cli.json {
        Format::Json
    } else {
        cli.format.unwrap_or(if markers::gha::in_github_actions() {
            Format::Github
        } else {
            Format::Text
        })
    };
    let to_stdout = cli.output.is_none();
    let color = to_stdout && markers::term::color_enabled(std::io::stdout().is_terminal());
    let rendered = match format {
        Format::Text => output::text(&report, color),
        Format::Json => output::json(&report),
        Format::Sarif => {
            let mut s = serde_json::to_string_pretty(&output::sarif(&report)).expect("serializes");
            s.push('\n');
            s
        }
        Format::Github => output::github(&report),
    };
    match &cli.output {
        Some(path) => std::fs::write(path, rendered).map_err(|source| CliError::Io {
            path: path.clone(),
            source,
        })?,
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = out.write_all(rendered.as_bytes());
            let _ = out.flush();
        }
    }
    if !to_stdout || matches!(format, Format::Json | Format::Sarif) {
        eprintln!("{}", report.summary_line());
    }
    if markers::gha::in_github_actions()
        && let Err(e) = markers::gha::append_step_summary(&output::step_summary(&report))
    {
        eprintln!("slop-detectors: warning: cannot write the step summary: {e}");
    }
    Ok(ExitStatus::pass_if(report.new_count() == 0 || cli.update_baseline).code())
}
