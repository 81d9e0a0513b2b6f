//! Aggregates that read the same from both databases.

use sea_orm::sea_query::{Alias, Expr, Func, IntoColumnRef};

/// `SUM(column)` as a 64-bit integer: PostgreSQL sums `bigint` into `numeric`, which does
/// not decode into `i64`.
pub(crate) fn sum_bigint(column: impl IntoColumnRef) -> Expr {
    Expr::from(Func::cast_as(
        Func::sum(Expr::col(column)),
        Alias::new("bigint"),
    ))
}
