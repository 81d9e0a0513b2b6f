use super::{License, LicenseId, LicenseSource, LicenseStatus, Standing, ValidationCode};
use crate::product::Sku;
use chrono::{DateTime, Duration, TimeZone, Utc};
use devforge_domain::UserId;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, 12, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn license(expires_at: Option<DateTime<Utc>>, grace_days: u32) -> License {
    License {
        id: LicenseId::generate(),
        user_id: UserId::generate(),
        product: Sku::from_trusted("devforge-pro".into()),
        status: LicenseStatus::Active,
        issued_at: at(1),
        expires_at,
        grace_days,
        max_activations: 3,
        activations_count: 0,
        entitlements: Vec::new(),
        source: LicenseSource::Payment("pay_1".into()),
        revocation_reason: None,
        revision: 0,
    }
}

#[test]
fn a_perpetual_license_never_expires() {
    assert_eq!(license(None, 0).standing(at(31)), Standing::Current);
}

#[test]
fn an_expired_license_is_in_grace_for_grace_days_then_expired() {
    let l = license(Some(at(10)), 3);
    assert_eq!(l.standing(at(9)), Standing::Current);
    assert_eq!(l.standing(at(10)), Standing::InGrace);
    assert_eq!(l.standing(at(12)), Standing::InGrace);
    assert_eq!(l.standing(at(13)), Standing::Expired);
    assert_eq!(license(Some(at(10)), 0).standing(at(10)), Standing::Expired);
}

#[test]
fn validation_codes_follow_status_time_product_and_machine() {
    let sku = Sku::from_trusted("devforge-pro".into());
    let other = Sku::from_trusted("devforge-team".into());
    let l = license(Some(at(10)), 3);
    assert_eq!(l.evaluate(at(5), None, None), ValidationCode::Valid);
    assert_eq!(
        l.evaluate(at(5), Some(&sku), Some(true)),
        ValidationCode::Valid
    );
    assert_eq!(l.evaluate(at(11), None, None), ValidationCode::GracePeriod);
    assert_eq!(l.evaluate(at(20), None, None), ValidationCode::Expired);
    assert_eq!(
        l.evaluate(at(5), Some(&other), None),
        ValidationCode::ProductMismatch
    );
    assert_eq!(
        l.evaluate(at(5), None, Some(false)),
        ValidationCode::NotActivated
    );

    let mut revoked = l.clone();
    revoked.status = LicenseStatus::Revoked;
    assert_eq!(
        revoked.evaluate(at(20), None, Some(false)),
        ValidationCode::Revoked
    );
    let mut suspended = l;
    suspended.status = LicenseStatus::Suspended;
    assert_eq!(
        suspended.evaluate(at(5), None, None),
        ValidationCode::Suspended
    );
}

#[test]
fn only_valid_and_grace_period_let_the_ide_run() {
    assert!(ValidationCode::Valid.is_valid());
    assert!(ValidationCode::GracePeriod.is_valid());
    assert!(!ValidationCode::NotActivated.is_valid());
    assert_eq!(ValidationCode::GracePeriod.as_str(), "GRACE_PERIOD");
}

#[test]
fn renewing_counts_from_the_later_of_now_and_the_expiry() {
    let early = license(Some(at(20)), 0);
    assert_eq!(
        early.renewed_expiry(at(10), 30),
        Ok(at(20) + Duration::days(30))
    );
    let late = license(Some(at(5)), 0);
    assert_eq!(
        late.renewed_expiry(at(10), 30),
        Ok(at(10) + Duration::days(30))
    );
    assert!(license(None, 0).renewed_expiry(at(10), 30).is_err());
}

#[test]
fn the_source_round_trips_through_its_stored_form() {
    let admin = LicenseSource::Admin(UserId::generate());
    assert_eq!(LicenseSource::decode(&admin.encode()), Some(admin));
    let payment = LicenseSource::Payment("pay_123".into());
    assert_eq!(LicenseSource::decode(&payment.encode()), Some(payment));
    assert_eq!(LicenseSource::decode("gift:x"), None);
}

#[test]
fn a_renewal_past_the_year_9999_is_refused() {
    let far = super::latest_expiry() - Duration::days(10);
    assert!(license(Some(far), 0).renewed_expiry(at(1), 30).is_err());
    assert!(license(Some(far), 0).renewed_expiry(at(1), 5).is_ok());
}
