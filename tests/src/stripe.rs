//! A fake Stripe for the billing tests: `localstripe` (PyPI), a stateful Stripe imitation,
//! run on a free loopback port for each test that needs it, so the real Stripe adapter
//! talks real HTTP to something that creates customers, payment intents and refunds, lets
//! the test confirm a payment with a test card as the app would with Stripe.js, and
//! delivers signed webhooks back to the server.
//!
//! localstripe is installed once into a virtual environment (`DEVFORGE_LOCALSTRIPE_VENV`,
//! default: a directory in the system temp dir). Without `python3` the billing tests are
//! skipped with a note, except under `CI=true`, where that fails the run.

use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// The Stripe secret key the test servers use (localstripe accepts any `sk_` key).
pub const SECRET_KEY: &str = "sk_test_devforge";
/// The webhook signing secret shared by the test server and localstripe.
pub const WEBHOOK_SECRET: &str = "whsec_devforge_test";
/// The localstripe release the tests are written against.
const LOCALSTRIPE: &str = "localstripe==1.15.10";

/// Starts localstripe on 127.0.0.1 (its own CLI binds every interface) without writing
/// its state to a shared file in the temp directory.
const LAUNCHER: &str = "\
import sys
from aiohttp import web
import localstripe.resources as resources
resources.Store.dump_to_disk = lambda self: None
from localstripe.server import app
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None)
";

static INSTALL: Mutex<()> = Mutex::new(());

fn venv() -> PathBuf {
    std::env::var_os("DEVFORGE_LOCALSTRIPE_VENV").map_or_else(
        || std::env::temp_dir().join("devforge-localstripe-1.15.10"),
        PathBuf::from,
    )
}

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

/// The venv's python with localstripe installed, installing it the first time.
fn python() -> Result<PathBuf, String> {
    let _guard = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = venv();
    let python = dir.join("bin").join("python");
    let ready = dir.join(".devforge-ready");
    if ready.exists() {
        return Ok(python);
    }
    run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
    run(Command::new(dir.join("bin").join("pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        LOCALSTRIPE,
    ]))?;
    std::fs::write(&ready, LOCALSTRIPE).map_err(|e| e.to_string())?;
    Ok(python)
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| e.to_string())
}

/// A running localstripe; stopped when dropped.
#[derive(Debug)]
pub struct FakeStripe {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    client: reqwest::Client,
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FakeStripe {
    /// Starts one, or `None` (with a note) when Python is unavailable outside CI.
    ///
    /// # Panics
    /// Under `CI=true` when it cannot be started: CI never skips the billing tests.
    pub async fn start() -> Option<Self> {
        match tokio::task::spawn_blocking(Self::spawn).await {
            Ok(Ok(started)) => {
                started.wait_until_up().await;
                Some(started)
            }
            outcome => {
                let reason = match outcome {
                    Ok(Err(reason)) => reason,
                    Err(panic) => panic.to_string(),
                    Ok(Ok(_)) => unreachable!(),
                };
                let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
                assert!(!in_ci, "CI=true but the fake Stripe cannot start: {reason}");
                eprintln!("note: skipping a billing test, the fake Stripe cannot start: {reason}");
                None
            }
        }
    }

    fn spawn() -> Result<Self, String> {
        let python = python()?;
        let port = free_port()?;
        let child = Command::new(python)
            .args(["-c", LAUNCHER, &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting localstripe: {e}"))?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
            client,
        })
    }

    async fn wait_until_up(&self) {
        for _ in 0..200 {
            let probe = self
                .client
                .get(format!("{}/v1/customers", self.url))
                .basic_auth(SECRET_KEY, Some(""))
                .send()
                .await;
            if probe.is_ok_and(|response| response.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("localstripe did not answer at {}", self.url);
    }

    /// Has localstripe deliver its events, signed with [`WEBHOOK_SECRET`], to `url`.
    ///
    /// # Panics
    /// When localstripe refuses.
    pub async fn deliver_webhooks_to(&self, url: &str) {
        let response = self
            .client
            .post(format!("{}/_config/webhooks/devforge", self.url))
            .form(&[("url", url), ("secret", WEBHOOK_SECRET)])
            .send()
            .await
            .unwrap_or_else(|e| panic!("registering the webhook: {e}"));
        assert!(response.status().is_success(), "registering the webhook");
    }

    /// A form `POST` to Stripe's API as the app (Stripe.js) would make it.
    ///
    /// # Panics
    /// When localstripe cannot be reached.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .basic_auth(SECRET_KEY, Some(""))
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Pays a payment intent with a test card, as the customer does in the app: attaches
    /// the card, then confirms. Returns the intent's status.
    pub async fn pay(&self, intent_id: &str, card: &str) -> String {
        let (status, _) = self
            .post(
                &format!("/v1/payment_intents/{intent_id}"),
                &[("payment_method", card)],
            )
            .await;
        assert_eq!(status, 200, "attaching {card}");
        let (_, intent) = self
            .post(&format!("/v1/payment_intents/{intent_id}/confirm"), &[])
            .await;
        let (_, current) = self.get(&format!("/v1/payment_intents/{intent_id}")).await;
        let _ = intent;
        current["status"].as_str().unwrap_or_default().to_owned()
    }

    /// A `GET` of Stripe's API.
    ///
    /// # Panics
    /// When localstripe cannot be reached.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .basic_auth(SECRET_KEY, Some(""))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// A `Stripe-Signature` header for `body` signed now with [`WEBHOOK_SECRET`] (or `at`).
#[must_use]
pub fn signature(body: &str, at: Option<i64>) -> String {
    let at = at.unwrap_or_else(|| chrono::Utc::now().timestamp());
    let v1 = devforge_billing::signature::sign(WEBHOOK_SECRET, at, body.as_bytes());
    format!("t={at},v1={v1}")
}
