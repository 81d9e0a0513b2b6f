//! Validation answers with the certificate it signed before while the license and the seat
//! are unchanged, and with a new one after any change to either.
//!
//! Certificates carry their issue time in whole seconds, and Ed25519 signatures are
//! deterministic: a certificate signed again within the same second is byte for byte the
//! old one. So each step waits a little over a second first, and a new certificate is told
//! from a kept one by its `iat`.

use crate::licensing::{jwks, setup, text};
use devforge_licensing::{CertificateClaims, verify_certificate};
use devforge_tests::{TestApp, json, on_every_backend};
use serde_json::{Value, json};
use std::time::Duration;

const MACHINE: &str = "machine-1";

async fn a_second_later() {
    tokio::time::sleep(Duration::from_millis(1_100)).await;
}

async fn validate(app: &TestApp, key: &str) -> Value {
    let response = app
        .post(
            "/v1/licenses/validate",
            json!({"key": key, "fingerprint": MACHINE}),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    json(response).await
}

async fn valid_certificate(app: &TestApp, key: &str) -> String {
    let answer = validate(app, key).await;
    assert_eq!(answer["code"], "VALID", "{answer}");
    text(&answer["certificate"])
}

async fn claims(app: &TestApp, token: &str) -> CertificateClaims {
    verify_certificate(token, &jwks(app).await, chrono::Utc::now(), Some(MACHINE))
        .unwrap_or_else(|e| panic!("{e}: {token}"))
}

/// A second later, validation must answer with a certificate signed after `before`.
async fn assert_new_certificate(app: &TestApp, key: &str, before: &str, change: &str) -> String {
    a_second_later().await;
    let token = valid_certificate(app, key).await;
    assert_ne!(token, before, "after {change}");
    assert!(
        claims(app, &token).await.iat > claims(app, before).await.iat,
        "after {change}, a certificate signed now"
    );
    token
}

on_every_backend! {
    async fn a_certificate_is_handed_out_again_until_the_license_or_its_seat_changes(app) {
        let (admin, _owner, issued) = setup(&app, Some(30), 3).await;
        let key = text(&issued["key"]);
        let id = text(&issued["id"]);
        let admin_token = Some(admin.token.as_str());
        let activate = || app.post("/v1/licenses/activate", json!({"key": key, "fingerprint": MACHINE}), None);
        let activated = activate().await;
        assert_eq!(activated.status(), 201);
        let signed = text(&json(activated).await["certificate"]);

        a_second_later().await;
        assert_eq!(valid_certificate(&app, &key).await, signed, "nothing changed: the same certificate");
        assert_eq!(valid_certificate(&app, &key).await, signed);

        let suspended = app.post(&format!("/v1/licenses/{id}/suspend"), json!({"reason": "chargeback"}), admin_token).await;
        assert_eq!(suspended.status(), 200);
        let answer = validate(&app, &key).await;
        assert_eq!(answer["code"], "SUSPENDED");
        assert!(answer.get("certificate").is_none(), "{answer}");
        let reinstated = app.post(&format!("/v1/licenses/{id}/reinstate"), json!({}), admin_token).await;
        assert_eq!(reinstated.status(), 200);
        let after_reinstatement = assert_new_certificate(&app, &key, &signed, "a suspension and a reinstatement").await;
        assert_eq!(valid_certificate(&app, &key).await, after_reinstatement);

        let renewed = app.post(&format!("/v1/licenses/{id}/renew"), json!({"days": 30}), admin_token).await;
        assert_eq!(renewed.status(), 200);
        let after_renewal = assert_new_certificate(&app, &key, &after_reinstatement, "a renewal").await;

        let released = app.post("/v1/licenses/deactivate", json!({"key": key, "fingerprint": MACHINE}), None).await;
        assert_eq!(released.status(), 204);
        assert_eq!(validate(&app, &key).await["code"], "NOT_ACTIVATED");
        a_second_later().await;
        let taken_again = activate().await;
        assert_eq!(taken_again.status(), 201);
        let after_new_seat = text(&json(taken_again).await["certificate"]);
        assert!(claims(&app, &after_new_seat).await.iat > claims(&app, &after_renewal).await.iat);
        assert_eq!(valid_certificate(&app, &key).await, after_new_seat, "the new seat's certificate, kept");

        let revoked = app.post(&format!("/v1/licenses/{id}/revoke"), json!({"reason": "refunded"}), admin_token).await;
        assert_eq!(revoked.status(), 200);
        let answer = validate(&app, &key).await;
        assert_eq!(answer["code"], "REVOKED");
        assert!(answer.get("certificate").is_none(), "{answer}");
    }
}
