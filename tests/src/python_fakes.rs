//! Fakes of outside services that come from PyPI (localstripe for Stripe, moto for S3).
//!
//! Each is installed once into a virtual environment of its own under
//! `DEVFORGE_TEST_VENVS` (default: a directory in the system temp dir), keyed by its pinned
//! requirement, and started on a free loopback port by the test that needs it. Without
//! `python3` those tests are skipped with a note, except under `CI=true`, where that fails
//! the run.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

static INSTALL: Mutex<()> = Mutex::new(());

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The `bin` directory of a virtual environment holding `requirement` (a pinned pip
/// requirement), installing it the first time.
pub(crate) fn installed(requirement: &str) -> Result<PathBuf, String> {
    let _guard = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let base = std::env::var_os("DEVFORGE_TEST_VENVS").map_or_else(
        || std::env::temp_dir().join("devforge-test-venvs"),
        PathBuf::from,
    );
    let name: String = requirement
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let dir = base.join(name);
    let bin = dir.join("bin");
    let ready = dir.join(".devforge-ready");
    if ready.exists() {
        return Ok(bin);
    }
    // Whatever an interrupted install left is started over, not trusted.
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("{}: {e}", dir.display()));
        }
        _ => {}
    }
    std::fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
    run(Command::new(bin.join("pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        requirement,
    ]))?;
    std::fs::write(&ready, requirement).map_err(|e| e.to_string())?;
    Ok(bin)
}

/// Runs the blocking `start` (install and spawn) off the async runtime; `None`, with a
/// note, when it fails outside CI.
///
/// # Panics
/// Under `CI=true` when `start` fails: CI never skips these tests.
pub(crate) async fn started_or_skipped<T: Send + 'static>(
    what: &str,
    start: fn() -> Result<T, String>,
) -> Option<T> {
    let reason = match tokio::task::spawn_blocking(start).await {
        Ok(Ok(started)) => return Some(started),
        Ok(Err(reason)) => reason,
        Err(panic) => panic.to_string(),
    };
    let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
    assert!(!in_ci, "CI=true but {what} cannot start: {reason}");
    eprintln!("note: skipping a test, {what} cannot start: {reason}");
    None
}
