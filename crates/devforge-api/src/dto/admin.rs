//! Bodies of the `/v1/admin` routes.

use super::role::RoleDto;
use chrono::{DateTime, Utc};
use devforge_domain::AuditEntry;
use devforge_identity::{User, UserStats};
use garde::Validate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Filters of `GET /v1/admin/users`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    /// Only this role.
    #[garde(skip)]
    pub role: Option<RoleDto>,
    /// Only emails containing this text.
    #[garde(length(min = 1, max = 320))]
    #[param(min_length = 1, max_length = 320)]
    pub email: Option<String>,
    /// Page number (from 1).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (1 to 100, default 20).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

/// Paging of `GET /v1/admin/audit`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page number (from 1).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (1 to 100, default 20).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

/// `PATCH /v1/admin/users/{id}`: fields left out stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// A new role.
    #[garde(skip)]
    pub role: Option<RoleDto>,
    /// Disable (true) or re-enable (false) the account.
    #[garde(skip)]
    pub disabled: Option<bool>,
}

/// An account as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserResponse {
    /// Account id.
    pub id: uuid::Uuid,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Role.
    pub role: RoleDto,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<User> for AdminUserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.as_str().to_owned(),
            name: user.name,
            role: user.role.into(),
            disabled: user.disabled,
            created_at: user.created_at,
        }
    }
}

/// Account counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserStatsResponse {
    /// All accounts.
    pub total: u64,
    /// Disabled accounts.
    pub disabled: u64,
    /// Accounts per role.
    pub by_role: BTreeMap<String, u64>,
}

impl From<UserStats> for UserStatsResponse {
    fn from(stats: UserStats) -> Self {
        Self {
            total: stats.total,
            disabled: stats.disabled,
            by_role: stats.by_role,
        }
    }
}

/// The admin dashboard's figures; each service adds its section.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsResponse {
    /// Accounts.
    pub users: UserStatsResponse,
    /// Support tickets.
    pub support: crate::dto::tickets::SupportStatsResponse,
    /// Extensions and downloads.
    pub marketplace: crate::dto::extensions::MarketStatsResponse,
    /// Revenue and payments; absent while payments are not configured.
    pub billing: Option<crate::dto::payments::BillingStatsResponse>,
}

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryResponse {
    /// Sequence number.
    pub id: i64,
    /// Who acted (absent for the operator's command line).
    pub actor_id: Option<uuid::Uuid>,
    /// What was done, e.g. `user.updated`.
    pub action: String,
    /// The kind of object acted on.
    pub target_type: String,
    /// The object acted on.
    pub target_id: String,
    /// What changed.
    pub detail: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<AuditEntry> for AuditEntryResponse {
    fn from(entry: AuditEntry) -> Self {
        let e = entry.entry;
        Self {
            id: entry.id,
            actor_id: e.actor.map(|id| id.as_uuid()),
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            detail: e.detail,
            created_at: e.at,
        }
    }
}
