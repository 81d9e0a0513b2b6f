//! Billing across instances: Stripe delivers the same event more than once and to any
//! instance; a paid payment still issues exactly one license.

use crate::Outcome;
use crate::check::{ensure, text};
use devforge_tests::cluster::{Cluster, INSTANCES, answer};
use devforge_tests::stripe::signature;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;

const PAYMENTS: usize = 3;
const DELIVERIES_PER_INSTANCE: usize = 10;

pub(crate) async fn one_license_per_payment(cluster: Arc<Cluster>) -> Outcome {
    let c = &*cluster;
    let product = json!({"sku": "cluster-pro", "name": "Cluster Pro", "price": 9900,
        "currency": "EUR", "license_duration_days": 365, "max_activations": 3});
    let (status, body) = c
        .post(&c.proxy, "/v1/products", &product, Some(&c.admin.token))
        .await?;
    ensure!(status == 201, "creating the product: {status} {body}");
    let buyer = c.register(&c.proxy, "buyer@cluster.test").await?;

    let mut licenses = Vec::new();
    let mut answers = 0;
    for n in 0..PAYMENTS {
        let start = c
            .request(Method::POST, &c.proxy, "/v1/payments")
            .bearer_auth(&buyer.token)
            .header("idempotency-key", format!("cluster-payment-{n}"))
            .json(&json!({"product": "cluster-pro"}));
        let (status, payment) = answer(start).await?;
        ensure!(status == 201, "starting payment {n}: {status} {payment}");
        let intent = text(&payment["stripe_payment_intent_id"]);
        let paid = c.stripe.pay(&intent, "pm_card_visa").await;
        ensure!(paid == "succeeded", "paying {intent}: {paid}");
        let event = succeeded_event(c, &intent).await?;

        // The same signed event, to every instance at once.
        let body = event.to_string();
        let deliveries = (0..DELIVERIES_PER_INSTANCE * INSTANCES).map(|i| {
            let request = c
                .request(
                    Method::POST,
                    &c.instances[i % INSTANCES].url,
                    "/v1/webhooks/stripe",
                )
                .header("stripe-signature", signature(&body, None))
                .header("content-type", "application/json")
                .body(body.clone());
            answer(request)
        });
        let statuses: Vec<u16> = join_all(deliveries)
            .await
            .into_iter()
            .map(|answer| answer.map_or(0, |(status, _)| status))
            .collect();
        ensure!(
            statuses.iter().all(|s| *s == 200),
            "deliveries of {}: {statuses:?}",
            text(&event["id"])
        );
        answers += statuses.len();

        let path = format!("/v1/payments/{}", text(&payment["id"]));
        let (_, stored) = c.get(&c.proxy, &path, Some(&buyer.token)).await?;
        let license = text(&stored["license_id"]);
        ensure!(!license.is_empty(), "payment {n} has no license: {stored}");
        licenses.push(license);
    }
    let (_, page) = c
        .get(&c.proxy, "/v1/licenses?per_page=100", Some(&buyer.token))
        .await?;
    let total = page["total"].as_u64().unwrap_or(u64::MAX);
    ensure!(
        total == PAYMENTS as u64,
        "{PAYMENTS} paid payments left the buyer {total} licenses: {page}"
    );
    licenses.sort();
    licenses.dedup();
    ensure!(
        licenses.len() == PAYMENTS,
        "payments share a license: {licenses:?}"
    );
    Ok(vec![format!(
        "{PAYMENTS} payments, each event delivered {} times at once ({DELIVERIES_PER_INSTANCE} \
         per instance): {answers} × 200, {total} licenses = 1 per payment",
        DELIVERIES_PER_INSTANCE * INSTANCES
    )])
}

/// The fake Stripe's own `payment_intent.succeeded` event for `intent`.
async fn succeeded_event(c: &Cluster, intent: &str) -> Result<Value, String> {
    let (_, events) = c
        .stripe
        .get("/v1/events?type=payment_intent.succeeded&limit=100")
        .await;
    events["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|event| event["data"]["object"]["id"] == intent)
        .cloned()
        .ok_or_else(|| format!("no succeeded event for {intent}"))
}
