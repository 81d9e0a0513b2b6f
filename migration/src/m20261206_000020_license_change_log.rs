//! A change log for licenses on SQLite: every write to `licenses` or `activations` appends
//! the license's id to `license_changes`, in the same transaction as the write.
//!
//! SQLite has no `NOTIFY`, so the in-memory read model that PostgreSQL keeps in step with
//! its change feed polls this table instead: a few rows to read every 50 ms, naming exactly
//! the licenses to re-read. Because triggers write it, a change made by another process on
//! the same file (the CLI, a second server) is seen like one made by this process. Rows
//! older than two minutes are pruned by the readers. PostgreSQL has its change feed: this step
//! does nothing there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r"
CREATE TABLE license_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    license_id BLOB NOT NULL,
    at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
);
CREATE INDEX license_changes_at ON license_changes (at);
CREATE TRIGGER licenses_change_log_insert AFTER INSERT ON licenses
BEGIN INSERT INTO license_changes (license_id) VALUES (NEW.id); END;
CREATE TRIGGER licenses_change_log_update AFTER UPDATE ON licenses
BEGIN INSERT INTO license_changes (license_id) VALUES (NEW.id); END;
CREATE TRIGGER licenses_change_log_delete AFTER DELETE ON licenses
BEGIN INSERT INTO license_changes (license_id) VALUES (OLD.id); END;
CREATE TRIGGER activations_change_log_insert AFTER INSERT ON activations
BEGIN INSERT INTO license_changes (license_id) VALUES (NEW.license_id); END;
CREATE TRIGGER activations_change_log_update AFTER UPDATE ON activations
BEGIN INSERT INTO license_changes (license_id) VALUES (NEW.license_id); END;
CREATE TRIGGER activations_change_log_delete AFTER DELETE ON activations
BEGIN INSERT INTO license_changes (license_id) VALUES (OLD.license_id); END;
";

const DOWN: &str = r"
DROP TRIGGER IF EXISTS activations_change_log_delete;
DROP TRIGGER IF EXISTS activations_change_log_update;
DROP TRIGGER IF EXISTS activations_change_log_insert;
DROP TRIGGER IF EXISTS licenses_change_log_delete;
DROP TRIGGER IF EXISTS licenses_change_log_update;
DROP TRIGGER IF EXISTS licenses_change_log_insert;
DROP TABLE IF EXISTS license_changes;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(DOWN).await?;
        Ok(())
    }
}
