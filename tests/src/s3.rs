//! A fake S3 for the package store: moto's server (PyPI), an imitation of AWS that keeps
//! buckets and objects in memory and checks request signatures' shape, so the real
//! `object_store` S3 client is exercised over real HTTP.
//!
//! How it is installed and started: [`crate::python_fakes`].

use crate::python_fakes::{installed, started_or_skipped};
use crate::server_process::ServerProcess;
use std::process::Command;

/// The moto release the tests are written against.
const MOTO: &str = "moto[server]==5.2.5";

/// A running moto server; stopped when dropped.
#[derive(Debug)]
pub struct FakeS3 {
    /// `http://127.0.0.1:PORT`: the endpoint S3 clients are pointed at.
    pub endpoint: String,
    server: ServerProcess,
}

impl FakeS3 {
    /// Starts one, or `None` (with a note) when Python is unavailable outside CI.
    ///
    /// # Panics
    /// Under `CI=true` when it cannot be started.
    pub async fn start() -> Option<Self> {
        let server = started_or_skipped("the fake S3", || {
            let moto = installed(MOTO)?.join("moto_server");
            ServerProcess::spawn(|port| {
                let mut command = Command::new(&moto);
                command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                command
            })
        })
        .await?;
        server
            .wait_until_answering(|client| client.get(&server.url))
            .await;
        Some(Self {
            endpoint: server.url.clone(),
            server,
        })
    }

    /// The `AWS_*` settings that point an S3 client at this fake (any credentials do).
    #[must_use]
    pub fn client_environment(&self) -> [(&'static str, String); 5] {
        [
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_ACCESS_KEY_ID", "devforge-test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "devforge-test-secret".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
    }

    /// Creates the bucket `name`.
    ///
    /// # Panics
    /// When moto refuses.
    pub async fn create_bucket(&self, name: &str) {
        let response = self
            .server
            .client
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            response.status().is_success(),
            "creating bucket {name}: {}",
            response.status()
        );
    }

    /// The keys of the objects in bucket `name` with their sizes, as moto lists them.
    ///
    /// # Panics
    /// When moto cannot list the bucket.
    pub async fn objects(&self, name: &str) -> Vec<(String, u64)> {
        let response = self
            .server
            .client
            .get(format!("{}/{name}?list-type=2", self.endpoint))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(response.status().is_success(), "{}", response.status());
        let listing = response.text().await.unwrap_or_else(|e| panic!("{e}"));
        listing
            .split("<Contents>")
            .skip(1)
            .map(|entry| {
                let field = |tag: &str| {
                    entry
                        .split(&format!("<{tag}>"))
                        .nth(1)
                        .and_then(|rest| rest.split(&format!("</{tag}>")).next())
                        .unwrap_or_default()
                        .to_owned()
                };
                (field("Key"), field("Size").parse().unwrap_or(0))
            })
            .collect()
    }
}
