//! `devforge`: the server binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    devforge_api::cli::run()
}
