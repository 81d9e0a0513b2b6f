//! The `extensions` table (PostgreSQL's generated `search` column is read only inside
//! search queries).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "extensions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub normalized_name: String,
    pub normalized_length: i32,
    pub display_name: String,
    pub description: String,
    pub category: String,
    /// The tags, space-separated, for full text.
    pub tags_text: String,
    /// The entitlement a paid extension needs; `None` for free.
    pub entitlement: Option<String>,
    pub repository_url: Option<String>,
    pub homepage_url: Option<String>,
    pub owner_id: Uuid,
    pub latest_version: Option<String>,
    pub latest_published_at: Option<DateTimeUtc>,
    pub downloads: i64,
    pub rating_sum: i64,
    pub rating_count: i64,
    /// SQLite: the extension's row in the FTS5 table `extension_search`.
    pub search_rowid: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
