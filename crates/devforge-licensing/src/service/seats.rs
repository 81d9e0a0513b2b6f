//! Machine seats: activating a key on a machine and releasing the seat again, by the key
//! holder (throttled) or by the owner or an admin.

use super::{ActivationResult, LicensingService, Requester, audit};
use crate::activation::{Activation, ActivationId, ActivationOutcome, Fingerprint, parse_label};
use crate::error::LicensingError;
use crate::event::{Actor, EventKind, NewLicenseEvent};
use crate::key::LicenseKey;
use crate::license::{License, LicenseId, Standing};
use crate::ports::{DeactivationOutcome, DeactivationThrottle, LicensingStore, SeatSelector};
use devforge_domain::{Clock, NewAuditEntry};
use serde_json::json;

impl<S: LicensingStore, C: Clock> LicensingService<S, C> {
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
        let certificate = self.certificate(&license, Some(&fingerprint), now)?;
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
}
