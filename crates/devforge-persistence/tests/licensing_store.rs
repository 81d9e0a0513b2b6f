//! `SqlLicensingStore` against real databases: SQLite always, PostgreSQL too when
//! `DEVFORGE_TEST_POSTGRES_URL` names a server (a database is created per test and dropped
//! afterwards). The limits are checked with parallel calls, since that is where a SQL
//! adapter can get them wrong.

use chrono::{Duration, Utc};
use devforge_domain::{PageRequest, StoreError, UserId};
use devforge_licensing::activation::{ActivationOutcome, Fingerprint};
use devforge_licensing::event::EventKind;
use devforge_licensing::key_protection::KeyHash;
use devforge_licensing::license::{LicenseSource, LicenseStatus};
use devforge_licensing::ports::{
    ActivationRepository, DeactivationOutcome, DeactivationThrottle, LicenseFilter,
    LicenseRepository, ProductRepository, SeatSelector,
};
use devforge_licensing::product::{LicenseTerms, ProductPatch};

mod support;

use support::{TestDb, audit, event, licensed, machine, new_license, product, sku};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_activations_take_exactly_the_free_seats() {
    for test in TestDb::all().await {
        let (store, id) = licensed(&test, 3).await;
        let tasks: Vec<_> = (0..12)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    let activation = machine(id, &format!("machine-{n}"));
                    store
                        .activate(activation, event(EventKind::Activated, Utc::now()))
                        .await
                })
            })
            .collect();
        let mut created = 0;
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap_or_else(|e| panic!("{e}")) {
                Ok(ActivationOutcome::Created(_)) => created += 1,
                Ok(ActivationOutcome::LimitReached) => refused += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((created, refused), (3, 9));
        let license = store
            .find_license(id)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(license.map(|l| l.activations_count), Some(3));
        let seats = store
            .list_activations(id)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(seats.len(), 3);

        // The same machine again, in parallel: one seat, and it is reported as existing.
        let again: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                let fingerprint = seats[0].fingerprint.as_str().to_owned();
                tokio::spawn(async move {
                    store
                        .activate(
                            machine(id, &fingerprint),
                            event(EventKind::Activated, Utc::now()),
                        )
                        .await
                })
            })
            .collect();
        for task in again {
            let outcome = task.await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                outcome.unwrap_or_else(|e| panic!("{e:?}")),
                ActivationOutcome::Existing(seats[0].clone())
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_activations_of_one_new_machine_take_one_seat() {
    for test in TestDb::all().await {
        let (store, id) = licensed(&test, 5).await;
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .activate(machine(id, "twin"), event(EventKind::Activated, Utc::now()))
                        .await
                })
            })
            .collect();
        let mut created = 0;
        for task in tasks {
            match task.await.unwrap_or_else(|e| panic!("{e}")) {
                Ok(ActivationOutcome::Created(_)) => created += 1,
                Ok(ActivationOutcome::Existing(_)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(created, 1);
        let license = store
            .find_license(id)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(license.map(|l| l.activations_count), Some(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activating_a_suspended_license_leaves_no_seat() {
    for test in TestDb::all().await {
        let (store, id) = licensed(&test, 3).await;
        let now = Utc::now();
        let suspended = store
            .change_status(
                id,
                &[LicenseStatus::Active],
                LicenseStatus::Suspended,
                Some("dispute".into()),
                event(EventKind::Suspended, now),
                Some(audit("license.suspended", now)),
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            suspended
                .as_ref()
                .map(|l| (l.status, l.revocation_reason.as_deref())),
            Some((LicenseStatus::Suspended, Some("dispute")))
        );
        let outcome = store
            .activate(machine(id, "m"), event(EventKind::Activated, now))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(outcome, ActivationOutcome::NotActive);
        let seats = store
            .list_activations(id)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(seats.is_empty());

        // Not from `active` any more: nothing changes.
        let again = store
            .change_status(
                id,
                &[LicenseStatus::Active],
                LicenseStatus::Suspended,
                None,
                event(EventKind::Suspended, now),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(again, None);
        let reinstated = store
            .change_status(
                id,
                &[LicenseStatus::Suspended],
                LicenseStatus::Active,
                None,
                event(EventKind::Reinstated, now),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            reinstated.map(|l| (l.status, l.revocation_reason)),
            Some((LicenseStatus::Active, None))
        );
        let kinds: Vec<EventKind> = store
            .list_events(id, PageRequest::default())
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))
            .items
            .into_iter()
            .map(|e| e.event.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                EventKind::Issued,
                EventKind::Suspended,
                EventKind::Reinstated
            ]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_lookup_says_whether_the_machine_has_a_seat() {
    for test in TestDb::all().await {
        let (store, id) = licensed(&test, 3).await;
        let hash = KeyHash::from_stored(format!("{:064}", id.as_uuid().simple()));
        store
            .activate(machine(id, "here"), event(EventKind::Activated, Utc::now()))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let lookup = |fingerprint: Option<&'static str>| {
            let store = store.clone();
            let hash = hash.clone();
            async move {
                let fingerprint =
                    fingerprint.map(|f| Fingerprint::parse(f).unwrap_or_else(|e| panic!("{e}")));
                store
                    .find_by_key(&hash, fingerprint.as_ref())
                    .await
                    .unwrap_or_else(|e| panic!("{e:?}"))
            }
        };
        let found = lookup(None).await;
        assert_eq!(found.as_ref().map(|f| f.license.id), Some(id));
        assert_eq!(found.as_ref().map(|f| &f.key_hash), Some(&hash));
        assert_eq!(found.map(|f| f.activated_here), Some(None));
        assert_eq!(
            lookup(Some("here")).await.map(|f| f.activated_here),
            Some(Some(true))
        );
        assert_eq!(
            lookup(Some("there")).await.map(|f| f.activated_here),
            Some(Some(false))
        );
        let unknown = KeyHash::from_stored("f".repeat(64));
        let missing = store
            .find_by_key(&unknown, None)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(missing, None);
        let sealed = store
            .sealed_key(id)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(sealed, Some(vec![0, 1, 2, 255]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licenses_need_an_owner_and_a_product_and_a_payment_buys_one() {
    for test in TestDb::all().await {
        let store = test.store();
        let user = test.user().await;
        let pro = product("pro", 2);
        store
            .insert_product(pro.clone(), audit("product.created", Utc::now()))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let issued = event(EventKind::Issued, Utc::now());

        let nobody = UserId::generate();
        let stranger = new_license(nobody, &pro, LicenseSource::Admin(nobody));
        let result = store.insert_license(stranger, issued.clone(), None).await;
        assert!(
            matches!(result, Err(StoreError::MissingReference { .. })),
            "{result:?}"
        );
        let mut unknown_product = new_license(user, &pro, LicenseSource::Admin(user));
        unknown_product.product = sku("nope");
        let result = store
            .insert_license(unknown_product, issued.clone(), None)
            .await;
        assert!(
            matches!(result, Err(StoreError::MissingReference { .. })),
            "{result:?}"
        );

        let paid = || new_license(user, &pro, LicenseSource::Payment("pi_123".into()));
        let first = store
            .insert_license(paid(), issued.clone(), None)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(first.source, LicenseSource::Payment("pi_123".into()));
        let result = store.insert_license(paid(), issued.clone(), None).await;
        assert!(
            matches!(result, Err(StoreError::Duplicate { .. })),
            "{result:?}"
        );
        // Admin grants carry no payment and never collide.
        for _ in 0..2 {
            store
                .insert_license(
                    new_license(user, &pro, LicenseSource::Admin(user)),
                    issued.clone(),
                    Some(audit("license.issued", Utc::now())),
                )
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
        }
        let page = store
            .list_licenses(
                LicenseFilter {
                    user_id: Some(user),
                    ..LicenseFilter::default()
                },
                PageRequest::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(page.total, 3);
        assert!(
            page.items
                .windows(2)
                .all(|w| w[0].issued_at >= w[1].issued_at)
        );
        assert_eq!(page.items.last().map(|l| l.id), Some(first.id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn self_service_releases_are_throttled_and_admin_releases_are_not() {
    for test in TestDb::all().await {
        let (store, id) = licensed(&test, 5).await;
        let mut seats = Vec::new();
        for n in 0..4 {
            let outcome = store
                .activate(
                    machine(id, &format!("m{n}")),
                    event(EventKind::Activated, Utc::now()),
                )
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
            let ActivationOutcome::Created(seat) = outcome else {
                panic!("{outcome:?}");
            };
            seats.push(seat);
        }
        let throttle = Some(DeactivationThrottle {
            since: Utc::now() - Duration::hours(1),
            limit: 2,
        });
        let missing = store
            .deactivate(
                id,
                SeatSelector::Fingerprint(
                    Fingerprint::parse("nope").unwrap_or_else(|e| panic!("{e}")),
                ),
                throttle,
                event(EventKind::Deactivated, Utc::now()),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(missing, DeactivationOutcome::NotFound);

        // Three parallel self-service releases with room for two.
        let tasks: Vec<_> = seats[..3]
            .iter()
            .map(|seat| {
                let store = store.clone();
                let fingerprint = seat.fingerprint.clone();
                tokio::spawn(async move {
                    store
                        .deactivate(
                            id,
                            SeatSelector::Fingerprint(fingerprint),
                            throttle,
                            event(EventKind::Deactivated, Utc::now()),
                            None,
                        )
                        .await
                })
            })
            .collect();
        let mut released = 0;
        let mut throttled = 0;
        for task in tasks {
            match task.await.unwrap_or_else(|e| panic!("{e}")) {
                Ok(DeactivationOutcome::Released(_)) => released += 1,
                Ok(DeactivationOutcome::Throttled) => throttled += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((released, throttled), (2, 1));

        let by_admin = store
            .deactivate(
                id,
                SeatSelector::Id(seats[3].id),
                None,
                event(EventKind::Deactivated, Utc::now()),
                Some(audit("license.deactivated", Utc::now())),
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(by_admin, DeactivationOutcome::Released(seats[3].clone()));
        let license = store
            .find_license(id)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(license.map(|l| l.activations_count), Some(1));
        let left = store
            .list_activations(id)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(left.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_applies_only_to_the_expiry_it_was_computed_from() {
    for test in TestDb::all().await {
        let (store, id) = licensed(&test, 1).await;
        let license = store
            .find_license(id)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))
            .unwrap_or_else(|| panic!("missing"));
        let current = license.expires_at;
        let renewed = current.map_or_else(Utc::now, |at| at + Duration::days(30));
        let now = Utc::now();
        let first = store
            .renew_license(
                id,
                current,
                renewed,
                None,
                event(EventKind::Renewed, now),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(first.is_some_and(|l| {
            l.expires_at
                .is_some_and(|at| at > renewed - Duration::seconds(1))
        }));
        let stale = store
            .renew_license(
                id,
                current,
                renewed,
                None,
                event(EventKind::Renewed, now),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(stale, None);
        let events = store
            .list_events(id, PageRequest::default())
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(events.total, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_renews_a_license_at_most_once() {
    for test in TestDb::all().await {
        let (store, id) = licensed(&test, 1).await;
        let mut renewals = Vec::new();
        for _ in 0..2 {
            let license = store
                .find_license(id)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"))
                .unwrap_or_else(|| panic!("missing"));
            let current = license.expires_at;
            let renewed = current.map_or_else(Utc::now, |at| at + Duration::days(30));
            let payment = Some("payment-1".to_owned());
            let event = event(EventKind::Renewed, Utc::now());
            renewals.push(
                store
                    .renew_license(id, current, renewed, payment, event, None)
                    .await,
            );
        }
        assert!(matches!(renewals[0], Ok(Some(_))), "{:?}", renewals[0]);
        assert!(
            matches!(renewals[1], Err(StoreError::Duplicate { .. })),
            "{:?}",
            renewals[1]
        );
        let found = store
            .find_by_payment("payment-1")
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            found, None,
            "a renewal does not make the license the payment's own"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_are_unique_patchable_and_hidden_when_inactive() {
    for test in TestDb::all().await {
        let store = test.store();
        let now = Utc::now();
        for raw in ["beta", "alpha"] {
            store
                .insert_product(product(raw, 3), audit("product.created", now))
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
        }
        let result = store
            .insert_product(product("alpha", 3), audit("product.created", now))
            .await;
        assert!(
            matches!(result, Err(StoreError::Duplicate { .. })),
            "{result:?}"
        );

        let patch = ProductPatch {
            name: Some("Beta".into()),
            terms: Some(LicenseTerms::new(None, 7, 0).unwrap_or_else(|e| panic!("{e}"))),
            entitlements: Some(Vec::new()),
            active: Some(false),
            ..ProductPatch::default()
        };
        let updated = store
            .update_product(&sku("beta"), patch.clone(), audit("product.updated", now))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))
            .unwrap_or_else(|| panic!("missing"));
        assert_eq!(updated.name, "Beta");
        assert_eq!(updated.terms.duration_days, None);
        assert_eq!(updated.terms.max_activations, 7);
        assert!(updated.entitlements.is_empty());
        assert!(!updated.active);
        let missing = store
            .update_product(&sku("gamma"), patch, audit("product.updated", now))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(missing, None);

        let public = store
            .list_products(false, PageRequest::default())
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let skus: Vec<&str> = public.items.iter().map(|p| p.sku.as_str()).collect();
        assert_eq!(skus, ["alpha"]);
        let all = store
            .list_products(true, PageRequest::default())
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let skus: Vec<&str> = all.items.iter().map(|p| p.sku.as_str()).collect();
        assert_eq!(skus, ["alpha", "beta"]);
        let found = store
            .find_product(&sku("alpha"))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            found.map(|p| p.entitlements),
            Some(product("alpha", 3).entitlements)
        );
    }
}
