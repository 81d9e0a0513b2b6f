//! Bodies of the `/v1/auth` routes.

use super::role::RoleDto;
use chrono::{DateTime, Utc};
use devforge_identity::{AuthSession, User};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/auth/register`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The login email (trimmed and lower-cased).
    #[garde(length(min = 1, max = 320))]
    #[schema(min_length = 1, max_length = 320)]
    pub email: String,
    /// At least 12 characters, at most 72 bytes, not easily guessed.
    #[garde(length(min = 1, max = 1024))]
    #[schema(min_length = 1, max_length = 1024)]
    #[schema(format = Password)]
    pub password: String,
    /// Display name.
    #[garde(length(chars, max = 100))]
    #[schema(max_length = 100)]
    pub name: Option<String>,
}

/// `POST /v1/auth/login`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The login email.
    #[garde(length(min = 1, max = 320))]
    #[schema(min_length = 1, max_length = 320)]
    pub email: String,
    /// The password.
    #[garde(length(min = 1, max = 1024))]
    #[schema(min_length = 1, max_length = 1024)]
    #[schema(format = Password)]
    pub password: String,
}

/// `POST /v1/auth/refresh` and `POST /v1/auth/logout`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    #[garde(length(min = 1, max = 512))]
    #[schema(min_length = 1, max_length = 512)]
    pub refresh_token: String,
}

/// The caller's own account.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// Account id.
    pub id: uuid::Uuid,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Role.
    pub role: RoleDto,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<User> for MeResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.as_str().to_owned(),
            name: user.name,
            role: user.role.into(),
            created_at: user.created_at,
        }
    }
}

/// A new session: the account and its tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    /// The account.
    pub user: MeResponse,
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque token for `/v1/auth/refresh`; shown once.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

impl From<AuthSession> for AuthResponse {
    fn from(session: AuthSession) -> Self {
        Self {
            access_token: session.access_token,
            refresh_token: session.refresh_token.expose().to_owned(),
            token_type: "Bearer",
            expires_in: session.expires_in,
            user: session.user.into(),
        }
    }
}
