//! Thin entry point: see the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = verify_deployment::cli::Cli::parse();
    let env = verify_deployment::EnvVars::from_process();
    std::process::ExitCode::from(verify_deployment::cli::main_with(cli, &env))
}
