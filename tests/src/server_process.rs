//! A server run as a child process on a free loopback port, with a client for it: the
//! PyPI fakes, and the `devforge` binary itself in the command-line tests.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server process; killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// A client that bypasses any proxy.
    pub client: reqwest::Client,
    child: Child,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on at the moment.
pub(crate) fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| e.to_string())
}

impl ServerProcess {
    /// Starts the command `command_for` builds for a free loopback port (its output is
    /// discarded).
    ///
    /// # Errors
    /// When no port is free or the command cannot be started.
    pub fn spawn(command_for: impl FnOnce(u16) -> Command) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let port = free_port()?;
        let mut command = command_for(port);
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {command:?}: {e}"))?;
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            client,
            child,
        })
    }

    /// The process id, to read what the operating system counts for it.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `probe` (a request to the server) succeeds.
    ///
    /// # Panics
    /// When it has not after ten seconds.
    pub async fn wait_until_answering(
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
        panic!("the server at {} did not answer", self.url);
    }
}
