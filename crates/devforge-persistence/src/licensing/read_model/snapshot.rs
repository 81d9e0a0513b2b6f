//! The licenses held in memory, shaped for lookups by key hash and kept small.
//!
//! A million licenses must fit in a few hundred megabytes, so the layout is:
//! - the licenses themselves in one vector of fixed-size [`Entry`] records, allocated once
//!   for the whole table (freed slots are reused);
//! - two indexes into it, by key hash and by license id, each a hash table of slot numbers
//!   (four bytes a bucket): a lookup hashes the key, then compares the full key stored in
//!   the record a bucket points to. A hash table rounds its buckets up to a power of two,
//!   which is why a map holding the records themselves cost twice the table at a million
//!   licenses, and a map from an eight-byte prefix to the slot still cost 35 MB per index;
//! - products and entitlement sets, which licenses share, stored once and referred to by
//!   number.
//!
//! Both keys are already uniformly random, so eight of their bytes serve as the hash: the
//! first of the key's SHA-256, and the last of the id (the random part of a version 4 or 7
//! id, whose first bytes are a timestamp). Keys and ids are made by the server, never by a
//! client, so nobody chooses what collides; two records sharing those bytes are simply
//! both held, told apart by the full comparison.

use chrono::{DateTime, Utc};
use devforge_domain::UserId;
use devforge_licensing::key_protection::KeyHash;
use devforge_licensing::license::{License, LicenseId, LicenseSource, LicenseStatus};
use devforge_licensing::product::{Entitlement, Sku};
use hashbrown::HashTable;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

pub(super) type RawHash = [u8; 32];

pub(super) fn raw(hash: &KeyHash) -> Option<RawHash> {
    let mut bytes = [0_u8; 32];
    hex::decode_to_slice(hash.as_str(), &mut bytes).ok()?;
    Some(bytes)
}

/// A license as validation needs it.
#[derive(Debug)]
pub(super) struct Entry {
    key: RawHash,
    pub(super) id: uuid::Uuid,
    user_id: uuid::Uuid,
    issued_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revision: u64,
    grace_days: u32,
    max_activations: u32,
    activations_count: u32,
    product: u32,
    entitlements: u32,
    status: LicenseStatus,
    source: Source,
    revocation_reason: Option<Box<str>>,
    pub(super) fingerprints: Box<[Box<str>]>,
}

/// [`LicenseSource`] without a `String`'s spare capacity.
#[derive(Debug)]
enum Source {
    Admin(uuid::Uuid),
    Payment(Box<str>),
}

/// Things many licenses share, stored once and referred to by position.
#[derive(Debug)]
struct Interned<T: ?Sized> {
    values: Vec<Arc<T>>,
    positions: HashMap<Arc<T>, u32>,
}

impl<T: ?Sized> Default for Interned<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            positions: HashMap::new(),
        }
    }
}

impl<T: ?Sized + Eq + std::hash::Hash> Interned<T> {
    fn position(&mut self, value: &T, make: impl FnOnce() -> Arc<T>) -> Option<u32> {
        if let Some(position) = self.positions.get(value) {
            return Some(*position);
        }
        let position = u32::try_from(self.values.len()).ok()?;
        let shared = make();
        self.values.push(Arc::clone(&shared));
        self.positions.insert(shared, position);
        Some(position)
    }

    fn get(&self, position: u32) -> &T {
        &self.values[position as usize]
    }
}

/// The key hash's bucket hash: its first eight bytes.
fn prefix(key: &RawHash) -> u64 {
    let mut first = [0_u8; 8];
    first.copy_from_slice(&key[..8]);
    u64::from_le_bytes(first)
}

/// The license id's bucket hash: its last eight bytes, which are random in version 4 and 7
/// ids (the first ones of a version 7 id are the millisecond it was made, shared by every
/// license issued in that millisecond).
fn id_suffix(id: uuid::Uuid) -> u64 {
    id.as_u64_pair().1
}

#[derive(Debug, Default)]
pub(super) struct Snapshot {
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
    /// Slots by [`prefix`] of their key hash.
    by_key: HashTable<u32>,
    /// Slots by [`id_suffix`] of their license id.
    by_id: HashTable<u32>,
    products: Interned<str>,
    entitlement_sets: Interned<[Entitlement]>,
    /// Licenses this process changed and the feed has not yet been proven past, with when:
    /// lookups of them go to the database.
    pub(super) dirty_ids: HashMap<uuid::Uuid, Instant>,
}

impl Snapshot {
    /// An empty snapshot with room for `licenses` without growing.
    pub(super) fn with_capacity(licenses: usize) -> Self {
        Self {
            entries: Vec::with_capacity(licenses),
            by_key: HashTable::with_capacity(licenses),
            by_id: HashTable::with_capacity(licenses),
            ..Self::default()
        }
    }

    /// Licenses held.
    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// The license whose key hashes to `key`, if held.
    pub(super) fn get(&self, key: &RawHash) -> Option<&Entry> {
        let slot = *self.by_key.find(prefix(key), |&slot| {
            self.held(slot).is_some_and(|e| e.key == *key)
        })?;
        self.held(slot)
    }

    /// Stores `license`, replacing any older copy and sharing equal products and sets. A
    /// license whose key another held license has (which the database's unique index
    /// rules out) is left out, and its key is then looked up in the database.
    pub(super) fn put(
        &mut self,
        license: License,
        key_hash: &KeyHash,
        fingerprints: Vec<Box<str>>,
    ) {
        let id = license.id.as_uuid();
        self.remove(id);
        let Some(key) = raw(key_hash) else { return };
        if self.get(&key).is_some() {
            return;
        }
        let Some(entry) = self.entry(license, key, fingerprints) else {
            return;
        };
        let Some(slot) = self.store(entry) else {
            return;
        };
        let Self {
            entries,
            by_key,
            by_id,
            ..
        } = self;
        let rehash_key = |slot: &u32| {
            entries[*slot as usize]
                .as_ref()
                .map_or(0, |e| prefix(&e.key))
        };
        by_key.insert_unique(prefix(&key), slot, rehash_key);
        let rehash_id = |slot: &u32| {
            entries[*slot as usize]
                .as_ref()
                .map_or(0, |e| id_suffix(e.id))
        };
        by_id.insert_unique(id_suffix(id), slot, rehash_id);
    }

    /// Drops the license with this id, if held.
    pub(super) fn remove(&mut self, id: uuid::Uuid) {
        let Self {
            entries,
            by_key,
            by_id,
            free,
            ..
        } = self;
        let is_it = |slot: &u32| entries[*slot as usize].as_ref().is_some_and(|e| e.id == id);
        let Ok(found) = by_id.find_entry(id_suffix(id), is_it) else {
            return;
        };
        let (slot, _) = found.remove();
        if let Some(entry) = entries[slot as usize].take()
            && let Ok(keyed) = by_key.find_entry(prefix(&entry.key), |held| *held == slot)
        {
            keyed.remove();
        }
        free.push(slot);
    }

    fn held(&self, slot: u32) -> Option<&Entry> {
        self.entries[slot as usize].as_ref()
    }

    /// The license of a held record.
    pub(super) fn license(&self, entry: &Entry) -> License {
        License {
            id: LicenseId::from_uuid(entry.id),
            user_id: UserId::from_uuid(entry.user_id),
            product: Sku::from_trusted(self.products.get(entry.product).to_owned()),
            status: entry.status,
            issued_at: entry.issued_at,
            expires_at: entry.expires_at,
            grace_days: entry.grace_days,
            max_activations: entry.max_activations,
            activations_count: entry.activations_count,
            entitlements: self.entitlement_sets.get(entry.entitlements).to_vec(),
            source: match &entry.source {
                Source::Admin(admin) => LicenseSource::Admin(UserId::from_uuid(*admin)),
                Source::Payment(payment) => LicenseSource::Payment(payment.to_string()),
            },
            revocation_reason: entry.revocation_reason.as_deref().map(str::to_owned),
            revision: entry.revision,
        }
    }

    fn entry(
        &mut self,
        license: License,
        key: RawHash,
        fingerprints: Vec<Box<str>>,
    ) -> Option<Entry> {
        let product_name = license.product.as_str();
        let product = self
            .products
            .position(product_name, || Arc::from(product_name))?;
        let set = license.entitlements;
        let entitlements = self
            .entitlement_sets
            .position(set.as_slice(), || Arc::from(set.as_slice()))?;
        Some(Entry {
            key,
            id: license.id.as_uuid(),
            user_id: license.user_id.as_uuid(),
            issued_at: license.issued_at,
            expires_at: license.expires_at,
            revision: license.revision,
            grace_days: license.grace_days,
            max_activations: license.max_activations,
            activations_count: license.activations_count,
            product,
            entitlements,
            status: license.status,
            source: match license.source {
                LicenseSource::Admin(admin) => Source::Admin(admin.as_uuid()),
                LicenseSource::Payment(payment) => Source::Payment(payment.into_boxed_str()),
            },
            revocation_reason: license.revocation_reason.map(String::into_boxed_str),
            fingerprints: fingerprints.into_boxed_slice(),
        })
    }

    /// Puts `entry` in a free slot, growing the table by a sixteenth when none is left
    /// (doubling it would, for a moment, hold two copies of a million records).
    fn store(&mut self, entry: Entry) -> Option<u32> {
        if let Some(slot) = self.free.pop() {
            self.entries[slot as usize] = Some(entry);
            return Some(slot);
        }
        let slot = u32::try_from(self.entries.len()).ok()?;
        if self.entries.len() == self.entries.capacity() {
            self.entries
                .reserve_exact((self.entries.len() / 16).max(1024));
        }
        self.entries.push(Some(entry));
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::{RawHash, Snapshot, id_suffix, prefix};
    use chrono::Utc;
    use devforge_domain::UserId;
    use devforge_licensing::key_protection::KeyHash;
    use devforge_licensing::license::{License, LicenseId, LicenseSource, LicenseStatus};
    use devforge_licensing::product::Sku;

    fn license(id: uuid::Uuid, revision: u64) -> License {
        License {
            id: LicenseId::from_uuid(id),
            user_id: UserId::from_uuid(uuid::Uuid::from_u128(7)),
            product: Sku::from_trusted("devforge-pro".into()),
            status: LicenseStatus::Active,
            issued_at: Utc::now(),
            expires_at: None,
            grace_days: 7,
            max_activations: 3,
            activations_count: 1,
            entitlements: Vec::new(),
            source: LicenseSource::Payment("pi_123".into()),
            revocation_reason: None,
            revision,
        }
    }

    fn key(first: u8, last: u8) -> (KeyHash, RawHash) {
        let mut raw = [0_u8; 32];
        raw[0] = first;
        raw[31] = last;
        (KeyHash::from_stored(hex::encode(raw)), raw)
    }

    #[test]
    fn a_stored_license_is_found_by_its_key_and_replaced_by_its_id() {
        let mut snapshot = Snapshot::with_capacity(4);
        let id = uuid::Uuid::from_u128(1);
        let (hash, raw) = key(1, 1);
        snapshot.put(license(id, 1), &hash, vec!["machine-a".into()]);
        snapshot.put(license(id, 2), &hash, Vec::new());
        let entry = snapshot.get(&raw).unwrap_or_else(|| panic!("not held"));
        let held = snapshot.license(entry);
        assert_eq!((held.revision, entry.fingerprints.len()), (2, 0));
        assert_eq!(held.source, LicenseSource::Payment("pi_123".into()));
        assert_eq!(snapshot.len(), 1);
        snapshot.remove(id);
        assert!(snapshot.get(&raw).is_none());
        assert_eq!(snapshot.len(), 0);
    }

    #[test]
    fn keys_sharing_their_first_bytes_are_both_held_and_told_apart() {
        let mut snapshot = Snapshot::with_capacity(4);
        let (first, first_raw) = key(9, 1);
        let (second, second_raw) = key(9, 2);
        assert_eq!(prefix(&first_raw), prefix(&second_raw));
        let (first_id, second_id) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        snapshot.put(license(first_id, 1), &first, Vec::new());
        snapshot.put(license(second_id, 1), &second, Vec::new());
        let found = |raw| snapshot.get(raw).map(|entry| entry.id);
        assert_eq!(found(&first_raw), Some(first_id));
        assert_eq!(found(&second_raw), Some(second_id));
        assert_eq!(found(&key(9, 3).1), None);
        snapshot.remove(second_id);
        assert!(snapshot.get(&second_raw).is_none());
        assert!(snapshot.get(&first_raw).is_some());
    }

    #[test]
    fn ids_sharing_their_last_bytes_are_both_held_and_removed_one_at_a_time() {
        let mut snapshot = Snapshot::with_capacity(4);
        // Same last eight bytes (the low half of the u128), different first ones.
        let held = uuid::Uuid::from_u128((1 << 64) | 5);
        let clashing = uuid::Uuid::from_u128((2 << 64) | 5);
        assert_eq!(id_suffix(held), id_suffix(clashing));
        let (first, first_raw) = key(1, 0);
        let (second, second_raw) = key(2, 0);
        snapshot.put(license(held, 1), &first, Vec::new());
        snapshot.put(license(clashing, 1), &second, Vec::new());
        assert_eq!(snapshot.len(), 2);
        snapshot.remove(clashing);
        assert!(snapshot.get(&second_raw).is_none());
        assert!(snapshot.get(&first_raw).is_some());
        // Replacing the held one by its id keeps a single copy.
        snapshot.put(license(held, 2), &first, Vec::new());
        assert_eq!(snapshot.len(), 1);
        let entry = snapshot
            .get(&first_raw)
            .unwrap_or_else(|| panic!("not held"));
        assert_eq!(snapshot.license(entry).revision, 2);
    }

    #[test]
    fn a_second_license_with_a_held_key_is_left_to_the_database() {
        let mut snapshot = Snapshot::with_capacity(4);
        let (hash, raw) = key(3, 3);
        let (first, second) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        snapshot.put(license(first, 1), &hash, Vec::new());
        snapshot.put(license(second, 1), &hash, Vec::new());
        assert_eq!(snapshot.len(), 1);
        assert_eq!(snapshot.get(&raw).map(|entry| entry.id), Some(first));
    }

    #[test]
    fn licenses_issued_in_the_same_millisecond_are_all_held() {
        let mut snapshot = Snapshot::with_capacity(10_000);
        for n in 0..10_000_u32 {
            let mut raw = [0_u8; 32];
            raw[..4].copy_from_slice(&n.to_le_bytes());
            let hash = KeyHash::from_stored(hex::encode(raw));
            snapshot.put(license(uuid::Uuid::now_v7(), 1), &hash, Vec::new());
        }
        assert_eq!(snapshot.len(), 10_000);
    }

    #[test]
    fn freed_slots_are_reused_and_the_table_grows_past_its_first_size() {
        let mut snapshot = Snapshot::with_capacity(1);
        for n in 0..3000_u32 {
            let mut raw = [0_u8; 32];
            raw[..4].copy_from_slice(&n.to_le_bytes());
            let hash = KeyHash::from_stored(hex::encode(raw));
            let id = uuid::Uuid::from_u128(u128::from(n));
            snapshot.put(license(id, 1), &hash, Vec::new());
        }
        assert_eq!(snapshot.len(), 3000);
        snapshot.remove(uuid::Uuid::from_u128(0));
        // A prefix none of the loop's keys has.
        let mut raw = [0xff_u8; 32];
        raw[0] = 0xfe;
        let hash = KeyHash::from_stored(hex::encode(raw));
        snapshot.put(
            license(uuid::Uuid::from_u128(u128::MAX), 1),
            &hash,
            Vec::new(),
        );
        assert_eq!(snapshot.entries.len(), 3000);
        assert!(snapshot.get(&raw).is_some());
    }
}
