//! The knowledge base is searched in memory, the same way on both databases: the SQL
//! full text of `m20261128_000011` (a `tsvector` column on PostgreSQL, an FTS5 table and
//! its triggers on SQLite) goes, and a search generation takes its place.
//!
//! `kb_search_generation` holds one row. Every change to what search reads (an article's
//! text, status, category or tags) adds one to it in the change's own transaction, so an
//! instance whose index holds another generation knows it must rebuild before it answers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const GENERATION: &str = r"
CREATE TABLE kb_search_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO kb_search_generation (id, generation) VALUES (1, 0);
";

const POSTGRES_UP: &str = r"
DROP INDEX IF EXISTS kb_articles_search;
ALTER TABLE kb_articles DROP COLUMN IF EXISTS search;
";

const SQLITE_UP: &str = r"
DROP TRIGGER IF EXISTS kb_articles_search_delete;
DROP TRIGGER IF EXISTS kb_articles_search_update;
DROP TRIGGER IF EXISTS kb_articles_search_insert;
DROP TABLE IF EXISTS kb_search;
";

const POSTGRES_DOWN: &str = r"
ALTER TABLE kb_articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
) STORED;
CREATE INDEX kb_articles_search ON kb_articles USING GIN (search);
";

const SQLITE_DOWN: &str = r"
CREATE VIRTUAL TABLE kb_search USING fts5(
    article_id UNINDEXED, title, body, tokenize = 'porter unicode61'
);
INSERT INTO kb_search (article_id, title, body) SELECT id, title, body FROM kb_articles;
CREATE TRIGGER kb_articles_search_insert AFTER INSERT ON kb_articles BEGIN
    INSERT INTO kb_search (article_id, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER kb_articles_search_update AFTER UPDATE OF title, body ON kb_articles BEGIN
    UPDATE kb_search SET title = new.title, body = new.body WHERE article_id = new.id;
END;
CREATE TRIGGER kb_articles_search_delete AFTER DELETE ON kb_articles BEGIN
    DELETE FROM kb_search WHERE article_id = old.id;
END;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql_search = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_UP,
            _ => SQLITE_UP,
        };
        let db = manager.get_connection();
        db.execute_unprepared(sql_search).await?;
        db.execute_unprepared(GENERATION).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql_search = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_DOWN,
            _ => SQLITE_DOWN,
        };
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE IF EXISTS kb_search_generation")
            .await?;
        db.execute_unprepared(sql_search).await?;
        Ok(())
    }
}
