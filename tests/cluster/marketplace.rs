//! The marketplace across instances: one review per user and exact download counts when
//! the requests land on different instances, and packages kept in the shared S3 store.

use crate::Outcome;
use crate::check::ensure;
use devforge_tests::Account;
use devforge_tests::cluster::{Cluster, INSTANCES, answer};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

const DOWNLOADS: usize = 90;
const REVIEW_ATTEMPTS: usize = 12;

/// A package's bytes: `size` bytes that differ per `seed`.
fn package(seed: u32, size: u32) -> Vec<u8> {
    (0..size)
        .map(|i| u8::try_from((i.wrapping_mul(31) ^ seed) % 251).unwrap_or(0))
        .collect()
}

/// Uploads `bytes` as `name@version` through `base`.
async fn upload(
    c: &Cluster,
    base: &str,
    who: &Account,
    name: &str,
    version: &str,
    bytes: Vec<u8>,
) -> Result<(), String> {
    let path = format!(
        "/v1/extensions/{name}/versions?version={version}&changelog=Initial&engine=%3E%3D1.0"
    );
    let request = c
        .request(Method::POST, base, &path)
        .bearer_auth(&who.token)
        .header("content-type", "application/octet-stream")
        .body(bytes);
    let (status, body) = answer(request).await?;
    ensure!(status == 201, "uploading {name} {version}: {status} {body}");
    Ok(())
}

/// Approves `name@version` through `base`.
async fn approve(c: &Cluster, base: &str, name: &str, version: &str) -> Result<(), String> {
    let path = format!("/v1/extensions/{name}/versions/{version}/approve");
    let (status, body) = c
        .post(base, &path, &json!({}), Some(&c.admin.token))
        .await?;
    ensure!(status == 200, "approving {name} {version}: {status} {body}");
    Ok(())
}

/// Approves `name@version` through instance `number` (0-based).
pub(crate) async fn approve_through(
    c: &Cluster,
    number: usize,
    name: &str,
    version: &str,
) -> Result<(), String> {
    approve(c, &c.instances[number].url, name, version).await
}

/// Creates `name` through instance 1, uploads each version through instance 2 and
/// approves it through instance 3.
pub(crate) async fn publish(
    c: &Cluster,
    publisher: &Account,
    name: &str,
    versions: &[&str],
) -> Result<(), String> {
    let body = json!({"name": name, "display_name": name,
        "description": format!("The {name} extension"), "category": "other"});
    let (status, created) = c
        .post(
            &c.instances[0].url,
            "/v1/extensions",
            &body,
            Some(&publisher.token),
        )
        .await?;
    ensure!(status == 201, "creating {name}: {status} {created}");
    for (n, version) in versions.iter().enumerate() {
        let bytes = package(u32::try_from(n).unwrap_or(0), 4096);
        upload(c, &c.instances[1].url, publisher, name, version, bytes).await?;
        approve(c, &c.instances[2].url, name, version).await?;
    }
    Ok(())
}

pub(crate) async fn reviews_and_downloads(cluster: Arc<Cluster>) -> Outcome {
    let c = &*cluster;
    let publisher = c.register(&c.proxy, "publisher@cluster.test").await?;
    let name = "counted-ext";
    publish(c, &publisher, name, &["1.0.0"]).await?;

    let downloads = (0..DOWNLOADS).map(|i| {
        let base = c.instances[i % INSTANCES].url.clone();
        let path = format!("/v1/extensions/{name}/versions/1.0.0/download");
        async move {
            let response = c
                .request(Method::GET, &base, &path)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            Ok::<u16, String>(response.status().as_u16())
        }
    });
    let statuses: Vec<u16> = join_all(downloads)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    ensure!(
        statuses.iter().all(|s| *s == 200),
        "downloads: {statuses:?}"
    );
    let (_, detail) = c
        .get(&c.proxy, &format!("/v1/extensions/{name}"), None)
        .await?;
    ensure!(
        detail["downloads"] == DOWNLOADS,
        "{DOWNLOADS} downloads over the instances counted {}",
        detail["downloads"]
    );

    let reviewer = c.register(&c.proxy, "reviewer@cluster.test").await?;
    let reviews = (0..REVIEW_ATTEMPTS).map(|i| {
        let base = c.instances[i % INSTANCES].url.clone();
        let token = reviewer.token.clone();
        let path = format!("/v1/extensions/{name}/reviews");
        async move {
            c.post(
                &base,
                &path,
                &json!({"rating": 4, "title": "Solid"}),
                Some(&token),
            )
            .await
        }
    });
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for answer in join_all(reviews).await {
        let (status, body) = answer?;
        let code = body["code"].as_str().unwrap_or("-");
        *outcomes.entry(format!("{status} {code}")).or_default() += 1;
    }
    let created = outcomes.get("201 -").copied().unwrap_or(0);
    ensure!(created == 1, "one user's parallel reviews: {outcomes:?}");
    ensure!(
        outcomes
            .iter()
            .all(|(outcome, _)| outcome == "201 -" || outcome.starts_with("409 ")),
        "the others are 409: {outcomes:?}"
    );
    let (_, detail) = c
        .get(&c.proxy, &format!("/v1/extensions/{name}"), None)
        .await?;
    ensure!(detail["rating_count"] == 1, "ratings counted: {detail}");
    Ok(vec![
        format!(
            "{DOWNLOADS} parallel downloads over {INSTANCES} instances: {} counted",
            detail["downloads"]
        ),
        format!("{REVIEW_ATTEMPTS} parallel reviews by one user over the instances: {outcomes:?}"),
    ])
}

pub(crate) async fn packages_are_shared(cluster: Arc<Cluster>) -> Outcome {
    let c = &*cluster;
    let publisher = c.register(&c.proxy, "shared@cluster.test").await?;
    let name = "shared-ext";
    let body = json!({"name": name, "display_name": name,
        "description": "Kept in the shared store", "category": "other"});
    let (status, created) = c
        .post(&c.proxy, "/v1/extensions", &body, Some(&publisher.token))
        .await?;
    ensure!(status == 201, "creating {name}: {status} {created}");
    let bytes = package(7, 3 * 1024 * 1024);
    let sha = hex::encode(Sha256::digest(&bytes));
    upload(
        c,
        &c.instances[0].url,
        &publisher,
        name,
        "1.0.0",
        bytes.clone(),
    )
    .await?;
    approve(c, &c.instances[1].url, name, "1.0.0").await?;
    let mut figures = Vec::new();
    for (number, instance) in c.instances.iter().enumerate() {
        let path = format!("/v1/extensions/{name}/latest/download");
        let response = c
            .request(Method::GET, &instance.url, &path)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        ensure!(
            response.status() == 200,
            "download from instance {}: {}",
            number + 1,
            response.status()
        );
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        let got = hex::encode(Sha256::digest(&body));
        ensure!(
            got == sha,
            "instance {} served other bytes ({} bytes)",
            number + 1,
            body.len()
        );
        figures.push(format!(
            "instance {}: {} bytes, sha-256 matches",
            number + 1,
            body.len()
        ));
    }
    let objects = c.s3.objects("devforge-cluster").await;
    ensure!(
        objects.iter().any(|(_, size)| *size == 3 * 1024 * 1024),
        "the package is not in the S3 bucket: {objects:?}"
    );
    Ok(figures)
}
