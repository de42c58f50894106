//! Thin entry point: see the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(slop_detectors::cli::main_with(
        slop_detectors::cli::Cli::parse(),
    ))
}
