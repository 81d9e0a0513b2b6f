//! Validation hands out a kept certificate again only while nothing it says has changed.

use super::tests::{Harness, harness, issued};
use crate::certificate::{CertificateClaims, verify_certificate};
use crate::license::ValidationCode;
use chrono::Duration;
use devforge_domain::Clock as _;

const MACHINE: &str = "machine-a";

async fn certificate(h: &Harness, key: &str) -> String {
    let result = h
        .service
        .validate(key, Some(MACHINE), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(result.code, ValidationCode::Valid);
    result
        .certificate
        .unwrap_or_else(|| panic!("a valid answer carries a certificate"))
}

fn claims(h: &Harness, token: &str) -> CertificateClaims {
    verify_certificate(token, h.service.public_keys(), h.clock.now(), Some(MACHINE))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Takes (or finds) the seat of `machine`, returning the certificate the activation signed.
async fn activate(h: &Harness, key: &str, machine: &str) -> String {
    h.service
        .activate(key, machine, None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .certificate
}

/// Validates after a minute and checks the answer is a certificate signed just now.
async fn new_certificate(h: &Harness, key: &str, before: &str) -> String {
    h.clock.advance(Duration::minutes(1));
    let token = certificate(h, key).await;
    assert_ne!(token, before);
    assert_eq!(claims(h, &token).iat, h.clock.now().timestamp());
    token
}

#[tokio::test]
async fn an_unchanged_license_gets_the_certificate_its_activation_signed() {
    let h = harness();
    let issued = issued(&h, Some(365), 2).await;
    let key = issued.key.as_str();
    let activated = activate(&h, key, MACHINE).await;
    h.clock.advance(Duration::hours(5));
    let validated = certificate(&h, key).await;
    assert_eq!(validated, activated);
    h.clock.advance(Duration::hours(5));
    assert_eq!(certificate(&h, key).await, activated);
    // Without a machine, a certificate of its own (it says no fingerprint).
    let anywhere = h
        .service
        .validate(key, None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .certificate
        .unwrap_or_default();
    assert_ne!(anywhere, activated);
}

#[tokio::test]
async fn a_suspension_then_a_reinstatement_leads_to_a_new_certificate() {
    let h = harness();
    let issued = issued(&h, None, 2).await;
    let key = issued.key.as_str();
    let first = activate(&h, key, MACHINE).await;
    h.service
        .suspend(h.admin, issued.license.id, "chargeback".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let suspended = h
        .service
        .validate(key, Some(MACHINE), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(suspended.code, ValidationCode::Suspended);
    assert!(suspended.certificate.is_none());
    h.service
        .reinstate(h.admin, issued.license.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    new_certificate(&h, key, &first).await;
}

#[tokio::test]
async fn a_renewal_leads_to_a_certificate_with_the_new_expiry() {
    let h = harness();
    // Five days of license and seven of grace: the first certificate ends at day 12, before
    // the fourteen days of offline time would.
    let issued = issued(&h, Some(5), 2).await;
    let key = issued.key.as_str();
    activate(&h, key, MACHINE).await;
    let before = certificate(&h, key).await;
    let before_exp = claims(&h, &before).exp;
    h.service
        .renew(h.admin, issued.license.id, Some(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let after = new_certificate(&h, key, &before).await;
    assert!(claims(&h, &after).exp > before_exp);
}

#[tokio::test]
async fn a_seat_released_and_taken_again_leads_to_a_new_certificate() {
    let h = harness();
    let issued = issued(&h, None, 2).await;
    let key = issued.key.as_str();
    let first = activate(&h, key, MACHINE).await;
    h.service
        .deactivate_by_key(key, MACHINE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let released = h
        .service
        .validate(key, Some(MACHINE), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(released.code, ValidationCode::NotActivated);
    assert!(released.certificate.is_none());
    h.clock.advance(Duration::minutes(1));
    let again = activate(&h, key, MACHINE).await;
    assert_ne!(again, first);
    assert_eq!(claims(&h, &again).iat, h.clock.now().timestamp());
    // Another machine taking a seat changes the license too.
    activate(&h, key, "machine-b").await;
    new_certificate(&h, key, &again).await;
}

#[tokio::test]
async fn a_revoked_license_gets_no_certificate_at_all() {
    let h = harness();
    let issued = issued(&h, None, 2).await;
    let key = issued.key.as_str();
    activate(&h, key, MACHINE).await;
    certificate(&h, key).await;
    h.service
        .revoke(h.admin, issued.license.id, "refund".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let revoked = h
        .service
        .validate(key, Some(MACHINE), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(revoked.code, ValidationCode::Revoked);
    assert!(revoked.certificate.is_none());
}

#[tokio::test]
async fn a_certificate_past_a_quarter_of_its_life_is_replaced() {
    let h = harness();
    let issued = issued(&h, None, 2).await;
    let key = issued.key.as_str();
    activate(&h, key, MACHINE).await;
    let first = certificate(&h, key).await;
    // Fourteen days of offline time: reused up to three and a half days.
    h.clock.advance(Duration::days(3));
    assert_eq!(certificate(&h, key).await, first);
    h.clock.advance(Duration::hours(12));
    let replaced = certificate(&h, key).await;
    assert_ne!(replaced, first);
    let replaced_claims = claims(&h, &replaced);
    assert_eq!(replaced_claims.iat, h.clock.now().timestamp());
    assert_eq!(
        replaced_claims.exp,
        (h.clock.now() + Duration::days(14)).timestamp()
    );
}
