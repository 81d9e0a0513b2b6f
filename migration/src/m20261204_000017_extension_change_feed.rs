//! A change feed for the marketplace on PostgreSQL: every write to `extensions` (an edit, a
//! review or yank of a version, which recompute the latest version, a rating, a download
//! count) sends `NOTIFY devforge_extensions, '<extension id>'`, committed with the write.
//! Each server instance keeps the public catalogue in memory for search and listens to it.
//! SQLite (one embedded instance) needs no feed: this step does nothing there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r"
CREATE OR REPLACE FUNCTION devforge_notify_extension_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('devforge_extensions', OLD.id::text);
    ELSE
        PERFORM pg_notify('devforge_extensions', NEW.id::text);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER extensions_change_feed AFTER INSERT OR UPDATE OR DELETE ON extensions
    FOR EACH ROW EXECUTE FUNCTION devforge_notify_extension_change();
";

const DOWN: &str = r"
DROP TRIGGER IF EXISTS extensions_change_feed ON extensions;
DROP FUNCTION IF EXISTS devforge_notify_extension_change();
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(DOWN).await?;
        Ok(())
    }
}
