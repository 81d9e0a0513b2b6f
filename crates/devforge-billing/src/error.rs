//! What billing can refuse, and why.

use crate::desk::DeskError;
use crate::gateway::GatewayError;
use crate::payment::PaymentStatus;
use devforge_domain::{InvalidValue, StoreError};

/// Every way a billing operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// Input broke a rule of its type.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No such product, or not on sale.
    #[error("no such product on sale")]
    UnknownProduct,
    /// The license named for renewal cannot be renewed by this payment.
    #[error("{0}")]
    NotRenewable(&'static str),
    /// The idempotency key was used for a different request.
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    /// No such payment, or not the caller's.
    #[error("payment not found")]
    PaymentNotFound,
    /// A refund of a payment that has not succeeded.
    #[error("a {} payment cannot be refunded", .0.as_str())]
    NotRefundable(PaymentStatus),
    /// A refund larger than what is left.
    #[error("the refund exceeds what is left to refund ({refundable})")]
    RefundExceedsPayment {
        /// What is left, in minor units.
        refundable: i64,
    },
    /// A webhook whose signature does not verify.
    #[error(transparent)]
    Signature(#[from] crate::signature::SignatureError),
    /// A webhook body that is not an event.
    #[error(transparent)]
    Undecodable(#[from] crate::event::UndecodableEvent),
    /// The gateway failed or refused.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// Licensing failed.
    #[error(transparent)]
    Desk(#[from] DeskError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
