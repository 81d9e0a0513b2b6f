//! The `tickets` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: i64,
    pub subject: String,
    pub category: String,
    /// The priority's rank: 0 low … 3 urgent.
    pub priority: i16,
    pub status: String,
    pub requester_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub license_id: Option<Uuid>,
    pub payment_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub last_activity_at: DateTimeUtc,
    pub first_response_at: Option<DateTimeUtc>,
    pub first_response_secs: Option<i64>,
    pub resolved_at: Option<DateTimeUtc>,
    pub resolution_secs: Option<i64>,
    pub closed_at: Option<DateTimeUtc>,
    pub assigned_at: Option<DateTimeUtc>,
    /// Bumped by every change; changes are compare-and-set on it.
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
