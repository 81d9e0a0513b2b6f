//! The storage the identity service needs, as traits it owns.
//!
//! Operations that must change several rows together (rotate a refresh token, disable an
//! account and end its sessions, change an account and write the audit entry) are single
//! port methods, so each adapter can make them one transaction and the service never sees a
//! half-applied change.

use crate::model::{
    NewSession, NewUser, RotationOutcome, StoredSession, User, UserFilter, UserPatch, UserStats,
};
use crate::throttle::{LoginThrottlePolicy, LoginThrottleVerdict};
use crate::tokens::RefreshTokenHash;
use chrono::{DateTime, Utc};
use devforge_domain::{AuditLog, Email, NewAuditEntry, Page, PageRequest, StoreError, UserId};
use std::future::Future;

/// Accounts.
pub trait UserRepository: Send + Sync + 'static {
    /// Stores a new account, and `audit` with it when given.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`] with constraint `users_email` when an account
    /// with the same email exists, also when two inserts race.
    fn insert_user(
        &self,
        user: NewUser,
        audit: Option<NewAuditEntry>,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// The account with this (normalised) email.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn find_user_by_email(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// The account with this id.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn find_user(
        &self,
        id: UserId,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Accounts matching `filter`, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn list_users(
        &self,
        filter: UserFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<User>, StoreError>> + Send;

    /// Applies `patch` and writes `audit` in one transaction; when the patch disables the
    /// account, every session of it is revoked in the same transaction. `Ok(None)` when no
    /// account has this id.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails; nothing is changed then.
    fn update_user(
        &self,
        id: UserId,
        patch: UserPatch,
        audit: NewAuditEntry,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Counts for the admin dashboard.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn user_stats(&self) -> impl Future<Output = Result<UserStats, StoreError>> + Send;
}

/// Refresh tokens and their families.
pub trait SessionRepository: Send + Sync + 'static {
    /// Stores a new refresh token.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn insert_session(
        &self,
        session: NewSession,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The refresh token stored under `hash`.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn find_session(
        &self,
        hash: &RefreshTokenHash,
    ) -> impl Future<Output = Result<Option<StoredSession>, StoreError>> + Send;

    /// Exchanges the token `old` for `new`, atomically: when `old` is neither rotated nor
    /// revoked it is marked rotated at `now`, `new` is stored, and the result is
    /// [`RotationOutcome::Rotated`]. Otherwise (another request spent it first) the whole
    /// family of `old` is revoked and the result is [`RotationOutcome::Reused`]. Of two
    /// racing calls for one token, at most one rotates.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails; nothing is changed then.
    fn rotate_session(
        &self,
        old: &StoredSession,
        new: NewSession,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RotationOutcome, StoreError>> + Send;

    /// Revokes every token of a family (logout, or reuse detected).
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn revoke_family(
        &self,
        family_id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Failed-login counting per email and client (see [`crate::throttle`]).
pub trait LoginThrottleRepository: Send + Sync + 'static {
    /// Reserves one login attempt for `email` from `client` (its IP address as text),
    /// before the password is checked, so parallel attempts cannot outrun the limits: reads
    /// the email's counter and the client's, applies [`LoginThrottlePolicy::reserve`] at
    /// `now`, and stores both counters, all in one transaction that holds both rows
    /// (the email's first) until it ends.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn reserve_login_attempt(
        &self,
        email: &Email,
        client: &str,
        now: DateTime<Utc>,
        policy: &LoginThrottlePolicy,
    ) -> impl Future<Output = Result<LoginThrottleVerdict, StoreError>> + Send;

    /// Forgets the attempts of `email`, over all clients and from `client`, after a
    /// successful login from `client`. Other clients' locks on the email stay.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn clear_login_failures(
        &self,
        email: &Email,
        client: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Everything the identity service stores; implemented by any type that has all the parts.
pub trait IdentityStore:
    UserRepository + SessionRepository + LoginThrottleRepository + AuditLog
{
}

impl<T> IdentityStore for T where
    T: UserRepository + SessionRepository + LoginThrottleRepository + AuditLog
{
}
