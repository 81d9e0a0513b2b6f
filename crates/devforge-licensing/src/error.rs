//! What the licensing service can refuse, and why.

use crate::key::KeyError;
use crate::license::LicenseStatus;
use devforge_domain::{InvalidValue, StoreError};

/// Every way a licensing operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum LicensingError {
    /// Input broke a rule of its type.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The text is not a well-formed license key (checked before any lookup).
    #[error(transparent)]
    MalformedKey(#[from] KeyError),
    /// A product with this SKU exists.
    #[error("a product with this SKU already exists")]
    SkuTaken,
    /// No such product.
    #[error("product not found")]
    ProductNotFound,
    /// No such license (or not the caller's).
    #[error("license not found")]
    LicenseNotFound,
    /// The owner named for a new license does not exist.
    #[error("no user with this id")]
    UnknownUser,
    /// The license is revoked.
    #[error("the license has been revoked")]
    Revoked,
    /// The license is suspended.
    #[error("the license is suspended")]
    Suspended,
    /// The license has expired (past its grace period).
    #[error("the license has expired")]
    Expired,
    /// Every seat is taken.
    #[error("the license is activated on the maximum number of machines")]
    ActivationLimitReached,
    /// No such seat.
    #[error("activation not found")]
    ActivationNotFound,
    /// Too many self-service seat releases recently.
    #[error("too many deactivations for this license; try again later")]
    DeactivationLimitReached,
    /// The status cannot change this way (e.g. reinstating a revoked license).
    #[error("a {from} license cannot become {to}")]
    InvalidTransition {
        /// The current status.
        from: &'static str,
        /// The requested status.
        to: &'static str,
    },
    /// Two renewals raced and this one kept losing.
    #[error("the license changed while renewing; try again")]
    Conflict,
    /// A license already exists for this payment.
    #[error("a license already exists for this payment")]
    PaymentAlreadyFulfilled,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key could not be decrypted or a certificate signed (broken configuration).
    #[error("{0}")]
    Internal(String),
}

impl LicensingError {
    /// The refusal for using a license in `status` (for anything but `Active`).
    #[must_use]
    pub fn for_status(status: LicenseStatus) -> Option<Self> {
        match status {
            LicenseStatus::Active => None,
            LicenseStatus::Suspended => Some(Self::Suspended),
            LicenseStatus::Revoked => Some(Self::Revoked),
        }
    }
}
