//! The identity service's data.

use crate::password::PasswordHash;
use crate::tokens::RefreshTokenHash;
use chrono::{DateTime, Utc};
use devforge_domain::{Email, Role, UserId};
use std::collections::BTreeMap;

/// An account as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// The account's id.
    pub id: UserId,
    /// The login name; unique.
    pub email: Email,
    /// A display name, if given.
    pub name: Option<String>,
    /// What the account may do.
    pub role: Role,
    /// A disabled account cannot log in, refresh, or use its access tokens.
    pub disabled: bool,
    /// The bcrypt hash of the password.
    pub password_hash: PasswordHash,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// An account about to be created.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// The account's id.
    pub id: UserId,
    /// The login name.
    pub email: Email,
    /// A display name.
    pub name: Option<String>,
    /// The initial role.
    pub role: Role,
    /// The bcrypt hash of the password.
    pub password_hash: PasswordHash,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// One refresh token of a session family, about to be stored.
///
/// A *family* is everything that descends from one login by rotation. Reusing a token
/// that was already rotated means it leaked, so the whole family is revoked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// The token's own id.
    pub id: uuid::Uuid,
    /// The family (one per login).
    pub family_id: uuid::Uuid,
    /// The owner.
    pub user_id: UserId,
    /// SHA-256 of the opaque refresh token; the token itself is never stored.
    pub token_hash: RefreshTokenHash,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// After this the token is refused.
    pub expires_at: DateTime<Utc>,
}

/// A refresh token's stored state, as found by its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    /// The token's id.
    pub id: uuid::Uuid,
    /// The family it belongs to.
    pub family_id: uuid::Uuid,
    /// The owner.
    pub user_id: UserId,
    /// After this the token is refused.
    pub expires_at: DateTime<Utc>,
    /// Set once the token has been exchanged for a new one.
    pub rotated_at: Option<DateTime<Utc>>,
    /// Set when the token (or its family) was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What happened when a refresh token was exchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum RotationOutcome {
    /// The old token is spent and the new one stored.
    Rotated,
    /// The token had already been used (or revoked) by someone: the family is now revoked.
    Reused,
}

/// An authenticated caller, decided from a verified token and the account's current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// Who is calling.
    pub user_id: UserId,
    /// Their role as stored now (not as it was when the token was issued).
    pub role: Role,
}

/// What a successful register, login or refresh hands back.
#[derive(Debug, Clone)]
pub struct AuthSession {
    /// The account.
    pub user: User,
    /// A signed JWT for the `Authorization: Bearer` header.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The opaque refresh token (shown once; stored only hashed).
    pub refresh_token: crate::tokens::RefreshToken,
}

/// Filters for the admin's user list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Only accounts with this role.
    pub role: Option<Role>,
    /// Only accounts whose email contains this text (case-insensitive).
    pub email_contains: Option<String>,
}

/// An admin's change to an account. `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserPatch {
    /// A new role.
    pub role: Option<Role>,
    /// Disable or re-enable the account.
    pub disabled: Option<bool>,
}

/// Account counts for the admin dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserStats {
    /// All accounts.
    pub total: u64,
    /// Disabled accounts.
    pub disabled: u64,
    /// Accounts per role name.
    pub by_role: BTreeMap<String, u64>,
}
