//! A read-through cache for validation, the hottest path of the product.
//!
//! The port lets an adapter answer validations from memory, under one rule: an answer from
//! the cache may be at most one second behind the database, on every server instance. An
//! adapter that cannot promise that at the moment of a lookup (not yet loaded, lost its
//! change feed, heartbeat too old) answers [`CacheAnswer::Unknown`], and the service reads
//! the database as it would without a cache.

use crate::activation::Fingerprint;
use crate::key_protection::KeyHash;
use crate::license::LicenseId;
use crate::ports::KeyLookup;

/// What the cache knows about a key.
#[expect(
    clippy::large_enum_variant,
    reason = "returned by value once per validation; boxing would add an allocation to it"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum CacheAnswer {
    /// It cannot answer now, or does not know the key: read the database. (A key the
    /// cache has not seen may belong to a license issued a moment ago on another instance,
    /// so absence is never an answer.)
    Unknown,
    /// The license, as of at most a second ago.
    Found(KeyLookup),
}

/// An in-memory view of licenses, kept in step with storage by its adapter.
pub trait ValidationCache: Send + Sync + std::fmt::Debug + 'static {
    /// The license with this key hash, and whether it is activated on `fingerprint`.
    fn lookup(&self, hash: &KeyHash, fingerprint: Option<&Fingerprint>) -> CacheAnswer;

    /// This process just changed the license with this id: until the adapter has re-read
    /// it, lookups of it answer [`CacheAnswer::Unknown`]. (Other instances learn of the
    /// change through the adapter's change feed.)
    fn invalidate_license(&self, id: LicenseId);
}
