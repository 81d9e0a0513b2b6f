use super::{CertificateError, CertificateSigner, SigningKeyPair, verify_certificate};
use crate::activation::Fingerprint;
use crate::license::{License, LicenseId, LicenseSource, LicenseStatus};
use crate::product::{Entitlement, Sku};
use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone, Utc};
use devforge_domain::UserId;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn license(expires_at: Option<DateTime<Utc>>) -> License {
    License {
        id: LicenseId::generate(),
        user_id: UserId::generate(),
        product: Sku::from_trusted("devforge-pro".into()),
        status: LicenseStatus::Active,
        issued_at: now(),
        expires_at,
        grace_days: 2,
        max_activations: 3,
        activations_count: 1,
        entitlements: vec![Entitlement::parse("pro").unwrap_or_else(|e| panic!("{e}"))],
        source: LicenseSource::Payment("pay_1".into()),
        revocation_reason: None,
        revision: 0,
    }
}

fn signer(keys: &[SigningKeyPair]) -> CertificateSigner {
    CertificateSigner::new(keys, Duration::days(14)).unwrap_or_else(|e| panic!("{e}"))
}

fn fingerprint() -> Fingerprint {
    Fingerprint::parse("machine-1").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_certificate_verifies_with_the_published_key_and_says_what_it_covers() {
    let key = SigningKeyPair::generate("k1");
    let signer = signer(std::slice::from_ref(&key));
    let license = license(None);
    let token = signer
        .issue(&license, Some(&fingerprint()), now())
        .unwrap_or_else(|e| panic!("{e}"));
    let claims = verify_certificate(&token, signer.public_keys(), now(), Some("machine-1"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(claims.sub, license.id.to_string());
    assert_eq!(claims.product, "devforge-pro");
    assert_eq!(claims.entitlements, ["pro"]);
    assert_eq!(
        claims.exp,
        (now() + Duration::days(14)).timestamp(),
        "perpetual: the offline period"
    );
}

#[test]
fn expiry_is_the_earlier_of_the_grace_end_and_the_offline_period() {
    let signer = signer(&[SigningKeyPair::generate("k1")]);
    let soon = license(Some(now() + Duration::days(3)));
    let token = signer
        .issue(&soon, None, now())
        .unwrap_or_else(|e| panic!("{e}"));
    let claims = verify_certificate(&token, signer.public_keys(), now(), None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(claims.exp, (now() + Duration::days(5)).timestamp());
}

#[test]
fn an_expired_certificate_is_refused() {
    let signer = signer(&[SigningKeyPair::generate("k1")]);
    let token = signer
        .issue(&license(None), None, now())
        .unwrap_or_else(|e| panic!("{e}"));
    let later = now() + Duration::days(14);
    assert_eq!(
        verify_certificate(&token, signer.public_keys(), later, None),
        Err(CertificateError::Expired)
    );
}

#[test]
fn a_certificate_for_another_machine_is_refused() {
    let signer = signer(&[SigningKeyPair::generate("k1")]);
    let token = signer
        .issue(&license(None), Some(&fingerprint()), now())
        .unwrap_or_else(|e| panic!("{e}"));
    let result = verify_certificate(&token, signer.public_keys(), now(), Some("machine-2"));
    assert_eq!(result, Err(CertificateError::WrongFingerprint));
}

#[test]
fn a_tampered_certificate_is_refused() {
    let signer = signer(&[SigningKeyPair::generate("k1")]);
    let token = signer
        .issue(&license(None), None, now())
        .unwrap_or_else(|e| panic!("{e}"));
    let parts: Vec<&str> = token.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = String::from_utf8(b64.decode(parts[1]).unwrap_or_default()).unwrap_or_default();
    let forged = b64.encode(claims.replace("devforge-pro", "devforge-ent"));
    let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
    assert_eq!(
        verify_certificate(&tampered, signer.public_keys(), now(), None),
        Err(CertificateError::Invalid)
    );
    assert_eq!(
        verify_certificate("not.a.jwt", signer.public_keys(), now(), None),
        Err(CertificateError::Invalid)
    );
}

#[test]
fn a_certificate_signed_by_an_unpublished_key_is_refused() {
    let ours = signer(&[SigningKeyPair::generate("k1")]);
    let theirs = signer(&[SigningKeyPair::generate("k1")]);
    let token = theirs
        .issue(&license(None), None, now())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        verify_certificate(&token, ours.public_keys(), now(), None),
        Err(CertificateError::Invalid)
    );
    let stranger = signer(&[SigningKeyPair::generate("k9")]);
    let token = stranger
        .issue(&license(None), None, now())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        verify_certificate(&token, ours.public_keys(), now(), None),
        Err(CertificateError::UnknownKey)
    );
}

#[test]
fn after_rotation_old_certificates_still_verify_and_new_ones_use_the_new_key() {
    let old = SigningKeyPair::generate("2026-01");
    let new = SigningKeyPair::generate("2026-06");
    let before = signer(std::slice::from_ref(&old));
    let old_token = before
        .issue(&license(None), None, now())
        .unwrap_or_else(|e| panic!("{e}"));
    let after = signer(&[new, old]);
    let new_token = after
        .issue(&license(None), None, now())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(verify_certificate(&old_token, after.public_keys(), now(), None).is_ok());
    assert!(verify_certificate(&new_token, after.public_keys(), now(), None).is_ok());
    let header = jsonwebtoken::decode_header(&new_token).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header.kid.as_deref(), Some("2026-06"));
}

#[test]
fn a_signing_key_round_trips_through_its_configuration_form() {
    let key = SigningKeyPair::generate("k1");
    let parsed = SigningKeyPair::parse(&key.encode()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.public_key(), key.public_key());
    assert!(!format!("{key:?}").contains(&key.encode()[3..]));
    assert!(SigningKeyPair::parse("no-colon").is_err());
    assert!(SigningKeyPair::parse("k1:c2hvcnQ").is_err());
}
