//! The licensing service: the rules of products, licenses, seats and validation.

use crate::activation::{Activation, ActivationId, ActivationOutcome, Fingerprint, parse_label};
use crate::cache::{CacheAnswer, ValidationCache};
use crate::certificate::{CertificateSigner, PublicKey};
use crate::error::LicensingError;
use crate::event::{Actor, EventKind, LicenseEvent, NewLicenseEvent};
use crate::key::LicenseKey;
use crate::key_protection::{KeyHash, KeyProtector};
use crate::license::{License, LicenseId, LicenseSource, LicenseStatus, Standing, ValidationCode};
use crate::ports::{
    DeactivationOutcome, DeactivationThrottle, KeyLookup, LicenseFilter, LicensingStore,
    NewLicense, SeatSelector,
};
use crate::product::{NewProduct, Product, ProductChanges, ProductPatch, Sku};
use chrono::{DateTime, Duration, Utc};
use devforge_domain::{
    Clock, InvalidValue, NewAuditEntry, Page, PageRequest, Role, StoreError, UserId,
};
use serde_json::json;
use std::sync::Arc;

/// Tunables of the licensing rules.
#[derive(Debug, Clone, Copy)]
pub struct LicensingConfig {
    /// Self-service seat releases allowed per license per [`Self::deactivation_window`].
    pub self_deactivations: u32,
    /// The window those are counted in.
    pub deactivation_window: Duration,
}

impl Default for LicensingConfig {
    fn default() -> Self {
        Self {
            self_deactivations: 3,
            deactivation_window: Duration::hours(24),
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
        }
    }

    /// The keys that verify offline certificates.
    #[must_use]
    pub fn public_keys(&self) -> &[PublicKey] {
        self.signer.public_keys()
    }

    // ----- products -------------------------------------------------------------------

    /// Adds a product (admins).
    ///
    /// # Errors
    /// [`LicensingError::SkuTaken`].
    pub async fn create_product(
        &self,
        actor: Requester,
        new: NewProduct,
    ) -> Result<Product, LicensingError> {
        let product = Product {
            sku: new.sku,
            name: new.name,
            price: new.price,
            terms: new.terms,
            entitlements: new.entitlements,
            active: new.active,
            created_at: self.clock.now(),
        };
        let entry = audit(
            actor,
            "product.created",
            "product",
            product.sku.to_string(),
            json!({ "name": product.name, "price": product.price.minor_units(), "currency": product.price.currency().code() }),
            self.clock.now(),
        );
        match self.store.insert_product(product, entry).await {
            Err(StoreError::Duplicate { .. }) => Err(LicensingError::SkuTaken),
            other => Ok(other?),
        }
    }

    /// Changes a product (admins). Licenses already issued keep their terms.
    ///
    /// # Errors
    /// [`LicensingError::ProductNotFound`], [`LicensingError::Invalid`] when the merged
    /// terms break a rule.
    pub async fn update_product(
        &self,
        actor: Requester,
        sku: &Sku,
        changes: ProductChanges,
    ) -> Result<Product, LicensingError> {
        let current = self
            .store
            .find_product(sku)
            .await?
            .ok_or(LicensingError::ProductNotFound)?;
        let patch: ProductPatch = changes.into_patch(&current)?;
        let detail = json!({
            "name": patch.name, "active": patch.active,
            "price": patch.price.map(|p| p.minor_units()),
            "terms_changed": patch.terms.is_some(), "entitlements_changed": patch.entitlements.is_some(),
        });
        let entry = audit(
            actor,
            "product.updated",
            "product",
            sku.to_string(),
            detail,
            self.clock.now(),
        );
        self.store
            .update_product(sku, patch, entry)
            .await?
            .ok_or(LicensingError::ProductNotFound)
    }

    /// A product; inactive ones only for admins.
    ///
    /// # Errors
    /// [`LicensingError::ProductNotFound`].
    pub async fn product(
        &self,
        sku: &Sku,
        include_inactive: bool,
    ) -> Result<Product, LicensingError> {
        self.store
            .find_product(sku)
            .await?
            .filter(|product| product.active || include_inactive)
            .ok_or(LicensingError::ProductNotFound)
    }

    /// The catalogue.
    ///
    /// # Errors
    /// [`LicensingError::Store`].
    pub async fn products(
        &self,
        include_inactive: bool,
        page: PageRequest,
    ) -> Result<Page<Product>, LicensingError> {
        Ok(self.store.list_products(include_inactive, page).await?)
    }

    // ----- licenses -------------------------------------------------------------------

    /// Issues a license with a new key, by an admin or for a payment.
    ///
    /// # Errors
    /// [`LicensingError::ProductNotFound`], [`LicensingError::UnknownUser`],
    /// [`LicensingError::PaymentAlreadyFulfilled`], [`LicensingError::Invalid`] for an
    /// expiry in the past or a seat count out of range.
    pub async fn issue(
        &self,
        request: IssueRequest,
        source: LicenseSource,
    ) -> Result<IssuedLicense, LicensingError> {
        let now = self.clock.now();
        let product = self
            .store
            .find_product(&request.product)
            .await?
            .ok_or(LicensingError::ProductNotFound)?;
        if !product.active && matches!(source, LicenseSource::Admin(_)) {
            return Err(InvalidValue::new("product", "the product is not active").into());
        }
        let expires_at = match request.expires_at {
            Some(explicit) => explicit,
            None => product
                .terms
                .duration_days
                .map(|days| now + Duration::days(i64::from(days))),
        };
        if expires_at.is_some_and(|expiry| expiry <= now) {
            return Err(InvalidValue::new("expires_at", "must be in the future").into());
        }
        if expires_at.is_some_and(|expiry| expiry > crate::license::latest_expiry()) {
            return Err(InvalidValue::new("expires_at", "must be before the year 10000").into());
        }
        let max_activations = request
            .max_activations
            .unwrap_or(product.terms.max_activations);
        if !(1..=1000).contains(&max_activations) {
            return Err(InvalidValue::new("max_activations", "must be between 1 and 1000").into());
        }
        let key = LicenseKey::generate();
        let id = LicenseId::generate();
        let (actor, audit_entry) = match &source {
            LicenseSource::Admin(admin) => {
                let requester = Requester {
                    user_id: *admin,
                    role: Role::Admin,
                };
                let entry = audit(
                    requester,
                    "license.issued",
                    "license",
                    id.to_string(),
                    json!({ "user_id": request.user_id, "product": product.sku.as_str() }),
                    now,
                );
                (Actor::User(*admin), Some(entry))
            }
            LicenseSource::Payment(_) => (Actor::System, None),
        };
        let event = NewLicenseEvent {
            kind: EventKind::Issued,
            actor,
            detail: json!({ "source": source.encode(), "expires_at": expires_at, "max_activations": max_activations }),
            at: now,
        };
        let new_license = NewLicense {
            id,
            user_id: request.user_id,
            product: product.sku.clone(),
            key_hash: self.protector.lookup_hash(&key),
            sealed_key: self.protector.seal(&key),
            issued_at: now,
            expires_at,
            grace_days: product.terms.grace_days,
            max_activations,
            entitlements: product.entitlements.clone(),
            source,
        };
        let license = match self
            .store
            .insert_license(new_license, event, audit_entry)
            .await
        {
            Err(StoreError::MissingReference { .. }) => return Err(LicensingError::UnknownUser),
            Err(StoreError::Duplicate { .. }) => {
                return Err(LicensingError::PaymentAlreadyFulfilled);
            }
            other => other?,
        };
        Ok(IssuedLicense { license, key })
    }

    /// A license its owner or an admin may see; anyone else gets "not found".
    ///
    /// # Errors
    /// [`LicensingError::LicenseNotFound`].
    pub async fn license_for(
        &self,
        requester: Requester,
        id: LicenseId,
    ) -> Result<License, LicensingError> {
        self.store
            .find_license(id)
            .await?
            .filter(|license| requester.is_admin() || license.user_id == requester.user_id)
            .ok_or(LicensingError::LicenseNotFound)
    }

    /// The key of a license, for its owner or an admin.
    ///
    /// # Errors
    /// [`LicensingError::LicenseNotFound`]; [`LicensingError::Internal`] when the stored
    /// key cannot be decrypted (a wrong encryption key in the configuration).
    pub async fn key_for(
        &self,
        requester: Requester,
        id: LicenseId,
    ) -> Result<(License, LicenseKey), LicensingError> {
        let license = self.license_for(requester, id).await?;
        let sealed = self
            .store
            .sealed_key(id)
            .await?
            .ok_or(LicensingError::LicenseNotFound)?;
        let key = self
            .protector
            .open(&sealed)
            .map_err(|e| LicensingError::Internal(e.to_string()))?;
        Ok((license, key))
    }

    /// Licenses: one's own, or (admins) anyone's with filters.
    ///
    /// # Errors
    /// [`LicensingError::Store`].
    pub async fn licenses(
        &self,
        requester: Requester,
        mut filter: LicenseFilter,
        page: PageRequest,
    ) -> Result<Page<License>, LicensingError> {
        if !requester.is_admin() {
            filter.user_id = Some(requester.user_id);
        }
        Ok(self.store.list_licenses(filter, page).await?)
    }

    /// Whether `user` holds an active license, not expired past its grace period, that
    /// carries `entitlement` (what paid marketplace extensions ask).
    ///
    /// # Errors
    /// [`LicensingError::Store`].
    pub async fn holds_entitlement(
        &self,
        user: UserId,
        entitlement: &str,
    ) -> Result<bool, LicensingError> {
        let now = self.clock.now();
        let filter = LicenseFilter {
            user_id: Some(user),
            product: None,
            status: Some(LicenseStatus::Active),
        };
        let mut page = 1;
        loop {
            let request = PageRequest::new(Some(page), Some(PageRequest::MAX_PER_PAGE))?;
            let found = self.store.list_licenses(filter.clone(), request).await?;
            let holds = found.items.iter().any(|license| {
                license.standing(now) != Standing::Expired
                    && license
                        .entitlements
                        .iter()
                        .any(|e| e.as_str() == entitlement)
            });
            if holds {
                return Ok(true);
            }
            if page * PageRequest::MAX_PER_PAGE >= found.total {
                return Ok(false);
            }
            page += 1;
        }
    }

    /// A license's history, for its owner or an admin.
    ///
    /// # Errors
    /// [`LicensingError::LicenseNotFound`].
    pub async fn events(
        &self,
        requester: Requester,
        id: LicenseId,
        page: PageRequest,
    ) -> Result<Page<LicenseEvent>, LicensingError> {
        self.license_for(requester, id).await?;
        Ok(self.store.list_events(id, page).await?)
    }

    /// Extends a license (admins): from the later of now and its expiry, by `days` or the
    /// product's duration.
    ///
    /// # Errors
    /// [`LicensingError::LicenseNotFound`], [`LicensingError::Revoked`],
    /// [`LicensingError::Invalid`] (a perpetual product without `days`),
    /// [`LicensingError::Conflict`] when concurrent renewals keep winning.
    pub async fn renew(
        &self,
        actor: Requester,
        id: LicenseId,
        days: Option<u32>,
    ) -> Result<License, LicensingError> {
        if days.is_some_and(|d| !(1..=36_500).contains(&d)) {
            return Err(InvalidValue::new("days", "must be between 1 and 36500").into());
        }
        self.extend(Some(actor), id, days, None).await
    }

    /// Renews a license by its product's duration for a payment, once: a second call for
    /// the same payment changes nothing and returns the license.
    ///
    /// # Errors
    /// As [`Self::renew`].
    pub async fn renew_for_payment(
        &self,
        payment: &str,
        id: LicenseId,
    ) -> Result<License, LicensingError> {
        match self.extend(None, id, None, Some(payment.to_owned())).await {
            Err(LicensingError::Store(StoreError::Duplicate { .. })) => self
                .store
                .find_license(id)
                .await?
                .ok_or(LicensingError::LicenseNotFound),
            other => other,
        }
    }

    async fn extend(
        &self,
        admin: Option<Requester>,
        id: LicenseId,
        days: Option<u32>,
        payment: Option<String>,
    ) -> Result<License, LicensingError> {
        for _ in 0..3 {
            let license = self
                .store
                .find_license(id)
                .await?
                .ok_or(LicensingError::LicenseNotFound)?;
            if license.status == LicenseStatus::Revoked {
                return Err(LicensingError::Revoked);
            }
            let days = match days {
                Some(days) => days,
                None => self
                    .store
                    .find_product(&license.product)
                    .await?
                    .and_then(|product| product.terms.duration_days)
                    .ok_or_else(|| {
                        InvalidValue::new("days", "the product is perpetual: name the days")
                    })?,
            };
            let now = self.clock.now();
            let renewed = license.renewed_expiry(now, days)?;
            let event = NewLicenseEvent {
                kind: EventKind::Renewed,
                actor: admin.map_or(Actor::System, |a| Actor::User(a.user_id)),
                detail: json!({ "days": days, "from": license.expires_at, "to": renewed, "payment": payment }),
                at: now,
            };
            let entry = admin.map(|admin| {
                audit(
                    admin,
                    "license.renewed",
                    "license",
                    id.to_string(),
                    json!({ "days": days, "expires_at": renewed }),
                    now,
                )
            });
            if let Some(updated) = self
                .store
                .renew_license(
                    id,
                    license.expires_at,
                    renewed,
                    payment.clone(),
                    event,
                    entry,
                )
                .await?
            {
                self.invalidate(id);
                return Ok(updated);
            }
        }
        Err(LicensingError::Conflict)
    }

    /// Issues the license a payment buys, once: a second call for the same payment returns
    /// the license the first one issued.
    ///
    /// # Errors
    /// [`LicensingError::ProductNotFound`], [`LicensingError::UnknownUser`].
    pub async fn issue_for_payment(
        &self,
        payment: &str,
        user_id: UserId,
        product: &str,
    ) -> Result<License, LicensingError> {
        let request = IssueRequest {
            user_id,
            product: Sku::parse(product).map_err(|_| LicensingError::ProductNotFound)?,
            expires_at: None,
            max_activations: None,
        };
        match self
            .issue(request, LicenseSource::Payment(payment.to_owned()))
            .await
        {
            Ok(issued) => Ok(issued.license),
            Err(LicensingError::PaymentAlreadyFulfilled) => self
                .store
                .find_by_payment(payment)
                .await?
                .ok_or(LicensingError::LicenseNotFound),
            Err(other) => Err(other),
        }
    }

    /// Changes a license's status on billing's behalf (a refund, a dispute), when it is in
    /// one of `from`; otherwise leaves it as it is. Returns the license either way.
    ///
    /// # Errors
    /// [`LicensingError::LicenseNotFound`].
    pub async fn settle_status(
        &self,
        id: LicenseId,
        from: &[LicenseStatus],
        to: LicenseStatus,
        reason: Option<String>,
    ) -> Result<License, LicensingError> {
        let now = self.clock.now();
        let event = NewLicenseEvent {
            kind: match to {
                LicenseStatus::Active => EventKind::Reinstated,
                LicenseStatus::Suspended => EventKind::Suspended,
                LicenseStatus::Revoked => EventKind::Revoked,
            },
            actor: Actor::System,
            detail: json!({ "reason": reason }),
            at: now,
        };
        if let Some(updated) = self
            .store
            .change_status(id, from, to, reason, event, None)
            .await?
        {
            self.invalidate(id);
            return Ok(updated);
        }
        self.store
            .find_license(id)
            .await?
            .ok_or(LicensingError::LicenseNotFound)
    }

    /// Suspends an active license (admins).
    ///
    /// # Errors
    /// [`LicensingError::LicenseNotFound`], [`LicensingError::InvalidTransition`].
    pub async fn suspend(
        &self,
        actor: Requester,
        id: LicenseId,
        reason: String,
    ) -> Result<License, LicensingError> {
        self.transition(
            actor,
            id,
            &[LicenseStatus::Active],
            LicenseStatus::Suspended,
            Some(reason),
        )
        .await
    }

    /// Reinstates a suspended license (admins).
    ///
    /// # Errors
    /// [`LicensingError::LicenseNotFound`], [`LicensingError::InvalidTransition`].
    pub async fn reinstate(
        &self,
        actor: Requester,
        id: LicenseId,
    ) -> Result<License, LicensingError> {
        self.transition(
            actor,
            id,
            &[LicenseStatus::Suspended],
            LicenseStatus::Active,
            None,
        )
        .await
    }

    /// Revokes a license for good (admins).
    ///
    /// # Errors
    /// [`LicensingError::LicenseNotFound`], [`LicensingError::InvalidTransition`].
    pub async fn revoke(
        &self,
        actor: Requester,
        id: LicenseId,
        reason: String,
    ) -> Result<License, LicensingError> {
        self.transition(
            actor,
            id,
            &[LicenseStatus::Active, LicenseStatus::Suspended],
            LicenseStatus::Revoked,
            Some(reason),
        )
        .await
    }

    async fn transition(
        &self,
        actor: Requester,
        id: LicenseId,
        from: &[LicenseStatus],
        to: LicenseStatus,
        reason: Option<String>,
    ) -> Result<License, LicensingError> {
        let now = self.clock.now();
        let kind = match to {
            LicenseStatus::Active => EventKind::Reinstated,
            LicenseStatus::Suspended => EventKind::Suspended,
            LicenseStatus::Revoked => EventKind::Revoked,
        };
        let event = NewLicenseEvent {
            kind,
            actor: Actor::User(actor.user_id),
            detail: json!({ "reason": reason }),
            at: now,
        };
        let entry = audit(
            actor,
            &format!("license.{}", kind.as_str()),
            "license",
            id.to_string(),
            json!({ "reason": reason }),
            now,
        );
        if let Some(updated) = self
            .store
            .change_status(id, from, to, reason, event, Some(entry))
            .await?
        {
            self.invalidate(id);
            return Ok(updated);
        }
        let current = self
            .store
            .find_license(id)
            .await?
            .ok_or(LicensingError::LicenseNotFound)?;
        Err(LicensingError::InvalidTransition {
            from: current.status.as_str(),
            to: to.as_str(),
        })
    }

    // ----- seats ----------------------------------------------------------------------

    /// The license stored under `hash`, with the hash compared again in constant time.
    async fn stored_by_key(
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

    /// The license a key the caller presents belongs to.
    async fn license_by_key(&self, key: &str) -> Result<License, LicensingError> {
        let key = LicenseKey::parse(key)?;
        let hash = self.protector.lookup_hash(&key);
        self.stored_by_key(&hash, None)
            .await?
            .map(|found| found.license)
            .ok_or(LicensingError::LicenseNotFound)
    }

    async fn usable_by_key(&self, key: &str) -> Result<License, LicensingError> {
        let license = self.license_by_key(key).await?;
        if let Some(refusal) = LicensingError::for_status(license.status) {
            return Err(refusal);
        }
        if license.standing(self.clock.now()) == Standing::Expired {
            return Err(LicensingError::Expired);
        }
        Ok(license)
    }

    /// Activates a license on a machine; the key is the credential. Activating the same
    /// machine again changes nothing.
    ///
    /// # Errors
    /// [`LicensingError::MalformedKey`], [`LicensingError::LicenseNotFound`],
    /// [`LicensingError::Revoked`], [`LicensingError::Suspended`],
    /// [`LicensingError::Expired`], [`LicensingError::ActivationLimitReached`].
    pub async fn activate(
        &self,
        key: &str,
        fingerprint: &str,
        name: Option<&str>,
        platform: Option<&str>,
    ) -> Result<ActivationResult, LicensingError> {
        let fingerprint = Fingerprint::parse(fingerprint)?;
        let name = parse_label("name", name)?;
        let platform = parse_label("platform", platform)?;
        let mut license = self.usable_by_key(key).await?;
        let now = self.clock.now();
        let activation = Activation {
            id: ActivationId::generate(),
            license_id: license.id,
            fingerprint: fingerprint.clone(),
            name,
            platform,
            created_at: now,
        };
        let event = NewLicenseEvent {
            kind: EventKind::Activated,
            actor: Actor::KeyHolder,
            detail: json!({ "activation_id": activation.id, "fingerprint": fingerprint.as_str() }),
            at: now,
        };
        let (activation, created) = match self.store.activate(activation, event).await? {
            ActivationOutcome::Created(activation) => {
                self.invalidate(license.id);
                // Re-read: parallel activations may have taken seats meanwhile too.
                if let Some(current) = self.store.find_license(license.id).await? {
                    license = current;
                }
                (activation, true)
            }
            ActivationOutcome::Existing(activation) => (activation, false),
            ActivationOutcome::LimitReached => return Err(LicensingError::ActivationLimitReached),
            ActivationOutcome::NotActive => {
                let current = self
                    .store
                    .find_license(license.id)
                    .await?
                    .ok_or(LicensingError::LicenseNotFound)?;
                return Err(
                    LicensingError::for_status(current.status).unwrap_or(LicensingError::Conflict)
                );
            }
        };
        let certificate = self
            .signer
            .issue(&license, Some(&fingerprint), now)
            .map_err(|e| LicensingError::Internal(e.to_string()))?;
        Ok(ActivationResult {
            activation,
            created,
            license,
            certificate,
        })
    }

    /// Frees the seat of a machine; the key is the credential. Throttled per license.
    ///
    /// # Errors
    /// [`LicensingError::MalformedKey`], [`LicensingError::LicenseNotFound`],
    /// [`LicensingError::ActivationNotFound`], [`LicensingError::DeactivationLimitReached`].
    pub async fn deactivate_by_key(
        &self,
        key: &str,
        fingerprint: &str,
    ) -> Result<(), LicensingError> {
        let fingerprint = Fingerprint::parse(fingerprint)?;
        let license = self.license_by_key(key).await?;
        self.release(
            license.id,
            SeatSelector::Fingerprint(fingerprint),
            Actor::KeyHolder,
            None,
        )
        .await
    }

    /// Frees a seat by id: the owner (throttled) or an admin (not throttled, audited).
    ///
    /// # Errors
    /// [`LicensingError::LicenseNotFound`], [`LicensingError::ActivationNotFound`],
    /// [`LicensingError::DeactivationLimitReached`].
    pub async fn remove_activation(
        &self,
        requester: Requester,
        license_id: LicenseId,
        activation_id: ActivationId,
    ) -> Result<(), LicensingError> {
        self.license_for(requester, license_id).await?;
        let audit_entry = requester.is_admin().then(|| {
            audit(
                requester,
                "license.deactivated",
                "license",
                license_id.to_string(),
                json!({ "activation_id": activation_id }),
                self.clock.now(),
            )
        });
        self.release(
            license_id,
            SeatSelector::Id(activation_id),
            Actor::User(requester.user_id),
            audit_entry,
        )
        .await
    }

    async fn release(
        &self,
        license_id: LicenseId,
        seat: SeatSelector,
        actor: Actor,
        audit_entry: Option<NewAuditEntry>,
    ) -> Result<(), LicensingError> {
        let now = self.clock.now();
        let throttle = audit_entry.is_none().then_some(DeactivationThrottle {
            since: now - self.config.deactivation_window,
            limit: self.config.self_deactivations,
        });
        let detail = match &seat {
            SeatSelector::Fingerprint(fingerprint) => {
                json!({ "fingerprint": fingerprint.as_str(), "self_service": throttle.is_some() })
            }
            SeatSelector::Id(id) => {
                json!({ "activation_id": id, "self_service": throttle.is_some() })
            }
        };
        let event = NewLicenseEvent {
            kind: EventKind::Deactivated,
            actor,
            detail,
            at: now,
        };
        match self
            .store
            .deactivate(license_id, seat, throttle, event, audit_entry)
            .await?
        {
            DeactivationOutcome::Released(_) => {
                self.invalidate(license_id);
                Ok(())
            }
            DeactivationOutcome::NotFound => Err(LicensingError::ActivationNotFound),
            DeactivationOutcome::Throttled => Err(LicensingError::DeactivationLimitReached),
        }
    }

    /// The seats of a license, for its owner or an admin.
    ///
    /// # Errors
    /// [`LicensingError::LicenseNotFound`].
    pub async fn activations(
        &self,
        requester: Requester,
        license_id: LicenseId,
    ) -> Result<Vec<Activation>, LicensingError> {
        self.license_for(requester, license_id).await?;
        Ok(self.store.list_activations(license_id).await?)
    }

    // ----- validation -----------------------------------------------------------------

    /// Validates a key, optionally for a machine and a product: from the cache when it can
    /// answer, otherwise one database query.
    /// Unknown keys answer `NOT_FOUND` and nothing else.
    ///
    /// # Errors
    /// [`LicensingError::MalformedKey`] (before any lookup), [`LicensingError::Invalid`]
    /// for a bad fingerprint or SKU, [`LicensingError::Store`].
    pub async fn validate(
        &self,
        key: &str,
        fingerprint: Option<&str>,
        product: Option<&str>,
    ) -> Result<ValidationResult, LicensingError> {
        let key = LicenseKey::parse(key)?;
        let fingerprint = fingerprint.map(Fingerprint::parse).transpose()?;
        let product = product.map(Sku::parse).transpose()?;
        let hash = self.protector.lookup_hash(&key);
        let now = self.clock.now();
        let evaluate = |found: &KeyLookup| {
            found
                .license
                .evaluate(now, product.as_ref(), found.activated_here)
        };
        // The cache may be behind a change made on another instance a moment ago (a new
        // seat, a renewal, a reinstatement): only positive answers come from memory alone,
        // and a refusal is confirmed by the database.
        let cached = match self
            .cache
            .as_ref()
            .map(|c| c.lookup(&hash, fingerprint.as_ref()))
        {
            Some(CacheAnswer::Found(found)) => {
                let code = evaluate(&found);
                code.is_valid().then_some((found, code))
            }
            Some(CacheAnswer::Unknown) | None => None,
        };
        let (found, code) = match cached {
            Some(hit) => hit,
            None => match self.stored_by_key(&hash, fingerprint.as_ref()).await? {
                Some(found) => {
                    let code = evaluate(&found);
                    (found, code)
                }
                None => {
                    return Ok(ValidationResult {
                        code: ValidationCode::NotFound,
                        license: None,
                        certificate: None,
                    });
                }
            },
        };
        let certificate = if code.is_valid() {
            Some(
                self.signer
                    .issue(&found.license, fingerprint.as_ref(), now)
                    .map_err(|e| LicensingError::Internal(e.to_string()))?,
            )
        } else {
            None
        };
        Ok(ValidationResult {
            code,
            license: Some(found.license),
            certificate,
        })
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
