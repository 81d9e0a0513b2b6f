//! The marketplace: extensions, their versions (packages live in package storage; rows
//! keep where), reviews, and daily download counts.
//!
//! - `extensions.normalized_name` (the name without dashes) is unique, so two names equal
//!   but for dashes cannot both be taken even in parallel; `normalized_length` finds the
//!   candidates for the one-edit look-alike rule.
//! - `latest_version` is the highest approved, unyanked version: set when the extension is
//!   public, kept by the transaction that reviews or yanks a version.
//! - Counters (`downloads`, `rating_sum`, `rating_count`) move in the same transaction as
//!   the row that causes them, by relative updates.
//! - Full text over name and display name (weighted most), tags, then description:
//!   a generated weighted `tsvector` with a GIN index on PostgreSQL; an FTS5 table (Porter
//!   stemming) on SQLite, written by the adapter without stop words, as PostgreSQL's
//!   vector has none.

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
enum Extensions {
    Table,
    Id,
    Name,
    NormalizedName,
    NormalizedLength,
    DisplayName,
    Description,
    Category,
    TagsText,
    Entitlement,
    RepositoryUrl,
    HomepageUrl,
    OwnerId,
    LatestVersion,
    LatestPublishedAt,
    Downloads,
    RatingSum,
    RatingCount,
    SearchRowid,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ExtensionTags {
    Table,
    ExtensionId,
    Tag,
}

#[derive(DeriveIden)]
enum ExtensionVersions {
    Table,
    Id,
    ExtensionId,
    Version,
    Engine,
    Changelog,
    Sha256,
    Size,
    State,
    RejectReason,
    Yanked,
    Downloads,
    StorageKey,
    CreatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum ExtensionReviews {
    Table,
    Id,
    ExtensionId,
    AuthorId,
    Rating,
    Title,
    Body,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ExtensionDownloads {
    Table,
    VersionId,
    ExtensionId,
    Day,
    Count,
}

const POSTGRES_SEARCH: &str = r"
ALTER TABLE extensions ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', name), 'A')
    || setweight(to_tsvector('english', display_name), 'A')
    || setweight(to_tsvector('english', tags_text), 'B')
    || setweight(to_tsvector('english', description), 'C')
) STORED;
CREATE INDEX extensions_search ON extensions USING GIN (search);
";

/// Filled by the adapter with the listing's words minus stop words (which PostgreSQL's
/// `tsvector` leaves out too), so prefix queries match the same words on both databases.
/// `extensions.search_rowid` keeps each extension's row id here, so an edit replaces its
/// row by key instead of scanning the table.
const SQLITE_SEARCH: &str = r"
CREATE VIRTUAL TABLE extension_search USING fts5(
    extension_id UNINDEXED, name, display_name, tags, description,
    tokenize = 'porter unicode61'
);
";

const SQLITE_SEARCH_DOWN: &str = r"
DROP TABLE IF EXISTS extension_search;
";

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + 'static,
    columns: Vec<DynIden>,
) -> Result<(), DbErr> {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(column);
    }
    manager.create_index(statement.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Extensions::Table)
                    .col(pk_uuid(Extensions::Id))
                    .col(string_len(Extensions::Name, 64).unique_key())
                    .col(string_len(Extensions::NormalizedName, 64).unique_key())
                    .col(integer(Extensions::NormalizedLength))
                    .col(string_len(Extensions::DisplayName, 100))
                    .col(text(Extensions::Description))
                    .col(string_len(Extensions::Category, 16))
                    .col(string_len(Extensions::TagsText, 400))
                    .col(string_len_null(Extensions::Entitlement, 64))
                    .col(string_len_null(Extensions::RepositoryUrl, 300))
                    .col(string_len_null(Extensions::HomepageUrl, 300))
                    .col(uuid(Extensions::OwnerId))
                    .col(string_len_null(Extensions::LatestVersion, 64))
                    .col(timestamp_with_time_zone_null(Extensions::LatestPublishedAt))
                    .col(big_integer(Extensions::Downloads))
                    .col(big_integer(Extensions::RatingSum))
                    .col(big_integer(Extensions::RatingCount))
                    .col(big_integer_null(Extensions::SearchRowid))
                    .col(timestamp_with_time_zone(Extensions::CreatedAt))
                    .col(timestamp_with_time_zone(Extensions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("extensions_owner")
                            .from(Extensions::Table, Extensions::OwnerId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "extensions_owner_name",
                vec![
                    Extensions::OwnerId.into_iden(),
                    Extensions::Name.into_iden(),
                ],
            ),
            (
                "extensions_normalized_length",
                vec![Extensions::NormalizedLength.into_iden()],
            ),
            (
                "extensions_downloads",
                vec![Extensions::Downloads.into_iden()],
            ),
            (
                "extensions_latest_published",
                vec![Extensions::LatestPublishedAt.into_iden()],
            ),
            (
                "extensions_category_downloads",
                vec![
                    Extensions::Category.into_iden(),
                    Extensions::Downloads.into_iden(),
                ],
            ),
        ] {
            index(manager, name, Extensions::Table, columns).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ExtensionTags::Table)
                    .col(uuid(ExtensionTags::ExtensionId))
                    .col(string_len(ExtensionTags::Tag, 30))
                    .primary_key(
                        Index::create()
                            .col(ExtensionTags::ExtensionId)
                            .col(ExtensionTags::Tag),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("extension_tags_extension")
                            .from(ExtensionTags::Table, ExtensionTags::ExtensionId)
                            .to(Extensions::Table, Extensions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "extension_tags_tag",
            ExtensionTags::Table,
            vec![ExtensionTags::Tag.into_iden()],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExtensionVersions::Table)
                    .col(pk_uuid(ExtensionVersions::Id))
                    .col(uuid(ExtensionVersions::ExtensionId))
                    .col(string_len(ExtensionVersions::Version, 64))
                    .col(string_len(ExtensionVersions::Engine, 100))
                    .col(text(ExtensionVersions::Changelog))
                    .col(string_len(ExtensionVersions::Sha256, 64))
                    .col(big_integer(ExtensionVersions::Size))
                    .col(string_len(ExtensionVersions::State, 16))
                    .col(text_null(ExtensionVersions::RejectReason))
                    .col(boolean(ExtensionVersions::Yanked))
                    .col(big_integer(ExtensionVersions::Downloads))
                    .col(string_len(ExtensionVersions::StorageKey, 300))
                    .col(timestamp_with_time_zone(ExtensionVersions::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        ExtensionVersions::PublishedAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("extension_versions_extension")
                            .from(ExtensionVersions::Table, ExtensionVersions::ExtensionId)
                            .to(Extensions::Table, Extensions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("extension_versions_extension_version")
                    .table(ExtensionVersions::Table)
                    .col(ExtensionVersions::ExtensionId)
                    .col(ExtensionVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "extension_versions_state_created",
            ExtensionVersions::Table,
            vec![
                ExtensionVersions::State.into_iden(),
                ExtensionVersions::CreatedAt.into_iden(),
            ],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExtensionReviews::Table)
                    .col(pk_uuid(ExtensionReviews::Id))
                    .col(uuid(ExtensionReviews::ExtensionId))
                    .col(uuid(ExtensionReviews::AuthorId))
                    .col(small_integer(ExtensionReviews::Rating))
                    .col(string_len_null(ExtensionReviews::Title, 100))
                    .col(text_null(ExtensionReviews::Body))
                    .col(timestamp_with_time_zone(ExtensionReviews::CreatedAt))
                    .col(timestamp_with_time_zone(ExtensionReviews::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("extension_reviews_extension")
                            .from(ExtensionReviews::Table, ExtensionReviews::ExtensionId)
                            .to(Extensions::Table, Extensions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("extension_reviews_author")
                            .from(ExtensionReviews::Table, ExtensionReviews::AuthorId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("extension_reviews_extension_author")
                    .table(ExtensionReviews::Table)
                    .col(ExtensionReviews::ExtensionId)
                    .col(ExtensionReviews::AuthorId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "extension_reviews_extension_created",
            ExtensionReviews::Table,
            vec![
                ExtensionReviews::ExtensionId.into_iden(),
                ExtensionReviews::CreatedAt.into_iden(),
            ],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExtensionDownloads::Table)
                    .col(uuid(ExtensionDownloads::VersionId))
                    .col(uuid(ExtensionDownloads::ExtensionId))
                    .col(string_len(ExtensionDownloads::Day, 10))
                    .col(big_integer(ExtensionDownloads::Count))
                    .primary_key(
                        Index::create()
                            .col(ExtensionDownloads::VersionId)
                            .col(ExtensionDownloads::Day),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("extension_downloads_version")
                            .from(ExtensionDownloads::Table, ExtensionDownloads::VersionId)
                            .to(ExtensionVersions::Table, ExtensionVersions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "extension_downloads_extension_day",
            ExtensionDownloads::Table,
            vec![
                ExtensionDownloads::ExtensionId.into_iden(),
                ExtensionDownloads::Day.into_iden(),
            ],
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
            ExtensionDownloads::Table.into_iden(),
            ExtensionReviews::Table.into_iden(),
            ExtensionVersions::Table.into_iden(),
            ExtensionTags::Table.into_iden(),
            Extensions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
