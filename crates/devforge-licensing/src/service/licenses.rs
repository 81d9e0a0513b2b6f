//! Issuing licenses (by an admin or for a payment) and reading them: one's own or, for
//! admins, anyone's.

use super::{IssueRequest, IssuedLicense, LicensingService, Requester, audit};
use crate::error::LicensingError;
use crate::event::{Actor, EventKind, LicenseEvent, NewLicenseEvent};
use crate::key::LicenseKey;
use crate::license::{License, LicenseId, LicenseSource, LicenseStatus, Standing};
use crate::ports::{LicenseFilter, LicensingStore, NewLicense};
use crate::product::Sku;
use chrono::Duration;
use devforge_domain::{Clock, InvalidValue, Page, PageRequest, Role, StoreError, UserId};
use serde_json::json;

impl<S: LicensingStore, C: Clock> LicensingService<S, C> {
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
}
