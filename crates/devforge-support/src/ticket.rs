//! A ticket and its value types.

use crate::lifecycle::Lifecycle;
use chrono::{DateTime, Utc};
use devforge_domain::{InvalidValue, UserId};

devforge_domain::uuid_id!(
    /// Identifies a ticket.
    TicketId
);

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TicketStatus {
    /// New, or reopened; waiting for staff.
    Open,
    /// Staff are working on it.
    InProgress,
    /// Staff asked the customer something.
    WaitingOnCustomer,
    /// Staff consider it solved; the customer may still reopen it for a while.
    Resolved,
    /// Final.
    Closed,
}

impl TicketStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [TicketStatus; 5] = [
        Self::Open,
        Self::InProgress,
        Self::WaitingOnCustomer,
        Self::Resolved,
        Self::Closed,
    ];

    /// The stable name used in storage and JSON.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::WaitingOnCustomer => "waiting_on_customer",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    /// Parses a stable name.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `status`.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| {
                InvalidValue::new(
                    "status",
                    "must be one of open, in_progress, waiting_on_customer, resolved, closed",
                )
            })
    }
}

/// What a ticket is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Payments and invoices.
    Billing,
    /// Keys, activations.
    Licensing,
    /// The IDE itself.
    Technical,
    /// The account.
    Account,
    /// Marketplace extensions.
    Extensions,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 6] = [
        Self::Billing,
        Self::Licensing,
        Self::Technical,
        Self::Account,
        Self::Extensions,
        Self::Other,
    ];

    /// The stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Billing => "billing",
            Self::Licensing => "licensing",
            Self::Technical => "technical",
            Self::Account => "account",
            Self::Extensions => "extensions",
            Self::Other => "other",
        }
    }

    /// Parses a stable name.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `category`.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|category| category.as_str() == name)
            .ok_or_else(|| {
                InvalidValue::new(
                    "category",
                    "must be one of billing, licensing, technical, account, extensions, other",
                )
            })
    }
}

/// How urgent a ticket is; ordered from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Priority {
    /// Whenever.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Soon.
    High,
    /// Now.
    Urgent,
}

impl Priority {
    /// Every priority, least urgent first.
    pub const ALL: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    /// The rank stored and sorted on: 0 (low) to 3 (urgent).
    #[must_use]
    pub const fn rank(self) -> i16 {
        match self {
            Self::Low => 0,
            Self::Normal => 1,
            Self::High => 2,
            Self::Urgent => 3,
        }
    }

    /// The priority of a stored rank.
    #[must_use]
    pub fn from_rank(rank: i16) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|priority| priority.rank() == rank)
    }

    /// The stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// Parses a stable name.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `priority`.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|priority| priority.as_str() == name)
            .ok_or_else(|| {
                InvalidValue::new("priority", "must be one of low, normal, high, urgent")
            })
    }
}

/// A ticket's subject: trimmed, 1–200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    /// Parses a subject.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `subject`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let subject = raw.trim();
        if subject.is_empty()
            || subject.chars().count() > 200
            || subject.chars().any(char::is_control)
        {
            return Err(InvalidValue::new(
                "subject",
                "must be 1-200 characters without control characters",
            ));
        }
        Ok(Self(subject.to_owned()))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message's text: 1–20,000 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    /// The longest message, in characters.
    pub const MAX_CHARS: usize = 20_000;

    /// Parses a message body.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `body`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let body = raw.trim();
        if body.is_empty() || body.chars().count() > Self::MAX_CHARS || body.contains('\0') {
            return Err(InvalidValue::new(
                "body",
                format!("must be 1-{} characters without NUL", Self::MAX_CHARS),
            ));
        }
        Ok(Self(body.to_owned()))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps text read back from storage, which was checked when written.
    #[must_use]
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }
}

impl Subject {
    /// Wraps text read back from storage, which was checked when written.
    #[must_use]
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }
}

/// A support ticket as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Identifier.
    pub id: TicketId,
    /// Human-friendly number, sequential from 1.
    pub number: u64,
    /// What it is about, in a line.
    pub subject: Subject,
    /// Area.
    pub category: Category,
    /// Urgency.
    pub priority: Priority,
    /// The stored status; see [`Ticket::status_at`] for the one that counts.
    pub status: TicketStatus,
    /// The customer who opened it.
    pub requester: UserId,
    /// The staff member working on it.
    pub assignee: Option<UserId>,
    /// A license of the requester's it is about.
    pub license_id: Option<uuid::Uuid>,
    /// A payment of the requester's it is about.
    pub payment_id: Option<uuid::Uuid>,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last public message or change (internal notes do not count).
    pub last_activity_at: DateTime<Utc>,
    /// First public reply by staff.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Last time it became resolved (cleared when reopened).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Closed explicitly.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Ticket {
    /// The status that counts at `now`: resolved past the reopen window is closed.
    #[must_use]
    pub fn status_at(&self, lifecycle: &Lifecycle, now: DateTime<Utc>) -> TicketStatus {
        lifecycle.effective(self.status, self.resolved_at, now)
    }

    /// When it closed: explicitly, or when its reopen window ran out.
    #[must_use]
    pub fn closed_at(&self, lifecycle: &Lifecycle, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match (self.status, self.status_at(lifecycle, now)) {
            (TicketStatus::Resolved, TicketStatus::Closed) => {
                self.resolved_at.map(|at| at + lifecycle.reopen_window)
            }
            _ => self.closed_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Category, MessageBody, Priority, Subject, TicketStatus};

    #[test]
    fn names_round_trip_and_unknown_ones_are_rejected() {
        for status in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(status.as_str()), Ok(status));
        }
        for category in Category::ALL {
            assert_eq!(Category::parse(category.as_str()), Ok(category));
        }
        for priority in Priority::ALL {
            assert_eq!(Priority::parse(priority.as_str()), Ok(priority));
        }
        assert!(TicketStatus::parse("pending").is_err());
        assert!(Category::parse("sales").is_err());
        assert!(Priority::parse("critical").is_err());
    }

    #[test]
    fn priorities_order_from_low_to_urgent_and_default_to_normal() {
        assert!(Priority::Low < Priority::Normal && Priority::High < Priority::Urgent);
        assert_eq!(Priority::default(), Priority::Normal);
        for priority in Priority::ALL {
            assert_eq!(Priority::from_rank(priority.rank()), Some(priority));
        }
        assert_eq!(Priority::from_rank(4), None);
    }

    #[test]
    fn a_message_body_is_trimmed_and_bounded() {
        assert!(MessageBody::parse(" \n ").is_err());
        assert!(MessageBody::parse(&"x".repeat(MessageBody::MAX_CHARS + 1)).is_err());
        assert!(MessageBody::parse("a\0b").is_err());
        assert_eq!(
            MessageBody::parse(" hi\n").map(|b| b.as_str().to_owned()),
            Ok("hi".into())
        );
    }

    #[test]
    fn a_subject_is_trimmed_and_bounded() {
        assert_eq!(
            Subject::parse("  Crash on start ").map(|s| s.as_str().to_owned()),
            Ok("Crash on start".into())
        );
        assert!(Subject::parse("   ").is_err());
        assert!(Subject::parse(&"s".repeat(201)).is_err());
        assert!(Subject::parse(&"é".repeat(200)).is_ok());
    }
}
