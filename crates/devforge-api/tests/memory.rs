//! What large bodies cost the server process: anonymous 49 MiB webhook deliveries and
//! 49 MiB package uploads, all at once, must not make the server hold them. Measured as the
//! growth of the process's peak resident memory (`VmHWM`), which no allocation can hide
//! from.

use devforge_tests::raw_http::{Answer, Framing, post_zeros};
use devforge_tests::server_process::ServerProcess;
use devforge_tests::{Backend, TestDatabase};
use futures_util::future::join_all;
use std::process::Command;

const MIB: usize = 1024 * 1024;

/// The peak resident memory of process `pid`, in bytes.
fn peak_resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("reading the server's status: {e}"));
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("no VmHWM in {status}"));
    kib * 1024
}

fn count(answers: &[Answer], status: u16) -> usize {
    answers.iter().filter(|a| a.status == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_in_parallel_are_never_held_whole() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("no /proc here: the server's memory cannot be read");
        return;
    }
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = ServerProcess::spawn(|port| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_devforge"));
        command
            .arg("serve")
            .env("DEVFORGE_DATABASE_URL", &db.url)
            .env("DEVFORGE_DATA_DIR", db.dir())
            .env("DEVFORGE_LISTEN", format!("127.0.0.1:{port}"))
            .env("DEVFORGE_RATE_LIMIT_ENABLED", "false")
            .env("DEVFORGE_BCRYPT_COST", "10")
            .env("DEVFORGE_MAX_PENDING_VERSIONS", "20")
            .env(
                "DEVFORGE_PUBLISHER_QUOTA_BYTES",
                (2 * 1024 * MIB).to_string(),
            );
        command
    })
    .unwrap_or_else(|e| panic!("{e}"));
    server
        .wait_until_answering(|client| client.get(format!("{}/health/ready", server.url)))
        .await;
    let (base, client) = (&server.url, &server.client);
    let registered: serde_json::Value = client
        .post(format!("{base}/v1/auth/register"))
        .json(&serde_json::json!({"email": "publisher@example.com",
            "password": "correct horse battery staple 42"}))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|e| panic!("register: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let token = registered["access_token"].as_str().unwrap_or_default();
    let created = client
        .post(format!("{base}/v1/extensions"))
        .bearer_auth(token)
        .json(
            &serde_json::json!({"name": "heavy-tools", "display_name": "Heavy tools",
            "description": "Large packages", "category": "other"}),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.status().as_u16(), 201);
    let addr: std::net::SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let auth = format!("Authorization: Bearer {token}");
    let upload_headers = [auth.as_str(), "Content-Type: application/octet-stream"];
    let webhook_headers = [
        "Content-Type: application/json",
        "Stripe-Signature: t=1,v1=00",
    ];
    let upload = |n: usize, size: usize| {
        let path = format!("/v1/extensions/heavy-tools/versions?version=1.{n}.0&engine=%3E%3D1.0");
        async move {
            post_zeros(addr, &path, &upload_headers, size, Framing::Length)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    // One of each first, so what the server allocates once (pools, buffers) is in the
    // baseline.
    assert_eq!(upload(99, MIB).await.status, 201);
    let warm = post_zeros(
        addr,
        "/v1/webhooks/stripe",
        &webhook_headers,
        MIB,
        Framing::Length,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(warm.status, 413);
    let before = peak_resident_bytes(server.pid());

    let webhooks = join_all((0..32).map(|n| {
        let framing = if n % 2 == 0 {
            Framing::Length
        } else {
            Framing::Chunked
        };
        async move {
            post_zeros(
                addr,
                "/v1/webhooks/stripe",
                &webhook_headers,
                49 * MIB,
                framing,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        }
    }));
    let uploads = join_all((0..16).map(|n| upload(n, 49 * MIB)));
    let (webhooks, uploads) = futures_util::join!(webhooks, uploads);
    let after = peak_resident_bytes(server.pid());

    assert_eq!(count(&webhooks, 413), 32, "every webhook body is refused");
    assert_eq!(
        count(&uploads, 201),
        16,
        "every package is stored: {:?}",
        uploads.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert!(
        uploads
            .iter()
            .all(|a| a.text.contains(&format!("\"size\":{}", 49 * MIB))),
        "each stored whole"
    );
    let growth = after.saturating_sub(before);
    eprintln!(
        "peak resident memory: {} MiB before, {} MiB after 32 webhooks and 16 uploads of 49 MiB \
         (growth {} MiB)",
        before / MIB as u64,
        after / MIB as u64,
        growth / MIB as u64
    );
    assert!(
        growth < 100 * MIB as u64,
        "the server grew by {} MiB",
        growth / MIB as u64
    );
}
