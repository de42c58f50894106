//! Thin entry point: see the library.

use clap::Parser;

// The simulator and the embedded platform allocate on every request in one process; with mimalloc
// the run does about 25 % more steps per second than with glibc malloc (docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(dst_sim::cli::main_with(dst_sim::cli::Cli::parse()))
}
