//! Measures a package while it streams to the store: its SHA-256 and size are computed
//! chunk by chunk, and the stream fails as soon as it passes its byte limit, so an upload
//! never needs the whole package in memory and an oversized one is cut off at the limit,
//! not after it has been stored.

use crate::ports::PackageStream;
use bytes::Bytes;
use futures_core::Stream;
use sha2::{Digest as _, Sha256};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

/// What the meter saw once the stream has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Metered {
    /// The whole package: its hex SHA-256 and size.
    Complete { sha256: String, size: u64 },
    /// More than the limit arrived; the stream failed there.
    TooLarge,
    /// The source failed before its end.
    Interrupted,
}

#[derive(Debug)]
struct Tally {
    hasher: Sha256,
    size: u64,
    outcome: Option<Metered>,
}

/// The reading of a meter, taken after the store has consumed the stream.
#[derive(Debug, Clone)]
pub(super) struct MeterReading(Arc<Mutex<Tally>>);

impl MeterReading {
    /// What the meter saw; `Interrupted` when the stream was not read to its end.
    pub(super) fn take(&self) -> Metered {
        let tally = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        tally.outcome.clone().unwrap_or(Metered::Interrupted)
    }
}

struct Meter {
    source: PackageStream,
    limit: u64,
    tally: Arc<Mutex<Tally>>,
}

/// Wraps `source` in a meter that fails once more than `limit` bytes arrive.
pub(super) fn metered(source: PackageStream, limit: u64) -> (PackageStream, MeterReading) {
    let tally = Arc::new(Mutex::new(Tally {
        hasher: Sha256::new(),
        size: 0,
        outcome: None,
    }));
    let meter = Meter {
        source,
        limit,
        tally: Arc::clone(&tally),
    };
    (Box::pin(meter), MeterReading(tally))
}

impl Stream for Meter {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let limit = self.limit;
        let next = self.source.as_mut().poll_next(cx);
        let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        if tally.outcome.is_some() {
            return Poll::Ready(None);
        }
        match next {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                let size = tally
                    .size
                    .saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
                if size > limit {
                    tally.outcome = Some(Metered::TooLarge);
                    return Poll::Ready(Some(Err(std::io::Error::other(
                        "the package passed its size limit",
                    ))));
                }
                tally.size = size;
                tally.hasher.update(&chunk);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(err))) => {
                tally.outcome = Some(Metered::Interrupted);
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => {
                let hasher = std::mem::take(&mut tally.hasher);
                tally.outcome = Some(Metered::Complete {
                    sha256: hex::encode(hasher.finalize()),
                    size: tally.size,
                });
                Poll::Ready(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Metered, metered};
    use crate::ports::PackageStream;
    use bytes::Bytes;
    use futures_core::Stream;
    use sha2::{Digest as _, Sha256};
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    fn source(chunks: Vec<Result<Bytes, std::io::Error>>) -> PackageStream {
        Box::pin(Chunks(chunks.into_iter()))
    }

    struct Chunks(std::vec::IntoIter<Result<Bytes, std::io::Error>>);

    impl Stream for Chunks {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(self.0.next())
        }
    }

    /// Reads the stream to its end (or first error), returning how many chunks came through.
    fn drain(mut stream: PackageStream) -> usize {
        let mut cx = Context::from_waker(Waker::noop());
        let mut passed = 0;
        while let Poll::Ready(Some(item)) = stream.as_mut().poll_next(&mut cx) {
            if item.is_err() {
                break;
            }
            passed += 1;
        }
        passed
    }

    #[test]
    fn a_whole_package_is_hashed_and_counted_as_it_passes() {
        let (stream, reading) = metered(
            source(vec![
                Ok(Bytes::from_static(b"hello ")),
                Ok(Bytes::from_static(b"world")),
            ]),
            11,
        );
        assert_eq!(drain(stream), 2);
        assert_eq!(
            reading.take(),
            Metered::Complete {
                sha256: hex::encode(Sha256::digest(b"hello world")),
                size: 11,
            }
        );
    }

    #[test]
    fn the_stream_fails_at_the_first_chunk_past_the_limit() {
        let (stream, reading) = metered(
            source(vec![
                Ok(Bytes::from_static(b"12345")),
                Ok(Bytes::from_static(b"67890")),
                Ok(Bytes::from_static(b"never read")),
            ]),
            9,
        );
        assert_eq!(drain(stream), 1, "only the chunk within the limit passes");
        assert_eq!(reading.take(), Metered::TooLarge);
    }

    #[test]
    fn a_failing_or_unfinished_source_is_interrupted() {
        let (stream, reading) = metered(
            source(vec![
                Ok(Bytes::from_static(b"part")),
                Err(std::io::Error::other("connection reset")),
            ]),
            100,
        );
        drain(stream);
        assert_eq!(reading.take(), Metered::Interrupted);

        let (stream, reading) = metered(source(vec![Ok(Bytes::from_static(b"part"))]), 100);
        drop(stream);
        assert_eq!(
            reading.take(),
            Metered::Interrupted,
            "never read to its end"
        );
    }
}
