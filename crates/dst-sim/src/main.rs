//! Thin entry point: see the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(dst_sim::cli::main_with(dst_sim::cli::Cli::parse()))
}
