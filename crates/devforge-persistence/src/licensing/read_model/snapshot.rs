//! The licenses held in memory, shaped for lookups by key hash and kept small.

use chrono::{DateTime, Utc};
use devforge_domain::UserId;
use devforge_licensing::key_protection::KeyHash;
use devforge_licensing::license::{License, LicenseId, LicenseSource, LicenseStatus};
use devforge_licensing::product::{Entitlement, Sku};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// A license as validation needs it, kept small: 100,000 of these must fit in tens of
/// megabytes, so keys are raw bytes and products and entitlement sets are shared.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) id: uuid::Uuid,
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
    revision: u64,
    pub(super) fingerprints: Vec<Box<str>>,
}

impl Entry {
    pub(super) fn license(&self) -> License {
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
            revision: self.revision,
        }
    }
}

pub(super) type RawHash = [u8; 32];

pub(super) fn raw(hash: &KeyHash) -> Option<RawHash> {
    let mut bytes = [0_u8; 32];
    hex::decode_to_slice(hash.as_str(), &mut bytes).ok()?;
    Some(bytes)
}

#[derive(Debug, Default)]
pub(super) struct Snapshot {
    pub(super) by_hash: HashMap<RawHash, Entry>,
    pub(super) hash_by_id: HashMap<uuid::Uuid, RawHash>,
    products: HashSet<Arc<str>>,
    entitlement_sets: HashSet<Arc<[Entitlement]>>,
    /// Licenses this process changed and the feed has not yet been proven past, with when:
    /// lookups of them go to the database.
    pub(super) dirty_ids: HashMap<uuid::Uuid, Instant>,
}

impl Snapshot {
    /// An empty snapshot with room for `licenses` without growing.
    pub(super) fn with_capacity(licenses: usize) -> Self {
        Self {
            by_hash: HashMap::with_capacity(licenses),
            hash_by_id: HashMap::with_capacity(licenses),
            ..Self::default()
        }
    }

    /// Stores `license` (replacing any older copy), sharing equal products and sets.
    pub(super) fn put(
        &mut self,
        license: License,
        key_hash: &KeyHash,
        fingerprints: Vec<Box<str>>,
    ) {
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
                revision: license.revision,
                fingerprints,
            },
        );
    }

    pub(super) fn remove(&mut self, id: uuid::Uuid) {
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
