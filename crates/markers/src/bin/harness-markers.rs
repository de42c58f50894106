//! `harness-markers`: show, clear or write this project's deploy markers by hand.

use clap::{Parser, Subcommand};
use markers::{
    DeployVerified, ExitStatus, HarnessConfig, MarkerStore, Sha, Timestamp, project_root,
};
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
    /// Merge hook wiring (default: the harness's hooks/settings.json) into PROJECT/.claude/settings.json,
    /// keeping the user's other settings and hooks; running it again changes nothing.
    MergeSettings {
        /// The wiring to merge.
        #[arg(long)]
        from: PathBuf,
    },
    /// Record that ENVIRONMENT was verified at SHA (what verify-deployment writes on success).
    Verify {
        environment: String,
        #[arg(long)]
        sha: Sha,
        /// Name of a check that passed (repeatable).
        #[arg(long = "check")]
        checks: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitStatus::Pass.into(),
        Err(msg) => {
            eprintln!("harness-markers: {msg}");
            ExitStatus::Error.into()
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    if let Command::MergeSettings { from } = &cli.command {
        return merge_settings(&cli.project, from);
    }
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
        Command::MergeSettings { .. } => unreachable!("handled above"),
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

fn merge_settings(project: &std::path::Path, from: &std::path::Path) -> Result<(), String> {
    let ours = std::fs::read_to_string(from)
        .map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    let dir = project.join(".claude");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("settings.json");
    let existing = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let merged = markers::settings::merge(&existing, &ours).map_err(|e| e.to_string())?;
    if merged == existing {
        eprintln!("{} already has the harness hooks", path.display());
        return Ok(());
    }
    // write-then-rename: an interrupted install never leaves a half-written settings file
    let tmp = dir.join(".settings.json.harness-tmp");
    std::fs::write(&tmp, merged).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    eprintln!("merged the harness hooks into {}", path.display());
    Ok(())
}
