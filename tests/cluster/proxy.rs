//! What nginx refuses itself, before any instance sees the request, still reaches clients
//! as a problem document in devforge's shape: a target or a head too large for its
//! buffers (the instances alone answer the largest of those with a bare status from the
//! HTTP layer). Sent over a raw connection: HTTP clients refuse to build such requests.

use crate::Outcome;
use crate::check::ensure;
use devforge_tests::cluster::Cluster;
use std::sync::Arc;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Sends `head` (request line and headers, without the blank line) to the proxy; returns
/// the status, the content type and the body.
async fn raw(c: &Cluster, head: &str) -> Result<(u16, String, String), String> {
    let authority = c.proxy.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!("{head}\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let kind = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    Ok((status, kind, body.to_owned()))
}

fn code_of(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|problem| problem["code"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(crate) async fn refusals_are_problem_documents(cluster: Arc<Cluster>) -> Outcome {
    let c = &*cluster;
    let mut figures = Vec::new();
    for length in [9_000, 100_000] {
        let head = format!("GET /v1/extensions?q={} HTTP/1.1", "a".repeat(length));
        let (status, kind, body) = raw(c, &head).await?;
        ensure!(
            status == 414 && kind == "application/problem+json" && code_of(&body) == "uri_too_long",
            "a {length}-byte query through the proxy: {status} {kind} {body:.200}"
        );
        figures.push(format!(
            "{length}-byte query: 414 uri_too_long problem document"
        ));
    }
    let head = format!(
        "GET /v1/products HTTP/1.1\r\nX-Padding: {}",
        "a".repeat(20_000)
    );
    let (status, kind, body) = raw(c, &head).await?;
    ensure!(
        status == 431
            && kind == "application/problem+json"
            && code_of(&body) == "headers_too_large",
        "a 20 KB header through the proxy: {status} {kind} {body:.200}"
    );
    figures.push("20 KB header: 431 headers_too_large problem document".to_owned());
    Ok(figures)
}
