//! Licenses in memory for validation, kept in step with the database by a change feed.
//!
//! At start the whole table is loaded; afterwards every change the feed reports re-reads
//! that one license. The feed depends on the database:
//!
//! - **PostgreSQL** ([`postgres`]): `LISTEN devforge_licenses`, notified by triggers (see
//!   the migration `license_change_feed`), with the heartbeats of [`crate::change_feed`]
//!   as proof of freshness: once the heartbeat sent at `t` has come back, every change
//!   committed before `t` has been applied.
//! - **SQLite** ([`sqlite`]): the `license_changes` table, appended by triggers (see the
//!   migration `license_change_log`) and polled every 50 ms: once a poll that started at
//!   `t` has applied what it read, every change committed before `t` has been applied.
//!   Triggers see every writer of the file, so a change made by another process (the CLI,
//!   a second server by mistake) reaches this one as its own do.
//!
//! Either way, lookups are answered from memory only while the copy is proven current as
//! of less than [`MAX_STALENESS`] ago; otherwise (feed lost, database slow, still loading)
//! they answer `Unknown` and the service reads the database. A revoked license is therefore
//! never served as valid for longer than that after the revocation, on any instance.
//! Licenses this process changes are read from the database until the feed has been proven
//! past the change.

mod postgres;
mod snapshot;
mod sqlite;

use super::licenses::to_license;
use crate::entities::{activations, licenses};
use crate::error::store_error;
use crate::{Database, DatabaseKind};
use devforge_domain::StoreError;
use devforge_licensing::activation::Fingerprint;
use devforge_licensing::cache::{CacheAnswer, ValidationCache};
use devforge_licensing::key_protection::KeyHash;
use devforge_licensing::license::LicenseId;
use devforge_licensing::ports::KeyLookup;
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait as _, QueryFilter, QueryOrder, QuerySelect,
};
use snapshot::{Snapshot, raw};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// The oldest a lookup answer may be.
pub const MAX_STALENESS: Duration = Duration::from_millis(900);
/// Rows read per query while loading.
const LOAD_PAGE: u64 = 2_000;
/// Licenses re-read per query.
const RELOAD_BATCH: usize = 500;

/// The read model. Cheap to share: one per server process.
#[derive(Debug)]
pub struct LicenseReadModel {
    snapshot: RwLock<Snapshot>,
    /// The moment the copy is known to be current as of, when it is.
    fresh_as_of: Mutex<Option<Instant>>,
    /// Whether a lookup has been declined for staleness since the copy was last proven:
    /// each fall behind is logged once, and the recovery once.
    declining: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LicenseReadModel {
    /// Starts loading and following `database` in the background. Until the first load
    /// completes and its feed has proven it current, every lookup answers `Unknown`.
    #[must_use]
    pub fn start(database: Database) -> Arc<Self> {
        let model = Arc::new(Self {
            snapshot: RwLock::new(Snapshot::default()),
            fresh_as_of: Mutex::new(None),
            declining: AtomicBool::new(false),
        });
        match database.kind() {
            DatabaseKind::Postgres => postgres::spawn(Arc::clone(&model), database),
            DatabaseKind::Sqlite => sqlite::spawn(Arc::downgrade(&model), database),
        }
        model
    }

    /// Every change committed before `as_of` has been applied.
    fn proven_current(&self, as_of: Instant) {
        self.snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .dirty_ids
            .retain(|_, at| *at >= as_of);
        *lock(&self.fresh_as_of) = Some(as_of);
        if self.declining.swap(false, Ordering::Relaxed) {
            tracing::info!("license read model current again");
        }
    }

    /// The feed is lost or restarting: answer nothing from memory until it proves itself.
    fn no_longer_current(&self) {
        *lock(&self.fresh_as_of) = None;
    }

    fn len(&self) -> usize {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    async fn load_all(&self, database: &Database) -> Result<(), StoreError> {
        let started = Instant::now();
        let db = database.connection();
        // Page by id so the whole table is never in memory twice, into a table sized once:
        // growing it by doubling would briefly hold the old and new tables together.
        let expected = licenses::Entity::find()
            .paginate(db, 1)
            .num_items()
            .await
            .map_err(store_error)?;
        let mut fresh =
            Snapshot::with_capacity(usize::try_from(expected).unwrap_or(0).saturating_add(1024));
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
            // The seats of this page's licenses only: ids between the page's bounds.
            let mut fingerprints = seats_between(database, after, last.id).await?;
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

    /// Re-reads these licenses (and their seats), dropping those no longer stored.
    async fn reload(&self, database: &Database, ids: &[uuid::Uuid]) -> Result<(), StoreError> {
        for batch in ids.chunks(RELOAD_BATCH) {
            self.reload_batch(database, batch).await?;
        }
        Ok(())
    }

    async fn reload_batch(
        &self,
        database: &Database,
        ids: &[uuid::Uuid],
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let db = database.connection();
        let rows = licenses::Entity::find()
            .filter(licenses::Column::Id.is_in(ids.iter().copied()))
            .all(db)
            .await
            .map_err(store_error)?;
        let mut fingerprints = by_license(
            activations::Entity::find()
                .filter(activations::Column::LicenseId.is_in(ids.iter().copied()))
                .all(db)
                .await
                .map_err(store_error)?,
        );
        let mut stored = Vec::with_capacity(rows.len());
        for row in rows {
            let key_hash = KeyHash::from_stored(row.key_hash.clone());
            match to_license(row) {
                Ok(license) => stored.push((license, key_hash)),
                // Dropped from memory below: its key is looked up in the database instead.
                Err(err) => tracing::warn!(error = %err, "license not cached"),
            }
        }
        let mut snapshot = self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            if snapshot.dirty_ids.get(id).is_some_and(|at| *at < started) {
                snapshot.dirty_ids.remove(id);
            }
            snapshot.remove(*id);
        }
        for (license, key_hash) in stored {
            let seats = fingerprints
                .remove(&license.id.as_uuid())
                .unwrap_or_default();
            snapshot.put(license, &key_hash, seats);
        }
        Ok(())
    }

    fn is_fresh(&self) -> bool {
        lock(&self.fresh_as_of).is_some_and(|as_of| as_of.elapsed() < MAX_STALENESS)
    }
}

/// The machines of the licenses with ids in `(after, through]`, by license.
async fn seats_between(
    database: &Database,
    after: uuid::Uuid,
    through: uuid::Uuid,
) -> Result<HashMap<uuid::Uuid, Vec<Box<str>>>, StoreError> {
    let seats = activations::Entity::find()
        .filter(activations::Column::LicenseId.gt(after))
        .filter(activations::Column::LicenseId.lte(through))
        .all(database.connection())
        .await
        .map_err(store_error)?;
    Ok(by_license(seats))
}

/// The fingerprints of `seats`, by license.
fn by_license(seats: Vec<activations::Model>) -> HashMap<uuid::Uuid, Vec<Box<str>>> {
    let mut fingerprints: HashMap<uuid::Uuid, Vec<Box<str>>> = HashMap::new();
    for seat in seats {
        fingerprints
            .entry(seat.license_id)
            .or_default()
            .push(seat.fingerprint.into_boxed_str());
    }
    fingerprints
}

impl ValidationCache for LicenseReadModel {
    fn lookup(&self, hash: &KeyHash, fingerprint: Option<&Fingerprint>) -> CacheAnswer {
        if !self.is_fresh() {
            if !self.declining.swap(true, Ordering::Relaxed) {
                let proof_age = lock(&self.fresh_as_of).map(|as_of| as_of.elapsed().as_millis());
                tracing::warn!(
                    proof_age_ms = proof_age,
                    "license read model not proven current; validating from the database"
                );
            }
            return CacheAnswer::Unknown;
        }
        let Some(raw_hash) = raw(hash) else {
            return CacheAnswer::Unknown;
        };
        let snapshot = self.snapshot.read().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = snapshot.get(&raw_hash) else {
            return CacheAnswer::Unknown;
        };
        if snapshot.dirty_ids.contains_key(&entry.id) {
            return CacheAnswer::Unknown;
        }
        CacheAnswer::Found(KeyLookup {
            license: snapshot.license(entry),
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
