//! Refunds: reserving an amount before asking the gateway, settling it with the answer,
//! refunds the gateway reports on its own, and the revenue figures.
//!
//! `payments.amount_refunded` counts refunds that are reserved, pending or succeeded. A
//! reservation raises it with a conditional `UPDATE` (only while enough is left), so
//! parallel refunds can never promise more than was paid.

use crate::entities::{payment_refunds, payments};
use crate::error::store_error;
use chrono::{DateTime, Utc};
use devforge_billing::ports::{BillingStats, RefundReservation};
use devforge_billing::service::RESERVED;
use devforge_billing::{IdempotencyKey, Payment, PaymentId, PaymentStatus};
use devforge_domain::StoreError;
use sea_orm::sea_query::{Expr, ExprTrait as _, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set, TransactionTrait,
};

/// `SUM(column)` as a 64-bit integer: PostgreSQL sums `bigint` into `numeric`.
fn sum(column: impl sea_orm::sea_query::IntoColumnRef) -> Expr {
    Expr::from(Func::cast_as(
        Func::sum(Expr::col(column)),
        sea_orm::sea_query::Alias::new("bigint"),
    ))
}

/// Whether a refund in `status` counts as refunded money.
fn counts(status: &str) -> bool {
    !matches!(status, "failed" | "canceled")
}

async fn payment(db: &impl ConnectionTrait, id: PaymentId) -> Result<Option<Payment>, StoreError> {
    super::find_row(db, id)
        .await?
        .map(super::to_payment)
        .transpose()
}

async fn adjust(
    db: &impl ConnectionTrait,
    payment: uuid::Uuid,
    delta: i64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    payments::Entity::update_many()
        .col_expr(
            payments::Column::AmountRefunded,
            Expr::col(payments::Column::AmountRefunded).add(delta),
        )
        .col_expr(payments::Column::UpdatedAt, Expr::value(at))
        .filter(payments::Column::Id.eq(payment))
        .exec(db)
        .await
        .map_err(store_error)?;
    Ok(())
}

async fn by_key(
    db: &impl ConnectionTrait,
    id: PaymentId,
    key: &IdempotencyKey,
) -> Result<Option<payment_refunds::Model>, StoreError> {
    payment_refunds::Entity::find()
        .filter(payment_refunds::Column::PaymentId.eq(id.as_uuid()))
        .filter(payment_refunds::Column::IdempotencyKey.eq(key.as_str()))
        .one(db)
        .await
        .map_err(store_error)
}

pub(super) async fn reserve(
    db: &DatabaseConnection,
    id: PaymentId,
    amount: Option<i64>,
    reason: Option<String>,
    key: &IdempotencyKey,
    at: DateTime<Utc>,
) -> Result<RefundReservation, StoreError> {
    if let Some(existing) = by_key(db, id, key).await? {
        return Ok(RefundReservation::Existing(super::to_refund(existing)));
    }
    let Some(current) = payment(db, id).await? else {
        return Ok(RefundReservation::NotRefundable(
            PaymentStatus::RequiresPayment,
        ));
    };
    if current.status != PaymentStatus::Succeeded {
        return Ok(RefundReservation::NotRefundable(current.status));
    }
    let amount = amount.unwrap_or_else(|| current.refundable());
    if amount <= 0 {
        return Ok(RefundReservation::Exceeds { refundable: 0 });
    }
    let txn = db.begin().await.map_err(store_error)?;
    use payments::Column as C;
    let reserved = payments::Entity::update_many()
        .col_expr(C::AmountRefunded, Expr::col(C::AmountRefunded).add(amount))
        .col_expr(C::UpdatedAt, Expr::value(at))
        .filter(C::Id.eq(id.as_uuid()))
        .filter(C::Status.eq(PaymentStatus::Succeeded.as_str()))
        .filter(
            Expr::col(C::Amount)
                .sub(Expr::col(C::AmountRefunded))
                .gte(amount),
        )
        .exec(&txn)
        .await
        .map_err(store_error)?;
    if reserved.rows_affected == 0 {
        txn.rollback().await.map_err(store_error)?;
        let refundable = payment(db, id).await?.map_or(0, |p| p.refundable());
        return Ok(RefundReservation::Exceeds { refundable });
    }
    let row = payment_refunds::ActiveModel {
        payment_id: Set(id.as_uuid()),
        idempotency_key: Set(Some(key.as_str().to_owned())),
        gateway_id: Set(None),
        amount: Set(amount),
        status: Set(RESERVED.to_owned()),
        reason: Set(reason),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    };
    match row.insert(&txn).await.map_err(store_error) {
        Ok(row) => {
            txn.commit().await.map_err(store_error)?;
            Ok(RefundReservation::Reserved(super::to_refund(row)))
        }
        // The same admin key raced in parallel: the other one reserved it.
        Err(StoreError::Duplicate { .. }) => {
            txn.rollback().await.map_err(store_error)?;
            let existing = by_key(db, id, key)
                .await?
                .ok_or_else(|| StoreError::unexpected("a refund vanished"))?;
            Ok(RefundReservation::Existing(super::to_refund(existing)))
        }
        Err(other) => Err(other),
    }
}

pub(super) async fn settle(
    db: &DatabaseConnection,
    id: PaymentId,
    key: &IdempotencyKey,
    gateway_id: Option<&str>,
    status: &str,
    at: DateTime<Utc>,
) -> Result<Option<Payment>, StoreError> {
    let txn = db.begin().await.map_err(store_error)?;
    use payment_refunds::Column as R;
    let mut update = payment_refunds::Entity::update_many()
        .col_expr(R::Status, Expr::value(status))
        .col_expr(R::UpdatedAt, Expr::value(at))
        .filter(R::PaymentId.eq(id.as_uuid()))
        .filter(R::IdempotencyKey.eq(key.as_str()))
        .filter(R::Status.eq(RESERVED));
    if let Some(gateway_id) = gateway_id {
        update = update.col_expr(R::GatewayId, Expr::value(gateway_id));
    }
    let settled = update.exec(&txn).await.map_err(store_error)?;
    if settled.rows_affected == 1 && !counts(status) {
        let amount = by_key(&txn, id, key).await?.map_or(0, |r| r.amount);
        adjust(&txn, id.as_uuid(), -amount, at).await?;
    }
    let current = payment(&txn, id).await?;
    txn.commit().await.map_err(store_error)?;
    Ok(current)
}

/// A refund the gateway reports (`refund.*` events): one of ours, or one made elsewhere
/// (the dashboard). Returns whether anything changed.
pub(super) async fn reported(
    db: &impl ConnectionTrait,
    intent: &str,
    gateway_id: &str,
    amount: i64,
    status: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    use payment_refunds::Column as R;
    let Some(payment) = payments::Entity::find()
        .filter(payments::Column::IntentId.eq(intent))
        .one(db)
        .await
        .map_err(store_error)?
    else {
        return Ok(false);
    };
    let known = payment_refunds::Entity::find()
        .filter(R::GatewayId.eq(gateway_id))
        .one(db)
        .await
        .map_err(store_error)?;
    // One of ours whose gateway id is not stored yet: the reservation of that amount.
    let known = match known {
        Some(row) => Some(row),
        None => payment_refunds::Entity::find()
            .filter(R::PaymentId.eq(payment.id))
            .filter(R::Status.eq(RESERVED))
            .filter(R::Amount.eq(amount))
            .one(db)
            .await
            .map_err(store_error)?,
    };
    match known {
        Some(row) => {
            if row.status == status && row.gateway_id.as_deref() == Some(gateway_id) {
                return Ok(false);
            }
            let delta = match (counts(&row.status), counts(status)) {
                (true, false) => -row.amount,
                (false, true) => row.amount,
                _ => 0,
            };
            payment_refunds::Entity::update_many()
                .col_expr(R::Status, Expr::value(status))
                .col_expr(R::GatewayId, Expr::value(gateway_id))
                .col_expr(R::UpdatedAt, Expr::value(at))
                .filter(R::Id.eq(row.id))
                .exec(db)
                .await
                .map_err(store_error)?;
            if delta != 0 {
                adjust(db, payment.id, delta, at).await?;
            }
            Ok(true)
        }
        None => {
            payment_refunds::ActiveModel {
                payment_id: Set(payment.id),
                idempotency_key: Set(None),
                gateway_id: Set(Some(gateway_id.to_owned())),
                amount: Set(amount),
                status: Set(status.to_owned()),
                reason: Set(None),
                created_at: Set(at),
                updated_at: Set(at),
                ..Default::default()
            }
            .insert(db)
            .await
            .map_err(store_error)?;
            if counts(status) {
                // Never above what was paid, even when a charge total counted it already.
                let counted: i64 = payment_refunds::Entity::find()
                    .select_only()
                    .column_as(sum(R::Amount), "total")
                    .filter(R::PaymentId.eq(payment.id))
                    .filter(R::Status.is_not_in(["failed", "canceled"]))
                    .into_tuple::<Option<i64>>()
                    .one(db)
                    .await
                    .map_err(store_error)?
                    .flatten()
                    .unwrap_or(0);
                let total = Ord::min(Ord::max(counted, payment.amount_refunded), payment.amount);
                payments::Entity::update_many()
                    .col_expr(payments::Column::AmountRefunded, Expr::value(total))
                    .col_expr(payments::Column::UpdatedAt, Expr::value(at))
                    .filter(payments::Column::Id.eq(payment.id))
                    .exec(db)
                    .await
                    .map_err(store_error)?;
            }
            Ok(true)
        }
    }
}

pub(super) async fn stats(db: &DatabaseConnection) -> Result<BillingStats, StoreError> {
    use payments::Column as C;
    let revenue: Vec<(String, Option<i64>, Option<i64>)> = payments::Entity::find()
        .select_only()
        .column(C::Currency)
        .column_as(sum(C::Amount), "gross")
        .column_as(sum(C::AmountRefunded), "refunded")
        .filter(C::Status.eq(PaymentStatus::Succeeded.as_str()))
        .group_by(C::Currency)
        .into_tuple()
        .all(db)
        .await
        .map_err(store_error)?;
    let by_status: Vec<(String, i64)> = payments::Entity::find()
        .select_only()
        .column(C::Status)
        .column_as(Expr::from(Func::count(Expr::col(C::Id))), "n")
        .group_by(C::Status)
        .into_tuple()
        .all(db)
        .await
        .map_err(store_error)?;
    Ok(BillingStats {
        revenue: revenue
            .into_iter()
            .map(|(currency, gross, refunded)| {
                (currency, (gross.unwrap_or(0), refunded.unwrap_or(0)))
            })
            .collect(),
        by_status: by_status
            .into_iter()
            .map(|(status, n)| (status, u64::try_from(n).unwrap_or(0)))
            .collect(),
    })
}
