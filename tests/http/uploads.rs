//! Package uploads as a hostile or careless publisher meets them: an oversized package is
//! refused before it is read when its size is announced, and cut off at the limit when it
//! is not; nothing of a refused upload stays in the package store; and each publisher's
//! quotas (versions waiting for review, bytes stored) hold under parallel uploads.

use crate::marketplace::market;
use devforge_tests::raw_http::{Framing, announce_and_stall, post_zeros};
use devforge_tests::{TestApp, assert_problem, backends, files_under, json};
use futures_util::future::join_all;
use serde_json::json;
use sha2::{Digest as _, Sha256};

/// Every file under the server's package directory, staging files included.
fn stored_packages(app: &TestApp) -> Vec<std::path::PathBuf> {
    files_under(&app.data_dir().join("packages"))
}

fn upload_path(name: &str, version: &str) -> String {
    format!("/v1/extensions/{name}/versions?version={version}&changelog=Initial&engine=%3E%3D1.0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_package_is_refused_and_nothing_of_it_is_kept() {
    const LIMIT: u64 = 1024 * 1024;
    for backend in backends() {
        let app = TestApp::spawn_with(backend, |settings| settings.max_package_bytes = LIMIT).await;
        let m = market(&app).await;
        assert_eq!(m.create(&m.owner, "big-ext", json!({})).await.status(), 201);
        let auth = format!("Authorization: Bearer {}", m.owner.token);
        let headers = [auth.as_str(), "Content-Type: application/octet-stream"];

        // Announced: refused from the head. The client sends 64 KiB of the 49 MiB it
        // announced and waits: only a server that decides from the head can answer.
        let announced = announce_and_stall(
            app.addr(),
            &upload_path("big-ext", "1.0.0"),
            &headers,
            49 * 1024 * 1024,
            64 * 1024,
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no answer to an announced oversized package before it arrived"));
        assert_eq!(announced.status, 413, "{}", announced.text);
        assert!(
            announced.text.contains(r#""code":"payload_too_large""#),
            "{}",
            announced.text
        );

        // Chunked: the size shows only while reading, and the upload stops at the limit.
        let chunked = post_zeros(
            app.addr(),
            &upload_path("big-ext", "1.0.0"),
            &headers,
            3 * 1024 * 1024,
            Framing::Chunked,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chunked.status, 413, "{}", chunked.text);
        assert!(
            chunked.text.contains(r#""code":"payload_too_large""#),
            "{}",
            chunked.text
        );
        assert_eq!(
            stored_packages(&app),
            Vec::<std::path::PathBuf>::new(),
            "nothing stays"
        );
        let versions = json(app.get("/v1/me/extensions", Some(&m.owner.token)).await).await;
        assert!(
            !versions.to_string().contains("1.0.0"),
            "no version recorded: {versions}"
        );

        // Within the limit, chunked: stored whole, hashed as it streamed.
        let size = 700 * 1024;
        let fits = post_zeros(
            app.addr(),
            &upload_path("big-ext", "1.0.0"),
            &headers,
            size,
            Framing::Chunked,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fits.status, 201, "{}", fits.text);
        let expected = hex::encode(Sha256::digest(vec![0_u8; size]));
        assert!(
            fits.text.contains(&expected),
            "the SHA-256 of what was sent: {}",
            fits.text
        );
        assert!(
            fits.text.contains(&format!(r#""size":{size}"#)),
            "{}",
            fits.text
        );
        let kept = stored_packages(&app);
        assert_eq!(kept.len(), 1, "{kept:?}");
        let on_disk = std::fs::metadata(&kept[0])
            .unwrap_or_else(|e| panic!("{e}"))
            .len();
        assert_eq!(on_disk, size as u64);
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_uploads_stop_at_the_pending_limit() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, |settings| settings.max_pending_versions = 3).await;
        let m = market(&app).await;
        assert_eq!(
            m.create(&m.owner, "busy-ext", json!({})).await.status(),
            201
        );
        let package = vec![7_u8; 64 * 1024];
        let versions: Vec<String> = (0..8).map(|minor| format!("1.{minor}.0")).collect();
        let answers = join_all(
            versions
                .iter()
                .map(|version| m.upload(&m.owner, "busy-ext", version, &package)),
        )
        .await;
        let mut created = 0;
        for answer in answers {
            match answer.status().as_u16() {
                201 => created += 1,
                _ => {
                    assert_problem(answer, 409, "too_many_pending_versions").await;
                }
            }
        }
        assert_eq!(
            created, 3,
            "exactly the limit waits for review on {backend:?}"
        );
        assert_eq!(
            stored_packages(&app).len(),
            3,
            "refused packages are removed"
        );
        let queue = json(
            app.get("/v1/admin/extensions/pending", Some(&m.admin.token))
                .await,
        )
        .await;
        assert_eq!(queue["total"], 3, "{queue}");

        // A review makes room for one more.
        let waiting = queue["items"][0]["version"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            m.review_version("busy-ext", &waiting, "approve")
                .await
                .status(),
            200,
            "{queue}"
        );
        assert_eq!(
            m.upload(&m.owner, "busy-ext", "2.0.0", &package)
                .await
                .status(),
            201
        );
        assert_problem(
            m.upload(&m.owner, "busy-ext", "2.1.0", &package).await,
            409,
            "too_many_pending_versions",
        )
        .await;
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storage_quota_counts_every_stored_version() {
    for backend in backends() {
        let app =
            TestApp::spawn_with(backend, |settings| settings.publisher_quota_bytes = 10_000).await;
        let m = market(&app).await;
        assert_eq!(
            m.create(&m.owner, "full-ext", json!({})).await.status(),
            201
        );
        assert_eq!(
            m.upload(&m.owner, "full-ext", "1.0.0", &[1; 6000])
                .await
                .status(),
            201
        );
        assert_eq!(
            m.review_version("full-ext", "1.0.0", "approve")
                .await
                .status(),
            200
        );
        assert_eq!(
            m.upload(&m.owner, "full-ext", "1.1.0", &[2; 3000])
                .await
                .status(),
            201
        );
        assert_eq!(
            m.review_version("full-ext", "1.1.0", "reject")
                .await
                .status(),
            200
        );
        // 9,000 bytes stored, the rejected package included: 2,000 more would pass 10,000.
        let over = assert_problem(
            m.upload(&m.owner, "full-ext", "1.2.0", &[3; 2000]).await,
            409,
            "storage_quota_exceeded",
        )
        .await;
        assert!(
            over["detail"].as_str().is_some_and(|d| d.contains("10000")),
            "{over}"
        );

        // Unannounced, the upload is cut off where the quota ends.
        let auth = format!("Authorization: Bearer {}", m.owner.token);
        let chunked = post_zeros(
            app.addr(),
            &upload_path("full-ext", "1.2.0"),
            &[auth.as_str(), "Content-Type: application/octet-stream"],
            2000,
            Framing::Chunked,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chunked.status, 409, "{}", chunked.text);
        assert!(
            chunked.text.contains("storage_quota_exceeded"),
            "{}",
            chunked.text
        );
        assert_eq!(
            stored_packages(&app).len(),
            2,
            "the cut-off package is not kept"
        );

        // Exactly up to the quota fits; another publisher has a quota of its own.
        assert_eq!(
            m.upload(&m.owner, "full-ext", "1.2.0", &[4; 1000])
                .await
                .status(),
            201
        );
        assert_problem(
            m.upload(&m.owner, "full-ext", "1.3.0", &[5; 1]).await,
            409,
            "storage_quota_exceeded",
        )
        .await;
        assert_eq!(
            m.create(&m.user, "other-ext", json!({})).await.status(),
            201
        );
        assert_eq!(
            m.upload(&m.user, "other-ext", "1.0.0", &[6; 6000])
                .await
                .status(),
            201
        );
        app.shutdown().await;
    }
}
