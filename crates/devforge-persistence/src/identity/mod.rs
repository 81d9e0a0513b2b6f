//! The identity service's ports on SQL: accounts, sessions, login throttling and the audit
//! trail, all through one connection pool.

mod login_throttle;
mod sessions;
mod users;

use crate::Database;
use devforge_domain::{AuditEntry, AuditLog, NewAuditEntry, Page, PageRequest, StoreError};

/// Implements [`devforge_identity::IdentityStore`] over SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlIdentityStore {
    db: Database,
}

impl SqlIdentityStore {
    /// A store over `db`.
    #[must_use]
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    fn conn(&self) -> &sea_orm::DatabaseConnection {
        self.db.connection()
    }
}

impl AuditLog for SqlIdentityStore {
    async fn record(&self, entry: NewAuditEntry) -> Result<(), StoreError> {
        crate::audit::append(self.conn(), entry).await
    }

    async fn list(&self, page: PageRequest) -> Result<Page<AuditEntry>, StoreError> {
        crate::audit::list(self.conn(), page).await
    }
}
