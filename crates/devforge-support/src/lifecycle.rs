//! The ticket lifecycle, as one table both the service and its tests read.
//!
//! ```text
//! open → in_progress → waiting_on_customer → resolved → closed
//!           ↑________________↓ (customer reply)   │
//! open ←──────────────────────────────────────────┘ (customer reply or reopen, within the
//!                                                    reopen window; after it: closed)
//! ```
//!
//! Staff move tickets along the arrows; the requester may close their ticket at any point
//! and reopen it while it is resolved; a public reply from the requester moves a ticket
//! that waits on them back to staff. `closed` is final. A resolved ticket whose reopen
//! window has passed counts as closed.

use crate::ticket::TicketStatus;
use chrono::{DateTime, Duration, Utc};

/// Who acts on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// Support or admin accounts.
    Staff,
    /// The customer who opened the ticket.
    Requester,
}

/// What is done to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Set the status explicitly.
    SetStatus(TicketStatus),
    /// Post a public reply.
    Reply,
}

/// A refused transition, with what would have been allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a ticket that is {} cannot become {}", .from.as_str(), .to.map_or("anything else", TicketStatus::as_str))]
pub struct InvalidTransition {
    /// The ticket's (effective) status.
    pub from: TicketStatus,
    /// The status asked for (`None` for a reply to a closed ticket).
    pub to: Option<TicketStatus>,
    /// The statuses this party may set from here.
    pub allowed: Vec<TicketStatus>,
}

/// The lifecycle rules with their one tunable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    /// How long after being resolved a ticket may still be reopened.
    pub reopen_window: Duration,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            reopen_window: Duration::days(14),
        }
    }
}

impl Lifecycle {
    /// The status that counts: a resolved ticket past its reopen window is closed.
    #[must_use]
    pub fn effective(
        &self,
        status: TicketStatus,
        resolved_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> TicketStatus {
        let expired = resolved_at.is_none_or(|at| at + self.reopen_window <= now);
        if status == TicketStatus::Resolved && expired {
            TicketStatus::Closed
        } else {
            status
        }
    }

    /// The statuses `party` may set explicitly from `from` (an effective status).
    #[must_use]
    pub fn allowed(&self, from: TicketStatus, party: Party) -> Vec<TicketStatus> {
        use TicketStatus as S;
        match (party, from) {
            (_, S::Closed) => Vec::new(),
            (Party::Staff, S::Open) => vec![S::InProgress],
            (Party::Staff, S::InProgress) => vec![S::WaitingOnCustomer, S::Resolved],
            (Party::Staff, S::WaitingOnCustomer) => vec![S::InProgress, S::Resolved],
            (Party::Staff | Party::Requester, S::Resolved) => vec![S::Open, S::Closed],
            (Party::Requester, _) => vec![S::Closed],
        }
    }

    /// The status after `party` does `action` on a ticket in `status`.
    ///
    /// # Errors
    /// [`InvalidTransition`] when the table does not allow it.
    pub fn apply(
        &self,
        status: TicketStatus,
        resolved_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        party: Party,
        action: Action,
    ) -> Result<TicketStatus, InvalidTransition> {
        use TicketStatus as S;
        let from = self.effective(status, resolved_at, now);
        let refuse = |to| InvalidTransition {
            from,
            to,
            allowed: self.allowed(from, party),
        };
        match action {
            Action::SetStatus(to) if self.allowed(from, party).contains(&to) => Ok(to),
            Action::SetStatus(to) => Err(refuse(Some(to))),
            Action::Reply if from == S::Closed => Err(refuse(None)),
            Action::Reply => Ok(match (party, from) {
                (Party::Requester, S::WaitingOnCustomer) => S::InProgress,
                (Party::Requester, S::Resolved) => S::Open,
                _ => from,
            }),
        }
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
