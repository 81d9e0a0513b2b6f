//! Requests with bodies larger than a test should hold: the head is written as given, then
//! the body is streamed as zeros, so a client can announce or send 49 MiB without owning it.
//! It stops sending as soon as the server answers, as a real client's connection would be
//! cut.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// How the body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: n`, announced in the head.
    Length,
    /// `Transfer-Encoding: chunked`: the server learns the size only while reading.
    Chunked,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code, or 0 when the connection closed without one.
    pub status: u16,
    /// The response as received (head and whatever body arrived).
    pub text: String,
    /// Body bytes written when the first byte of the answer arrived.
    pub sent: usize,
}

const PIECE: usize = 64 * 1024;

/// Sends `POST path` with `headers` (each `name: value`) and a body of `size` zeros.
///
/// # Errors
/// When the server cannot be reached.
pub async fn post_zeros(
    addr: SocketAddr,
    path: &str,
    headers: &[&str],
    size: usize,
    framing: Framing,
) -> std::io::Result<Answer> {
    let stream = TcpStream::connect(addr).await?;
    let (mut reader, mut writer) = stream.into_split();
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    match framing {
        Framing::Length => head.push_str(&format!("Content-Length: {size}\r\n\r\n")),
        Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
    }
    writer.write_all(head.as_bytes()).await?;

    let sent = AtomicUsize::new(0);
    let sending = async {
        let zeros = vec![0_u8; PIECE];
        while sent.load(Ordering::Relaxed) < size {
            let n = PIECE.min(size - sent.load(Ordering::Relaxed));
            let written = match framing {
                Framing::Length => writer.write_all(&zeros[..n]).await,
                Framing::Chunked => {
                    let mut chunk = format!("{n:x}\r\n").into_bytes();
                    chunk.extend_from_slice(&zeros[..n]);
                    chunk.extend_from_slice(b"\r\n");
                    writer.write_all(&chunk).await
                }
            };
            if written.is_err() {
                break;
            }
            sent.fetch_add(n, Ordering::Relaxed);
        }
        if framing == Framing::Chunked {
            let _ = writer.write_all(b"0\r\n\r\n").await;
        }
        // The write half stays open until the answer has been read.
        std::future::pending::<()>().await;
    };
    let mut response = Vec::new();
    let mut sent_before_answer = None;
    let receiving = async {
        let mut buffer = vec![0_u8; 16 * 1024];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    sent_before_answer.get_or_insert(sent.load(Ordering::Relaxed));
                    response.extend_from_slice(&buffer[..n]);
                }
            }
        }
    };
    tokio::select! {
        () = sending => {}
        () = receiving => {}
    }
    let sent = sent_before_answer.unwrap_or_else(|| sent.load(Ordering::Relaxed));
    Ok(answer_of(&response, sent))
}

/// Announces a body of `announced` bytes, sends only `sent` of them, and waits for the
/// answer without sending more: a server that answers decided from the head alone, since
/// one that waits for the body never gets it. `None` when nothing came within `wait`.
///
/// # Errors
/// When the server cannot be reached.
pub async fn announce_and_stall(
    addr: SocketAddr,
    path: &str,
    headers: &[&str],
    announced: usize,
    sent: usize,
    wait: std::time::Duration,
) -> std::io::Result<Option<Answer>> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {announced}\r\n\r\n"));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&vec![0_u8; sent]).await?;

    let mut response = Vec::new();
    let reading = async {
        let mut buffer = vec![0_u8; 16 * 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    response.extend_from_slice(&buffer[..n]);
                    // The head and a problem document fit well within this; the server
                    // may keep the connection open waiting for the rest of the body.
                    if response.windows(4).any(|w| w == b"\r\n\r\n") && response.ends_with(b"}") {
                        break;
                    }
                }
            }
        }
    };
    if tokio::time::timeout(wait, reading).await.is_err() && response.is_empty() {
        return Ok(None);
    }
    Ok(Some(answer_of(&response, sent)))
}

fn answer_of(response: &[u8], sent: usize) -> Answer {
    let text = String::from_utf8_lossy(response).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Answer { status, text, sent }
}
