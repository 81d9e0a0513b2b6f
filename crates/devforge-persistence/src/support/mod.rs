//! The support service's ports on SQL: tickets with their threads and history, and the
//! knowledge base.
//!
//! Ticket search is SQL full text, which differs by database (PostgreSQL `tsvector` with
//! the `english` configuration, SQLite FTS5 with the Porter tokenizer); the domain's
//! [`devforge_domain::SearchQuery`] has already reduced the user's text to terms both
//! treat alike, and `search_sql` turns those into each engine's query. Articles are
//! searched in memory instead; this store keeps the search generation that tells an index
//! when to rebuild. Like the licensing adapter, transactions write before they read.

mod article_list;
mod articles;
mod stats;
mod ticket_list;
mod tickets;

use crate::Database;
use sea_orm::DatabaseConnection;

/// Implements [`devforge_support::SupportStore`] over SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlSupportStore {
    db: Database,
}

impl SqlSupportStore {
    /// A store over `db`.
    #[must_use]
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    fn conn(&self) -> &DatabaseConnection {
        self.db.connection()
    }
}
