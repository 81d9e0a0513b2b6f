//! The storage billing needs, as traits it owns.
//!
//! Limits are decided inside these methods, atomically: one payment per client idempotency
//! key, one recorded effect per gateway event, status changes that only move forward, and
//! refunds that never exceed what was paid, even under parallel requests.

use crate::event::GatewayEvent;
use crate::gateway::Intent;
use crate::payment::{DisputeState, IdempotencyKey, Payment, PaymentId, PaymentStatus, Refund};
use chrono::{DateTime, Utc};
use devforge_domain::{Page, PageRequest, StoreError, UserId};
use std::collections::BTreeMap;
use std::future::Future;

/// A payment about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    /// The payment (without intent yet).
    pub payment: Payment,
    /// The client's key.
    pub idempotency_key: IdempotencyKey,
    /// A digest of the request, to tell a replay from a reused key.
    pub fingerprint: String,
}

/// What storing a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// It is new.
    Created(Payment),
    /// The payer already used this key: the earlier payment and its request digest.
    Existing {
        /// The earlier payment.
        payment: Payment,
        /// Its request's digest.
        fingerprint: String,
    },
}

/// Filters of payment lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    /// Only this payer's.
    pub user_id: Option<UserId>,
    /// Only in this status.
    pub status: Option<PaymentStatus>,
}

/// A change to a payment, named by its gateway intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentChange {
    /// Move to a status (only forward: see [`PaymentStatus::may_become`]).
    Status(PaymentStatus),
    /// The gateway's refunded total for the charge (never lowers what is recorded).
    RefundedTotal(i64),
    /// A refund the gateway reports (created in the dashboard, or one of ours).
    Refund {
        /// Its gateway id.
        gateway_id: String,
        /// Its amount.
        amount: i64,
        /// Its status.
        status: String,
        /// Our reference (the admin's key) for refunds billing asked for.
        reference: Option<String>,
    },
    /// A dispute opened or closed (a closed one never reopens).
    Dispute(DisputeState),
}

/// What applying a gateway event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The event is new; the payment it concerns as it now is (if it is one of ours), and
    /// whether anything about it changed.
    Fresh {
        /// The payment.
        payment: Option<Payment>,
        /// Whether the change altered it.
        changed: bool,
    },
    /// The event was applied before; nothing changed. The payment as it is.
    Replayed(Option<Payment>),
}

/// What reserving a refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundReservation {
    /// Reserved: the amount is set aside until the gateway answers.
    Reserved(Refund),
    /// This admin key was used before: that refund.
    Existing(Refund),
    /// The payment has not succeeded.
    NotRefundable(PaymentStatus),
    /// More than what is left.
    Exceeds {
        /// What is left.
        refundable: i64,
    },
}

/// Revenue and counts for the admin dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillingStats {
    /// Per currency (ISO code): (gross paid, refunded).
    pub revenue: BTreeMap<String, (i64, i64)>,
    /// Payments per status.
    pub by_status: BTreeMap<String, u64>,
}

/// Payments, refunds, gateway customers and processed gateway events.
pub trait BillingStore: Send + Sync + 'static {
    /// The gateway customer of `user`.
    ///
    /// # Errors
    /// [`StoreError`].
    fn customer_of(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Records the gateway customer of `user`; when one was recorded meanwhile, keeps and
    /// returns that one.
    ///
    /// # Errors
    /// [`StoreError`].
    fn save_customer(
        &self,
        user: UserId,
        customer_id: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// The payment the payer stored under `key`, with its request digest.
    ///
    /// # Errors
    /// [`StoreError`].
    fn payment_by_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> impl Future<Output = Result<Option<(Payment, String)>, StoreError>> + Send;

    /// Stores a payment unless the payer already used its idempotency key.
    ///
    /// # Errors
    /// [`StoreError`].
    fn insert_payment(
        &self,
        new: NewPayment,
    ) -> impl Future<Output = Result<Reservation, StoreError>> + Send;

    /// Records the gateway intent of a payment.
    ///
    /// # Errors
    /// [`StoreError`].
    fn attach_intent(
        &self,
        id: PaymentId,
        intent: &Intent,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Payment, StoreError>> + Send;

    /// A payment by id.
    ///
    /// # Errors
    /// [`StoreError`].
    fn find_payment(
        &self,
        id: PaymentId,
    ) -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send;

    /// Payments matching `filter`, newest first.
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_payments(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Payment>, StoreError>> + Send;

    /// A payment's refunds, oldest first.
    ///
    /// # Errors
    /// [`StoreError`].
    fn refunds_of(
        &self,
        id: PaymentId,
    ) -> impl Future<Output = Result<Vec<Refund>, StoreError>> + Send;

    /// Applies `change` to the payment of `intent_id`. With an `event`, records it in the
    /// same transaction; an event recorded before changes nothing ([`Applied::Replayed`]).
    ///
    /// # Errors
    /// [`StoreError`]; nothing is recorded then.
    fn apply(
        &self,
        event: Option<&GatewayEvent>,
        intent_id: Option<&str>,
        change: Option<PaymentChange>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    /// Records the license a payment issued or renewed.
    ///
    /// # Errors
    /// [`StoreError`].
    fn mark_fulfilled(
        &self,
        id: PaymentId,
        license_id: uuid::Uuid,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Payment, StoreError>> + Send;

    /// Succeeded payments without their license yet (after a crash), oldest first.
    ///
    /// # Errors
    /// [`StoreError`].
    fn unfulfilled(
        &self,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<Payment>, StoreError>> + Send;

    /// Reserves `amount` of a succeeded payment for a refund under the admin's key,
    /// atomically: parallel reservations never exceed what was paid.
    ///
    /// # Errors
    /// [`StoreError`].
    fn reserve_refund(
        &self,
        id: PaymentId,
        amount: Option<i64>,
        reason: Option<String>,
        key: &IdempotencyKey,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<RefundReservation, StoreError>> + Send;

    /// Records the gateway's answer to a reserved refund: the reserved amount becomes
    /// refunded, or (for a failed refund) is released.
    ///
    /// # Errors
    /// [`StoreError`].
    fn settle_refund(
        &self,
        id: PaymentId,
        key: &IdempotencyKey,
        gateway_id: Option<&str>,
        status: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send;

    /// Revenue and counts.
    ///
    /// # Errors
    /// [`StoreError`].
    fn billing_stats(&self) -> impl Future<Output = Result<BillingStats, StoreError>> + Send;
}
