//! Schemathesis (PyPI), the OpenAPI fuzzer, run against a live test server: installed like
//! the other Python tools ([`crate::python_fakes`]), pinned, run as a subprocess.

use crate::python_fakes::{installed, started_or_skipped};
use std::process::Command;

/// The release the fuzzing test is written against.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// What one run reported.
#[derive(Debug)]
pub struct FuzzReport {
    /// Whether every check passed.
    pub passed: bool,
    /// Operations tested, from the summary.
    pub operations: u64,
    /// Test cases generated (each one request, plus the stateful phase's chains).
    pub cases: u64,
    /// Failures found.
    pub failures: u64,
    /// The whole output, for the test's message.
    pub output: String,
}

/// The `schemathesis` command, installed on first use; `None` (with a note) when Python
/// is unavailable outside CI.
///
/// # Panics
/// Under `CI=true` when it cannot be installed.
pub async fn command() -> Option<Command> {
    let bin = started_or_skipped("schemathesis", || installed(SCHEMATHESIS)).await?;
    Some(Command::new(bin.join("schemathesis")))
}

/// Runs `command` (a prepared `schemathesis run ...`) to completion and reads its summary.
///
/// # Panics
/// When it cannot be started.
pub async fn run(mut command: Command) -> FuzzReport {
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("running schemathesis: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    FuzzReport {
        passed: output.status.success(),
        operations: number_after(&text, "Tested: "),
        cases: number_before(&text, " generated"),
        failures: number_before(&text, " unique failures"),
        output: text,
    }
}

/// The number that follows `label` on the summary line that has it (0 when none).
fn number_after(text: &str, label: &str) -> u64 {
    text.lines()
        .find_map(|line| line.split_once(label).map(|(_, rest)| digits(rest)))
        .unwrap_or(0)
}

/// The number that precedes `label` on the summary line that has it (0 when none).
fn number_before(text: &str, label: &str) -> u64 {
    text.lines()
        .find_map(|line| {
            let (before, _) = line.split_once(label)?;
            let word = before.rsplit([' ', ',']).next()?;
            word.parse().ok()
        })
        .unwrap_or(0)
}

fn digits(text: &str) -> u64 {
    text.trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_summary_figures_are_read() {
        let text = "API Operations:\n  Selected: 71/71\n  Tested: 71\n\nTest cases:\n  3223 generated, 12 found 14 unique failures, 44 skipped\n";
        assert_eq!(super::number_after(text, "Tested: "), 71);
        assert_eq!(super::number_before(text, " generated"), 3223);
        assert_eq!(super::number_before(text, " unique failures"), 14);
        let clean = "rejected generated data\nTest cases:\n  3150 generated, 3150 passed\n";
        assert_eq!(super::number_before(clean, " generated"), 3150);
        assert_eq!(super::number_before(clean, " unique failures"), 0);
    }
}
