//! A fake Stripe for the billing tests: `localstripe` (PyPI), a stateful Stripe imitation,
//! run on a free loopback port for each test that needs it, so the real Stripe adapter
//! talks real HTTP to something that creates customers, payment intents and refunds, lets
//! the test confirm a payment with a test card as the app would with Stripe.js, and
//! delivers signed webhooks back to the server.
//!
//! How it is installed and started: [`crate::python_fakes`].

use crate::python_fakes::{installed, started_or_skipped};
use crate::server_process::ServerProcess;
use serde_json::Value;
use std::process::Command;

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

/// A running localstripe; stopped when dropped.
#[derive(Debug)]
pub struct FakeStripe {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    server: ServerProcess,
}

impl FakeStripe {
    /// Starts one, or `None` (with a note) when Python is unavailable outside CI.
    ///
    /// # Panics
    /// Under `CI=true` when it cannot be started: CI never skips the billing tests.
    pub async fn start() -> Option<Self> {
        let server = started_or_skipped("the fake Stripe", || {
            let python = installed(LOCALSTRIPE)?.join("python");
            ServerProcess::spawn(|port| {
                let mut command = Command::new(&python);
                command.args(["-c", LAUNCHER, &port.to_string()]);
                command
            })
        })
        .await?;
        server
            .wait_until_answering(|client| {
                client
                    .get(format!("{}/v1/customers", server.url))
                    .basic_auth(SECRET_KEY, Some(""))
            })
            .await;
        Some(Self {
            url: server.url.clone(),
            server,
        })
    }

    /// Has localstripe deliver its events, signed with [`WEBHOOK_SECRET`], to `url`.
    ///
    /// # Panics
    /// When localstripe refuses.
    pub async fn deliver_webhooks_to(&self, url: &str) {
        let response = self
            .server
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
            .server
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
            .server
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
