//! A ticket's value types.

use devforge_domain::InvalidValue;

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

#[cfg(test)]
mod tests {
    use super::{Category, Priority, Subject, TicketStatus};

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
