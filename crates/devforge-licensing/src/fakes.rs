//! In-memory implementations of the licensing ports, for the service's unit tests. They
//! keep the same contracts as the SQL adapters, with one mutex standing in for
//! transactions.

use crate::activation::{Activation, ActivationOutcome};
use crate::event::{EventKind, LicenseEvent, NewLicenseEvent};
use crate::key_protection::KeyHash;
use crate::license::{License, LicenseId, LicenseSource, LicenseStatus};
use crate::ports::{
    ActivationRepository, DeactivationOutcome, DeactivationThrottle, KeyLookup, LicenseFilter,
    LicenseRepository, NewLicense, ProductRepository, SeatSelector,
};
use crate::product::{Product, ProductPatch, Sku};
use chrono::{DateTime, Utc};
use devforge_domain::{NewAuditEntry, Page, PageRequest, StoreError, UserId};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
struct State {
    users: HashSet<UserId>,
    products: Vec<Product>,
    licenses: Vec<(License, KeyHash, Vec<u8>)>,
    activations: Vec<Activation>,
    events: Vec<(LicenseEvent, bool)>,
    audit: Vec<NewAuditEntry>,
    renewal_payments: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct FakeStore(Arc<Mutex<State>>);

impl FakeStore {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn add_user(&self, id: UserId) {
        self.state().users.insert(id);
    }

    /// Changes a status behind the service's back (another instance did it).
    pub fn set_status(&self, id: LicenseId, status: LicenseStatus) {
        if let Some((license, _, _)) = self
            .state()
            .licenses
            .iter_mut()
            .find(|(l, _, _)| l.id == id)
        {
            license.status = status;
        }
    }

    pub fn audit_actions(&self) -> Vec<String> {
        self.state()
            .audit
            .iter()
            .map(|e| e.action.clone())
            .collect()
    }

    fn push_event(
        state: &mut State,
        license_id: LicenseId,
        event: NewLicenseEvent,
        self_service: bool,
    ) {
        let id = i64::try_from(state.events.len()).unwrap_or(i64::MAX) + 1;
        state.events.push((
            LicenseEvent {
                id,
                license_id,
                event,
            },
            self_service,
        ));
    }
}

impl ProductRepository for FakeStore {
    async fn insert_product(
        &self,
        product: Product,
        audit: NewAuditEntry,
    ) -> Result<Product, StoreError> {
        let mut state = self.state();
        if state.products.iter().any(|p| p.sku == product.sku) {
            return Err(StoreError::Duplicate {
                constraint: "products_pkey".into(),
            });
        }
        state.products.push(product.clone());
        state.audit.push(audit);
        Ok(product)
    }

    async fn find_product(&self, sku: &Sku) -> Result<Option<Product>, StoreError> {
        Ok(self
            .state()
            .products
            .iter()
            .find(|p| &p.sku == sku)
            .cloned())
    }

    async fn list_products(
        &self,
        include_inactive: bool,
        page: PageRequest,
    ) -> Result<Page<Product>, StoreError> {
        let mut all: Vec<Product> = self
            .state()
            .products
            .iter()
            .filter(|p| include_inactive || p.active)
            .cloned()
            .collect();
        all.sort_by(|a, b| a.sku.cmp(&b.sku));
        Ok(Page::slice(all, page))
    }

    async fn update_product(
        &self,
        sku: &Sku,
        patch: ProductPatch,
        audit: NewAuditEntry,
    ) -> Result<Option<Product>, StoreError> {
        let mut state = self.state();
        let Some(product) = state.products.iter_mut().find(|p| &p.sku == sku) else {
            return Ok(None);
        };
        if let Some(name) = patch.name {
            product.name = name;
        }
        if let Some(price) = patch.price {
            product.price = price;
        }
        if let Some(terms) = patch.terms {
            product.terms = terms;
        }
        if let Some(entitlements) = patch.entitlements {
            product.entitlements = entitlements;
        }
        if let Some(active) = patch.active {
            product.active = active;
        }
        let updated = product.clone();
        state.audit.push(audit);
        Ok(Some(updated))
    }
}

impl LicenseRepository for FakeStore {
    async fn insert_license(
        &self,
        new: NewLicense,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> Result<License, StoreError> {
        let mut state = self.state();
        if !state.users.contains(&new.user_id)
            || !state.products.iter().any(|p| p.sku == new.product)
        {
            return Err(StoreError::MissingReference {
                constraint: "licenses_user_or_product".into(),
            });
        }
        if state.licenses.iter().any(|(l, _, _)| {
            l.source == new.source && matches!(l.source, crate::license::LicenseSource::Payment(_))
        }) {
            return Err(StoreError::Duplicate {
                constraint: "licenses_payment_id".into(),
            });
        }
        let license = License {
            id: new.id,
            user_id: new.user_id,
            product: new.product,
            status: LicenseStatus::Active,
            issued_at: new.issued_at,
            expires_at: new.expires_at,
            grace_days: new.grace_days,
            max_activations: new.max_activations,
            activations_count: 0,
            entitlements: new.entitlements,
            source: new.source,
            revocation_reason: None,
            revision: 0,
        };
        state
            .licenses
            .push((license.clone(), new.key_hash, new.sealed_key));
        Self::push_event(&mut state, license.id, event, false);
        state.audit.extend(audit);
        Ok(license)
    }

    async fn find_license(&self, id: LicenseId) -> Result<Option<License>, StoreError> {
        Ok(self
            .state()
            .licenses
            .iter()
            .find(|(l, _, _)| l.id == id)
            .map(|(l, _, _)| l.clone()))
    }

    async fn find_by_payment(&self, payment: &str) -> Result<Option<License>, StoreError> {
        let source = LicenseSource::Payment(payment.to_owned());
        Ok(self
            .state()
            .licenses
            .iter()
            .find(|(l, _, _)| l.source == source)
            .map(|(l, _, _)| l.clone()))
    }

    async fn sealed_key(&self, id: LicenseId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .state()
            .licenses
            .iter()
            .find(|(l, _, _)| l.id == id)
            .map(|(_, _, k)| k.clone()))
    }

    async fn find_by_key(
        &self,
        hash: &KeyHash,
        fingerprint: Option<&crate::activation::Fingerprint>,
    ) -> Result<Option<KeyLookup>, StoreError> {
        let state = self.state();
        Ok(state
            .licenses
            .iter()
            .find(|(_, h, _)| h == hash)
            .map(|(license, key_hash, _)| KeyLookup {
                license: license.clone(),
                key_hash: key_hash.clone(),
                activated_here: fingerprint.map(|f| {
                    state
                        .activations
                        .iter()
                        .any(|a| a.license_id == license.id && &a.fingerprint == f)
                }),
            }))
    }

    async fn list_licenses(
        &self,
        filter: LicenseFilter,
        page: PageRequest,
    ) -> Result<Page<License>, StoreError> {
        let all: Vec<License> = self
            .state()
            .licenses
            .iter()
            .rev()
            .map(|(l, _, _)| l.clone())
            .filter(|l| filter.user_id.is_none_or(|u| u == l.user_id))
            .filter(|l| filter.product.as_ref().is_none_or(|p| *p == l.product))
            .filter(|l| filter.status.is_none_or(|s| s == l.status))
            .collect();
        Ok(Page::slice(all, page))
    }

    async fn change_status(
        &self,
        id: LicenseId,
        from: &[LicenseStatus],
        to: LicenseStatus,
        reason: Option<String>,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> Result<Option<License>, StoreError> {
        let mut state = self.state();
        let Some((license, _, _)) = state
            .licenses
            .iter_mut()
            .find(|(l, _, _)| l.id == id && from.contains(&l.status))
        else {
            return Ok(None);
        };
        license.status = to;
        license.revocation_reason = reason;
        license.revision += 1;
        let updated = license.clone();
        Self::push_event(&mut state, id, event, false);
        state.audit.extend(audit);
        Ok(Some(updated))
    }

    async fn renew_license(
        &self,
        id: LicenseId,
        current: Option<DateTime<Utc>>,
        renewed: DateTime<Utc>,
        payment: Option<String>,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> Result<Option<License>, StoreError> {
        let mut state = self.state();
        if let Some(payment) = &payment
            && state.renewal_payments.contains(payment)
        {
            return Err(StoreError::Duplicate {
                constraint: "license_payment_renewals_pkey".into(),
            });
        }
        let Some((license, _, _)) = state.licenses.iter_mut().find(|(l, _, _)| {
            l.id == id && l.expires_at == current && l.status != LicenseStatus::Revoked
        }) else {
            return Ok(None);
        };
        license.expires_at = Some(renewed);
        license.revision += 1;
        let updated = license.clone();
        state.renewal_payments.extend(payment);
        Self::push_event(&mut state, id, event, false);
        state.audit.extend(audit);
        Ok(Some(updated))
    }

    async fn list_events(
        &self,
        id: LicenseId,
        page: PageRequest,
    ) -> Result<Page<LicenseEvent>, StoreError> {
        let all: Vec<LicenseEvent> = self
            .state()
            .events
            .iter()
            .filter(|(e, _)| e.license_id == id)
            .map(|(e, _)| e.clone())
            .collect();
        Ok(Page::slice(all, page))
    }
}

impl ActivationRepository for FakeStore {
    async fn activate(
        &self,
        activation: Activation,
        event: NewLicenseEvent,
    ) -> Result<ActivationOutcome, StoreError> {
        let mut state = self.state();
        let active = state
            .licenses
            .iter()
            .any(|(l, _, _)| l.id == activation.license_id && l.status == LicenseStatus::Active);
        if !active {
            return Ok(ActivationOutcome::NotActive);
        }
        if let Some(existing) = state.activations.iter().find(|a| {
            a.license_id == activation.license_id && a.fingerprint == activation.fingerprint
        }) {
            return Ok(ActivationOutcome::Existing(existing.clone()));
        }
        let Some((license, _, _)) = state
            .licenses
            .iter_mut()
            .find(|(l, _, _)| l.id == activation.license_id)
        else {
            return Ok(ActivationOutcome::NotActive);
        };
        if license.status != LicenseStatus::Active {
            return Ok(ActivationOutcome::NotActive);
        }
        if license.activations_count >= license.max_activations {
            return Ok(ActivationOutcome::LimitReached);
        }
        license.activations_count += 1;
        license.revision += 1;
        state.activations.push(activation.clone());
        Self::push_event(&mut state, activation.license_id, event, false);
        Ok(ActivationOutcome::Created(activation))
    }

    async fn deactivate(
        &self,
        license_id: LicenseId,
        seat: SeatSelector,
        throttle: Option<DeactivationThrottle>,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> Result<DeactivationOutcome, StoreError> {
        let mut state = self.state();
        let position = state.activations.iter().position(|a| {
            a.license_id == license_id
                && match &seat {
                    SeatSelector::Fingerprint(f) => &a.fingerprint == f,
                    SeatSelector::Id(id) => a.id == *id,
                }
        });
        let Some(position) = position else {
            return Ok(DeactivationOutcome::NotFound);
        };
        if let Some(throttle) = throttle {
            let recent = state
                .events
                .iter()
                .filter(|(e, self_service)| {
                    *self_service
                        && e.license_id == license_id
                        && e.event.kind == EventKind::Deactivated
                        && e.event.at >= throttle.since
                })
                .count();
            if recent >= usize::try_from(throttle.limit).unwrap_or(usize::MAX) {
                return Ok(DeactivationOutcome::Throttled);
            }
        }
        let removed = state.activations.remove(position);
        if let Some((license, _, _)) = state
            .licenses
            .iter_mut()
            .find(|(l, _, _)| l.id == license_id)
        {
            license.activations_count = license.activations_count.saturating_sub(1);
            license.revision += 1;
        }
        Self::push_event(&mut state, license_id, event, throttle.is_some());
        state.audit.extend(audit);
        Ok(DeactivationOutcome::Released(removed))
    }

    async fn list_activations(&self, license_id: LicenseId) -> Result<Vec<Activation>, StoreError> {
        Ok(self
            .state()
            .activations
            .iter()
            .filter(|a| a.license_id == license_id)
            .cloned()
            .collect())
    }
}
