//! The result of a run: one verdict per step, rendered for people, as JSON, and as a GitHub
//! Actions step summary.

use markers::gha;
use markers::term::{Color, paint};
use serde::Serialize;

/// The six checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// GitHub Actions workflow runs for the SHA.
    Ci,
    /// Backend health endpoint: 200, reporting the SHA when it reports a commit.
    Backend,
    /// Frontend: 200 and the content marker.
    Frontend,
    /// The configured smoke endpoints.
    Smoke,
    /// Health status `healthy` (schema current).
    Schema,
    /// Logfire: no 5xx or exceptions since the deploy.
    Logfire,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Ci,
        Step::Backend,
        Step::Frontend,
        Step::Smoke,
        Step::Schema,
        Step::Logfire,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Ci => "ci",
            Step::Backend => "backend",
            Step::Frontend => "frontend",
            Step::Smoke => "smoke",
            Step::Schema => "schema",
            Step::Logfire => "logfire",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    /// Not applicable (configuration) or `--skip`.
    Skipped,
    /// An earlier step failed, so this one would only have waited for a deploy that isn't coming.
    NotRun,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "FAILED",
            Verdict::Skipped => "skipped",
            Verdict::NotRun => "not run",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: Step,
    pub verdict: Verdict,
    /// One line: what was seen, or why it failed / was skipped.
    pub summary: String,
    /// Every individual failure (each red workflow run, each failing endpoint, each error group).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    pub elapsed_ms: u64,
}

impl StepReport {
    pub fn new(step: Step, verdict: Verdict, summary: impl Into<String>) -> Self {
        StepReport {
            step,
            verdict,
            summary: summary.into(),
            failures: Vec::new(),
            elapsed_ms: 0,
        }
    }

    pub fn failed(step: Step, summary: impl Into<String>, failures: Vec<String>) -> Self {
        StepReport {
            failures,
            ..StepReport::new(step, Verdict::Failed, summary)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub environment: String,
    pub sha: markers::Sha,
    /// Where the SHA came from: `--sha`, `push-pending marker`, `origin/<branch>`, `HEAD`.
    pub sha_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_url: Option<String>,
    /// Start of the Logfire window and where it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logfire_since: Option<String>,
    pub verified: bool,
    pub marker_written: bool,
    pub steps: Vec<StepReport>,
    pub elapsed_ms: u64,
}

impl Report {
    pub fn passed_checks(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| s.verdict == Verdict::Passed)
            .map(|s| s.step.name().to_string())
            .collect()
    }

    /// One line per step plus the overall verdict.
    pub fn human(&self, color: bool) -> String {
        let mut out = String::new();
        for s in &self.steps {
            let (mark, c) = match s.verdict {
                Verdict::Passed => ("✓", Color::Green),
                Verdict::Failed => ("✗", Color::Red),
                Verdict::Skipped => ("-", Color::Dim),
                Verdict::NotRun => ("·", Color::Dim),
            };
            out.push_str(&format!(
                "{} {:<8} {:<8} {}\n",
                paint(color, c, mark),
                s.step.name(),
                paint(color, c, s.verdict.label()),
                s.summary
            ));
            for f in &s.failures {
                out.push_str(&format!("      - {f}\n"));
            }
        }
        let sha = self.sha.short();
        if self.verified {
            out.push_str(&paint(
                color,
                Color::Green,
                &format!(
                    "verified {} at {sha}; deploy-verified marker {}",
                    self.environment,
                    if self.marker_written {
                        "written"
                    } else {
                        "not written"
                    }
                ),
            ));
        } else {
            let failed: Vec<&str> = self
                .steps
                .iter()
                .filter(|s| s.verdict == Verdict::Failed)
                .map(|s| s.step.name())
                .collect();
            out.push_str(&paint(
                color,
                Color::Red,
                &if failed.is_empty() {
                    format!(
                        "NOT verified: every step for {} at {sha} was skipped; no marker written",
                        self.environment
                    )
                } else {
                    format!(
                        "NOT verified: {} at {sha} failed {}; no marker written",
                        self.environment,
                        failed.join(", ")
                    )
                },
            ));
        }
        out.push('\n');
        out
    }

    /// The GitHub Actions step summary.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "### verify-deployment: {} at `{}` — {}\n\n| step | verdict | details |\n|---|---|---|\n",
            gha::md_cell(&self.environment),
            self.sha.short(),
            if self.verified {
                "verified"
            } else {
                "**not verified**"
            }
        );
        for s in &self.steps {
            let mut detail = gha::md_cell(&s.summary);
            for f in &s.failures {
                detail.push_str("<br>• ");
                detail.push_str(&gha::md_cell(f));
            }
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                s.step.name(),
                s.verdict.label(),
                detail
            ));
        }
        md
    }

    /// `::error` lines for failed steps (at most 10, GitHub's per-step limit).
    pub fn annotations(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| s.verdict == Verdict::Failed)
            .map(|s| {
                let mut msg = s.summary.clone();
                for f in s.failures.iter().take(5) {
                    msg.push_str("\n- ");
                    msg.push_str(f);
                }
                gha::annotation(
                    gha::Level::Error,
                    None,
                    Some(&format!(
                        "verify-deployment {}: {}",
                        self.environment, s.step
                    )),
                    &msg,
                )
            })
            .take(10)
            .collect()
    }
}
