//! The licensing service: the rules of products, licenses, seats and validation.
//!
//! One type, [`LicensingService`], with its use cases split by what they touch: the
//! catalogue in `products`, issuing and reading licenses in `licenses`, renewals and status
//! changes in `lifecycle`, machine seats in `seats`, and the hot path, validation, in
//! `validation`. This module holds what they share: the service's parts, who is asking,
//! and the audit entry every admin action writes.

#[cfg(test)]
mod certificate_reuse_tests;
mod licenses;
mod lifecycle;
mod products;
mod seats;
#[cfg(test)]
mod tests;
mod validation;

use crate::activation::{Activation, Fingerprint};
use crate::cache::ValidationCache;
use crate::certificate::{CertificateError, CertificateSigner, PublicKey};
use crate::certificate_reuse::ReusableCertificates;
use crate::error::LicensingError;
use crate::key::LicenseKey;
use crate::key_protection::{KeyHash, KeyProtector};
use crate::license::{License, LicenseId, ValidationCode};
use crate::ports::{KeyLookup, LicensingStore};
use crate::product::Sku;
use chrono::{DateTime, Duration, Utc};
use devforge_domain::{Clock, NewAuditEntry, Role, UserId};
use std::sync::Arc;

/// Tunables of the licensing rules.
#[derive(Debug, Clone, Copy)]
pub struct LicensingConfig {
    /// Self-service seat releases allowed per license per [`Self::deactivation_window`].
    pub self_deactivations: u32,
    /// The window those are counted in.
    pub deactivation_window: Duration,
    /// Signed certificates kept for reuse by validation, one per (license, machine) slot
    /// (about 130 bytes each); 0 signs every answer anew. See [`crate::certificate_reuse`].
    pub reusable_certificates: usize,
}

impl Default for LicensingConfig {
    fn default() -> Self {
        Self {
            self_deactivations: 3,
            deactivation_window: Duration::hours(24),
            reusable_certificates: 65_536,
        }
    }
}

/// Who is asking: an account and its role (decided by the caller from its token and the
/// database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requester {
    /// The account.
    pub user_id: UserId,
    /// Its current role.
    pub role: Role,
}

impl Requester {
    fn is_admin(self) -> bool {
        self.role == Role::Admin
    }
}

/// What creates a license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    /// The owner.
    pub user_id: UserId,
    /// The product.
    pub product: Sku,
    /// Overrides the product's duration: `Some(None)` for perpetual.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// Overrides the product's seat count.
    pub max_activations: Option<u32>,
}

/// A new license and its key (shown to the caller once here, and later to its owner).
#[derive(Debug, Clone)]
pub struct IssuedLicense {
    /// The license.
    pub license: License,
    /// Its key.
    pub key: LicenseKey,
}

/// The result of an activation.
#[derive(Debug, Clone)]
pub struct ActivationResult {
    /// The seat.
    pub activation: Activation,
    /// Whether it was taken now (false: the machine already had it).
    pub created: bool,
    /// The license, with its seat count after the activation.
    pub license: License,
    /// An offline certificate for the machine.
    pub certificate: String,
}

/// The result of a validation.
#[derive(Debug, Clone)]
pub struct ValidationResult {
    /// The answer.
    pub code: ValidationCode,
    /// The license, unless the key is unknown.
    pub license: Option<License>,
    /// An offline certificate, when the answer is valid.
    pub certificate: Option<String>,
}

/// Products, licenses, seats and validation.
#[derive(Debug, Clone)]
pub struct LicensingService<S, C> {
    store: S,
    clock: C,
    protector: KeyProtector,
    signer: CertificateSigner,
    config: LicensingConfig,
    cache: Option<Arc<dyn ValidationCache>>,
    reuse: Arc<ReusableCertificates>,
}

fn audit(
    actor: Requester,
    action: &str,
    target_type: &str,
    target_id: String,
    detail: serde_json::Value,
    at: DateTime<Utc>,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: Some(actor.user_id),
        action: action.into(),
        target_type: target_type.into(),
        target_id,
        detail,
        at,
    }
}
impl<S: LicensingStore, C: Clock> LicensingService<S, C> {
    /// A service over its ports and secrets.
    pub fn new(
        store: S,
        clock: C,
        protector: KeyProtector,
        signer: CertificateSigner,
        config: LicensingConfig,
    ) -> Self {
        Self {
            store,
            clock,
            protector,
            signer,
            config,
            cache: None,
            reuse: Arc::new(ReusableCertificates::with_slots(
                config.reusable_certificates,
            )),
        }
    }

    /// The same service answering validations from `cache` when it can.
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<dyn ValidationCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    fn invalidate(&self, id: LicenseId) {
        if let Some(cache) = &self.cache {
            cache.invalidate_license(id);
        }
    }

    /// The same service (rules, secrets, clock) over another store, e.g. a connection pool
    /// of one server worker's own.
    pub fn with_store<S2: LicensingStore>(&self, store: S2) -> LicensingService<S2, C>
    where
        C: Clone,
    {
        LicensingService {
            store,
            clock: self.clock.clone(),
            protector: self.protector.clone(),
            signer: self.signer.clone(),
            config: self.config,
            cache: self.cache.clone(),
            reuse: Arc::clone(&self.reuse),
        }
    }

    /// The keys that verify offline certificates.
    #[must_use]
    pub fn public_keys(&self) -> &[PublicKey] {
        self.signer.public_keys()
    }

    /// A certificate for `license` on this machine: the one signed for it before, when
    /// [`ReusableCertificates`] may hand it out again, otherwise a new one, kept for next time.
    pub(super) fn certificate(
        &self,
        license: &License,
        fingerprint: Option<&Fingerprint>,
        now: DateTime<Utc>,
    ) -> Result<String, LicensingError> {
        let signer = self.signer.identity();
        let internal = |e: CertificateError| LicensingError::Internal(e.to_string());
        if let Some(kept) = self.reuse.reusable(license, fingerprint, signer, now) {
            return self
                .signer
                .reassemble(license, fingerprint, &kept)
                .map_err(internal);
        }
        let (token, signature) = self
            .signer
            .issue_reusable(license, fingerprint, now)
            .map_err(internal)?;
        self.reuse.keep(license, fingerprint, signer, signature);
        Ok(token)
    }

    /// The license stored under `hash`, with the hash compared again in constant time.
    pub(super) async fn stored_by_key(
        &self,
        hash: &KeyHash,
        fingerprint: Option<&Fingerprint>,
    ) -> Result<Option<KeyLookup>, LicensingError> {
        Ok(self
            .store
            .find_by_key(hash, fingerprint)
            .await?
            .filter(|found| found.key_hash.constant_time_eq(hash)))
    }
}
