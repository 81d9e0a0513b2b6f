//! The `extension_versions` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "extension_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub extension_id: Uuid,
    pub version: String,
    pub engine: String,
    pub changelog: String,
    pub sha256: String,
    pub size: i64,
    pub state: String,
    pub reject_reason: Option<String>,
    pub yanked: bool,
    pub downloads: i64,
    /// Where the package is, in package storage.
    pub storage_key: String,
    pub created_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
