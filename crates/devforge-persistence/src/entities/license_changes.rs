//! The `license_changes` table (SQLite only): the ids of licenses written, in commit
//! order, appended by triggers. See the migration `license_change_log`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "license_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub license_id: Uuid,
    /// Unix seconds.
    pub at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
