//! Graceful shutdown behind the proxy: SIGTERM to one instance while clients keep coming.
//! The instance shuts its door, accepts what was already queued, closes its socket,
//! finishes what it has begun (here, a slow upload still arriving), and exits cleanly;
//! nginx passes the requests it can no longer hand that instance to the others, so
//! clients see no error (a connection reset while queued would have been a 502).

use crate::Outcome;
use crate::check::{ensure, text};
use devforge_tests::PASSWORD;
use devforge_tests::cluster::{Cluster, INSTANCES, answer};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const LOAD_FOR: Duration = Duration::from_secs(5);
const TERMINATE_AFTER: Duration = Duration::from_millis(1500);
const CONNECTIONS: usize = 6;
const UPLOAD_BYTES: usize = 2 * 1024 * 1024;
const UPLOAD_TAKES: Duration = Duration::from_secs(3);

/// Uploads `bytes` to the instance at `addr` a piece at a time over `UPLOAD_TAKES`, as a
/// slow connection does; returns the status.
async fn slow_upload(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    bytes: &[u8],
) -> Result<u16, String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        bytes.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let pieces = 30;
    for piece in bytes.chunks(bytes.len().div_ceil(pieces)) {
        stream.write_all(piece).await.map_err(|e| e.to_string())?;
        tokio::time::sleep(UPLOAD_TAKES / u32::try_from(pieces).unwrap_or(1)).await;
    }
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status in {text:?}"))
}

pub(crate) async fn an_instance_stops_under_load(cluster: Arc<Cluster>) -> Outcome {
    let c = &*cluster;
    let stopping = INSTANCES - 1;
    let publisher = c.register(&c.proxy, "slow-publisher@cluster.test").await?;
    let body = json!({"name": "slow-ext", "display_name": "slow-ext",
        "description": "Arrives slowly", "category": "other"});
    let (status, created) = c
        .post(&c.proxy, "/v1/extensions", &body, Some(&publisher.token))
        .await?;
    ensure!(status == 201, "creating slow-ext: {status} {created}");
    let (_, products) = c.get(&c.proxy, "/v1/products", None).await?;
    let sku = text(&products["items"][0]["sku"]);
    let issue = json!({"user_id": publisher.id, "product": sku});
    let (status, license) = c
        .post(&c.proxy, "/v1/licenses", &issue, Some(&c.admin.token))
        .await?;
    ensure!(status == 201, "issuing: {status} {license}");
    let key = text(&license["key"]);

    let package: Vec<u8> = (0..UPLOAD_BYTES).map(|i| (i % 253) as u8).collect();
    let sha = hex::encode(Sha256::digest(&package));
    let started = Instant::now();
    let upload = slow_upload(
        c.instances[stopping].addr,
        "/v1/extensions/slow-ext/versions?version=1.0.0&changelog=Slow&engine=%3E%3D1.0",
        &publisher.token,
        &package,
    );
    let load =
        (0..CONNECTIONS).map(|worker| {
            let key = key.clone();
            async move {
                let mut statuses: BTreeMap<(&'static str, u16), usize> = BTreeMap::new();
                let mut turn = worker;
                while started.elapsed() < LOAD_FOR {
                    turn += 1;
                    let (kind, request) = match turn % 4 {
                    0 => ("search", c.request(Method::GET, &c.proxy, "/v1/extensions?q=fresh")),
                    1 => (
                        "validate",
                        c.request(Method::POST, &c.proxy, "/v1/licenses/validate")
                            .json(&json!({"key": key})),
                    ),
                    2 => (
                        "login",
                        c.request(Method::POST, &c.proxy, "/v1/auth/login").json(
                            &json!({"email": "slow-publisher@cluster.test", "password": PASSWORD}),
                        ),
                    ),
                    _ => ("products", c.request(Method::GET, &c.proxy, "/v1/products")),
                };
                    let status = answer(request).await.map_or(0, |(status, _)| status);
                    *statuses.entry((kind, status)).or_default() += 1;
                }
                statuses
            }
        });
    let terminate = async {
        tokio::time::sleep(TERMINATE_AFTER).await;
        let signalled = started.elapsed();
        let exit = c.terminate(stopping).await;
        (signalled, exit, started.elapsed())
    };
    let (uploaded, loads, (signalled, exit, exited)) =
        tokio::join!(upload, join_all(load), terminate);

    let exit = exit?;
    ensure!(exit.success(), "the instance exited with {exit}");
    let uploaded = uploaded?;
    ensure!(
        uploaded == 201,
        "the upload in flight at SIGTERM answered {uploaded}"
    );
    ensure!(
        exited > signalled + Duration::from_millis(500),
        "the instance exited {} ms after SIGTERM, before its upload could finish",
        (exited - signalled).as_millis()
    );
    let mut totals: BTreeMap<(&'static str, u16), usize> = BTreeMap::new();
    for statuses in loads {
        for (outcome, count) in statuses {
            *totals.entry(outcome).or_default() += count;
        }
    }
    let failed: Vec<_> = totals
        .iter()
        .filter(|((_, status), _)| !(200..300).contains(status))
        .collect();
    ensure!(
        failed.is_empty(),
        "clients saw errors: {failed:?} of {totals:?}"
    );

    // What arrived during the shutdown was stored whole, and the others serve it.
    crate::marketplace::approve_through(c, 0, "slow-ext", "1.0.0").await?;
    let response = c
        .request(
            Method::GET,
            &c.instances[0].url,
            "/v1/extensions/slow-ext/latest/download",
        )
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    ensure!(
        hex::encode(Sha256::digest(&body)) == sha,
        "the upload finished during shutdown is not stored whole ({} bytes)",
        body.len()
    );
    let served: usize = totals.values().sum();
    Ok(vec![
        format!(
            "{served} requests over {CONNECTIONS} connections through the proxy in {} s, \
             SIGTERM to instance {} at {} ms: all 2xx ({totals:?})",
            LOAD_FOR.as_secs(),
            stopping + 1,
            signalled.as_millis()
        ),
        format!(
            "the {} MiB upload in flight finished with 201; the instance exited cleanly {} ms \
             after SIGTERM",
            UPLOAD_BYTES / (1024 * 1024),
            (exited - signalled).as_millis()
        ),
    ])
}
