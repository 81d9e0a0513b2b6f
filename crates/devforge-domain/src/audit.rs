//! The audit trail: who did what to what, and when.
//!
//! Every administrative change writes one entry, in the same transaction as the change
//! itself, so the trail can never disagree with the data. That is why the storage ports
//! that perform such changes take a [`NewAuditEntry`] argument instead of services calling
//! [`AuditLog`] separately; [`AuditLog`] is for reading the trail and for events that have
//! no other write.

use crate::{Page, PageRequest, StoreError, UserId};
use chrono::{DateTime, Utc};
use std::future::Future;

/// An entry about to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// Who acted; `None` for the operator's command line.
    pub actor: Option<UserId>,
    /// A stable dotted name, e.g. `user.updated`.
    pub action: String,
    /// The kind of object acted on, e.g. `user`.
    pub target_type: String,
    /// The id of the object acted on.
    pub target_id: String,
    /// What changed, as JSON (never secrets).
    pub detail: serde_json::Value,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Storage order: later entries have larger ids.
    pub id: i64,
    /// The entry's content.
    pub entry: NewAuditEntry,
}

/// Reads and appends to the audit trail.
pub trait AuditLog: Send + Sync + 'static {
    /// Appends an entry on its own.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn record(&self, entry: NewAuditEntry) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The trail, newest first.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn list(
        &self,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<AuditEntry>, StoreError>> + Send;
}
