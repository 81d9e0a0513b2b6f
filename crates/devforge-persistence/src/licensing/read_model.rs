//! Licenses in memory for validation, kept in step with PostgreSQL by its change feed.
//!
//! At start the whole table is loaded (after `LISTEN`, so nothing committed meanwhile is
//! missed); afterwards every `devforge_licenses` notification (sent by triggers, see the
//! migration `license_change_feed`) re-reads that one license.
//!
//! Freshness is proven, not assumed, by the heartbeats of [`crate::change_feed`]: once the
//! heartbeat sent at `t` has come back, every change committed before `t` has been
//! applied. Lookups are answered from memory only while the newest returned
//! heartbeat is younger than [`MAX_STALENESS`]; otherwise (feed lost, database slow, still
//! loading) they answer `Unknown` and the service reads the database. A revoked license is
//! therefore never served as valid for longer than that after the revocation, on any
//! instance.

use super::licenses::to_license;
use crate::Database;
use crate::change_feed::{FEED_SILENCE, Heartbeats};
use crate::entities::{activations, licenses};
use crate::error::store_error;
use chrono::{DateTime, Utc};
use devforge_domain::StoreError;
use devforge_domain::UserId;
use devforge_licensing::activation::Fingerprint;
use devforge_licensing::cache::{CacheAnswer, ValidationCache};
use devforge_licensing::key_protection::KeyHash;
use devforge_licensing::license::{License, LicenseId, LicenseSource, LicenseStatus};
use devforge_licensing::ports::KeyLookup;
use devforge_licensing::product::{Entitlement, Sku};
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait as _, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// The oldest a lookup answer may be.
pub const MAX_STALENESS: Duration = Duration::from_millis(900);
const CHANGES: &str = "devforge_licenses";
const HEARTBEATS: &str = "devforge_license_heartbeat";
/// Rows read per query while loading.
const LOAD_PAGE: u64 = 2_000;

/// A license as validation needs it, kept small: 100,000 of these must fit in tens of
/// megabytes, so keys are raw bytes and products and entitlement sets are shared.
#[derive(Debug)]
struct Entry {
    id: uuid::Uuid,
    user_id: uuid::Uuid,
    product: Arc<str>,
    status: LicenseStatus,
    issued_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    grace_days: u32,
    max_activations: u32,
    activations_count: u32,
    entitlements: Arc<[Entitlement]>,
    source: LicenseSource,
    revocation_reason: Option<Box<str>>,
    fingerprints: Vec<Box<str>>,
}

impl Entry {
    fn license(&self) -> License {
        License {
            id: LicenseId::from_uuid(self.id),
            user_id: UserId::from_uuid(self.user_id),
            product: Sku::from_trusted(self.product.to_string()),
            status: self.status,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            grace_days: self.grace_days,
            max_activations: self.max_activations,
            activations_count: self.activations_count,
            entitlements: self.entitlements.to_vec(),
            source: self.source.clone(),
            revocation_reason: self.revocation_reason.as_deref().map(str::to_owned),
        }
    }
}

type RawHash = [u8; 32];

fn raw(hash: &KeyHash) -> Option<RawHash> {
    let mut bytes = [0_u8; 32];
    hex::decode_to_slice(hash.as_str(), &mut bytes).ok()?;
    Some(bytes)
}

#[derive(Debug, Default)]
struct Snapshot {
    by_hash: HashMap<RawHash, Entry>,
    hash_by_id: HashMap<uuid::Uuid, RawHash>,
    products: HashSet<Arc<str>>,
    entitlement_sets: HashSet<Arc<[Entitlement]>>,
    /// Licenses this process changed and the feed has not yet been proven past, with when:
    /// lookups of them go to the database.
    dirty_ids: HashMap<uuid::Uuid, Instant>,
}

impl Snapshot {
    /// Stores `license` (replacing any older copy), sharing equal products and sets.
    fn put(&mut self, license: License, key_hash: &KeyHash, fingerprints: Vec<Box<str>>) {
        let Some(hash) = raw(key_hash) else { return };
        let product = self.intern_product(license.product.as_str());
        let entitlements = self.intern_entitlements(license.entitlements);
        let id = license.id.as_uuid();
        self.remove(id);
        self.hash_by_id.insert(id, hash);
        self.by_hash.insert(
            hash,
            Entry {
                id,
                user_id: license.user_id.as_uuid(),
                product,
                status: license.status,
                issued_at: license.issued_at,
                expires_at: license.expires_at,
                grace_days: license.grace_days,
                max_activations: license.max_activations,
                activations_count: license.activations_count,
                entitlements,
                source: license.source,
                revocation_reason: license.revocation_reason.map(String::into_boxed_str),
                fingerprints,
            },
        );
    }

    fn remove(&mut self, id: uuid::Uuid) {
        if let Some(old) = self.hash_by_id.remove(&id) {
            self.by_hash.remove(&old);
        }
    }

    fn intern_product(&mut self, product: &str) -> Arc<str> {
        if let Some(shared) = self.products.get(product) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(product);
        self.products.insert(Arc::clone(&shared));
        shared
    }

    fn intern_entitlements(&mut self, set: Vec<Entitlement>) -> Arc<[Entitlement]> {
        if let Some(shared) = self.entitlement_sets.get(set.as_slice()) {
            return Arc::clone(shared);
        }
        let shared: Arc<[Entitlement]> = Arc::from(set);
        self.entitlement_sets.insert(Arc::clone(&shared));
        shared
    }
}

/// The read model. Cheap to share: one per server process.
#[derive(Debug)]
pub struct PgLicenseReadModel {
    snapshot: RwLock<Snapshot>,
    /// Send time of the newest heartbeat that came back after a complete load.
    fresh_as_of: Mutex<Option<Instant>>,
    heartbeats: Arc<Heartbeats>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PgLicenseReadModel {
    /// Starts loading and following `database` (PostgreSQL) in the background. Until the
    /// first load completes and a heartbeat returns, every lookup answers `Unknown`.
    #[must_use]
    pub fn start(database: Database) -> Arc<Self> {
        let model = Arc::new(Self {
            snapshot: RwLock::new(Snapshot::default()),
            fresh_as_of: Mutex::new(None),
            heartbeats: Heartbeats::start(database.clone(), HEARTBEATS),
        });
        let follower = Arc::clone(&model);
        tokio::spawn(async move { follower.follow(database).await });
        model
    }

    async fn follow(self: Arc<Self>, database: Database) {
        loop {
            *lock(&self.fresh_as_of) = None;
            if let Err(err) = self.follow_once(&database).await {
                tracing::warn!(error = %err, "license read model lost its change feed; validating from the database");
            }
            if database
                .connection()
                .get_postgres_connection_pool()
                .is_closed()
            {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn follow_once(&self, database: &Database) -> Result<(), String> {
        let pool = database.connection().get_postgres_connection_pool();
        let mut listener = PgListener::connect_with(pool)
            .await
            .map_err(|e| e.to_string())?;
        listener
            .listen_all([CHANGES, HEARTBEATS])
            .await
            .map_err(|e| e.to_string())?;
        self.load_all(database).await.map_err(|e| e.to_string())?;
        tracing::info!(licenses = self.len(), "license read model loaded");
        // Heartbeats arrive every 100 ms: silence this long means a dead connection.
        while let Some(notification) = tokio::time::timeout(FEED_SILENCE, listener.try_recv())
            .await
            .map_err(|_| "the change feed went silent".to_owned())?
            .map_err(|e| e.to_string())?
        {
            if notification.channel() == CHANGES {
                let Ok(id) = notification.payload().parse::<uuid::Uuid>() else {
                    continue;
                };
                self.reload(database, id).await.map_err(|e| e.to_string())?;
            } else if let Some(sent) = self.heartbeats.returned(notification.payload()) {
                // Every change committed before `sent` has been applied: marks older than
                // that are settled.
                self.snapshot
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .dirty_ids
                    .retain(|_, at| *at >= sent);
                *lock(&self.fresh_as_of) = Some(sent);
            }
        }
        Err("the notification connection closed".into())
    }

    fn len(&self) -> usize {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_hash
            .len()
    }

    async fn load_all(&self, database: &Database) -> Result<(), StoreError> {
        let started = Instant::now();
        let db = database.connection();
        let mut fingerprints: HashMap<uuid::Uuid, Vec<Box<str>>> = HashMap::new();
        let mut after = uuid::Uuid::nil();
        loop {
            let seats = activations::Entity::find()
                .filter(activations::Column::Id.gt(after))
                .order_by_asc(activations::Column::Id)
                .limit(LOAD_PAGE)
                .all(db)
                .await
                .map_err(store_error)?;
            let Some(last) = seats.last() else { break };
            after = last.id;
            for seat in seats {
                fingerprints
                    .entry(seat.license_id)
                    .or_default()
                    .push(seat.fingerprint.into_boxed_str());
            }
        }
        // Page by id so the whole table is never in memory twice, into maps sized once:
        // growing them by doubling would briefly hold the old and new tables together.
        let expected = licenses::Entity::find()
            .paginate(db, 1)
            .num_items()
            .await
            .map_err(store_error)?;
        let capacity = usize::try_from(expected).unwrap_or(0).saturating_add(1024);
        let mut fresh = Snapshot {
            by_hash: HashMap::with_capacity(capacity),
            hash_by_id: HashMap::with_capacity(capacity),
            ..Snapshot::default()
        };
        let mut after = uuid::Uuid::nil();
        loop {
            let rows = licenses::Entity::find()
                .filter(licenses::Column::Id.gt(after))
                .order_by_asc(licenses::Column::Id)
                .limit(LOAD_PAGE)
                .all(db)
                .await
                .map_err(store_error)?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for row in rows {
                let seats = fingerprints.remove(&row.id).unwrap_or_default();
                let key_hash = KeyHash::from_stored(row.key_hash.clone());
                match to_license(row) {
                    Ok(license) => fresh.put(license, &key_hash, seats),
                    // Left out: its key is looked up in the database instead.
                    Err(err) => tracing::warn!(error = %err, "license not cached"),
                }
            }
        }
        let mut snapshot = self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Marks older than this load are settled by it; newer ones wait for their feed event.
        fresh.dirty_ids = std::mem::take(&mut snapshot.dirty_ids);
        fresh.dirty_ids.retain(|_, at| *at >= started);
        *snapshot = fresh;
        Ok(())
    }

    async fn reload(&self, database: &Database, id: uuid::Uuid) -> Result<(), StoreError> {
        let started = Instant::now();
        let db = database.connection();
        let row = licenses::Entity::find_by_id(id)
            .one(db)
            .await
            .map_err(store_error)?;
        let seats = activations::Entity::find()
            .filter(activations::Column::LicenseId.eq(id))
            .all(db)
            .await
            .map_err(store_error)?;
        let license = row
            .map(|row| {
                let key_hash = KeyHash::from_stored(row.key_hash.clone());
                to_license(row).map(|license| (license, key_hash))
            })
            .transpose()?;
        let mut snapshot = self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if snapshot.dirty_ids.get(&id).is_some_and(|at| *at < started) {
            snapshot.dirty_ids.remove(&id);
        }
        match license {
            Some((license, key_hash)) => {
                let seats = seats
                    .into_iter()
                    .map(|s| s.fingerprint.into_boxed_str())
                    .collect();
                snapshot.put(license, &key_hash, seats);
            }
            None => snapshot.remove(id),
        }
        Ok(())
    }

    fn is_fresh(&self) -> bool {
        lock(&self.fresh_as_of).is_some_and(|sent| sent.elapsed() < MAX_STALENESS)
    }
}

impl ValidationCache for PgLicenseReadModel {
    fn lookup(&self, hash: &KeyHash, fingerprint: Option<&Fingerprint>) -> CacheAnswer {
        if !self.is_fresh() {
            return CacheAnswer::Unknown;
        }
        let Some(raw_hash) = raw(hash) else {
            return CacheAnswer::Unknown;
        };
        let snapshot = self.snapshot.read().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = snapshot.by_hash.get(&raw_hash) else {
            return CacheAnswer::Unknown;
        };
        if snapshot.dirty_ids.contains_key(&entry.id) {
            return CacheAnswer::Unknown;
        }
        CacheAnswer::Found(KeyLookup {
            license: entry.license(),
            key_hash: hash.clone(),
            activated_here: fingerprint
                .map(|f| entry.fingerprints.iter().any(|seat| **seat == *f.as_str())),
        })
    }

    fn invalidate_license(&self, id: LicenseId) {
        let mut snapshot = self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        snapshot.dirty_ids.insert(id.as_uuid(), Instant::now());
    }
}
