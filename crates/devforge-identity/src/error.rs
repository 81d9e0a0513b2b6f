//! What the identity service can refuse, and why.

use devforge_domain::{InvalidValue, StoreError};

/// Every way an identity operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Input broke a rule of its type (bad email, weak password, ...).
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// Registration with an email that already has an account.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Wrong email or password; deliberately does not say which.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Too many failed logins for this email; retry after the given number of seconds.
    #[error("too many failed login attempts")]
    LoginLocked {
        /// Seconds until logins are accepted again.
        retry_after_secs: u64,
    },
    /// A refresh token that is unknown, expired, revoked or already used.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// A missing, malformed, expired or forged access token, or one of a disabled account.
    #[error("invalid or expired access token")]
    Unauthenticated,
    /// The account is disabled.
    #[error("account disabled")]
    AccountDisabled,
    /// No account with that id.
    #[error("user not found")]
    UserNotFound,
    /// Admins may not change their own role or disable themselves (no lock-out by mistake).
    #[error("administrators cannot change their own role or disable themselves")]
    CannotModifySelf,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing or token signing failed (a bug or a broken configuration).
    #[error("{0}")]
    Internal(String),
}
