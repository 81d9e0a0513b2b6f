//! Identity: accounts, passwords, sessions and access tokens.
//!
//! [`IdentityService`] holds the rules (password policy, login throttling, refresh-token
//! rotation with reuse detection, who may change which account). It reaches storage only
//! through the ports in [`ports`], and password hashing through [`PasswordHasher`], so it
//! runs the same against the SQL adapters in production and the in-memory fakes in its unit
//! tests. It knows nothing of HTTP.

#![warn(missing_docs)]

pub mod error;
pub mod model;
pub mod password;
pub mod ports;
pub mod service;
pub mod throttle;
pub mod tokens;

#[cfg(test)]
mod fakes;

pub use error::IdentityError;
pub use model::{
    AuthSession, NewSession, NewUser, Principal, User, UserFilter, UserPatch, UserStats,
};
pub use password::{BcryptHasher, Password, PasswordHash, PasswordHasher};
pub use ports::{IdentityStore, LoginThrottleRepository, SessionRepository, UserRepository};
pub use service::{IdentityConfig, IdentityService, Registration};
pub use throttle::{AttemptCounter, LoginThrottlePolicy, LoginThrottleVerdict, ReservedAttempt};
pub use tokens::{AccessTokenClaims, AccessTokens, RefreshToken, RefreshTokenHash};
