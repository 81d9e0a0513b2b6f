//! The `licenses` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "licenses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub key_hash: String,
    #[sea_orm(column_type = "Blob")]
    pub sealed_key: Vec<u8>,
    pub user_id: Uuid,
    pub product: String,
    pub status: String,
    pub issued_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub grace_days: i32,
    pub max_activations: i32,
    pub activations_count: i32,
    /// A JSON array of entitlement names.
    pub entitlements: Json,
    /// `admin:<user id>` or `payment:<payment id>`.
    pub source: String,
    /// Set for licenses issued for a payment; unique.
    pub payment_id: Option<String>,
    pub revocation_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Bumped by every change to the license or its seats.
    pub revision: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
