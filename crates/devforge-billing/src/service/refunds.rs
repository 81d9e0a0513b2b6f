//! Refunds made by admins through the API. The amount is reserved in storage first (so
//! parallel refunds can never exceed the payment), then asked of the gateway under a key
//! derived from the admin's, then settled; a refund in full revokes the license.

use super::{BillingService, PaymentView};
use crate::desk::LicenseDesk;
use crate::error::BillingError;
use crate::gateway::{GatewayError, PaymentGateway};
use crate::payment::{IdempotencyKey, PaymentId};
use crate::ports::{BillingStore, RefundReservation};
use devforge_domain::{Clock, InvalidValue};
use sha2::{Digest as _, Sha256};

/// The status of a refund reserved in storage but not yet answered by the gateway.
pub const RESERVED: &str = "reserved";

impl<S: BillingStore, G: PaymentGateway, L: LicenseDesk, C: Clock> BillingService<S, G, L, C> {
    /// Refunds `amount` (default: all that is left) of a succeeded payment.
    ///
    /// # Errors
    /// [`BillingError::PaymentNotFound`], [`BillingError::NotRefundable`],
    /// [`BillingError::RefundExceedsPayment`], [`BillingError::Gateway`].
    pub async fn refund(
        &self,
        id: PaymentId,
        key: &str,
        amount: Option<i64>,
        reason: Option<String>,
    ) -> Result<PaymentView, BillingError> {
        let key = IdempotencyKey::parse(key)?;
        if amount.is_some_and(|a| a <= 0) {
            return Err(InvalidValue::new("amount", "must be positive").into());
        }
        let payment = self
            .store
            .find_payment(id)
            .await?
            .ok_or(BillingError::PaymentNotFound)?;
        let now = self.clock.now();
        let refund = match self
            .store
            .reserve_refund(id, amount, reason, &key, now)
            .await?
        {
            RefundReservation::Reserved(refund) => refund,
            // An earlier attempt whose gateway call had no known outcome: ask again under
            // the same key, which the gateway answers with the refund it made, if any.
            RefundReservation::Existing(refund) if refund.status == RESERVED => refund,
            RefundReservation::Existing(_) => {
                // Settled before; make sure its effect on the license happened too.
                if let Some(payment) = self.store.find_payment(id).await? {
                    self.ensure_effects(payment, false).await?;
                }
                return self.staff_view(id).await;
            }
            RefundReservation::NotRefundable(status) => {
                return Err(BillingError::NotRefundable(status));
            }
            RefundReservation::Exceeds { refundable } => {
                return Err(BillingError::RefundExceedsPayment { refundable });
            }
        };
        let intent = payment.intent_id.clone().unwrap_or_default();
        // Derived from the admin's key (hashed: any length fits the gateway's 255).
        let gateway_key = format!(
            "devforge-refund-{id}-{}",
            &hex::encode(Sha256::digest(key.as_str()))[..32]
        );
        match self
            .gateway
            .create_refund(&intent, refund.amount, key.as_str(), &gateway_key)
            .await
        {
            Ok(done) => {
                let settled = self
                    .store
                    .settle_refund(id, &key, Some(&done.id), &done.status, self.clock.now())
                    .await?;
                if let Some(payment) = settled {
                    self.ensure_effects(payment, false).await?;
                }
                self.staff_view(id).await
            }
            Err(GatewayError::Rejected { code, message }) => {
                self.store
                    .settle_refund(id, &key, None, "failed", self.clock.now())
                    .await?;
                Err(GatewayError::Rejected { code, message }.into())
            }
            // Unknown outcome: keep the reservation; retrying with the same key settles it.
            Err(unavailable) => Err(unavailable.into()),
        }
    }

    async fn staff_view(&self, id: PaymentId) -> Result<PaymentView, BillingError> {
        let payment = self
            .store
            .find_payment(id)
            .await?
            .ok_or(BillingError::PaymentNotFound)?;
        let refunds = self.store.refunds_of(id).await?;
        Ok(PaymentView {
            payment,
            refunds,
            created: false,
        })
    }
}
