//! Thin entry point: see the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = logfire_mcp_project::Cli::parse();
    std::process::ExitCode::from(logfire_mcp_project::main_with(cli))
}
