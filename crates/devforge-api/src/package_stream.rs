//! Hands an upload's body to the marketplace as a stream, as it arrives.
//!
//! actix-web's request body lives on the worker thread that received it, while the package
//! store wants a stream it may poll from any thread. A small bounded channel joins the two:
//! the body is read only as fast as the store takes it, so a package is never held in
//! memory whole, and when the service stops reading (a limit passed, a quota refused) the
//! body is dropped and the connection closed instead of being read to its end.

use actix_web::web;
use actix_web::web::Bytes;
use devforge_marketplace::IncomingPackage;
use futures_util::StreamExt as _;
use futures_util::future::{Either, select};
use std::future::Future;
use tokio::sync::mpsc;

/// Chunks between the body and the store at most (each at most a socket read).
const CHUNKS_IN_FLIGHT: usize = 4;

type Chunk = Result<Bytes, std::io::Error>;

/// Runs `upload` over the package streamed from `body` (announced as `announced_bytes`),
/// and returns what it returns. The body is read while `upload` consumes the package, and
/// no longer once `upload` has finished.
pub async fn with_streamed_package<T, F>(
    body: web::Payload,
    announced_bytes: Option<u64>,
    upload: impl FnOnce(IncomingPackage) -> F,
) -> T
where
    F: Future<Output = T>,
{
    let (sender, receiver) = mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT);
    let chunks = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let package = IncomingPackage {
        chunks: Box::pin(chunks),
        announced_bytes,
    };
    let upload = std::pin::pin!(upload(package));
    let pump = std::pin::pin!(pump(body, sender));
    match select(upload, pump).await {
        Either::Left((outcome, _unread_body)) => outcome,
        Either::Right(((), upload)) => upload.await,
    }
}

/// Moves the body's chunks into the channel until the body ends, fails, or nobody reads.
async fn pump(mut body: web::Payload, into: mpsc::Sender<Chunk>) {
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|err| std::io::Error::other(err.to_string()));
        let failed = chunk.is_err();
        if into.send(chunk).await.is_err() || failed {
            return;
        }
    }
}
