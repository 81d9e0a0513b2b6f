//! Typed ids, so a user id can never be passed where a license id is expected.
//!
//! Ids are UUIDv7: unique without coordination between server instances, and ordered by
//! creation time, which keeps B-tree indexes compact.

/// Declares a UUID-backed id newtype with the conversions every id needs.
#[macro_export]
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new, unique id.
            #[must_use]
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// Wraps an id read from storage or a request path.
            #[must_use]
            pub const fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id)
            }

            /// The underlying UUID.
            #[must_use]
            pub const fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// Identifies an account.
    UserId
);

#[cfg(test)]
mod tests {
    use super::UserId;

    #[test]
    fn generated_ids_are_unique_and_round_trip_through_text() {
        let a = UserId::generate();
        let b = UserId::generate();
        assert_ne!(a, b);
        let parsed: UserId = a.to_string().parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, a);
    }

    #[test]
    fn garbage_is_not_an_id() {
        assert!("not-a-uuid".parse::<UserId>().is_err());
    }
}
