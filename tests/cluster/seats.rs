//! Licensing and listings across instances: the activation limit holds when parallel
//! activations land on different instances, and a change made on one instance (revocation,
//! suspension, an extension edit or yank) shows on every other within a second, through
//! PostgreSQL's change feed.

use crate::Outcome;
use crate::check::{ensure, text};
use devforge_tests::Account;
use devforge_tests::cluster::{Cluster, INSTANCES};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEATS: u32 = 3;
const ACTIVATIONS: usize = 30;
/// How soon every instance must show a change made on another.
const FRESH_WITHIN: Duration = Duration::from_secs(1);

/// A product with `SEATS` seats, and a license of it for a new user.
async fn licensed(c: &Cluster, sku: &str, owner: &str) -> Result<(Account, Value), String> {
    let product = json!({"sku": sku, "name": sku, "price": 4900, "currency": "EUR",
        "license_duration_days": 365, "max_activations": SEATS});
    let (status, body) = c
        .post(&c.proxy, "/v1/products", &product, Some(&c.admin.token))
        .await?;
    ensure!(
        status == 201 || status == 409,
        "creating {sku}: {status} {body}"
    );
    let owner = c.register(&c.proxy, owner).await?;
    let issue = json!({"user_id": owner.id, "product": sku});
    let (status, license) = c
        .post(&c.proxy, "/v1/licenses", &issue, Some(&c.admin.token))
        .await?;
    ensure!(status == 201, "issuing a {sku} license: {status} {license}");
    Ok((owner, license))
}

pub(crate) async fn activation_limit_holds(cluster: Arc<Cluster>) -> Outcome {
    let c = &*cluster;
    let (owner, license) = licensed(c, "cluster-seats", "seats@cluster.test").await?;
    let key = text(&license["key"]);
    let activations = (0..ACTIVATIONS).map(|i| {
        let body = json!({"key": key, "fingerprint": format!("machine-{i}"), "name": "Laptop"});
        let base = c.instances[i % INSTANCES].url.clone();
        async move { c.post(&base, "/v1/licenses/activate", &body, None).await }
    });
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for answer in join_all(activations).await {
        let (status, body) = answer?;
        let code = body["code"].as_str().unwrap_or("-");
        *outcomes.entry(format!("{status} {code}")).or_default() += 1;
    }
    let activated = outcomes.get("201 -").copied().unwrap_or(0);
    ensure!(
        activated == SEATS as usize,
        "{ACTIVATIONS} parallel activations of {SEATS} seats: {outcomes:?}"
    );
    let refused = outcomes
        .get("409 activation_limit_reached")
        .copied()
        .unwrap_or(0);
    ensure!(
        activated + refused == ACTIVATIONS,
        "only 201 or 409 activation_limit_reached expected: {outcomes:?}"
    );
    let path = format!("/v1/licenses/{}", text(&license["id"]));
    let (_, stored) = c.get(&c.proxy, &path, Some(&owner.token)).await?;
    ensure!(
        stored["activations_count"] == SEATS,
        "activations counted: {stored}"
    );
    Ok(vec![format!(
        "{ACTIVATIONS} parallel activations spread over {INSTANCES} instances, {SEATS} seats: \
         {activated} × 201, {refused} × 409 activation_limit_reached, {} stored",
        stored["activations_count"]
    )])
}

/// How long after `since` until `probe` holds (probed every 10 ms for up to 5 s).
async fn until<F, Fut>(since: Instant, mut probe: F) -> Result<Duration, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, String>>,
{
    while since.elapsed() < Duration::from_secs(5) {
        if probe().await? {
            return Ok(since.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err("not seen after 5 s".into())
}

/// Makes a change through instance `on` with `change`, then measures how long each other
/// instance takes until `shows` holds there. Returns the slowest delay.
async fn spread<C, CF, S, SF>(
    c: &Cluster,
    what: &str,
    on: usize,
    change: C,
    shows: S,
) -> Result<Duration, String>
where
    C: FnOnce(String) -> CF,
    CF: Future<Output = Result<(), String>>,
    S: Fn(String) -> SF,
    SF: Future<Output = Result<bool, String>>,
{
    change(c.instances[on].url.clone()).await?;
    let changed = Instant::now();
    let others = (0..INSTANCES).filter(|i| *i != on).map(|i| {
        let base = c.instances[i].url.clone();
        let shows = &shows;
        async move {
            until(changed, || shows(base.clone()))
                .await
                .map_err(|e| format!("{what} on instance {}: {e}", i + 1))
        }
    });
    let mut slowest = Duration::ZERO;
    for delay in join_all(others).await {
        slowest = slowest.max(delay?);
    }
    ensure!(
        slowest <= FRESH_WITHIN,
        "{what} took {} ms to reach every instance",
        slowest.as_millis()
    );
    Ok(slowest)
}

async fn verdict(c: &Cluster, base: &str, key: &str) -> Result<String, String> {
    let (_, body) = c
        .post(base, "/v1/licenses/validate", &json!({"key": key}), None)
        .await?;
    Ok(text(&body["code"]))
}

async fn listed(c: &Cluster, base: &str, query: &str) -> Result<Vec<Value>, String> {
    let (status, page) = c
        .get(base, &format!("/v1/extensions?{query}"), None)
        .await?;
    ensure!(status == 200, "listing {query}: {status} {page}");
    Ok(page["items"].as_array().cloned().unwrap_or_default())
}

pub(crate) async fn changes_reach_every_instance(cluster: Arc<Cluster>) -> Outcome {
    let c = &*cluster;
    let mut figures = Vec::new();
    let admin = c.admin.token.clone();

    // Revocation, made on instance 1, read on 2 and 3 (each has validated it first).
    let (_, license) = licensed(c, "cluster-fresh", "revoked@cluster.test").await?;
    let key = text(&license["key"]);
    for instance in &c.instances {
        let code = verdict(c, &instance.url, &key).await?;
        ensure!(
            code == "VALID",
            "before the revocation {}: {code}",
            instance.url
        );
    }
    let id = text(&license["id"]);
    let revoked = spread(
        c,
        "the revocation",
        0,
        |base| async move {
            let path = format!("/v1/licenses/{id}/revoke");
            let body = json!({"reason": "refunded"});
            let (status, body) = c.post(&base, &path, &body, Some(&admin)).await?;
            ensure!(status == 200, "revoking: {status} {body}");
            Ok(())
        },
        |base| {
            let key = key.clone();
            async move { Ok(verdict(c, &base, &key).await? == "REVOKED") }
        },
    )
    .await?;
    // And it stays revoked: no instance answers from an older copy afterwards.
    for instance in &c.instances {
        for _ in 0..10 {
            let code = verdict(c, &instance.url, &key).await?;
            ensure!(
                code == "REVOKED",
                "after the revocation {}: {code}",
                instance.url
            );
        }
    }
    figures.push(format!(
        "revocation: on every instance after {} ms",
        revoked.as_millis()
    ));

    // Suspension, made on instance 2.
    let (_, license) = licensed(c, "cluster-fresh", "suspended@cluster.test").await?;
    let key = text(&license["key"]);
    for instance in &c.instances {
        let code = verdict(c, &instance.url, &key).await?;
        ensure!(
            code == "VALID",
            "before the suspension {}: {code}",
            instance.url
        );
    }
    let id = text(&license["id"]);
    let admin = c.admin.token.clone();
    let suspended = spread(
        c,
        "the suspension",
        1,
        |base| async move {
            let path = format!("/v1/licenses/{id}/suspend");
            let body = json!({"reason": "dispute"});
            let (status, body) = c.post(&base, &path, &body, Some(&admin)).await?;
            ensure!(status == 200, "suspending: {status} {body}");
            Ok(())
        },
        |base| {
            let key = key.clone();
            async move { Ok(verdict(c, &base, &key).await? == "SUSPENDED") }
        },
    )
    .await?;
    figures.push(format!(
        "suspension: on every instance after {} ms",
        suspended.as_millis()
    ));

    // An extension with two approved versions, listed everywhere.
    let publisher = c.register(&c.proxy, "fresh-publisher@cluster.test").await?;
    let name = "fresh-ext";
    crate::marketplace::publish(c, &publisher, name, &["1.0.0", "1.1.0"]).await?;
    let query = format!("q={name}");
    for instance in &c.instances {
        let seen = until(Instant::now(), || async {
            let items = listed(c, &instance.url, &query).await?;
            Ok(items.iter().any(|e| e["latest_version"] == "1.1.0"))
        })
        .await;
        ensure!(
            seen.is_ok(),
            "{name} 1.1.0 never listed on {}",
            instance.url
        );
    }

    // An edit made on instance 3: its new words are found everywhere.
    let token = publisher.token.clone();
    let edited = spread(
        c,
        "the edit",
        2,
        |base| async move {
            let body = json!({"description": "Paints every zebracorn in the editor"});
            let request = c
                .request(
                    reqwest::Method::PATCH,
                    &base,
                    &format!("/v1/extensions/{name}"),
                )
                .bearer_auth(&token)
                .json(&body);
            let (status, body) = devforge_tests::cluster::answer(request).await?;
            ensure!(status == 200, "editing: {status} {body}");
            Ok(())
        },
        |base| async move {
            let items = listed(c, &base, "q=zebracorn").await?;
            Ok(items.iter().any(|e| e["name"] == name))
        },
    )
    .await?;
    figures.push(format!(
        "extension edit: found on every instance after {} ms",
        edited.as_millis()
    ));

    // A yank made on instance 1: the listed latest version falls back everywhere.
    let token = publisher.token.clone();
    let yanked = spread(
        c,
        "the yank",
        0,
        |base| async move {
            let path = format!("/v1/extensions/{name}/versions/1.1.0/yank");
            let (status, body) = c.post(&base, &path, &json!({}), Some(&token)).await?;
            ensure!(status == 200, "yanking: {status} {body}");
            Ok(())
        },
        |base| {
            let query = query.clone();
            async move {
                let items = listed(c, &base, &query).await?;
                Ok(items
                    .iter()
                    .any(|e| e["name"] == name && e["latest_version"] == "1.0.0"))
            }
        },
    )
    .await?;
    figures.push(format!(
        "yank: on every instance after {} ms",
        yanked.as_millis()
    ));
    Ok(figures)
}
