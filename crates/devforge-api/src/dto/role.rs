//! Roles on the wire.

use devforge_domain::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An account's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleDto {
    /// A customer.
    User,
    /// Support staff.
    Support,
    /// An operator.
    Admin,
}

impl From<RoleDto> for Role {
    fn from(role: RoleDto) -> Self {
        match role {
            RoleDto::User => Role::User,
            RoleDto::Support => Role::Support,
            RoleDto::Admin => Role::Admin,
        }
    }
}

impl From<Role> for RoleDto {
    fn from(role: Role) -> Self {
        match role {
            Role::User => RoleDto::User,
            Role::Support => RoleDto::Support,
            Role::Admin => RoleDto::Admin,
        }
    }
}
