//! Billing's port toward licensing ([`LicenseDesk`]), implemented by calling the licensing
//! service: billing never touches licensing's tables.

use crate::state::Licensing;
use devforge_billing::PaymentId;
use devforge_billing::desk::{DeskError, LicenseDesk, Price};
use devforge_domain::{Role, UserId};
use devforge_licensing::{LicenseId, LicenseStatus, LicensingError, Requester, Sku};
use std::sync::Arc;

/// The licensing service, seen from billing.
#[derive(Debug, Clone)]
pub struct LicensingDesk {
    licensing: Arc<Licensing>,
}

impl LicensingDesk {
    /// A desk over `licensing`.
    #[must_use]
    pub fn new(licensing: Arc<Licensing>) -> Self {
        Self { licensing }
    }
}

fn failed(err: LicensingError) -> DeskError {
    DeskError::Failed(err.to_string())
}

impl LicenseDesk for LicensingDesk {
    async fn price(&self, sku: &str) -> Result<Option<Price>, DeskError> {
        let Ok(sku) = Sku::parse(sku) else {
            return Ok(None);
        };
        match self.licensing.product(&sku, true).await {
            Ok(product) => Ok(Some(Price {
                amount: product.price,
                active: product.active,
            })),
            Err(LicensingError::ProductNotFound) => Ok(None),
            Err(other) => Err(failed(other)),
        }
    }

    async fn check_renewable(
        &self,
        user_id: UserId,
        license_id: uuid::Uuid,
        sku: &str,
    ) -> Result<(), DeskError> {
        // As the payer: someone else's license is "not found", whatever the payer's role.
        let owner = Requester {
            user_id,
            role: Role::User,
        };
        let license = match self
            .licensing
            .license_for(owner, LicenseId::from_uuid(license_id))
            .await
        {
            Ok(license) => license,
            Err(LicensingError::LicenseNotFound) => {
                return Err(DeskError::NotRenewable("no license of yours has this id"));
            }
            Err(other) => return Err(failed(other)),
        };
        if license.status == LicenseStatus::Revoked {
            return Err(DeskError::NotRenewable(
                "a revoked license cannot be renewed",
            ));
        }
        if license.product.as_str() != sku {
            return Err(DeskError::NotRenewable(
                "the license is for another product",
            ));
        }
        if license.expires_at.is_none() {
            return Err(DeskError::NotRenewable("the license never expires"));
        }
        Ok(())
    }

    async fn issue_for_payment(
        &self,
        payment: PaymentId,
        user_id: UserId,
        sku: &str,
    ) -> Result<uuid::Uuid, DeskError> {
        self.licensing
            .issue_for_payment(&payment.to_string(), user_id, sku)
            .await
            .map(|license| license.id.as_uuid())
            .map_err(failed)
    }

    async fn renew_for_payment(
        &self,
        payment: PaymentId,
        license_id: uuid::Uuid,
    ) -> Result<(), DeskError> {
        self.licensing
            .renew_for_payment(&payment.to_string(), LicenseId::from_uuid(license_id))
            .await
            .map(|_| ())
            .map_err(failed)
    }

    async fn revoke(&self, license_id: uuid::Uuid, reason: &str) -> Result<(), DeskError> {
        let from = [LicenseStatus::Active, LicenseStatus::Suspended];
        self.settle(license_id, &from, LicenseStatus::Revoked, Some(reason))
            .await
    }

    async fn suspend(&self, license_id: uuid::Uuid, reason: &str) -> Result<(), DeskError> {
        let from = [LicenseStatus::Active];
        self.settle(license_id, &from, LicenseStatus::Suspended, Some(reason))
            .await
    }

    async fn reinstate(&self, license_id: uuid::Uuid) -> Result<(), DeskError> {
        let from = [LicenseStatus::Suspended];
        self.settle(license_id, &from, LicenseStatus::Active, None)
            .await
    }
}

impl LicensingDesk {
    async fn settle(
        &self,
        license_id: uuid::Uuid,
        from: &[LicenseStatus],
        to: LicenseStatus,
        reason: Option<&str>,
    ) -> Result<(), DeskError> {
        self.licensing
            .settle_status(
                LicenseId::from_uuid(license_id),
                from,
                to,
                reason.map(str::to_owned),
            )
            .await
            .map(|_| ())
            .map_err(failed)
    }
}

/// The marketplace's entitlement check, answered by the licensing service.
#[derive(Debug, Clone)]
pub struct LicensingEntitlements {
    licensing: Arc<Licensing>,
}

impl LicensingEntitlements {
    /// A check over `licensing`.
    #[must_use]
    pub fn new(licensing: Arc<Licensing>) -> Self {
        Self { licensing }
    }
}

impl devforge_marketplace::ports::EntitlementCheck for LicensingEntitlements {
    async fn holds(&self, user: UserId, entitlement: &str) -> Result<bool, String> {
        self.licensing
            .holds_entitlement(user, entitlement)
            .await
            .map_err(|e| e.to_string())
    }
}
