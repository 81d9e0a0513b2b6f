//! The knowledge base: articles, their tags, every revision of their text, and reader
//! feedback.
//!
//! - `kb_feedback` has one row per voter: an account (`user:<id>`, `day` empty), or an
//!   anonymous client per UTC day (`client:<key>`, `day` set). The primary key makes a
//!   second vote an update, never a second count.
//! - Full text: on PostgreSQL a generated `tsvector` (title weighted A, body B) with a GIN
//!   index; on SQLite an FTS5 table (Porter stemming) kept in step by triggers, ranked by
//!   bm25 with the title weighted ten times the body.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum KbArticles {
    Table,
    Id,
    Slug,
    Title,
    Body,
    Category,
    Status,
    AuthorId,
    Revision,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
    Views,
    HelpfulYes,
    HelpfulNo,
}

#[derive(DeriveIden)]
enum KbArticleTags {
    Table,
    ArticleId,
    Tag,
}

#[derive(DeriveIden)]
enum KbRevisions {
    Table,
    ArticleId,
    Number,
    Title,
    Body,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum KbFeedback {
    Table,
    ArticleId,
    Voter,
    Day,
    Helpful,
    CreatedAt,
}

const POSTGRES_SEARCH: &str = r"
ALTER TABLE kb_articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
) STORED;
CREATE INDEX kb_articles_search ON kb_articles USING GIN (search);
";

const SQLITE_SEARCH: &str = r"
CREATE VIRTUAL TABLE kb_search USING fts5(
    article_id UNINDEXED, title, body, tokenize = 'porter unicode61'
);
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

const SQLITE_SEARCH_DOWN: &str = r"
DROP TRIGGER IF EXISTS kb_articles_search_delete;
DROP TRIGGER IF EXISTS kb_articles_search_update;
DROP TRIGGER IF EXISTS kb_articles_search_insert;
DROP TABLE IF EXISTS kb_search;
";

fn article_reference(
    name: &str,
    table: impl Iden + 'static,
    column: impl Iden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(KbArticles::Table, KbArticles::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn user_reference(
    name: &str,
    table: impl Iden + 'static,
    column: impl Iden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Users::Table, Users::Id)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KbArticles::Table)
                    .col(pk_uuid(KbArticles::Id))
                    .col(string_len(KbArticles::Slug, 100).unique_key())
                    .col(text(KbArticles::Title))
                    .col(text(KbArticles::Body))
                    .col(string_len(KbArticles::Category, 40))
                    .col(string_len(KbArticles::Status, 16))
                    .col(uuid(KbArticles::AuthorId))
                    .col(integer(KbArticles::Revision))
                    .col(timestamp_with_time_zone(KbArticles::CreatedAt))
                    .col(timestamp_with_time_zone(KbArticles::UpdatedAt))
                    .col(timestamp_with_time_zone_null(KbArticles::PublishedAt))
                    .col(big_integer(KbArticles::Views))
                    .col(big_integer(KbArticles::HelpfulYes))
                    .col(big_integer(KbArticles::HelpfulNo))
                    .foreign_key(&mut user_reference(
                        "kb_articles_author",
                        KbArticles::Table,
                        KbArticles::AuthorId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("kb_articles_status_published")
                    .table(KbArticles::Table)
                    .col(KbArticles::Status)
                    .col(KbArticles::PublishedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KbArticleTags::Table)
                    .col(uuid(KbArticleTags::ArticleId))
                    .col(string_len(KbArticleTags::Tag, 40))
                    .primary_key(
                        Index::create()
                            .col(KbArticleTags::ArticleId)
                            .col(KbArticleTags::Tag),
                    )
                    .foreign_key(&mut article_reference(
                        "kb_article_tags_article",
                        KbArticleTags::Table,
                        KbArticleTags::ArticleId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("kb_article_tags_tag")
                    .table(KbArticleTags::Table)
                    .col(KbArticleTags::Tag)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KbRevisions::Table)
                    .col(uuid(KbRevisions::ArticleId))
                    .col(integer(KbRevisions::Number))
                    .col(text(KbRevisions::Title))
                    .col(text(KbRevisions::Body))
                    .col(uuid(KbRevisions::AuthorId))
                    .col(timestamp_with_time_zone(KbRevisions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(KbRevisions::ArticleId)
                            .col(KbRevisions::Number),
                    )
                    .foreign_key(&mut article_reference(
                        "kb_revisions_article",
                        KbRevisions::Table,
                        KbRevisions::ArticleId,
                    ))
                    .foreign_key(&mut user_reference(
                        "kb_revisions_author",
                        KbRevisions::Table,
                        KbRevisions::AuthorId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KbFeedback::Table)
                    .col(uuid(KbFeedback::ArticleId))
                    .col(string_len(KbFeedback::Voter, 80))
                    .col(string_len(KbFeedback::Day, 10))
                    .col(boolean(KbFeedback::Helpful))
                    .col(timestamp_with_time_zone(KbFeedback::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(KbFeedback::ArticleId)
                            .col(KbFeedback::Voter)
                            .col(KbFeedback::Day),
                    )
                    .foreign_key(&mut article_reference(
                        "kb_feedback_article",
                        KbFeedback::Table,
                        KbFeedback::ArticleId,
                    ))
                    .to_owned(),
            )
            .await?;
        let search = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_SEARCH,
            _ => SQLITE_SEARCH,
        };
        manager.get_connection().execute_unprepared(search).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(SQLITE_SEARCH_DOWN)
                .await?;
        }
        for table in [
            KbFeedback::Table.into_iden(),
            KbRevisions::Table.into_iden(),
            KbArticleTags::Table.into_iden(),
            KbArticles::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
