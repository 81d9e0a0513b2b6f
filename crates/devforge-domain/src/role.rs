//! Roles decide which routes a caller may use.

use crate::error::InvalidValue;

/// What an account is allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A customer: their own licenses, payments, tickets and extensions.
    User,
    /// Staff answering tickets; sees customers' support data.
    Support,
    /// Operators: everything, including other accounts.
    Admin,
}

impl Role {
    /// Every role, in order of increasing power.
    pub const ALL: [Role; 3] = [Role::User, Role::Support, Role::Admin];

    /// The stable name used in storage, tokens and JSON.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Support => "support",
            Role::Admin => "admin",
        }
    }

    /// Support and admin accounts.
    #[must_use]
    pub const fn is_staff(self) -> bool {
        matches!(self, Role::Support | Role::Admin)
    }

    /// Parses a stable role name.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `role` when the name is unknown.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| InvalidValue::new("role", "must be one of user, support, admin"))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
    }

    #[test]
    fn an_unknown_role_name_is_rejected() {
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn only_support_and_admin_are_staff() {
        assert!(!Role::User.is_staff());
        assert!(Role::Support.is_staff());
        assert!(Role::Admin.is_staff());
    }
}
