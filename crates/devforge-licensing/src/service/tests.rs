use super::{IssueRequest, LicensingConfig, LicensingService, Requester};
use crate::certificate::{CertificateSigner, SigningKeyPair, verify_certificate};
use crate::error::LicensingError;
use crate::event::EventKind;
use crate::fakes::FakeStore;
use crate::key_protection::KeyProtector;
use crate::license::{LicenseSource, LicenseStatus, ValidationCode};
use crate::ports::LicenseFilter;
use crate::product::{Entitlement, LicenseTerms, NewProduct, ProductChanges, Sku};
use chrono::{Duration, TimeZone, Utc};
use devforge_domain::{Currency, ManualClock, Money, PageRequest, Role, UserId};

pub(super) struct Harness {
    pub(super) service: LicensingService<FakeStore, ManualClock>,
    pub(super) store: FakeStore,
    pub(super) clock: ManualClock,
    pub(super) admin: Requester,
    pub(super) owner: Requester,
}

fn sku(text: &str) -> Sku {
    Sku::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn harness() -> Harness {
    let store = FakeStore::default();
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let clock = ManualClock::starting_at(start);
    let signer = CertificateSigner::new(&[SigningKeyPair::generate("k1")], Duration::days(14))
        .unwrap_or_else(|e| panic!("{e}"));
    let service = LicensingService::new(
        store.clone(),
        clock.clone(),
        KeyProtector::new([1; 32], [2; 32]),
        signer,
        LicensingConfig::default(),
    );
    let admin = Requester {
        user_id: UserId::generate(),
        role: Role::Admin,
    };
    let owner = Requester {
        user_id: UserId::generate(),
        role: Role::User,
    };
    store.add_user(admin.user_id);
    store.add_user(owner.user_id);
    Harness {
        service,
        store,
        clock,
        admin,
        owner,
    }
}

fn product(duration_days: Option<u32>, seats: u32) -> NewProduct {
    let eur = Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}"));
    NewProduct {
        sku: sku("devforge-pro"),
        name: "Dev Forge Pro".into(),
        price: Money::new(9900, eur),
        terms: LicenseTerms::new(duration_days, seats, 7).unwrap_or_else(|e| panic!("{e}")),
        entitlements: vec![Entitlement::parse("pro").unwrap_or_else(|e| panic!("{e}"))],
        active: true,
    }
}

pub(super) async fn issued(
    h: &Harness,
    duration_days: Option<u32>,
    seats: u32,
) -> crate::service::IssuedLicense {
    h.service
        .create_product(h.admin, product(duration_days, seats))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let request = IssueRequest {
        user_id: h.owner.user_id,
        product: sku("devforge-pro"),
        expires_at: None,
        max_activations: None,
    };
    h.service
        .issue(request, LicenseSource::Admin(h.admin.user_id))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn an_issued_license_takes_the_products_terms_and_its_key_validates() {
    let h = harness();
    let issued = issued(&h, Some(365), 3).await;
    assert_eq!(
        issued.license.expires_at,
        Some(devforge_domain::Clock::now(&h.clock) + Duration::days(365))
    );
    assert_eq!(issued.license.max_activations, 3);
    assert_eq!(issued.license.grace_days, 7);
    let result = h
        .service
        .validate(issued.key.as_str(), None, Some("devforge-pro"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(result.code, ValidationCode::Valid);
    let certificate = result.certificate.unwrap_or_default();
    let claims = verify_certificate(
        &certificate,
        h.service.public_keys(),
        devforge_domain::Clock::now(&h.clock),
        None,
    );
    assert_eq!(claims.map(|c| c.sub), Ok(issued.license.id.to_string()));
    assert_eq!(
        h.store.audit_actions(),
        ["product.created", "license.issued"]
    );
}

#[tokio::test]
async fn an_unknown_key_is_not_found_and_reveals_nothing() {
    let h = harness();
    issued(&h, None, 3).await;
    let other = crate::key::LicenseKey::generate();
    let result = h
        .service
        .validate(other.as_str(), None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(result.code, ValidationCode::NotFound);
    assert!(result.license.is_none() && result.certificate.is_none());
}

#[tokio::test]
async fn a_mistyped_key_is_refused_before_any_lookup() {
    let h = harness();
    let issued = issued(&h, None, 3).await;
    let mut typo: Vec<char> = issued.key.as_str().chars().collect();
    typo[4] = if typo[4] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    let result = h.service.validate(&typo, None, None).await;
    assert!(matches!(result, Err(LicensingError::MalformedKey(_))));
}

#[tokio::test]
async fn activation_is_idempotent_per_machine_and_stops_at_the_seat_limit() {
    let h = harness();
    let issued = issued(&h, None, 2).await;
    let key = issued.key.as_str();
    let first = h
        .service
        .activate(key, "machine-a", Some("Laptop"), Some("linux"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(first.created);
    assert_eq!(first.license.activations_count, 1);
    let again = h
        .service
        .activate(key, "machine-a", None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.created);
    assert_eq!(again.activation.id, first.activation.id);
    h.service
        .activate(key, "machine-b", None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let third = h.service.activate(key, "machine-c", None, None).await;
    assert!(matches!(third, Err(LicensingError::ActivationLimitReached)));

    let validated = h
        .service
        .validate(key, Some("machine-c"), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(validated.code, ValidationCode::NotActivated);
    let validated = h
        .service
        .validate(key, Some("machine-b"), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(validated.code, ValidationCode::Valid);
}

#[tokio::test]
async fn suspended_revoked_and_expired_licenses_cannot_be_activated() {
    let h = harness();
    let issued = issued(&h, Some(30), 3).await;
    let key = issued.key.as_str();
    let id = issued.license.id;
    h.service
        .suspend(h.admin, id, "dispute".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        h.service.activate(key, "m", None, None).await,
        Err(LicensingError::Suspended)
    ));
    assert_eq!(
        h.service
            .validate(key, None, None)
            .await
            .map(|r| r.code)
            .ok(),
        Some(ValidationCode::Suspended)
    );
    h.service
        .reinstate(h.admin, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.clock.advance(Duration::days(38));
    assert!(matches!(
        h.service.activate(key, "m", None, None).await,
        Err(LicensingError::Expired)
    ));
    h.service
        .revoke(h.admin, id, "refunded".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        h.service.activate(key, "m", None, None).await,
        Err(LicensingError::Revoked)
    ));
    assert_eq!(
        h.service
            .validate(key, None, None)
            .await
            .map(|r| r.code)
            .ok(),
        Some(ValidationCode::Revoked)
    );
}

#[tokio::test]
async fn expiry_passes_through_the_grace_period() {
    let h = harness();
    let issued = issued(&h, Some(30), 3).await;
    let key = issued.key.as_str();
    h.clock.advance(Duration::days(31));
    let grace = h
        .service
        .validate(key, None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(grace.code, ValidationCode::GracePeriod);
    assert!(grace.certificate.is_some());
    h.clock.advance(Duration::days(7));
    let expired = h
        .service
        .validate(key, None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(expired.code, ValidationCode::Expired);
    assert!(expired.certificate.is_none());
}

#[tokio::test]
async fn status_changes_follow_the_lifecycle() {
    let h = harness();
    let id = issued(&h, None, 3).await.license.id;
    assert!(matches!(
        h.service.reinstate(h.admin, id).await,
        Err(LicensingError::InvalidTransition {
            from: "active",
            to: "active"
        })
    ));
    h.service
        .revoke(h.admin, id, "fraud".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        h.service.suspend(h.admin, id, "x".into()).await,
        Err(LicensingError::InvalidTransition {
            from: "revoked",
            ..
        })
    ));
    let license = h
        .service
        .license_for(h.admin, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(license.status, LicenseStatus::Revoked);
    assert_eq!(license.revocation_reason.as_deref(), Some("fraud"));
}

#[tokio::test]
async fn renewing_extends_from_the_later_of_now_and_the_expiry() {
    let h = harness();
    let issued = issued(&h, Some(30), 3).await;
    let id = issued.license.id;
    let expiry = issued.license.expires_at.unwrap_or_else(Utc::now);
    let renewed = h
        .service
        .renew(h.admin, id, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(renewed.expires_at, Some(expiry + Duration::days(30)));
    h.clock.advance(Duration::days(100));
    let late = h
        .service
        .renew(h.admin, id, Some(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        late.expires_at,
        Some(devforge_domain::Clock::now(&h.clock) + Duration::days(10))
    );
    assert!(matches!(
        h.service.renew(h.admin, id, Some(0)).await,
        Err(LicensingError::Invalid(_))
    ));
}

#[tokio::test]
async fn only_the_owner_and_admins_see_a_license_and_its_key() {
    let h = harness();
    let issued = issued(&h, None, 3).await;
    let id = issued.license.id;
    let (_, key) = h
        .service
        .key_for(h.owner, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(key, issued.key);
    let stranger = Requester {
        user_id: UserId::generate(),
        role: Role::Support,
    };
    assert!(matches!(
        h.service.license_for(stranger, id).await,
        Err(LicensingError::LicenseNotFound)
    ));
    let own = h
        .service
        .licenses(stranger, LicenseFilter::default(), PageRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(own.total, 0, "a non-admin only ever lists their own");
    let all = h
        .service
        .licenses(h.admin, LicenseFilter::default(), PageRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.total, 1);
}

#[tokio::test]
async fn self_service_deactivation_is_throttled_but_admins_are_not() {
    let h = harness();
    let issued = issued(&h, None, 1).await;
    let key = issued.key.as_str();
    for round in 0..3 {
        h.service
            .activate(key, &format!("m{round}"), None, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        h.service
            .deactivate_by_key(key, &format!("m{round}"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let seat = h
        .service
        .activate(key, "m3", None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        h.service.deactivate_by_key(key, "m3").await,
        Err(LicensingError::DeactivationLimitReached)
    ));
    assert!(matches!(
        h.service
            .remove_activation(h.owner, issued.license.id, seat.activation.id)
            .await,
        Err(LicensingError::DeactivationLimitReached)
    ));
    h.service
        .remove_activation(h.admin, issued.license.id, seat.activation.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.clock.advance(Duration::hours(25));
    h.service
        .activate(key, "m4", None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        h.service.deactivate_by_key(key, "m4").await.is_ok(),
        "the window has passed"
    );
}

#[tokio::test]
async fn the_history_records_every_change_with_its_actor() {
    let h = harness();
    let issued = issued(&h, Some(30), 2).await;
    let id = issued.license.id;
    h.service
        .activate(issued.key.as_str(), "m1", None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.service
        .deactivate_by_key(issued.key.as_str(), "m1")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.service
        .renew(h.admin, id, Some(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.service
        .suspend(h.admin, id, "check".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.service
        .reinstate(h.admin, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.service
        .revoke(h.admin, id, "done".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let events = h
        .service
        .events(h.owner, id, PageRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<EventKind> = events.items.iter().map(|e| e.event.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Issued,
            EventKind::Activated,
            EventKind::Deactivated,
            EventKind::Renewed,
            EventKind::Suspended,
            EventKind::Reinstated,
            EventKind::Revoked
        ]
    );
}

#[tokio::test]
async fn issuing_for_an_unknown_user_or_product_or_twice_for_a_payment_is_refused() {
    let h = harness();
    h.service
        .create_product(h.admin, product(None, 1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let request = |user_id, product: &str| IssueRequest {
        user_id,
        product: sku(product),
        expires_at: None,
        max_activations: None,
    };
    let unknown_user = h
        .service
        .issue(
            request(UserId::generate(), "devforge-pro"),
            LicenseSource::Admin(h.admin.user_id),
        )
        .await;
    assert!(matches!(unknown_user, Err(LicensingError::UnknownUser)));
    let unknown_product = h
        .service
        .issue(
            request(h.owner.user_id, "nothing-here"),
            LicenseSource::Admin(h.admin.user_id),
        )
        .await;
    assert!(matches!(
        unknown_product,
        Err(LicensingError::ProductNotFound)
    ));
    let payment = LicenseSource::Payment("pay_1".into());
    h.service
        .issue(request(h.owner.user_id, "devforge-pro"), payment.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let twice = h
        .service
        .issue(request(h.owner.user_id, "devforge-pro"), payment)
        .await;
    assert!(matches!(
        twice,
        Err(LicensingError::PaymentAlreadyFulfilled)
    ));
    let past = IssueRequest {
        expires_at: Some(Some(Utc::now() - Duration::days(400 * 10))),
        ..request(h.owner.user_id, "devforge-pro")
    };
    assert!(matches!(
        h.service
            .issue(past, LicenseSource::Admin(h.admin.user_id))
            .await,
        Err(LicensingError::Invalid(_))
    ));
}

#[tokio::test]
async fn inactive_products_are_hidden_from_the_public() {
    let h = harness();
    let mut hidden = product(None, 1);
    hidden.active = false;
    h.service
        .create_product(h.admin, hidden)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        h.service.product(&sku("devforge-pro"), false).await,
        Err(LicensingError::ProductNotFound)
    ));
    assert!(h.service.product(&sku("devforge-pro"), true).await.is_ok());
    let again = h.service.create_product(h.admin, product(None, 1)).await;
    assert!(matches!(again, Err(LicensingError::SkuTaken)));
}

#[tokio::test]
async fn product_changes_merge_with_the_current_terms_and_keep_issued_licenses_as_they_were() {
    let h = harness();
    let issued = issued(&h, Some(30), 3).await;
    let changes = ProductChanges {
        max_activations: Some(5),
        price_minor_units: Some(12_900),
        ..ProductChanges::default()
    };
    let updated = h
        .service
        .update_product(h.admin, &sku("devforge-pro"), changes)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(updated.terms.max_activations, 5);
    assert_eq!(
        updated.terms.duration_days,
        Some(30),
        "untouched terms stay"
    );
    assert_eq!(updated.price.minor_units(), 12_900);
    assert_eq!(updated.price.currency().code(), "EUR");
    let license = h
        .service
        .license_for(h.owner, issued.license.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(license.max_activations, 3);
    let bad = ProductChanges {
        max_activations: Some(0),
        ..ProductChanges::default()
    };
    assert!(matches!(
        h.service
            .update_product(h.admin, &sku("devforge-pro"), bad)
            .await,
        Err(LicensingError::Invalid(_))
    ));
    let missing = h
        .service
        .update_product(h.admin, &sku("nothing-here"), ProductChanges::default())
        .await;
    assert!(matches!(missing, Err(LicensingError::ProductNotFound)));
}

/// A cache that answers from a fixed copy and records invalidations.
#[derive(Debug, Default)]
struct RecordingCache {
    answer: std::sync::Mutex<Option<crate::ports::KeyLookup>>,
    invalidated: std::sync::Mutex<Vec<crate::license::LicenseId>>,
}

impl crate::cache::ValidationCache for RecordingCache {
    fn lookup(
        &self,
        _hash: &crate::key_protection::KeyHash,
        _fingerprint: Option<&crate::activation::Fingerprint>,
    ) -> crate::cache::CacheAnswer {
        self.answer.lock().ok().and_then(|a| a.clone()).map_or(
            crate::cache::CacheAnswer::Unknown,
            crate::cache::CacheAnswer::Found,
        )
    }

    fn invalidate_license(&self, id: crate::license::LicenseId) {
        if let Ok(mut ids) = self.invalidated.lock() {
            ids.push(id);
        }
    }
}

#[tokio::test]
async fn validation_trusts_cached_valid_answers_and_confirms_refusals_with_storage() {
    let h = harness();
    let cache = std::sync::Arc::new(RecordingCache::default());
    let service = h.service.clone().with_cache(cache.clone());
    h.service
        .create_product(h.admin, product(Some(30), 3))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let request = IssueRequest {
        user_id: h.owner.user_id,
        product: sku("devforge-pro"),
        expires_at: None,
        max_activations: None,
    };
    let issued = service
        .issue(request, LicenseSource::Admin(h.admin.user_id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let key = issued.key.as_str();
    let code = |service: LicensingService<FakeStore, ManualClock>| async move {
        service.validate(key, None, None).await.map(|r| r.code).ok()
    };
    let cached = |status: LicenseStatus| {
        let mut license = issued.license.clone();
        license.status = status;
        let key_hash = KeyProtector::new([1; 32], [2; 32]).lookup_hash(&issued.key);
        if let Ok(mut answer) = cache.answer.lock() {
            *answer = Some(crate::ports::KeyLookup {
                license,
                key_hash,
                activated_here: None,
            });
        }
    };

    // Unknown to the cache: answered from storage.
    assert_eq!(code(service.clone()).await, Some(ValidationCode::Valid));
    // A cached refusal is confirmed with storage, which says active: VALID.
    cached(LicenseStatus::Revoked);
    assert_eq!(code(service.clone()).await, Some(ValidationCode::Valid));
    // A cached valid copy is answered from memory (the cache vouches for its freshness).
    h.store
        .set_status(issued.license.id, LicenseStatus::Suspended);
    cached(LicenseStatus::Active);
    assert_eq!(code(service.clone()).await, Some(ValidationCode::Valid));
    h.store.set_status(issued.license.id, LicenseStatus::Active);

    service
        .suspend(h.admin, issued.license.id, "x".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let invalidated = cache
        .invalidated
        .lock()
        .map(|ids| ids.clone())
        .unwrap_or_default();
    assert_eq!(
        invalidated,
        [issued.license.id],
        "a status change invalidates the cached copy"
    );
}

#[tokio::test]
async fn a_machine_with_a_seat_gets_nothing_from_a_suspended_license() {
    let h = harness();
    let issued = issued(&h, None, 3).await;
    let key = issued.key.as_str();
    h.service
        .activate(key, "m1", None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.service
        .suspend(h.admin, issued.license.id, "x".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        h.service.activate(key, "m1", None, None).await,
        Err(LicensingError::Suspended)
    ));
}

#[tokio::test]
async fn admins_cannot_license_an_inactive_product_but_payments_still_can() {
    let h = harness();
    let mut hidden = product(None, 1);
    hidden.active = false;
    h.service
        .create_product(h.admin, hidden)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let request = IssueRequest {
        user_id: h.owner.user_id,
        product: sku("devforge-pro"),
        expires_at: None,
        max_activations: None,
    };
    let by_admin = h
        .service
        .issue(request.clone(), LicenseSource::Admin(h.admin.user_id))
        .await;
    assert!(matches!(by_admin, Err(LicensingError::Invalid(e)) if e.field == "product"));
    assert!(
        h.service
            .issue(request, LicenseSource::Payment("pay_9".into()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_expiry_after_the_year_9999_is_refused() {
    let h = harness();
    h.service
        .create_product(h.admin, product(None, 1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let far = crate::license::latest_expiry() + Duration::days(1);
    let request = IssueRequest {
        user_id: h.owner.user_id,
        product: sku("devforge-pro"),
        expires_at: Some(Some(far)),
        max_activations: None,
    };
    let result = h
        .service
        .issue(request, LicenseSource::Admin(h.admin.user_id))
        .await;
    assert!(matches!(result, Err(LicensingError::Invalid(e)) if e.field == "expires_at"));
}
