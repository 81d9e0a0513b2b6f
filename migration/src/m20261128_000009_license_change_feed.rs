//! A change feed for licenses on PostgreSQL: every write to `licenses` or `activations`
//! sends `NOTIFY devforge_licenses, '<license id>'`, committed with the write. Server
//! instances keeping licenses in memory listen to it, so a revocation reaches every
//! instance without any code path having to remember to announce it. SQLite (one embedded
//! instance) needs no feed: this step does nothing there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r"
CREATE OR REPLACE FUNCTION devforge_notify_license_change() RETURNS trigger AS $$
DECLARE
    changed jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := to_jsonb(OLD);
    ELSE
        changed := to_jsonb(NEW);
    END IF;
    PERFORM pg_notify('devforge_licenses', COALESCE(changed->>'license_id', changed->>'id'));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER licenses_change_feed AFTER INSERT OR UPDATE OR DELETE ON licenses
    FOR EACH ROW EXECUTE FUNCTION devforge_notify_license_change();
CREATE TRIGGER activations_change_feed AFTER INSERT OR UPDATE OR DELETE ON activations
    FOR EACH ROW EXECUTE FUNCTION devforge_notify_license_change();
";

const DOWN: &str = r"
DROP TRIGGER IF EXISTS activations_change_feed ON activations;
DROP TRIGGER IF EXISTS licenses_change_feed ON licenses;
DROP FUNCTION IF EXISTS devforge_notify_license_change();
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
