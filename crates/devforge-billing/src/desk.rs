//! The port toward licensing: what billing needs from it, in billing's terms. The API
//! crate implements it by calling the licensing service, so billing never reaches into
//! licensing's tables.
//!
//! Every fulfilment method is idempotent per payment: calling it again (after a crash, a
//! replayed webhook, or a race between the webhook and `/confirm`) returns what the first
//! call did instead of issuing or renewing twice.

use crate::payment::PaymentId;
use devforge_domain::{Money, UserId};
use std::future::Future;

/// A product's price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    /// What it costs.
    pub amount: Money,
    /// Whether it is on sale.
    pub active: bool,
}

/// Why licensing could not do what billing asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    /// The license to renew is not the payer's, is revoked, or is for another product.
    #[error("{0}")]
    NotRenewable(&'static str),
    /// Anything else (storage, configuration).
    #[error("licensing failed: {0}")]
    Failed(String),
}

/// What billing asks of licensing.
pub trait LicenseDesk: Send + Sync + 'static {
    /// The price of `sku`, if such a product exists.
    ///
    /// # Errors
    /// [`DeskError::Failed`].
    fn price(&self, sku: &str) -> impl Future<Output = Result<Option<Price>, DeskError>> + Send;

    /// Checks that `license_id` may be renewed by a payment of `user_id` for `sku`.
    ///
    /// # Errors
    /// [`DeskError::NotRenewable`] with the reason.
    fn check_renewable(
        &self,
        user_id: UserId,
        license_id: uuid::Uuid,
        sku: &str,
    ) -> impl Future<Output = Result<(), DeskError>> + Send;

    /// Issues the license a payment buys, once: a second call returns the same license.
    ///
    /// # Errors
    /// [`DeskError`].
    fn issue_for_payment(
        &self,
        payment: PaymentId,
        user_id: UserId,
        sku: &str,
    ) -> impl Future<Output = Result<uuid::Uuid, DeskError>> + Send;

    /// Renews a license by its product's duration for a payment, once.
    ///
    /// # Errors
    /// [`DeskError`].
    fn renew_for_payment(
        &self,
        payment: PaymentId,
        license_id: uuid::Uuid,
    ) -> impl Future<Output = Result<(), DeskError>> + Send;

    /// Revokes a license (a refund in full, a lost dispute). Revoking a revoked license
    /// changes nothing.
    ///
    /// # Errors
    /// [`DeskError`].
    fn revoke(
        &self,
        license_id: uuid::Uuid,
        reason: &str,
    ) -> impl Future<Output = Result<(), DeskError>> + Send;

    /// Suspends a license while a dispute is open (no-op unless active).
    ///
    /// # Errors
    /// [`DeskError`].
    fn suspend(
        &self,
        license_id: uuid::Uuid,
        reason: &str,
    ) -> impl Future<Output = Result<(), DeskError>> + Send;

    /// Reinstates a license suspended for a dispute that was won (no-op unless suspended).
    ///
    /// # Errors
    /// [`DeskError`].
    fn reinstate(
        &self,
        license_id: uuid::Uuid,
    ) -> impl Future<Output = Result<(), DeskError>> + Send;
}
