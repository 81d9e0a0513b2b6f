//! The `payment_refunds` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub payment_id: Uuid,
    /// The admin's key, for refunds asked through the API.
    pub idempotency_key: Option<String>,
    /// The gateway's refund id, once known.
    pub gateway_id: Option<String>,
    pub amount: i64,
    pub status: String,
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
