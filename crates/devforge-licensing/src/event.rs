//! A license's history: every change, with who made it and when.

use crate::license::LicenseId;
use chrono::{DateTime, Utc};
use devforge_domain::UserId;

/// What happened to a license.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Created.
    Issued,
    /// A machine took a seat.
    Activated,
    /// A machine gave its seat back.
    Deactivated,
    /// Extended.
    Renewed,
    /// Paused.
    Suspended,
    /// Resumed after a suspension.
    Reinstated,
    /// Ended.
    Revoked,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 7] = [
        Self::Issued,
        Self::Activated,
        Self::Deactivated,
        Self::Renewed,
        Self::Suspended,
        Self::Reinstated,
        Self::Revoked,
    ];

    /// The stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Activated => "activated",
            Self::Deactivated => "deactivated",
            Self::Renewed => "renewed",
            Self::Suspended => "suspended",
            Self::Reinstated => "reinstated",
            Self::Revoked => "revoked",
        }
    }

    /// Parses a stable name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A logged-in account (the owner or an admin).
    User(UserId),
    /// Whoever holds the key (activation and deactivation need no login).
    KeyHolder,
    /// The system itself (e.g. billing).
    System,
}

impl Actor {
    /// The stable kind name stored beside the optional user id.
    #[must_use]
    pub const fn kind(self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::KeyHolder => "key_holder",
            Self::System => "system",
        }
    }

    /// The user id, for [`Actor::User`].
    #[must_use]
    pub const fn user_id(self) -> Option<UserId> {
        match self {
            Self::User(id) => Some(id),
            _ => None,
        }
    }

    /// Rebuilds an actor from its stored parts.
    #[must_use]
    pub fn from_stored(kind: &str, user_id: Option<UserId>) -> Self {
        match (kind, user_id) {
            ("user", Some(id)) => Self::User(id),
            ("key_holder", _) => Self::KeyHolder,
            _ => Self::System,
        }
    }
}

/// An event about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLicenseEvent {
    /// What happened.
    pub kind: EventKind,
    /// Who did it.
    pub actor: Actor,
    /// Details (never the key).
    pub detail: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseEvent {
    /// Storage order.
    pub id: i64,
    /// The license.
    pub license_id: LicenseId,
    /// The event.
    pub event: NewLicenseEvent,
}

#[cfg(test)]
mod tests {
    use super::{Actor, EventKind};
    use devforge_domain::UserId;

    #[test]
    fn kinds_and_actors_round_trip_through_their_stored_form() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        let user = Actor::User(UserId::generate());
        assert_eq!(Actor::from_stored(user.kind(), user.user_id()), user);
        assert_eq!(Actor::from_stored("key_holder", None), Actor::KeyHolder);
        assert_eq!(Actor::from_stored("system", None), Actor::System);
    }
}
