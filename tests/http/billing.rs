//! Payments end to end against a fake Stripe (localstripe) over real HTTP: the app creates
//! a payment, the customer pays with a test card at the fake Stripe, the fake delivers the
//! signed webhook, the license is issued, a refund revokes it. Then the webhook rules with
//! hand-signed events: signatures, staleness, replays, order, disputes, dashboard refunds,
//! and exactly one license per payment under every race.

use devforge_domain::Role;
use devforge_tests::stripe::{FakeStripe, signature};
use devforge_tests::{Account, Backend, TestApp, assert_problem, backends, json, on_every_backend};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

struct Shop {
    app: TestApp,
    stripe: FakeStripe,
    admin: Account,
    buyer: Account,
}

async fn shop(backend: Backend) -> Option<Shop> {
    let (app, stripe) = TestApp::spawn_with_stripe(backend).await?;
    let admin = app
        .account_with_role("admin@example.com", Role::Admin)
        .await;
    let buyer = app.register("buyer@example.com").await;
    for (sku, price, currency) in [
        ("forge-pro", 9900, "EUR"),
        ("forge-team", 29900, "EUR"),
        ("forge-jp", 1500, "JPY"),
    ] {
        let product = json!({"sku": sku, "name": sku, "price": price, "currency": currency,
            "license_duration_days": 365, "max_activations": 3});
        let response = app.post("/v1/products", product, Some(&admin.token)).await;
        assert_eq!(response.status(), 201, "creating {sku}");
    }
    Some(Shop {
        app,
        stripe,
        admin,
        buyer,
    })
}

impl Shop {
    async fn start_payment(&self, key: &str, body: Value) -> reqwest::Response {
        self.app
            .request(Method::POST, "/v1/payments", Some(&self.buyer.token))
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    async fn payment(&self, id: &str) -> Value {
        json(
            self.app
                .get(&format!("/v1/payments/{id}"), Some(&self.buyer.token))
                .await,
        )
        .await
    }

    /// Waits for the webhook to issue the payment's license.
    async fn license_of(&self, id: &str) -> String {
        for _ in 0..100 {
            let payment = self.payment(id).await;
            if let Some(license) = payment["license_id"].as_str() {
                return license.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("payment {id} got no license");
    }

    async fn validate(&self, license: &str) -> String {
        let found = json(
            self.app
                .get(&format!("/v1/licenses/{license}"), Some(&self.buyer.token))
                .await,
        )
        .await;
        let key = found["key"].as_str().unwrap_or_default();
        let verdict = json(
            self.app
                .post("/v1/licenses/validate", json!({"key": key}), None)
                .await,
        )
        .await;
        verdict["code"].as_str().unwrap_or_default().to_owned()
    }

    async fn refund(&self, id: &str, key: &str, body: Value) -> reqwest::Response {
        self.app
            .request(
                Method::POST,
                &format!("/v1/payments/{id}/refunds"),
                Some(&self.admin.token),
            )
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    async fn licenses_of_buyer(&self) -> u64 {
        let page = json(self.app.get("/v1/licenses", Some(&self.buyer.token)).await).await;
        page["total"].as_u64().unwrap_or(u64::MAX)
    }

    async fn deliver(&self, event: &Value, at: Option<i64>) -> reqwest::Response {
        let body = event.to_string();
        self.app
            .request(Method::POST, "/v1/webhooks/stripe", None)
            .header("stripe-signature", signature(&body, at))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Stops the fake Stripe's deliveries, as when the webhook is late or lost.
    async fn silence_webhooks(&self) {
        self.stripe
            .deliver_webhooks_to("http://127.0.0.1:9/unreachable")
            .await;
    }

    /// A payment for `forge-pro`, paid at the fake Stripe; returns (payment, intent id).
    async fn paid(&self, key: &str) -> (Value, String) {
        let payment = json(
            self.start_payment(key, json!({"product": "forge-pro"}))
                .await,
        )
        .await;
        let intent = payment["stripe_payment_intent_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(self.stripe.pay(&intent, "pm_card_visa").await, "succeeded");
        (payment, intent)
    }

    /// The fake Stripe's own `payment_intent.succeeded` event for `intent`.
    async fn succeeded_event(&self, intent: &str) -> Value {
        let (_, events) = self
            .stripe
            .get("/v1/events?type=payment_intent.succeeded&limit=100")
            .await;
        events["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|event| event["data"]["object"]["id"] == intent)
            .cloned()
            .unwrap_or_else(|| panic!("no succeeded event for {intent}"))
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

/// An event as Stripe would send it, about an intent.
fn event(id: &str, kind: &str, object: Value) -> Value {
    json!({"id": id, "object": "event", "type": kind, "created": chrono::Utc::now().timestamp(),
        "api_version": "2026-09-30.endive", "data": {"object": object}})
}

on_every_backend! {
    async fn without_a_stripe_key_payment_routes_answer_503(app) {
        let user = app.register("user@example.com").await;
        let create = app
            .request(Method::POST, "/v1/payments", Some(&user.token))
            .header("idempotency-key", "k")
            .json(&json!({"product": "x"}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_problem(create, 503, "payments_not_configured").await;
        assert_problem(app.get("/v1/payments", Some(&user.token)).await, 503, "payments_not_configured").await;
        let hook = app.post("/v1/webhooks/stripe", json!({}), None).await;
        assert_problem(hook, 503, "payments_not_configured").await;
        let stats = json(app.get("/v1/admin/stats", Some(&app.account_with_role("a@example.com", Role::Admin).await.token)).await).await;
        assert!(stats["billing"].is_null(), "{stats}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_payment_issues_a_license_and_a_full_refund_revokes_it() {
    for backend in backends() {
        let Some(shop) = shop(backend).await else {
            return;
        };
        let created = shop
            .start_payment("order-1", json!({"product": "forge-pro"}))
            .await;
        assert_eq!(created.status(), 201);
        let payment = json(created).await;
        assert_eq!(
            (payment["amount"].clone(), payment["currency"].clone()),
            (json!(9900), json!("EUR"))
        );
        assert_eq!(payment["status"], "requires_payment");
        assert!(
            payment["client_secret"]
                .as_str()
                .is_some_and(|s| s.contains("_secret_")),
            "{payment}"
        );
        let intent = payment["stripe_payment_intent_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();

        let again = shop
            .start_payment("order-1", json!({"product": "forge-pro"}))
            .await;
        assert_eq!(again.status(), 200, "same key, same body: the same payment");
        assert_eq!(id(&json(again).await), id(&payment));
        let reused = shop
            .start_payment("order-1", json!({"product": "forge-team"}))
            .await;
        assert_problem(reused, 422, "idempotency_key_reused").await;
        let (_, at_stripe) = shop
            .stripe
            .get(&format!("/v1/payment_intents/{intent}"))
            .await;
        assert_eq!(at_stripe["amount"], 9900);
        assert_eq!(at_stripe["metadata"]["payment_id"], json!(id(&payment)));
        assert_eq!(at_stripe["metadata"]["user_id"], json!(shop.buyer.id));

        // The customer pays in the app; Stripe tells the server through the webhook.
        assert_eq!(shop.stripe.pay(&intent, "pm_card_visa").await, "succeeded");
        let license = shop.license_of(&id(&payment)).await;
        assert_eq!(shop.payment(&id(&payment)).await["status"], "succeeded");
        assert_eq!(shop.validate(&license).await, "VALID");

        let refunded = shop
            .refund(&id(&payment), "refund-1", json!({"reason": "asked"}))
            .await;
        assert_eq!(refunded.status(), 200);
        let refunded = json(refunded).await;
        assert_eq!(refunded["amount_refunded"], 9900);
        assert_eq!(refunded["refunds"][0]["status"], "succeeded", "{refunded}");
        assert_eq!(shop.validate(&license).await, "REVOKED");
        let (_, charged) = shop
            .stripe
            .get(&format!("/v1/payment_intents/{intent}"))
            .await;
        assert_eq!(charged["latest_charge"]["amount_refunded"], 9900);

        let stats = json(
            shop.app
                .get("/v1/admin/stats", Some(&shop.admin.token))
                .await,
        )
        .await;
        assert_eq!(
            stats["billing"]["revenue"]["EUR"],
            json!({"gross": 9900, "refunded": 9900, "net": 0}),
            "{stats}"
        );
        assert_eq!(stats["billing"]["payments_by_status"]["succeeded"], 1);
        shop.app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_applies_what_stripe_says_when_the_webhook_is_late() {
    for backend in backends() {
        let Some(shop) = shop(backend).await else {
            return;
        };
        shop.silence_webhooks().await;
        let declined = json(
            shop.start_payment("declined", json!({"product": "forge-pro"}))
                .await,
        )
        .await;
        let declined_intent = declined["stripe_payment_intent_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            shop.stripe
                .pay(&declined_intent, "pm_card_chargeCustomerFail")
                .await,
            "requires_payment_method"
        );
        let after = json(
            shop.app
                .post(
                    &format!("/v1/payments/{}/confirm", id(&declined)),
                    json!({}),
                    Some(&shop.buyer.token),
                )
                .await,
        )
        .await;
        assert_eq!(after["status"], "requires_payment");
        assert!(after["license_id"].is_null());

        let (payment, _) = shop.paid("late").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            shop.payment(&id(&payment)).await["license_id"].is_null(),
            "no webhook arrived"
        );
        let confirmed = json(
            shop.app
                .post(
                    &format!("/v1/payments/{}/confirm", id(&payment)),
                    json!({}),
                    Some(&shop.buyer.token),
                )
                .await,
        )
        .await;
        assert_eq!(confirmed["status"], "succeeded");
        let license = confirmed["license_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(shop.validate(&license).await, "VALID");
        let stranger = shop.app.register("stranger@example.com").await;
        let theirs = shop
            .app
            .post(
                &format!("/v1/payments/{}/confirm", id(&payment)),
                json!({}),
                Some(&stranger.token),
            )
            .await;
        assert_problem(theirs, 404, "payment_not_found").await;
        shop.app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_license_per_payment_under_replays_races_and_a_crash() {
    for backend in backends() {
        let Some(shop) = shop(backend).await else {
            return;
        };
        shop.silence_webhooks().await;

        // The same event twenty times in parallel.
        let (first, intent) = shop.paid("twenty").await;
        let event = shop.succeeded_event(&intent).await;
        let statuses =
            join_all((0..20).map(|_| async { shop.deliver(&event, None).await.status().as_u16() }))
                .await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        assert_eq!(shop.licenses_of_buyer().await, 1);

        // The webhook and /confirm racing each other.
        let (second, intent) = shop.paid("race").await;
        let event = shop.succeeded_event(&intent).await;
        let confirm_path = format!("/v1/payments/{}/confirm", id(&second));
        let hooks =
            join_all((0..5).map(|_| async { shop.deliver(&event, None).await.status().as_u16() }));
        let confirms = join_all((0..5).map(|_| async {
            shop.app
                .post(&confirm_path, json!({}), Some(&shop.buyer.token))
                .await
                .status()
                .as_u16()
        }));
        let (hooks, confirms) = tokio::join!(hooks, confirms);
        assert!(
            hooks.iter().chain(&confirms).all(|s| *s == 200),
            "{hooks:?} {confirms:?}"
        );
        assert_eq!(shop.licenses_of_buyer().await, 2);

        // The process died after recording the payment as paid, before issuing the license:
        // the database holds the event and the status, and no license.
        let (third, intent) = shop.paid("crash").await;
        let event = shop.succeeded_event(&intent).await;
        let db = shop.app.state.database.connection();
        use sea_orm::ConnectionTrait as _;
        let backend_kind = db.get_database_backend();
        let now = chrono::Utc::now();
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend_kind,
            if backend_kind == sea_orm::DbBackend::Postgres {
                "INSERT INTO gateway_events (id, kind, received_at) VALUES ($1, $2, $3)"
            } else {
                "INSERT INTO gateway_events (id, kind, received_at) VALUES (?, ?, ?)"
            },
            [
                id(&event).into(),
                "payment_intent.succeeded".into(),
                now.into(),
            ],
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend_kind,
            if backend_kind == sea_orm::DbBackend::Postgres {
                "UPDATE payments SET status = 'succeeded' WHERE intent_id = $1"
            } else {
                "UPDATE payments SET status = 'succeeded' WHERE intent_id = ?"
            },
            [intent.clone().into()],
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(shop.payment(&id(&third)).await["license_id"].is_null());
        // Stripe redelivers the event: it is a replay, yet the missing license is issued.
        assert_eq!(shop.deliver(&event, None).await.status(), 200);
        let healed = shop.payment(&id(&third)).await;
        assert!(healed["license_id"].is_string(), "{healed}");
        assert_eq!(shop.licenses_of_buyer().await, 3);

        // Reconciliation reads Stripe's event list and changes nothing more.
        let billing = shop
            .app
            .state
            .billing
            .clone()
            .unwrap_or_else(|| panic!("billing"));
        let report = billing
            .reconcile(now.timestamp() - 3600)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(report.seen >= 3, "{report:?}");
        assert_eq!(shop.licenses_of_buyer().await, 3);
        let _ = first;
        shop.app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_applies_what_the_webhooks_missed() {
    for backend in backends() {
        let Some(shop) = shop(backend).await else {
            return;
        };
        shop.silence_webhooks().await;
        let since = chrono::Utc::now().timestamp() - 60;
        let (payment, _) = shop.paid("missed").await;
        assert!(shop.payment(&id(&payment)).await["license_id"].is_null());
        let billing = shop
            .app
            .state
            .billing
            .clone()
            .unwrap_or_else(|| panic!("billing"));
        let report = billing
            .reconcile(since)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // customer.created and payment_intent.succeeded, both missed.
        assert!(
            report.seen >= 2 && report.applied == report.seen,
            "{report:?}"
        );
        let license = shop.payment(&id(&payment)).await["license_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(shop.validate(&license).await, "VALID");
        let again = billing
            .reconcile(since)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((again.applied, again.fulfilled), (0, 0), "idempotent");
        shop.app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_verified_deduplicated_and_monotonic() {
    for backend in backends() {
        let Some(shop) = shop(backend).await else {
            return;
        };
        shop.silence_webhooks().await;
        let (payment, intent) = shop.paid("hooks").await;
        let succeeded = shop.succeeded_event(&intent).await;
        let body = succeeded.to_string();

        let unsigned = shop
            .app
            .request(Method::POST, "/v1/webhooks/stripe", None)
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_problem(unsigned, 400, "invalid_signature").await;
        let forged = shop
            .app
            .request(Method::POST, "/v1/webhooks/stripe", None)
            .header(
                "stripe-signature",
                format!(
                    "t={},v1={}",
                    chrono::Utc::now().timestamp(),
                    "ab".repeat(32)
                ),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_problem(forged, 400, "invalid_signature").await;
        let tampered = shop
            .app
            .request(Method::POST, "/v1/webhooks/stripe", None)
            .header("stripe-signature", signature(&body, None))
            .body(body.replace("succeeded", "succeedee"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_problem(tampered, 400, "invalid_signature").await;
        let stale = shop
            .deliver(&succeeded, Some(chrono::Utc::now().timestamp() - 301))
            .await;
        assert_problem(stale, 400, "stale_signature").await;
        assert!(
            shop.payment(&id(&payment)).await["license_id"].is_null(),
            "nothing applied yet"
        );
        let garbage = shop
            .app
            .request(Method::POST, "/v1/webhooks/stripe", None)
            .header("stripe-signature", signature("not json", None))
            .body("not json")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_problem(garbage, 400, "invalid_event").await;

        assert_eq!(shop.deliver(&succeeded, None).await.status(), 200);
        let license = shop.license_of(&id(&payment)).await;
        let unknown = event(
            "evt_unknown_kind",
            "customer.tax_id.created",
            json!({"id": "txi_1"}),
        );
        assert_eq!(
            shop.deliver(&unknown, None).await.status(),
            200,
            "unknown types are acknowledged"
        );

        // Late and out of order: a processing or failure event never undoes success.
        let processing = event(
            "evt_late_processing",
            "payment_intent.processing",
            json!({"id": intent, "status": "processing"}),
        );
        let failed = event(
            "evt_late_failed",
            "payment_intent.payment_failed",
            json!({"id": intent, "status": "requires_payment_method"}),
        );
        for late in [&processing, &failed] {
            assert_eq!(shop.deliver(late, None).await.status(), 200);
        }
        assert_eq!(shop.payment(&id(&payment)).await["status"], "succeeded");
        assert_eq!(shop.validate(&license).await, "VALID");

        // A dashboard refund of part, then the charge's total: counted once, not revoked;
        // then the rest: revoked.
        let partial = event(
            "evt_refund_1",
            "refund.created",
            json!({"id": "re_dash_1", "object": "refund", "payment_intent": intent, "amount": 4000, "status": "succeeded"}),
        );
        assert_eq!(shop.deliver(&partial, None).await.status(), 200);
        assert_eq!(shop.deliver(&partial, None).await.status(), 200, "a replay");
        let total = event(
            "evt_charge_refunded_1",
            "charge.refunded",
            json!({"id": "ch_1", "object": "charge", "payment_intent": intent, "amount_refunded": 4000}),
        );
        assert_eq!(shop.deliver(&total, None).await.status(), 200);
        assert_eq!(shop.payment(&id(&payment)).await["amount_refunded"], 4000);
        assert_eq!(shop.validate(&license).await, "VALID");
        let rest = event(
            "evt_refund_2",
            "refund.created",
            json!({"id": "re_dash_2", "object": "refund", "payment_intent": {"id": intent}, "amount": 5900, "status": "succeeded"}),
        );
        assert_eq!(shop.deliver(&rest, None).await.status(), 200);
        assert_eq!(shop.payment(&id(&payment)).await["amount_refunded"], 9900);
        assert_eq!(shop.validate(&license).await, "REVOKED");
        shop.app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disputes_suspend_then_reinstate_or_revoke() {
    for backend in backends() {
        let Some(shop) = shop(backend).await else {
            return;
        };
        for (n, outcome, verdict) in [(1, "won", "VALID"), (2, "lost", "REVOKED")] {
            let (payment, intent) = shop.paid(&format!("dispute-{n}")).await;
            let license = shop.license_of(&id(&payment)).await;
            let opened = event(
                &format!("evt_dispute_open_{n}"),
                "charge.dispute.created",
                json!({"id": format!("dp_{n}"), "object": "dispute", "payment_intent": intent, "status": "needs_response"}),
            );
            assert_eq!(shop.deliver(&opened, None).await.status(), 200);
            assert_eq!(shop.validate(&license).await, "SUSPENDED");
            assert_eq!(shop.payment(&id(&payment)).await["dispute"], "open");
            let closed = event(
                &format!("evt_dispute_closed_{n}"),
                "charge.dispute.closed",
                json!({"id": format!("dp_{n}"), "object": "dispute", "payment_intent": intent, "status": outcome}),
            );
            assert_eq!(shop.deliver(&closed, None).await.status(), 200);
            assert_eq!(shop.validate(&license).await, verdict, "dispute {outcome}");
            let reopened = event(
                &format!("evt_dispute_reopen_{n}"),
                "charge.dispute.created",
                json!({"id": format!("dp_{n}"), "object": "dispute", "payment_intent": intent, "status": "needs_response"}),
            );
            assert_eq!(shop.deliver(&reopened, None).await.status(), 200);
            assert_eq!(
                shop.payment(&id(&payment)).await["dispute"],
                outcome,
                "a closed dispute stays closed"
            );
        }
        shop.app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_never_exceed_the_payment_even_in_parallel() {
    for backend in backends() {
        let Some(shop) = shop(backend).await else {
            return;
        };
        let unpaid = json(
            shop.start_payment("unpaid", json!({"product": "forge-pro"}))
                .await,
        )
        .await;
        assert_problem(
            shop.refund(&id(&unpaid), "r0", json!({})).await,
            409,
            "payment_not_refundable",
        )
        .await;

        let (payment, _) = shop.paid("refunds").await;
        let license = shop.license_of(&id(&payment)).await;
        let first = json(
            shop.refund(&id(&payment), "r1", json!({"amount": 3000}))
                .await,
        )
        .await;
        assert_eq!(first["amount_refunded"], 3000);
        let replay = json(
            shop.refund(&id(&payment), "r1", json!({"amount": 3000}))
                .await,
        )
        .await;
        assert_eq!(replay["amount_refunded"], 3000, "the same key refunds once");
        assert_eq!(replay["refunds"].as_array().map(Vec::len), Some(1));
        assert_problem(
            shop.refund(&id(&payment), "r2", json!({"amount": 7000}))
                .await,
            422,
            "refund_exceeds_payment",
        )
        .await;
        assert_problem(
            shop.refund(&id(&payment), "r3", json!({"amount": 0})).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(
            shop.validate(&license).await,
            "VALID",
            "a partial refund keeps the license"
        );

        let statuses = join_all((0..5).map(|n| {
            let (shop, payment) = (&shop, &payment);
            async move {
                shop.refund(&id(payment), &format!("p{n}"), json!({"amount": 2000}))
                    .await
                    .status()
                    .as_u16()
            }
        }))
        .await;
        let ok = statuses.iter().filter(|s| **s == 200).count();
        assert_eq!(ok, 3, "6900 left: three refunds of 2000 fit: {statuses:?}");
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 422),
            "{statuses:?}"
        );
        let after = shop.payment(&id(&payment)).await;
        assert_eq!(after["amount_refunded"], 9000);
        let last = json(shop.refund(&id(&payment), "r-rest", json!({})).await).await;
        assert_eq!(last["amount_refunded"], 9900, "the default is what is left");
        assert_eq!(shop.validate(&license).await, "REVOKED");
        shop.app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_payment_extends_the_payers_license_once() {
    for backend in backends() {
        let Some(shop) = shop(backend).await else {
            return;
        };
        let (payment, _) = shop.paid("buy").await;
        let license = shop.license_of(&id(&payment)).await;
        let before = json(
            shop.app
                .get(&format!("/v1/licenses/{license}"), Some(&shop.buyer.token))
                .await,
        )
        .await;

        let stranger = shop.app.register("stranger@example.com").await;
        let theirs = shop
            .app
            .request(Method::POST, "/v1/payments", Some(&stranger.token))
            .header("idempotency-key", "steal")
            .json(&json!({"product": "forge-pro", "renew_license_id": license}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let problem = assert_problem(theirs, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "renew_license_id");
        let other_product = shop
            .start_payment(
                "wrong",
                json!({"product": "forge-team", "renew_license_id": license}),
            )
            .await;
        assert_problem(other_product, 422, "validation_failed").await;

        let renewal = json(
            shop.start_payment(
                "renew",
                json!({"product": "forge-pro", "renew_license_id": license}),
            )
            .await,
        )
        .await;
        let intent = renewal["stripe_payment_intent_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(shop.stripe.pay(&intent, "pm_card_visa").await, "succeeded");
        assert_eq!(
            shop.license_of(&id(&renewal)).await,
            license,
            "the same license"
        );
        shop.silence_webhooks().await;
        let event = shop.succeeded_event(&intent).await;
        assert_eq!(
            shop.deliver(&event, None).await.status(),
            200,
            "a replay renews nothing more"
        );
        let after = json(
            shop.app
                .get(&format!("/v1/licenses/{license}"), Some(&shop.buyer.token))
                .await,
        )
        .await;
        let days = |license: &Value| {
            chrono::DateTime::parse_from_rfc3339(license["expires_at"].as_str().unwrap_or_default())
                .map(|t| t.timestamp() / 86_400)
                .unwrap_or_default()
        };
        assert_eq!(days(&after) - days(&before), 365, "{before} {after}");
        assert_eq!(shop.licenses_of_buyer().await, 1);
        shop.app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_decimal_currencies_are_charged_as_they_are() {
    for backend in backends() {
        let Some(shop) = shop(backend).await else {
            return;
        };
        let payment = json(
            shop.start_payment("yen", json!({"product": "forge-jp"}))
                .await,
        )
        .await;
        assert_eq!(
            (payment["amount"].clone(), payment["currency"].clone()),
            (json!(1500), json!("JPY"))
        );
        let intent = payment["stripe_payment_intent_id"]
            .as_str()
            .unwrap_or_default();
        let (_, at_stripe) = shop
            .stripe
            .get(&format!("/v1/payment_intents/{intent}"))
            .await;
        assert_eq!(
            (at_stripe["amount"].clone(), at_stripe["currency"].clone()),
            (json!(1500), json!("jpy"))
        );
        shop.app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_input_is_checked() {
    for backend in backends() {
        let Some(shop) = shop(backend).await else {
            return;
        };
        let token = Some(shop.buyer.token.as_str());
        let no_key = shop
            .app
            .post("/v1/payments", json!({"product": "forge-pro"}), token)
            .await;
        assert_problem(no_key, 400, "idempotency_key_required").await;
        let bad_key = shop
            .start_payment("has space", json!({"product": "forge-pro"}))
            .await;
        assert_problem(bad_key, 422, "validation_failed").await;
        for (body, code) in [
            (json!({"product": ""}), "validation_failed"),
            (json!({"product": "no-such-product"}), "validation_failed"),
            (
                json!({"product": "forge-pro", "coupon": "free"}),
                "invalid_body",
            ),
            (
                json!({"product": "forge-pro", "renew_license_id": "not-a-uuid"}),
                "invalid_body",
            ),
            (json!({"product": 7}), "invalid_body"),
        ] {
            assert_problem(shop.start_payment("k-bad", body).await, 422, code).await;
        }
        assert_problem(
            shop.app.get("/v1/payments?status=paid", token).await,
            400,
            "invalid_query",
        )
        .await;
        assert_problem(
            shop.app.get("/v1/payments/not-a-uuid", token).await,
            404,
            "payment_not_found",
        )
        .await;
        let (payment, _) = shop.paid("checked").await;
        for body in [
            json!({"amount": -5}),
            json!({"reason": "x".repeat(501)}),
            json!({"amount": "all"}),
        ] {
            let response = shop.refund(&id(&payment), "bad-refund", body).await;
            assert_eq!(response.status(), 422);
        }
        assert_eq!(
            shop.payment(&id(&payment)).await["amount_refunded"],
            0,
            "nothing refunded"
        );
        shop.app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_may_name_the_requesters_own_payment() {
    for backend in backends() {
        let Some(shop) = shop(backend).await else {
            return;
        };
        let payment = json(
            shop.start_payment("for-support", json!({"product": "forge-pro"}))
                .await,
        )
        .await;
        let ticket = json!({"subject": "Charged but no license", "body": "Help", "category": "billing", "payment_id": id(&payment)});
        let mine = shop
            .app
            .post(
                "/v1/support/tickets",
                ticket.clone(),
                Some(&shop.buyer.token),
            )
            .await;
        assert_eq!(mine.status(), 201);
        assert_eq!(json(mine).await["payment_id"], json!(id(&payment)));
        let stranger = shop.app.register("stranger@example.com").await;
        let theirs = shop
            .app
            .post("/v1/support/tickets", ticket, Some(&stranger.token))
            .await;
        let problem = assert_problem(theirs, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "payment_id");
        shop.app.shutdown().await;
    }
}
