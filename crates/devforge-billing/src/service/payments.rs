//! Creating payments (idempotently, intent included), reading them, and confirming them
//! against the gateway when a webhook is late.

use super::{BillingService, Payer};
use crate::desk::LicenseDesk;
use crate::error::BillingError;
use crate::event::IntentStatus;
use crate::gateway::{IntentRequest, PaymentGateway};
use crate::payment::{IdempotencyKey, Payment, PaymentId, PaymentStatus, Refund};
use crate::ports::{BillingStore, NewPayment, PaymentChange, PaymentFilter, Reservation};
use devforge_domain::{Clock, Page, PageRequest, UserId};
use sha2::{Digest as _, Sha256};

/// What the client asks to pay for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// The product's SKU.
    pub product: String,
    /// A license of the payer's to renew instead of issuing a new one.
    pub renew_license_id: Option<uuid::Uuid>,
}

/// A payment with what it produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentView {
    /// The payment.
    pub payment: Payment,
    /// Its refunds.
    pub refunds: Vec<Refund>,
    /// Whether it was created by this request (false: an idempotent replay).
    pub created: bool,
}

/// The digest that tells a replay (same key, same request) from a reused key.
fn fingerprint(request: &PaymentRequest) -> String {
    let renew = request
        .renew_license_id
        .map(|id| id.to_string())
        .unwrap_or_default();
    hex::encode(Sha256::digest(format!("{}\n{renew}", request.product)))
}

/// Our payment's status for the gateway intent's.
pub(super) fn status_of(intent: IntentStatus) -> PaymentStatus {
    match intent {
        IntentStatus::RequiresPayment => PaymentStatus::RequiresPayment,
        IntentStatus::Processing => PaymentStatus::Processing,
        IntentStatus::Succeeded => PaymentStatus::Succeeded,
        IntentStatus::Canceled => PaymentStatus::Canceled,
    }
}

impl<S: BillingStore, G: PaymentGateway, L: LicenseDesk, C: Clock> BillingService<S, G, L, C> {
    /// Starts a payment: stores it under the client's idempotency key, then creates the
    /// gateway customer (once per payer) and the payment intent, each with a key stored
    /// before the call. Repeating the request with the same key returns the same payment,
    /// finishing it first if an earlier attempt stopped half-way.
    ///
    /// # Errors
    /// [`BillingError::UnknownProduct`], [`BillingError::NotRenewable`],
    /// [`BillingError::IdempotencyKeyReused`], [`BillingError::Gateway`].
    pub async fn start_payment(
        &self,
        payer: Payer,
        email: &str,
        key: &str,
        request: PaymentRequest,
    ) -> Result<PaymentView, BillingError> {
        let key = IdempotencyKey::parse(key)?;
        // A replay is answered from what was stored, whatever changed since (a product taken
        // off sale, a license renewed meanwhile): the same key, the same payment.
        if let Some((payment, earlier)) = self.store.payment_by_key(payer.user_id, &key).await? {
            if earlier != fingerprint(&request) {
                return Err(BillingError::IdempotencyKeyReused);
            }
            return self.finish(payment, email, false).await;
        }
        let price = self
            .desk
            .price(&request.product)
            .await?
            .filter(|price| price.active && price.amount.minor_units() > 0)
            .ok_or(BillingError::UnknownProduct)?;
        if let Some(license) = request.renew_license_id {
            self.desk
                .check_renewable(payer.user_id, license, &request.product)
                .await
                .map_err(|err| match err {
                    crate::desk::DeskError::NotRenewable(why) => BillingError::NotRenewable(why),
                    other => other.into(),
                })?;
        }
        let now = self.clock.now();
        let new = NewPayment {
            payment: Payment {
                id: PaymentId::generate(),
                user_id: payer.user_id,
                product: request.product.clone(),
                renew_license_id: request.renew_license_id,
                amount: price.amount,
                status: PaymentStatus::RequiresPayment,
                intent_id: None,
                client_secret: None,
                amount_refunded: 0,
                amount_reserved: 0,
                dispute: None,
                license_id: None,
                created_at: now,
                updated_at: now,
            },
            idempotency_key: key,
            fingerprint: fingerprint(&request),
        };
        let (payment, created) = match self.store.insert_payment(new).await? {
            Reservation::Created(payment) => (payment, true),
            Reservation::Existing {
                payment,
                fingerprint: earlier,
            } => {
                if earlier != fingerprint(&request) {
                    return Err(BillingError::IdempotencyKeyReused);
                }
                (payment, false)
            }
        };
        self.finish(payment, email, created).await
    }

    /// Creates the gateway intent of a stored payment if an earlier attempt did not.
    async fn finish(
        &self,
        payment: Payment,
        email: &str,
        created: bool,
    ) -> Result<PaymentView, BillingError> {
        let payment = if payment.intent_id.is_some() {
            payment
        } else {
            self.create_intent(payment, email).await?
        };
        Ok(PaymentView {
            refunds: Vec::new(),
            payment,
            created,
        })
    }

    async fn create_intent(&self, payment: Payment, email: &str) -> Result<Payment, BillingError> {
        let customer = match self.store.customer_of(payment.user_id).await? {
            Some(customer) => customer,
            None => {
                // Keyed by this payment, stored before the call: a retry of this payment
                // replays the same customer; another payment racing it makes its own, and
                // the first one saved wins.
                let key = format!("devforge-customer-{}", payment.id);
                let created = self
                    .gateway
                    .create_customer(payment.user_id, email, &key)
                    .await?;
                self.store.save_customer(payment.user_id, &created).await?
            }
        };
        let request = IntentRequest {
            customer_id: customer,
            amount: payment.amount,
            payment_id: payment.id,
            user_id: payment.user_id,
            sku: payment.product.clone(),
            idempotency_key: format!("devforge-intent-{}", payment.id),
        };
        let intent = self.gateway.create_intent(request).await?;
        Ok(self
            .store
            .attach_intent(payment.id, &intent, self.clock.now())
            .await?)
    }

    /// A payment with its refunds, for its payer or staff.
    ///
    /// # Errors
    /// [`BillingError::PaymentNotFound`], also for other payers' payments.
    pub async fn payment(&self, payer: Payer, id: PaymentId) -> Result<PaymentView, BillingError> {
        let payment = self
            .store
            .find_payment(id)
            .await?
            .filter(|p| payer.is_staff() || p.user_id == payer.user_id)
            .ok_or(BillingError::PaymentNotFound)?;
        let refunds = self.store.refunds_of(id).await?;
        Ok(PaymentView {
            payment,
            refunds,
            created: false,
        })
    }

    /// Payments: one's own; staff see all and may filter by payer.
    ///
    /// # Errors
    /// [`BillingError::Store`].
    pub async fn payments(
        &self,
        payer: Payer,
        user: Option<UserId>,
        status: Option<PaymentStatus>,
        page: PageRequest,
    ) -> Result<Page<Payment>, BillingError> {
        let filter = PaymentFilter {
            user_id: if payer.is_staff() {
                user
            } else {
                Some(payer.user_id)
            },
            status,
        };
        Ok(self.store.list_payments(filter, page).await?)
    }

    /// Re-reads the payment's intent from the gateway and applies its status, for when the
    /// webhook is late. Only the gateway's word counts, never the client's.
    ///
    /// # Errors
    /// [`BillingError::PaymentNotFound`], [`BillingError::Gateway`].
    pub async fn confirm(&self, payer: Payer, id: PaymentId) -> Result<PaymentView, BillingError> {
        let view = self.payment(payer, id).await?;
        if view.payment.user_id != payer.user_id {
            return Err(BillingError::PaymentNotFound);
        }
        let Some(intent_id) = view.payment.intent_id.clone() else {
            return Ok(view);
        };
        let intent = self.gateway.retrieve_intent(&intent_id).await?;
        let change = PaymentChange::Status(status_of(intent.status));
        self.record(None, Some(&intent_id), Some(change)).await?;
        self.payment(payer, id).await
    }
}

impl<S: BillingStore, G: PaymentGateway, L: LicenseDesk, C: Clock> BillingService<S, G, L, C> {
    /// Revenue and payment counts for the admin dashboard.
    ///
    /// # Errors
    /// [`BillingError::Store`].
    pub async fn stats(&self) -> Result<crate::ports::BillingStats, BillingError> {
        Ok(self.store.billing_stats().await?)
    }
}
