//! `reference-platform`: serve the reference implementation of the platform API.

use clap::Parser;
use markers::ExitStatus;
use reference_platform::{Bug, BugParser, DbLocation, PlatformOptions};
use std::io::Write;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "reference-platform",
    version,
    about = "Our implementation of the Deep Sci-Fi game-rule API on embedded SQLite, with switchable planted bugs",
    after_help = "The first stdout line is `listening on http://127.0.0.1:PORT`; the second names the admin key.\n\
                  Exit codes: 0 stopped by Ctrl-C/SIGTERM, 2 usage error (unknown bug, bad key, port in use, database error)."
)]
struct Cli {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// `:memory:` or a database file (created if missing; WAL mode).
    #[arg(long, default_value = ":memory:")]
    db: DbLocation,
    /// Switch on a planted bug (repeatable); see --list-bugs.
    #[arg(long = "bug", value_name = "NAME", value_parser = BugParser)]
    bugs: Vec<Bug>,
    /// Admin key to accept (dsf_…); registered as an agent at start. Default: a generated key.
    #[arg(long, env = "DSF_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// Enable POST /api/proposals/{id}/test-approve.
    #[arg(long)]
    test_mode: bool,
    /// Test only: enable POST/GET /api/test/db-faults (admin key) so dst-sim --faults can stall or
    /// fail the next database transactions. Never use in a deployment.
    #[arg(long)]
    fault_control: bool,
    /// Commit SHA for /health to report as deployed_commit.
    #[arg(long)]
    commit: Option<String>,
    /// List the planted bugs and exit.
    #[arg(long)]
    list_bugs: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.list_bugs {
        for b in Bug::all() {
            println!("{:<26} {}", b.name(), b.description());
        }
        return ExitStatus::Pass.into();
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("reference-platform: cannot start the runtime: {e}");
            return ExitStatus::Error.into();
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", cli.port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!(
                    "reference-platform: cannot listen on 127.0.0.1:{}: {e}",
                    cli.port
                );
                return ExitStatus::Error.into();
            }
        };
        let given_key = cli.admin_key.is_some();
        let opts = PlatformOptions {
            db: cli.db,
            bugs: cli.bugs,
            admin_key: cli.admin_key,
            test_mode: cli.test_mode,
            fault_control: cli.fault_control,
            commit: cli.commit,
        };
        let running = match reference_platform::serve(listener, opts).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("reference-platform: {e}");
                return ExitStatus::Error.into();
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", running.base_url);
        // A generated key is printed so a person can use the admin endpoint; a key you passed is not echoed.
        if given_key {
            let _ = writeln!(out, "admin key: (the one you passed)");
        } else {
            let _ = writeln!(out, "admin key: {}", running.admin_key);
        }
        let _ = out.flush();
        drop(out);
        let _ = tokio::signal::ctrl_c().await;
        running.shutdown().await;
        ExitStatus::Pass.into()
    })
}
