//! The billing rules against in-memory ports: idempotent payment creation across gateway
//! failures, one license per payment, refunds whose outcome is unknown, disputes, and
//! reconciliation.

use super::{BillingConfig, BillingService, Payer, PaymentRequest};
use crate::error::BillingError;
use crate::event::IntentStatus;
use crate::fakes::{FakeDesk, FakeGateway, FakeStore};
use crate::gateway::GatewayError;
use crate::payment::PaymentStatus;
use crate::signature::sign;
use chrono::{TimeZone, Utc};
use devforge_domain::{Clock, ManualClock, Role, UserId};
use serde_json::{Value, json};

const SECRET: &str = "whsec_test";

struct World {
    service: BillingService<FakeStore, FakeGateway, FakeDesk, ManualClock>,
    gateway: FakeGateway,
    desk: FakeDesk,
    clock: ManualClock,
    payer: Payer,
}

fn world() -> World {
    let start = Utc
        .with_ymd_and_hms(2026, 11, 1, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let clock = ManualClock::starting_at(start);
    let gateway = FakeGateway::default();
    let desk = FakeDesk::default();
    let config = BillingConfig {
        webhook_secrets: vec!["whsec_old".into(), SECRET.into()],
        webhook_tolerance_secs: 300,
    };
    World {
        service: BillingService::new(
            FakeStore::default(),
            gateway.clone(),
            desk.clone(),
            clock.clone(),
            config,
        ),
        gateway,
        desk,
        clock,
        payer: Payer {
            user_id: UserId::generate(),
            role: Role::User,
        },
    }
}

fn pro() -> PaymentRequest {
    PaymentRequest {
        product: "pro".into(),
        renew_license_id: None,
    }
}

impl World {
    async fn deliver(&self, event: &Value) -> Result<(), BillingError> {
        let body = event.to_string();
        let at = self.clock.now().timestamp();
        let header = format!("t={at},v1={}", sign(SECRET, at, body.as_bytes()));
        self.service
            .handle_webhook(Some(&header), body.as_bytes())
            .await
    }

    fn event(&self, id: &str, kind: &str, object: Value) -> Value {
        json!({"id": id, "type": kind, "created": self.clock.now().timestamp(), "data": {"object": object}})
    }
}

#[tokio::test]
async fn a_payment_interrupted_by_a_gateway_failure_is_finished_by_retrying_the_same_key()
-> Result<(), BillingError> {
    let w = world();
    w.gateway
        .fail_next(GatewayError::Unavailable("timeout".into()));
    let failed = w
        .service
        .start_payment(w.payer, "a@example.com", "k1", pro())
        .await;
    assert!(
        matches!(failed, Err(BillingError::Gateway(_))),
        "{failed:?}"
    );
    let retried = w
        .service
        .start_payment(w.payer, "a@example.com", "k1", pro())
        .await?;
    assert!(
        !retried.created,
        "the stored payment is finished, not a new one made"
    );
    assert_eq!(retried.payment.intent_id.as_deref(), Some("pi_1"));
    let again = w
        .service
        .start_payment(w.payer, "a@example.com", "k1", pro())
        .await?;
    assert_eq!(again.payment.id, retried.payment.id);
    let other = w
        .service
        .start_payment(w.payer, "a@example.com", "k2", pro())
        .await?;
    assert_ne!(other.payment.id, retried.payment.id);
    assert_eq!(w.gateway.customers(), 1, "one gateway customer per payer");
    let unknown = PaymentRequest {
        product: "enterprise".into(),
        renew_license_id: None,
    };
    let refused = w
        .service
        .start_payment(w.payer, "a@example.com", "k3", unknown)
        .await;
    assert!(
        matches!(refused, Err(BillingError::UnknownProduct)),
        "{refused:?}"
    );
    Ok(())
}

#[tokio::test]
async fn only_stripes_word_moves_a_payment_and_it_issues_one_license() -> Result<(), BillingError> {
    let w = world();
    let view = w
        .service
        .start_payment(w.payer, "a@example.com", "k", pro())
        .await?;
    let id = view.payment.id;
    let confirmed = w.service.confirm(w.payer, id).await?;
    assert_eq!(
        confirmed.payment.status,
        PaymentStatus::RequiresPayment,
        "unpaid at Stripe"
    );
    w.gateway.set_status("pi_1", IntentStatus::Succeeded);
    let succeeded = w.event("evt_1", "payment_intent.succeeded", json!({"id": "pi_1"}));
    for _ in 0..3 {
        w.deliver(&succeeded).await?;
    }
    w.service.confirm(w.payer, id).await?;
    let late = w.event("evt_2", "payment_intent.processing", json!({"id": "pi_1"}));
    w.deliver(&late).await?;
    let paid = w.service.payment(w.payer, id).await?;
    assert_eq!(paid.payment.status, PaymentStatus::Succeeded);
    assert!(paid.payment.license_id.is_some());
    assert_eq!(w.desk.licenses_issued(), 1);
    Ok(())
}

#[tokio::test]
async fn webhook_signatures_are_checked_with_every_configured_secret() -> Result<(), BillingError> {
    let w = world();
    let body = br#"{"id":"evt_x","type":"customer.created","data":{"object":{"id":"cus_1"}}}"#;
    let now = w.clock.now().timestamp();
    let old = format!("t={now},v1={}", sign("whsec_old", now, body));
    w.service.handle_webhook(Some(&old), body).await?;
    let stale = format!("t={},v1={}", now - 301, sign(SECRET, now - 301, body));
    let refused = w.service.handle_webhook(Some(&stale), body).await;
    assert!(
        matches!(refused, Err(BillingError::Signature(_))),
        "{refused:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_refund_with_an_unknown_outcome_is_settled_by_retrying_its_key()
-> Result<(), BillingError> {
    let w = world();
    let view = w
        .service
        .start_payment(w.payer, "a@example.com", "k", pro())
        .await?;
    let id = view.payment.id;
    w.deliver(&w.event("evt_1", "payment_intent.succeeded", json!({"id": "pi_1"})))
        .await?;
    let license = w.service.payment(w.payer, id).await?.payment.license_id;

    w.gateway.fail_next(GatewayError::Rejected {
        code: None,
        message: "no".into(),
    });
    let rejected = w.service.refund(id, "r1", Some(1000), None).await;
    assert!(
        matches!(rejected, Err(BillingError::Gateway(_))),
        "{rejected:?}"
    );
    assert_eq!(
        w.service
            .payment(w.payer, id)
            .await?
            .payment
            .amount_refunded,
        0,
        "released"
    );

    w.gateway
        .fail_next(GatewayError::Unavailable("timeout".into()));
    let unknown = w.service.refund(id, "r2", None, None).await;
    assert!(
        matches!(unknown, Err(BillingError::Gateway(_))),
        "{unknown:?}"
    );
    let held = w.service.payment(w.payer, id).await?.payment;
    assert_eq!(
        (held.amount_reserved, held.amount_refunded),
        (9900, 0),
        "held while the outcome is unknown"
    );
    // A webhook for this payment meanwhile does not take the license: nothing is refunded
    // yet, and the gateway may still refuse.
    let again = w.event("evt_2", "payment_intent.succeeded", json!({"id": "pi_1"}));
    w.deliver(&again).await?;
    assert_eq!(license.and_then(|l| w.desk.status_of(l)), Some("active"));
    let exceeded = w.service.refund(id, "r3", Some(1), None).await;
    assert!(
        matches!(
            exceeded,
            Err(BillingError::RefundExceedsPayment { refundable: 0 })
        ),
        "{exceeded:?}"
    );

    let settled = w.service.refund(id, "r2", None, None).await?;
    assert_eq!(
        settled
            .refunds
            .iter()
            .filter(|r| r.status == "succeeded")
            .count(),
        1
    );
    assert_eq!(w.gateway.refunds(), 1, "one refund at the gateway");
    assert_eq!(license.and_then(|l| w.desk.status_of(l)), Some("revoked"));
    Ok(())
}

#[tokio::test]
async fn a_renewal_is_renewed_once_and_its_full_refund_revokes_the_license()
-> Result<(), BillingError> {
    let w = world();
    let license = uuid::Uuid::now_v7();
    w.desk.add_license(license);
    let renew = PaymentRequest {
        product: "pro".into(),
        renew_license_id: Some(license),
    };
    let view = w
        .service
        .start_payment(w.payer, "a@example.com", "k", renew)
        .await?;
    let succeeded = w.event("evt_1", "payment_intent.succeeded", json!({"id": "pi_1"}));
    w.deliver(&succeeded).await?;
    w.service.confirm(w.payer, view.payment.id).await?;
    assert_eq!(w.desk.renewals(), 1);
    assert_eq!(w.desk.licenses_issued(), 0);
    w.service
        .refund(view.payment.id, "r", Some(100), None)
        .await?;
    assert_eq!(
        w.desk.status_of(license),
        Some("active"),
        "a partial refund keeps it"
    );
    w.service.refund(view.payment.id, "r2", None, None).await?;
    assert_eq!(
        w.desk.status_of(license),
        Some("revoked"),
        "the license the payment renewed"
    );
    Ok(())
}

#[tokio::test]
async fn disputes_suspend_and_a_won_one_reinstates() -> Result<(), BillingError> {
    let w = world();
    let view = w
        .service
        .start_payment(w.payer, "a@example.com", "k", pro())
        .await?;
    w.deliver(&w.event("evt_1", "payment_intent.succeeded", json!({"id": "pi_1"})))
        .await?;
    let license = w
        .service
        .payment(w.payer, view.payment.id)
        .await?
        .payment
        .license_id;
    let license = license.unwrap_or_default();
    w.deliver(&w.event(
        "evt_2",
        "charge.dispute.created",
        json!({"id": "dp", "payment_intent": "pi_1", "status": "needs_response"}),
    ))
    .await?;
    assert_eq!(w.desk.status_of(license), Some("suspended"));
    w.deliver(&w.event(
        "evt_3",
        "charge.dispute.closed",
        json!({"id": "dp", "payment_intent": "pi_1", "status": "won"}),
    ))
    .await?;
    assert_eq!(w.desk.status_of(license), Some("active"));
    Ok(())
}

#[tokio::test]
async fn dispute_effects_are_applied_again_when_an_event_is_redelivered() -> Result<(), BillingError>
{
    let w = world();
    let view = w
        .service
        .start_payment(w.payer, "a@example.com", "k", pro())
        .await?;
    w.deliver(&w.event("evt_1", "payment_intent.succeeded", json!({"id": "pi_1"})))
        .await?;
    let license = w
        .service
        .payment(w.payer, view.payment.id)
        .await?
        .payment
        .license_id
        .unwrap_or_default();
    let lost = w.event(
        "evt_2",
        "charge.dispute.closed",
        json!({"id": "dp", "payment_intent": "pi_1", "status": "lost"}),
    );
    w.deliver(&lost).await?;
    assert_eq!(w.desk.status_of(license), Some("revoked"));
    // As if the revocation had been lost: a redelivery applies the dispute's state again.
    w.desk.add_license(license);
    w.deliver(&lost).await?;
    assert_eq!(w.desk.status_of(license), Some("revoked"));
    Ok(())
}

#[tokio::test]
async fn a_replay_of_a_payment_request_is_answered_even_after_the_product_changed()
-> Result<(), BillingError> {
    let w = world();
    let first = w
        .service
        .start_payment(w.payer, "a@example.com", "k", pro())
        .await?;
    let gone = PaymentRequest {
        product: "pro".into(),
        renew_license_id: Some(uuid::Uuid::now_v7()),
    };
    let reused = w
        .service
        .start_payment(w.payer, "a@example.com", "k", gone)
        .await;
    assert!(
        matches!(reused, Err(BillingError::IdempotencyKeyReused)),
        "{reused:?}"
    );
    let replay = w
        .service
        .start_payment(w.payer, "a@example.com", "k", pro())
        .await?;
    assert_eq!(replay.payment.id, first.payment.id);
    Ok(())
}

#[tokio::test]
async fn reconciliation_applies_missed_events_in_the_order_they_happened()
-> Result<(), BillingError> {
    let w = world();
    let view = w
        .service
        .start_payment(w.payer, "a@example.com", "k", pro())
        .await?;
    let at = w.clock.now().timestamp();
    // Listed newest first, as Stripe lists them.
    w.gateway.add_event(json!({"id": "evt_b", "type": "payment_intent.succeeded", "created": at + 5, "data": {"object": {"id": "pi_1"}}}));
    w.gateway.add_event(json!({"id": "evt_a", "type": "payment_intent.processing", "created": at, "data": {"object": {"id": "pi_1"}}}));
    let report = w.service.reconcile(at - 60).await?;
    assert_eq!((report.seen, report.applied), (2, 2));
    let payment = w.service.payment(w.payer, view.payment.id).await?.payment;
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(w.desk.licenses_issued(), 1);
    let again = w.service.reconcile(at - 60).await?;
    assert_eq!((again.applied, again.fulfilled), (0, 0));
    Ok(())
}
