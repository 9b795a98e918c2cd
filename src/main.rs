//! The `residency` binary: parse arguments, run, map the outcome to an exit code.

use clap::Parser;

// The engine and the reporters allocate many small strings; mimalloc frees them
// without glibc's consolidation passes (measured in benches/engine.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = residency::cli::Cli::parse();
    match residency::cli::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            if residency::cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "residency: error: {err:#}");
            residency::cli::ExitStatus::Error.into()
        }
    }
}
