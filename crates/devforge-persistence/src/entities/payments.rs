//! The `payments` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub product: String,
    pub renew_license_id: Option<Uuid>,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub intent_id: Option<String>,
    pub client_secret: Option<String>,
    pub idempotency_key: String,
    /// A digest of the request, to tell a replay from a reused key.
    pub fingerprint: String,
    pub amount_refunded: i64,
    /// Set aside for refunds asked of the gateway and not answered yet.
    pub amount_reserved: i64,
    /// The charge's refunded total as the gateway last reported it.
    pub gateway_refunded: i64,
    pub dispute: Option<String>,
    pub license_id: Option<Uuid>,
    pub fulfilled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
