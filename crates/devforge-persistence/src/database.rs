//! Connecting to the database and running migrations.

use crate::error::store_error;
use devforge_domain::StoreError;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, DatabaseConnection, DbBackend, DbErr};
use std::time::Duration;

/// How long a request waits for a pooled connection, which includes connecting when the
/// pool has none. While PostgreSQL is down every connect is refused and retried until this
/// passes, so it is how long a request takes to learn of an outage (and answer 503): short,
/// because a client or load balancer would rather hear "unavailable" than wait. A request
/// that waits this long for a healthy pool is better shed than queued, too.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(800);

/// How much memory SQLite may keep for all connections together before it recycles its
/// page caches instead of growing them (`PRAGMA soft_heap_limit`, process-wide). Without
/// it each pooled connection keeps its own cache of the pages it has read.
const SQLITE_SOFT_HEAP_LIMIT: u64 = 16 * 1024 * 1024;

/// Which database a URL points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// An embedded SQLite file (the default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Connections in use and idle, for the metrics endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
}

/// A connection pool to SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct Database {
    connection: DatabaseConnection,
    /// Set for SQLite only: schema changes reopen it on a connection of their own (see
    /// [`Database::change_schema`]).
    sqlite_url: Option<String>,
}

impl Database {
    /// Opens a pool of at most `max_connections` to `url` (`sqlite://...` or
    /// `postgres://...`). SQLite files are created when missing and run in WAL mode, so
    /// readers never wait for the writer.
    ///
    /// # Errors
    /// [`StoreError`] when the URL is unsupported or the database cannot be reached.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        Self::open(url, max_connections, false).await
    }

    /// Like [`Self::connect`], but opens no connection until one is first needed. A pool
    /// made this way and used only from one thread's runtime keeps its sockets on that
    /// runtime, so no I/O wakes another thread: the server gives each worker its own.
    ///
    /// # Errors
    /// [`StoreError`] when the URL is unsupported.
    pub async fn connect_lazy(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        Self::open(url, max_connections, true).await
    }

    async fn open(url: &str, max_connections: u32, lazy: bool) -> Result<Self, StoreError> {
        let mut options = ConnectOptions::new(url.to_owned());
        options.connect_lazy(lazy);
        options
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|opts| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    .pragma("soft_heap_limit", SQLITE_SOFT_HEAP_LIMIT.to_string())
            });
        let connection = sea_orm::Database::connect(options)
            .await
            .map_err(store_error)?;
        let sqlite_url =
            (connection.get_database_backend() == DbBackend::Sqlite).then(|| url.to_owned());
        Ok(Self {
            connection,
            sqlite_url,
        })
    }

    /// The sea-orm connection, for the adapters in this crate.
    #[must_use]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    /// Which database this is.
    #[must_use]
    pub fn kind(&self) -> DatabaseKind {
        match self.connection.get_database_backend() {
            DbBackend::Sqlite => DatabaseKind::Sqlite,
            _ => DatabaseKind::Postgres,
        }
    }

    /// Whether the database answers.
    ///
    /// # Errors
    /// [`StoreError`] when it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.connection.ping().await.map_err(store_error)
    }

    /// Connection counts of the pool.
    #[must_use]
    pub fn pool_status(&self) -> PoolStatus {
        let (size, idle) = match self.kind() {
            DatabaseKind::Sqlite => {
                let pool = self.connection.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DatabaseKind::Postgres => {
                let pool = self.connection.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        PoolStatus {
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
        }
    }

    /// Names of the migrations not yet applied, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be read.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let pending = Migrator::get_pending_migrations(&self.connection)
            .await
            .map_err(store_error)?;
        Ok(pending.iter().map(|m| m.name().to_owned()).collect())
    }

    /// Every migration with whether it is applied.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be read.
    pub async fn migration_status(&self) -> Result<Vec<(String, bool)>, StoreError> {
        let all = Migrator::get_migration_with_status(&self.connection)
            .await
            .map_err(store_error)?;
        Ok(all
            .iter()
            .map(|m| {
                let applied = matches!(m.status(), migration::MigrationStatus::Applied);
                (m.name().to_owned(), applied)
            })
            .collect())
    }

    /// Applies pending migrations (`steps` of them, or all).
    ///
    /// # Errors
    /// [`StoreError`] when a migration fails; each step runs in its own transaction on
    /// PostgreSQL.
    pub async fn migrate_up(&self, steps: Option<u32>) -> Result<(), StoreError> {
        self.change_schema(async |db| Migrator::up(db, steps).await)
            .await
    }

    /// Rolls back applied migrations (`steps` of them, or all).
    ///
    /// # Errors
    /// [`StoreError`] when a rollback fails.
    pub async fn migrate_down(&self, steps: Option<u32>) -> Result<(), StoreError> {
        self.change_schema(async |db| Migrator::down(db, steps).await)
            .await
    }

    /// Drops every table and applies all migrations from scratch.
    ///
    /// # Errors
    /// [`StoreError`] when it fails.
    pub async fn migrate_fresh(&self) -> Result<(), StoreError> {
        self.change_schema(async |db| Migrator::fresh(db).await)
            .await
    }

    /// Runs a schema change. On PostgreSQL that is the pool: each migration is its own
    /// transaction there. On SQLite migrations run statement by statement, and a pooled
    /// connection checks new DDL against the schema it last read, so a change spread over
    /// the pool can trip over tables another connection just dropped ("index ... already
    /// exists" when going down and up again). One fresh connection sees all of its own
    /// changes, so SQLite schema changes get one.
    async fn change_schema(
        &self,
        change: impl AsyncFnOnce(&DatabaseConnection) -> Result<(), DbErr>,
    ) -> Result<(), StoreError> {
        let Some(url) = &self.sqlite_url else {
            return change(&self.connection).await.map_err(store_error);
        };
        let single = Self::open(url, 1, false).await?;
        let outcome = change(&single.connection).await.map_err(store_error);
        single.close().await?;
        outcome
    }

    /// Closes the pool.
    ///
    /// # Errors
    /// [`StoreError`] when closing fails.
    pub async fn close(self) -> Result<(), StoreError> {
        self.connection.close().await.map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::{Database, SQLITE_SOFT_HEAP_LIMIT};
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    #[tokio::test]
    async fn sqlite_connections_cap_what_sqlite_keeps_in_memory() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("cap.db").display());
        let database = Database::connect(&url, 2)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let row = database
            .connection()
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA soft_heap_limit",
            ))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("PRAGMA soft_heap_limit answered no row"));
        let limit: i64 = row.try_get_by_index(0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u64::try_from(limit).ok(), Some(SQLITE_SOFT_HEAP_LIMIT));
        database.close().await.unwrap_or_else(|e| panic!("{e}"));
    }
}
