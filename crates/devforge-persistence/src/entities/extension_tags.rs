//! The `extension_tags` table: one row per tag of an extension, carrying the extension's
//! category so that tag filters are answered from this table's index.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "extension_tags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub extension_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub tag: String,
    /// The extension's category, kept equal to it by the transactions that write either.
    pub category: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
