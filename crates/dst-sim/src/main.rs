//! Thin entry point: see the library.

use clap::Parser;

// The simulator and the embedded platform allocate on every request in one process. jemalloc
// hands a size class's most recently freed block back first, so those allocations stay in cache;
// mimalloc (which we used before) reuses a page's older blocks first, and its fast path spent
// ≈12 % of the run waiting on memory. glibc malloc was slower than both (docs/PERFORMANCE.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    dst_sim::cli::main_with(dst_sim::cli::Cli::parse()).into()
}
