use super::ReusableCertificates;
use crate::activation::Fingerprint;
use crate::certificate::{CertificateSigner, SigningKeyPair, verify_certificate};
use crate::license::{License, LicenseId, LicenseSource, LicenseStatus};
use crate::product::{Entitlement, Sku};
use chrono::{DateTime, Duration, TimeZone, Utc};
use devforge_domain::UserId;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn license() -> License {
    License {
        id: LicenseId::generate(),
        user_id: UserId::generate(),
        product: Sku::from_trusted("devforge-pro".into()),
        status: LicenseStatus::Active,
        issued_at: now(),
        expires_at: None,
        grace_days: 2,
        max_activations: 3,
        activations_count: 1,
        entitlements: vec![Entitlement::parse("pro").unwrap_or_else(|e| panic!("{e}"))],
        source: LicenseSource::Payment("pay_1".into()),
        revocation_reason: None,
        revision: 4,
    }
}

fn signer(kid: &str) -> CertificateSigner {
    CertificateSigner::new(&[SigningKeyPair::generate(kid)], Duration::days(8))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn machine(name: &str) -> Fingerprint {
    Fingerprint::parse(name).unwrap_or_else(|e| panic!("{e}"))
}

/// Signs a certificate for `license` on `fingerprint` at `now()` and keeps it.
fn keep_one(
    table: &ReusableCertificates,
    signer: &CertificateSigner,
    license: &License,
    fingerprint: Option<&Fingerprint>,
) -> String {
    let (token, signature) = signer
        .issue_reusable(license, fingerprint, now())
        .unwrap_or_else(|e| panic!("{e}"));
    table.keep(license, fingerprint, signer.identity(), signature);
    token
}

#[test]
fn a_kept_certificate_is_written_out_again_byte_for_byte_and_still_verifies() {
    let table = ReusableCertificates::with_slots(64);
    let signer = signer("k1");
    let license = license();
    let here = machine("machine-1");
    let signed = keep_one(&table, &signer, &license, Some(&here));

    let later = now() + Duration::hours(3);
    let kept = table
        .reusable(&license, Some(&here), signer.identity(), later)
        .unwrap_or_else(|| panic!("three hours into eight days it is reused"));
    let again = signer
        .reassemble(&license, Some(&here), &kept)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, signed);
    let claims = verify_certificate(&again, signer.public_keys(), later, Some("machine-1"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(claims.iat, now().timestamp());
}

#[test]
fn reuse_ends_once_a_quarter_of_the_lifetime_has_passed() {
    let table = ReusableCertificates::with_slots(64);
    let signer = signer("k1");
    let license = license();
    keep_one(&table, &signer, &license, None);
    let identity = signer.identity();
    // Eight days of offline time: a quarter is two days.
    let just_before = now() + Duration::days(2) - Duration::seconds(1);
    assert!(
        table
            .reusable(&license, None, identity, just_before)
            .is_some()
    );
    let at_the_quarter = now() + Duration::days(2);
    assert!(
        table
            .reusable(&license, None, identity, at_the_quarter)
            .is_none()
    );
}

#[test]
fn a_new_revision_another_machine_or_another_key_finds_nothing() {
    let table = ReusableCertificates::with_slots(64);
    let signer = signer("k1");
    let license = license();
    let here = machine("machine-1");
    keep_one(&table, &signer, &license, Some(&here));
    let soon = now() + Duration::minutes(1);

    let changed = License {
        revision: license.revision + 1,
        ..license.clone()
    };
    assert!(
        table
            .reusable(&changed, Some(&here), signer.identity(), soon)
            .is_none()
    );
    assert!(
        table
            .reusable(
                &license,
                Some(&machine("machine-2")),
                signer.identity(),
                soon
            )
            .is_none()
    );
    assert!(
        table
            .reusable(&license, None, signer.identity(), soon)
            .is_none(),
        "a certificate for a machine is not one for no machine"
    );
    let rotated = self::signer("k2");
    assert_ne!(rotated.identity(), signer.identity());
    assert!(
        table
            .reusable(&license, Some(&here), rotated.identity(), soon)
            .is_none()
    );
    assert!(
        table
            .reusable(&license, Some(&here), signer.identity(), soon)
            .is_some(),
        "the original is still there"
    );
}

#[test]
fn another_license_never_gets_a_certificate_kept_for_a_different_one() {
    // One slot: every pair lands in it, so the second overwrites the first.
    let table = ReusableCertificates::with_slots(1);
    let signer = signer("k1");
    let first = license();
    let second = license();
    keep_one(&table, &signer, &first, None);
    let soon = now() + Duration::minutes(1);
    assert!(
        table
            .reusable(&second, None, signer.identity(), soon)
            .is_none()
    );
    keep_one(&table, &signer, &second, None);
    assert!(
        table
            .reusable(&first, None, signer.identity(), soon)
            .is_none()
    );
    assert!(
        table
            .reusable(&second, None, signer.identity(), soon)
            .is_some()
    );
}

#[test]
fn no_slots_keep_nothing() {
    let table = ReusableCertificates::with_slots(0);
    let signer = signer("k1");
    let license = license();
    keep_one(&table, &signer, &license, None);
    assert!(
        table
            .reusable(&license, None, signer.identity(), now())
            .is_none()
    );
}
