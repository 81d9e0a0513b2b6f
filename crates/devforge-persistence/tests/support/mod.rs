//! Shared by the integration tests: migrated databases (SQLite always, PostgreSQL too when
//! `DEVFORGE_TEST_POSTGRES_URL` names a server; a database is created per test and dropped
//! afterwards) and licensing fixtures.

#![allow(dead_code, reason = "each test binary uses its own part of these")]

use chrono::{DateTime, Duration, Utc};
use devforge_domain::{Currency, Money, NewAuditEntry, UserId};
use devforge_licensing::activation::{Activation, ActivationId, Fingerprint};
use devforge_licensing::event::{Actor, EventKind, NewLicenseEvent};
use devforge_licensing::key_protection::KeyHash;
use devforge_licensing::license::{LicenseId, LicenseSource};
use devforge_licensing::ports::{LicenseRepository, NewLicense, ProductRepository};
use devforge_licensing::product::{Entitlement, LicenseTerms, Product, Sku};
use devforge_persistence::entities::users;
use devforge_persistence::{Database, SqlLicensingStore};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::json;

const POSTGRES_URL_VAR: &str = "DEVFORGE_TEST_POSTGRES_URL";

/// A migrated database; a PostgreSQL one is dropped with it.
pub struct TestDb {
    pub db: Database,
    /// The URL it was opened with.
    pub url: String,
    postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn all() -> Vec<Self> {
        let mut all = vec![Self::sqlite().await];
        if let Some(url) = std::env::var(POSTGRES_URL_VAR)
            .ok()
            .filter(|url| !url.is_empty())
        {
            all.push(Self::postgres(url).await);
        }
        all
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self::migrated(&url, None, dir).await
    }

    pub async fn postgres(admin_url: String) -> Self {
        let name = format!("devforge_store_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url, 1)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        admin
            .connection()
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = admin.close().await;
        let (base, query) = admin_url
            .split_once('?')
            .map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
        let prefix = base.rsplit_once('/').map_or(base, |(prefix, _)| prefix);
        let url = match query {
            Some(query) => format!("{prefix}/{name}?{query}"),
            None => format!("{prefix}/{name}"),
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        Self::migrated(&url, Some((admin_url, name)), dir).await
    }

    async fn migrated(
        url: &str,
        postgres: Option<(String, String)>,
        dir: tempfile::TempDir,
    ) -> Self {
        let db = Database::connect(url, 16)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        db.migrate_up(None)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        Self {
            db,
            url: url.to_owned(),
            postgres,
            _dir: dir,
        }
    }

    pub fn store(&self) -> SqlLicensingStore {
        SqlLicensingStore::new(self.db.clone())
    }

    pub async fn user(&self) -> UserId {
        let id = UserId::generate();
        let now = Utc::now();
        users::ActiveModel {
            id: Set(id.as_uuid()),
            email: Set(format!("{id}@example.com")),
            name: Set(None),
            password_hash: Set("x".into()),
            role: Set("customer".into()),
            disabled: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.db.connection())
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
        id
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        let db = self.db.clone();
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async move {
                    let _ = db.close().await;
                    if let Ok(admin) = Database::connect(&admin_url, 1).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = admin.connection().execute_unprepared(&sql).await;
                        let _ = admin.close().await;
                    }
                });
            }
        });
        let _ = dropper.join();
    }
}

pub fn sku(raw: &str) -> Sku {
    Sku::parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

pub fn audit(action: &str, at: DateTime<Utc>) -> NewAuditEntry {
    NewAuditEntry {
        actor: None,
        action: action.into(),
        target_type: "test".into(),
        target_id: "test".into(),
        detail: json!({}),
        at,
    }
}

pub fn event(kind: EventKind, at: DateTime<Utc>) -> NewLicenseEvent {
    NewLicenseEvent {
        kind,
        actor: Actor::KeyHolder,
        detail: json!({}),
        at,
    }
}

pub fn product(raw_sku: &str, max_activations: u32) -> Product {
    Product {
        sku: sku(raw_sku),
        name: "Dev Forge Pro".into(),
        price: Money::new(
            4_900,
            Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")),
        ),
        terms: LicenseTerms::new(Some(365), max_activations, 14).unwrap_or_else(|e| panic!("{e}")),
        entitlements: vec![Entitlement::parse("pro").unwrap_or_else(|e| panic!("{e}"))],
        active: true,
        created_at: Utc::now(),
    }
}

pub fn new_license(user_id: UserId, product: &Product, source: LicenseSource) -> NewLicense {
    let id = LicenseId::generate();
    let now = Utc::now();
    NewLicense {
        id,
        user_id,
        product: product.sku.clone(),
        key_hash: KeyHash::from_stored(format!("{:064}", id.as_uuid().simple())),
        sealed_key: vec![0, 1, 2, 255],
        issued_at: now,
        expires_at: Some(now + Duration::days(365)),
        grace_days: product.terms.grace_days,
        max_activations: product.terms.max_activations,
        entitlements: product.entitlements.clone(),
        source,
    }
}

pub async fn licensed(test: &TestDb, max_activations: u32) -> (SqlLicensingStore, LicenseId) {
    let store = test.store();
    let user = test.user().await;
    let product = product("pro", max_activations);
    store
        .insert_product(product.clone(), audit("product.created", Utc::now()))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let license = new_license(user, &product, LicenseSource::Admin(user));
    let id = license.id;
    store
        .insert_license(license, event(EventKind::Issued, Utc::now()), None)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    (store, id)
}

pub fn machine(license_id: LicenseId, fingerprint: &str) -> Activation {
    Activation {
        id: ActivationId::generate(),
        license_id,
        fingerprint: Fingerprint::parse(fingerprint).unwrap_or_else(|e| panic!("{e}")),
        name: Some("Laptop".into()),
        platform: None,
        created_at: Utc::now(),
    }
}
