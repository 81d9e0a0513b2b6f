//! `LicenseReadModel` against real databases: it answers from memory once loaded, follows
//! writes made through any connection (on SQLite a second pool stands for another process
//! writing the same file: its changes arrive through the change log like this process's
//! own), and answers `Unknown` whenever it cannot prove it is current.

mod support;

use chrono::Utc;
use devforge_licensing::activation::Fingerprint;
use devforge_licensing::cache::{CacheAnswer, ValidationCache as _};
use devforge_licensing::event::EventKind;
use devforge_licensing::key_protection::KeyHash;
use devforge_licensing::license::{LicenseId, LicenseSource, LicenseStatus};
use devforge_licensing::ports::{
    ActivationRepository as _, LicenseRepository as _, NewLicense, ProductRepository as _,
};
use devforge_persistence::{Database, LicenseReadModel, MAX_STALENESS, SqlLicensingStore};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{TestDb, audit, event, machine, new_license, product};

/// A key hash as the service makes them (64 hex digits), derived from the license id.
fn hash_of(id: LicenseId) -> KeyHash {
    let hex = id.as_uuid().simple().to_string();
    KeyHash::from_stored(format!("{hex}{hex}"))
}

/// A stored license with a key hash the read model can hold.
async fn stored_license(test: &TestDb) -> LicenseId {
    let store = test.store();
    let user = test.user().await;
    let product = product("pro", 3);
    store
        .insert_product(product.clone(), audit("product.created", Utc::now()))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let license = new_license(user, &product, LicenseSource::Admin(user));
    let license = NewLicense {
        key_hash: hash_of(license.id),
        ..license
    };
    let id = license.id;
    store
        .insert_license(license, event(EventKind::Issued, Utc::now()), None)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    id
}

/// Waits up to `within` for a lookup that `accept` takes, returning it and how long it took.
async fn answer_within(
    model: &LicenseReadModel,
    id: LicenseId,
    fingerprint: Option<&Fingerprint>,
    within: Duration,
    accept: impl Fn(&CacheAnswer) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let answer = model.lookup(&hash_of(id), fingerprint);
        if accept(&answer) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "no such answer within {within:?}; the last one: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn status_is(status: LicenseStatus) -> impl Fn(&CacheAnswer) -> bool {
    move |answer| matches!(answer, CacheAnswer::Found(found) if found.license.status == status)
}

async fn loaded(test: &TestDb) -> (Arc<LicenseReadModel>, LicenseId) {
    let id = stored_license(test).await;
    let model = LicenseReadModel::start(test.db.clone());
    answer_within(
        &model,
        id,
        None,
        Duration::from_secs(10),
        status_is(LicenseStatus::Active),
    )
    .await;
    (model, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_another_connection_pool_reach_memory_within_a_second() {
    for test in TestDb::all().await {
        let (model, id) = loaded(&test).await;
        let elsewhere = Database::connect(&test.url, 2)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let other_writer = SqlLicensingStore::new(elsewhere.clone());
        let here = Fingerprint::parse("laptop").unwrap_or_else(|e| panic!("{e}"));

        other_writer
            .activate(
                machine(id, "laptop"),
                event(EventKind::Activated, Utc::now()),
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let seat_seen = answer_within(
            &model,
            id,
            Some(&here),
            Duration::from_secs(1),
            |a| matches!(a, CacheAnswer::Found(found) if found.activated_here == Some(true)),
        )
        .await;

        other_writer
            .change_status(
                id,
                &[LicenseStatus::Active],
                LicenseStatus::Revoked,
                Some("refunded".into()),
                event(EventKind::Revoked, Utc::now()),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let revocation_seen = answer_within(
            &model,
            id,
            None,
            Duration::from_secs(1),
            status_is(LicenseStatus::Revoked),
        )
        .await;
        eprintln!(
            "{:?}: a seat seen after {seat_seen:?}, a revocation after {revocation_seen:?}",
            test.db.kind()
        );
        let _ = elsewhere.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_license_changed_here_is_not_answered_from_memory_until_the_feed_has_passed_it() {
    for test in TestDb::all().await {
        let (model, id) = loaded(&test).await;
        model.invalidate_license(id);
        assert_eq!(model.lookup(&hash_of(id), None), CacheAnswer::Unknown);
        answer_within(
            &model,
            id,
            None,
            Duration::from_secs(1),
            status_is(LicenseStatus::Active),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_database_the_model_stops_answering_within_the_staleness_bound() {
    for test in TestDb::all().await {
        let (model, id) = loaded(&test).await;
        let _ = test.db.clone().close().await;
        let stopped = answer_within(
            &model,
            id,
            None,
            MAX_STALENESS + Duration::from_millis(200),
            |answer| *answer == CacheAnswer::Unknown,
        )
        .await;
        assert!(
            stopped <= MAX_STALENESS + Duration::from_millis(100),
            "{stopped:?}"
        );
    }
}
