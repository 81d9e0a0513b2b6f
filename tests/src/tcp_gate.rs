//! A TCP forwarder that can be shut like a failing network: the server under test connects
//! to PostgreSQL through it, and a test closes it to make the database disappear (every
//! open connection cut, every new one refused at once) without stopping the PostgreSQL
//! server that other tests share.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A gate in front of one upstream address.
#[derive(Debug)]
pub struct TcpGate {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    /// Bumped on every close; each forwarded connection ends when it changes.
    closings: watch::Sender<u64>,
    accept_loop: tokio::task::JoinHandle<()>,
}

impl TcpGate {
    /// Listens on a free loopback port and forwards each connection to `upstream`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind the gate: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("gate address: {e}"));
        let open = Arc::new(AtomicBool::new(true));
        let (closings, _) = watch::channel(0);
        let accept_loop = tokio::spawn(accept(
            listener,
            upstream,
            Arc::clone(&open),
            closings.clone(),
        ));
        Self {
            addr,
            open,
            closings,
            accept_loop,
        }
    }

    /// Where clients connect.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts every forwarded connection and drops new ones as soon as they arrive.
    pub fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.closings.send_modify(|count| *count += 1);
    }

    /// Forwards new connections again.
    pub fn reopen(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for TcpGate {
    fn drop(&mut self) {
        self.close();
        self.accept_loop.abort();
    }
}

async fn accept(
    listener: TcpListener,
    upstream: SocketAddr,
    open: Arc<AtomicBool>,
    closings: watch::Sender<u64>,
) {
    while let Ok((client, _)) = listener.accept().await {
        if !open.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let mut closed = closings.subscribe();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let mut client = client;
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = closed.changed() => {}
            }
        });
    }
}
