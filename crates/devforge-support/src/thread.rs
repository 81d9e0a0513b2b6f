//! What happens on a ticket: its messages (public replies and internal staff notes) and its
//! events (every change of status, priority, category or assignee).

use crate::ticket::{MessageBody, TicketId};
use chrono::{DateTime, Utc};
use devforge_domain::UserId;

devforge_domain::uuid_id!(
    /// Identifies a message.
    MessageId
);

/// One message in a ticket's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Identifier (time-ordered).
    pub id: MessageId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// Who wrote it.
    pub author: UserId,
    /// Whether the author was staff when writing it.
    pub from_staff: bool,
    /// A staff-only note; never shown to the requester.
    pub internal: bool,
    /// The text.
    pub body: MessageBody,
    /// Written.
    pub created_at: DateTime<Utc>,
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The ticket was opened.
    Created,
    /// Its status changed.
    Status,
    /// Its priority changed.
    Priority,
    /// Its category changed.
    Category,
    /// Its assignee changed.
    Assignee,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 5] = [
        Self::Created,
        Self::Status,
        Self::Priority,
        Self::Category,
        Self::Assignee,
    ];

    /// The stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Status => "status_changed",
            Self::Priority => "priority_changed",
            Self::Category => "category_changed",
            Self::Assignee => "assignee_changed",
        }
    }

    /// Parses a stable name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// A change about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicketEvent {
    /// What changed.
    pub kind: EventKind,
    /// Who changed it; `None` for the system (auto-assignment).
    pub actor: Option<UserId>,
    /// The old value, as its stable name (an id for assignees).
    pub from: Option<String>,
    /// The new value.
    pub to: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketEvent {
    /// Sequence number, increasing.
    pub id: i64,
    /// The change.
    pub event: NewTicketEvent,
}

#[cfg(test)]
mod tests {
    use super::EventKind;

    #[test]
    fn event_kinds_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("deleted"), None);
    }
}
