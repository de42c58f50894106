//! `harness-markers`: show, clear or write this project's deploy markers by hand.

use clap::{Parser, Subcommand};
use markers::{DeployVerified, HarnessConfig, MarkerStore, Timestamp, project_root};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "harness-markers",
    version,
    about = "Show, clear or write the deploy markers the Claude Code hooks coordinate through",
    after_help = "Exit codes: 0 success, 2 usage, configuration or marker-directory error.\n\
                  Marker directory: $HARNESS_MARKER_DIR, else $XDG_STATE_HOME/dsf-harness, else ~/.local/state/dsf-harness."
)]
struct Cli {
    /// Project directory (any path inside the git repository).
    #[arg(long, short = 'C', default_value = ".")]
    project: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the marker directory of the project.
    Path,
    /// Print the markers as JSON.
    Show,
    /// Remove every marker of the project.
    Clear,
    /// Record that ENVIRONMENT was verified at SHA (what verify-deployment writes on success).
    Verify {
        environment: String,
        #[arg(long)]
        sha: String,
        /// Name of a check that passed (repeatable).
        #[arg(long = "check")]
        checks: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("harness-markers: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let root = project_root(&cli.project).map_err(|e| e.to_string())?;
    let store = MarkerStore::open(&root).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Path => println!("{}", store.dir().display()),
        Command::Show => {
            let show = serde_json::json!({
                "project": root,
                "dir": store.dir(),
                "push_pending": store.read_push_pending().map_err(|e| e.to_string())?,
                "deploy_verified": store.read_deploy_verified().map_err(|e| e.to_string())?,
                "stop_blocks": store.read_stop_blocks().map_err(|e| e.to_string())?,
            });
            println!("{}", serde_json::to_string_pretty(&show).expect("json"));
        }
        Command::Clear => store.clear().map_err(|e| e.to_string())?,
        Command::Verify {
            environment,
            sha,
            checks,
        } => {
            let cfg = HarnessConfig::load(&root).map_err(|e| e.to_string())?;
            if cfg.environment(&environment).is_none() {
                return Err(format!(
                    "unknown environment {environment:?} (see harness.toml)"
                ));
            }
            if sha.len() < 7 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("{sha:?} is not a commit SHA (7 to 40 hex digits)"));
            }
            store
                .write_deploy_verified(&DeployVerified {
                    environment,
                    sha,
                    time: Timestamp::now(),
                    checks,
                    time_utc: String::new(),
                })
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
