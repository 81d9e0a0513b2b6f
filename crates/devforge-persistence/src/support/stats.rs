//! The support figures of the admin dashboard.

use super::tickets::ACTIVE;
use crate::entities::tickets;
use crate::error::{corrupt, store_error};
use devforge_domain::StoreError;
use devforge_support::ports::TicketStats;
use devforge_support::{Priority, TicketStatus};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::time::Duration;

fn active() -> sea_orm::Select<tickets::Entity> {
    tickets::Entity::find().filter(tickets::Column::Status.is_in(ACTIVE.map(TicketStatus::as_str)))
}

fn count(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|e| corrupt("ticket count", e))
}

/// The median of the non-null values of `column`, in seconds: one or two rows read from
/// the middle of the index, so it stays cheap however many tickets there are.
async fn median(
    db: &DatabaseConnection,
    column: tickets::Column,
) -> Result<Option<Duration>, StoreError> {
    let values = tickets::Entity::find().filter(column.is_not_null());
    let n = values.clone().count(db).await.map_err(store_error)?;
    if n == 0 {
        return Ok(None);
    }
    let middle: Vec<Option<i64>> = values
        .select_only()
        .column(column)
        .order_by_asc(column)
        .offset((n - 1) / 2)
        .limit(if n % 2 == 0 { 2 } else { 1 })
        .into_tuple()
        .all(db)
        .await
        .map_err(store_error)?;
    let middle: Vec<u64> = middle
        .into_iter()
        .flatten()
        .map(|secs| u64::try_from(secs).unwrap_or(0))
        .collect();
    let len = u64::try_from(middle.len()).unwrap_or(1).max(1);
    Ok(Some(Duration::from_secs(middle.iter().sum::<u64>() / len)))
}

pub(super) async fn ticket_stats(db: &DatabaseConnection) -> Result<TicketStats, StoreError> {
    use tickets::Column as C;
    let by_status: Vec<(String, i64)> = active()
        .select_only()
        .column(C::Status)
        .column_as(Expr::from(Func::count(Expr::col(C::Id))), "n")
        .group_by(C::Status)
        .into_tuple()
        .all(db)
        .await
        .map_err(store_error)?;
    let by_priority: Vec<(i16, i64)> = active()
        .select_only()
        .column(C::Priority)
        .column_as(Expr::from(Func::count(Expr::col(C::Id))), "n")
        .group_by(C::Priority)
        .into_tuple()
        .all(db)
        .await
        .map_err(store_error)?;
    let mut stats = TicketStats {
        unassigned: active()
            .filter(C::AssigneeId.is_null())
            .count(db)
            .await
            .map_err(store_error)?,
        median_first_response: median(db, C::FirstResponseSecs).await?,
        median_resolution: median(db, C::ResolutionSecs).await?,
        ..TicketStats::default()
    };
    for status in ACTIVE {
        let n = by_status
            .iter()
            .find(|(name, _)| name == status.as_str())
            .map_or(Ok(0), |(_, n)| count(*n))?;
        stats.active_by_status.push((status, n));
    }
    for priority in Priority::ALL {
        let n = by_priority
            .iter()
            .find(|(rank, _)| *rank == priority.rank())
            .map_or(Ok(0), |(_, n)| count(*n))?;
        stats.active_by_priority.push((priority, n));
    }
    Ok(stats)
}
