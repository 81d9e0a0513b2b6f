//! Fakes of outside services that come from PyPI (localstripe for Stripe, moto for S3).
//!
//! Each is installed once into a virtual environment of its own under
//! `DEVFORGE_TEST_VENVS` (default: a directory in the system temp dir), keyed by its pinned
//! requirement, and started on a free loopback port by the test that needs it. Without
//! `python3` those tests are skipped with a note, except under `CI=true`, where that fails
//! the run.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

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

/// A loopback port nothing listens on at the moment.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| e.to_string())
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

/// A fake's process listening on a loopback port, with a client for it; stopped when
/// dropped.
#[derive(Debug)]
pub(crate) struct FakeServer {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// A client that bypasses any proxy.
    pub(crate) client: reqwest::Client,
    child: Child,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FakeServer {
    /// Starts `program` with `args` and the port it is to listen on last.
    pub(crate) fn spawn(program: &Path, args: &[&str]) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let port = free_port()?;
        let child = Command::new(program)
            .args(args)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", program.display()))?;
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            client,
            child,
        })
    }

    /// Waits until `probe` (a request to the fake) succeeds.
    ///
    /// # Panics
    /// When it has not after ten seconds.
    pub(crate) async fn wait_until_answering(
        &self,
        probe: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) {
        for _ in 0..200 {
            let answer = probe(&self.client).send().await;
            if answer.is_ok_and(|response| response.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the fake at {} did not answer", self.url);
    }
}
