//! What the marketplace can refuse, and why.

use crate::ports::PackageError;
use devforge_domain::{InvalidValue, StoreError};

/// Every way a marketplace operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    /// Input broke a rule of its type.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The name is taken.
    #[error("an extension with this name exists")]
    NameTaken,
    /// The name is too close to someone else's extension.
    #[error("the name is too similar to the existing extension `{0}`")]
    NameTooSimilar(String),
    /// No such extension, or not one the caller may see.
    #[error("extension not found")]
    ExtensionNotFound,
    /// No such version, or not one the caller may see.
    #[error("version not found")]
    VersionNotFound,
    /// The version was uploaded before; versions never change.
    #[error("this version exists; versions are immutable")]
    VersionExists,
    /// The version is not in a state this change applies to (e.g. approving twice).
    #[error("{0}")]
    WrongState(&'static str),
    /// The caller may see this but not do that.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A second review by the same user.
    #[error("you have already reviewed this extension")]
    AlreadyReviewed,
    /// No review of the caller's to change.
    #[error("review not found")]
    ReviewNotFound,
    /// A paid extension, and no license with its entitlement.
    #[error("a license with the entitlement `{0}` is required")]
    EntitlementRequired(String),
    /// An anonymous caller asked for a paid extension.
    #[error("log in to download paid extensions")]
    LoginRequired,
    /// The package is larger than one package may be.
    #[error("packages may be at most {limit} bytes")]
    PackageTooLarge {
        /// The largest package accepted, in bytes.
        limit: u64,
    },
    /// The package stopped arriving before its end (the client went away, or sent a broken
    /// body).
    #[error("the package was not received in full")]
    UploadInterrupted,
    /// The publisher has as many versions waiting for review as it may.
    #[error("at most {limit} versions may wait for review at once; wait for a review first")]
    TooManyPendingVersions {
        /// How many may wait.
        limit: u64,
    },
    /// The package would take the publisher past its storage quota.
    #[error("this package would exceed the publisher's storage quota of {limit} bytes")]
    StorageQuotaExceeded {
        /// The quota, in bytes.
        limit: u64,
    },
    /// Package storage failed.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// Licensing could not answer.
    #[error("licensing failed: {0}")]
    Licensing(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
