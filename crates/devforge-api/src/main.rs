//! `devforge`: the server binary.
//!
//! It allocates through jemalloc rather than the system allocator: loading the listing
//! index frees a few hundred megabytes of short-lived buffers, which glibc's allocator keeps
//! (its threshold for returning large blocks to the system rises with every one freed),
//! while jemalloc's background thread hands freed pages back within seconds, so the server
//! settles at what it holds, not at its peak.

use std::process::ExitCode;

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    devforge_api::cli::run()
}
