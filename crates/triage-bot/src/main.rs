//! Thin entry point: see the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(triage_bot::cli::main_with(triage_bot::cli::Cli::parse()))
}
