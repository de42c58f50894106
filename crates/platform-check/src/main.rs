//! Thin entry point: see the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    platform_check::cli::main_with(platform_check::cli::Cli::parse()).into()
}
