//! What the support service can refuse, and why.

use crate::lifecycle::InvalidTransition;
use devforge_domain::{InvalidValue, StoreError};

/// Every way a support operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    /// Input broke a rule of its type.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No such ticket, or not one the caller may see.
    #[error("ticket not found")]
    TicketNotFound,
    /// The lifecycle does not allow this.
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// The caller may see the ticket but not change this about it.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Tickets can only be assigned to enabled support or admin accounts.
    #[error("the assignee must be an enabled support or admin account")]
    InvalidAssignee,
    /// No such article, or not one the caller may see.
    #[error("article not found")]
    ArticleNotFound,
    /// No such revision.
    #[error("revision not found")]
    RevisionNotFound,
    /// An article with this slug exists.
    #[error("an article with this slug already exists")]
    SlugTaken,
    /// The ticket kept changing under this request.
    #[error("the ticket changed meanwhile; try again")]
    Conflict,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
