//! The `license_events` table: each license's history.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "license_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub license_id: Uuid,
    pub kind: String,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub detail: Json,
    /// A seat release by the key holder or owner, counted by the release throttle.
    pub self_service: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
