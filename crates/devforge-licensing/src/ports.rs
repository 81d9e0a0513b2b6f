//! The storage the licensing service needs, as traits it owns.
//!
//! Every change that touches several rows (a license and its first event, a seat and the
//! seat count, a status and its event and audit entry) is one port method, so adapters
//! make it one transaction. Limits are enforced inside those methods, atomically, so they
//! hold under parallel requests.

use crate::activation::{Activation, ActivationId, ActivationOutcome, Fingerprint};
use crate::event::{LicenseEvent, NewLicenseEvent};
use crate::key_protection::KeyHash;
use crate::license::{License, LicenseId, LicenseSource, LicenseStatus};
use crate::product::{Entitlement, Product, ProductPatch, Sku};
use chrono::{DateTime, Utc};
use devforge_domain::{NewAuditEntry, Page, PageRequest, StoreError, UserId};
use std::future::Future;

/// A license about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLicense {
    /// Identifier.
    pub id: LicenseId,
    /// Owner (must exist).
    pub user_id: UserId,
    /// Product (must exist).
    pub product: Sku,
    /// Lookup hash of the key.
    pub key_hash: KeyHash,
    /// The key, encrypted.
    pub sealed_key: Vec<u8>,
    /// Issue time.
    pub issued_at: DateTime<Utc>,
    /// End of validity; `None` for perpetual.
    pub expires_at: Option<DateTime<Utc>>,
    /// Grace after expiry, copied from the product.
    pub grace_days: u32,
    /// Seats.
    pub max_activations: u32,
    /// Copied from the product.
    pub entitlements: Vec<Entitlement>,
    /// Origin; a payment may produce only one license.
    pub source: LicenseSource,
}

/// Filters for license lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LicenseFilter {
    /// Only this owner's.
    pub user_id: Option<UserId>,
    /// Only this product's.
    pub product: Option<Sku>,
    /// Only in this status.
    pub status: Option<LicenseStatus>,
}

/// A license found by its key, with what validation needs, in one round trip.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyLookup {
    /// The license.
    pub license: License,
    /// Its stored lookup hash (compared again in constant time).
    pub key_hash: KeyHash,
    /// Whether it is activated on the fingerprint asked about (`None` when none was).
    pub activated_here: Option<bool>,
}

/// A self-service seat release is refused when this many happened since `since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeactivationThrottle {
    /// Start of the counting window.
    pub since: DateTime<Utc>,
    /// Releases allowed in the window.
    pub limit: u32,
}

/// Which seat to release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatSelector {
    /// The seat of this machine.
    Fingerprint(Fingerprint),
    /// The seat with this id.
    Id(ActivationId),
}

/// What releasing a seat did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeactivationOutcome {
    /// The seat is free.
    Released(Activation),
    /// No such seat on this license.
    NotFound,
    /// Too many self-service releases recently; nothing changed.
    Throttled,
}

/// The product catalogue.
pub trait ProductRepository: Send + Sync + 'static {
    /// Stores a new product with its audit entry.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`] when the SKU exists.
    fn insert_product(
        &self,
        product: Product,
        audit: NewAuditEntry,
    ) -> impl Future<Output = Result<Product, StoreError>> + Send;

    /// The product with this SKU, active or not.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn find_product(
        &self,
        sku: &Sku,
    ) -> impl Future<Output = Result<Option<Product>, StoreError>> + Send;

    /// Products by SKU; inactive ones only when asked.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn list_products(
        &self,
        include_inactive: bool,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Product>, StoreError>> + Send;

    /// Applies `patch` with its audit entry; `Ok(None)` when no product has this SKU.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails; nothing changes then.
    fn update_product(
        &self,
        sku: &Sku,
        patch: ProductPatch,
        audit: NewAuditEntry,
    ) -> impl Future<Output = Result<Option<Product>, StoreError>> + Send;
}

/// Licenses and their history.
pub trait LicenseRepository: Send + Sync + 'static {
    /// Stores a license with its `issued` event (and audit entry, for admin grants).
    ///
    /// # Errors
    /// MUST return [`StoreError::MissingReference`] when the owner or product does not
    /// exist, and [`StoreError::Duplicate`] when a license for the same payment exists.
    fn insert_license(
        &self,
        license: NewLicense,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> impl Future<Output = Result<License, StoreError>> + Send;

    /// The license with this id.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn find_license(
        &self,
        id: LicenseId,
    ) -> impl Future<Output = Result<Option<License>, StoreError>> + Send;

    /// The encrypted key of a license.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn sealed_key(
        &self,
        id: LicenseId,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// The license whose key has `hash`, and whether it is activated on `fingerprint`,
    /// in ONE indexed query: this is the validation hot path.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn find_by_key(
        &self,
        hash: &KeyHash,
        fingerprint: Option<&Fingerprint>,
    ) -> impl Future<Output = Result<Option<KeyLookup>, StoreError>> + Send;

    /// Licenses matching `filter`, newest first.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn list_licenses(
        &self,
        filter: LicenseFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<License>, StoreError>> + Send;

    /// Sets the status (and reason: `None` clears it) only while the license is in one of
    /// `from`, writing the event and audit entry in the same transaction. `Ok(None)` when
    /// no license has this id or it is not in one of `from` (re-read to tell which).
    ///
    /// # Errors
    /// [`StoreError`] when storage fails; nothing changes then.
    fn change_status(
        &self,
        id: LicenseId,
        from: &[LicenseStatus],
        to: LicenseStatus,
        reason: Option<String>,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> impl Future<Output = Result<Option<License>, StoreError>> + Send;

    /// Moves the expiry from `current` to `renewed`, only if it is still `current` (so two
    /// renewals cannot both count from the same old expiry) and the license is not revoked,
    /// with event and audit. `Ok(None)` when the license is missing, revoked, or its expiry
    /// changed meanwhile. With `payment`, the renewal is recorded for that payment in the
    /// same transaction.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`] when `payment` already renewed a license;
    /// [`StoreError`] when storage fails; nothing changes then.
    fn renew_license(
        &self,
        id: LicenseId,
        current: Option<DateTime<Utc>>,
        renewed: DateTime<Utc>,
        payment: Option<String>,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> impl Future<Output = Result<Option<License>, StoreError>> + Send;

    /// The license issued for `payment`.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn find_by_payment(
        &self,
        payment: &str,
    ) -> impl Future<Output = Result<Option<License>, StoreError>> + Send;

    /// The license's events, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn list_events(
        &self,
        id: LicenseId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<LicenseEvent>, StoreError>> + Send;
}

/// Seats.
pub trait ActivationRepository: Send + Sync + 'static {
    /// Takes a seat for `activation.fingerprint`, atomically:
    /// - the license is no longer `active`: [`ActivationOutcome::NotActive`] (also for a
    ///   machine that has a seat);
    /// - the fingerprint already has a seat on this license: [`ActivationOutcome::Existing`],
    ///   nothing changes;
    /// - every seat is taken: [`ActivationOutcome::LimitReached`];
    /// - otherwise the seat is stored, the count goes up and `event` is written:
    ///   [`ActivationOutcome::Created`].
    ///
    /// Of N parallel calls with distinct fingerprints and `k` free seats, exactly `k`
    /// succeed.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails; nothing changes then.
    fn activate(
        &self,
        activation: Activation,
        event: NewLicenseEvent,
    ) -> impl Future<Output = Result<ActivationOutcome, StoreError>> + Send;

    /// Frees a seat of `license_id` and writes `event` (and `audit`), atomically. With a
    /// `throttle`, the release is refused when the license already had `limit`
    /// self-service releases (events `deactivated` by a non-admin) since `since`.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails; nothing changes then.
    fn deactivate(
        &self,
        license_id: LicenseId,
        seat: SeatSelector,
        throttle: Option<DeactivationThrottle>,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> impl Future<Output = Result<DeactivationOutcome, StoreError>> + Send;

    /// The seats of a license, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn list_activations(
        &self,
        license_id: LicenseId,
    ) -> impl Future<Output = Result<Vec<Activation>, StoreError>> + Send;
}

/// Everything the licensing service stores.
pub trait LicensingStore: ProductRepository + LicenseRepository + ActivationRepository {}

impl<T> LicensingStore for T where T: ProductRepository + LicenseRepository + ActivationRepository {}
