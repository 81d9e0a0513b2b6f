//! What happens to a license after it is issued: renewals, suspension, reinstatement and
//! revocation, by an admin or on billing's behalf. Every change drops the license from the
//! validation cache.

use super::{LicensingService, Requester, audit};
use crate::error::LicensingError;
use crate::event::{Actor, EventKind, NewLicenseEvent};
use crate::license::{License, LicenseId, LicenseStatus};
use crate::ports::LicensingStore;
use devforge_domain::{Clock, InvalidValue, StoreError};
use serde_json::json;

impl<S: LicensingStore, C: Clock> LicensingService<S, C> {
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

    pub(super) async fn extend(
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
}
