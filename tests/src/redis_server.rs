//! A Redis server of the test's own, on a free loopback port, that the test may stop and
//! start again (on the same port) to see what the server does while Redis is away. It keeps
//! nothing on disk.

use crate::server_process::free_port;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A running `redis-server`; killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl RedisServer {
    /// Starts one, or `None` (the test is skipped) where `redis-server` is missing outside
    /// CI.
    ///
    /// # Panics
    /// Under `CI=true` when it cannot be started.
    pub async fn start() -> Option<Self> {
        let port = free_port().unwrap_or_else(|e| panic!("{e}"));
        let mut server = Self { port, child: None };
        match server.spawn() {
            Ok(()) => {}
            Err(err) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but redis-server cannot be started: {err}")
            }
            Err(err) => {
                eprintln!("skipped: redis-server cannot be started ({err})");
                return None;
            }
        }
        server.wait_until_answering().await;
        Some(server)
    }

    /// `redis://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops it (the port stays free for [`RedisServer::restart`]).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    ///
    /// # Panics
    /// When it cannot be started.
    pub async fn restart(&mut self) {
        self.stop();
        self.spawn().unwrap_or_else(|e| panic!("{e}"));
        self.wait_until_answering().await;
    }

    fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e}"))?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait_until_answering(&self) {
        for _ in 0..100 {
            if self.ping().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not answer", self.port);
    }

    async fn ping(&self) -> bool {
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        if stream.write_all(b"PING\r\n").await.is_err() {
            return false;
        }
        let mut answer = [0_u8; 7];
        stream.read_exact(&mut answer).await.is_ok() && &answer == b"+PONG\r\n"
    }
}
