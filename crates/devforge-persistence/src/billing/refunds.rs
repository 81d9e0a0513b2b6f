//! Refunds: reserving an amount before asking the gateway, settling it with the answer,
//! refunds the gateway reports on its own, and the revenue figures.
//!
//! Every change here starts by writing the payment's row, which locks it until commit
//! (and, on SQLite, takes the write lock first), so changes to one payment's refunds are
//! serialized and read current figures. `amount_refunded` and `amount_reserved` are then
//! recomputed from the refund rows (and the charge total the gateway reported), never
//! adjusted by deltas that a concurrent change could have made stale.

use crate::entities::{payment_refunds, payments};
use crate::error::store_error;
use chrono::{DateTime, Utc};
use devforge_billing::payment::refund_stage;
use devforge_billing::ports::{BillingStats, RefundReservation};
use devforge_billing::service::RESERVED;
use devforge_billing::{IdempotencyKey, Payment, PaymentId, PaymentStatus};
use devforge_domain::StoreError;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set, TransactionTrait,
};

/// Writes the payment's row (its `updated_at`), locking it until commit; returns it.
pub(super) async fn lock(
    db: &impl ConnectionTrait,
    filter: sea_orm::sea_query::SimpleExpr,
    at: DateTime<Utc>,
) -> Result<Option<payments::Model>, StoreError> {
    let locked = payments::Entity::update_many()
        .col_expr(payments::Column::UpdatedAt, Expr::value(at))
        .filter(filter.clone())
        .exec(db)
        .await
        .map_err(store_error)?;
    if locked.rows_affected == 0 {
        return Ok(None);
    }
    payments::Entity::find()
        .filter(filter)
        .one(db)
        .await
        .map_err(store_error)
}

/// Recomputes a (locked) payment's refunded and reserved amounts from its refund rows.
pub(super) async fn recompute(
    db: &impl ConnectionTrait,
    payment: &payments::Model,
) -> Result<(), StoreError> {
    use payment_refunds::Column as R;
    let totals = |statuses: Vec<&'static str>| {
        payment_refunds::Entity::find()
            .select_only()
            .column_as(crate::aggregate::sum_bigint(R::Amount), "total")
            .filter(R::PaymentId.eq(payment.id))
            .filter(R::Status.is_in(statuses))
            .into_tuple::<Option<i64>>()
            .one(db)
    };
    let counted = totals(vec!["pending", "requires_action", "succeeded"])
        .await
        .map_err(store_error)?
        .flatten()
        .unwrap_or(0);
    let reserved = totals(vec![RESERVED])
        .await
        .map_err(store_error)?
        .flatten()
        .unwrap_or(0);
    let refunded = counted.max(payment.gateway_refunded).min(payment.amount);
    payments::Entity::update_many()
        .col_expr(payments::Column::AmountRefunded, Expr::value(refunded))
        .col_expr(payments::Column::AmountReserved, Expr::value(reserved))
        .filter(payments::Column::Id.eq(payment.id))
        .exec(db)
        .await
        .map_err(store_error)?;
    Ok(())
}

async fn by_key(
    db: &impl ConnectionTrait,
    id: PaymentId,
    key: &str,
) -> Result<Option<payment_refunds::Model>, StoreError> {
    payment_refunds::Entity::find()
        .filter(payment_refunds::Column::PaymentId.eq(id.as_uuid()))
        .filter(payment_refunds::Column::IdempotencyKey.eq(key))
        .one(db)
        .await
        .map_err(store_error)
}

async fn current(db: &impl ConnectionTrait, id: PaymentId) -> Result<Option<Payment>, StoreError> {
    super::find_row(db, id)
        .await?
        .map(super::to_payment)
        .transpose()
}

pub(super) async fn reserve(
    db: &DatabaseConnection,
    id: PaymentId,
    amount: Option<i64>,
    reason: Option<String>,
    key: &IdempotencyKey,
    at: DateTime<Utc>,
) -> Result<RefundReservation, StoreError> {
    let txn = db.begin().await.map_err(store_error)?;
    let Some(row) = lock(&txn, payments::Column::Id.eq(id.as_uuid()), at).await? else {
        txn.rollback().await.map_err(store_error)?;
        return Ok(RefundReservation::NotRefundable(
            PaymentStatus::RequiresPayment,
        ));
    };
    if let Some(existing) = by_key(&txn, id, key.as_str()).await? {
        txn.rollback().await.map_err(store_error)?;
        return Ok(RefundReservation::Existing(super::to_refund(existing)));
    }
    let payment = super::to_payment(row.clone())?;
    if payment.status != PaymentStatus::Succeeded {
        txn.rollback().await.map_err(store_error)?;
        return Ok(RefundReservation::NotRefundable(payment.status));
    }
    let refundable = payment.refundable();
    let amount = amount.unwrap_or(refundable);
    if amount <= 0 || amount > refundable {
        txn.rollback().await.map_err(store_error)?;
        return Ok(RefundReservation::Exceeds { refundable });
    }
    let refund = payment_refunds::ActiveModel {
        payment_id: Set(id.as_uuid()),
        idempotency_key: Set(Some(key.as_str().to_owned())),
        gateway_id: Set(None),
        amount: Set(amount),
        status: Set(RESERVED.to_owned()),
        reason: Set(reason),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(store_error)?;
    recompute(&txn, &row).await?;
    txn.commit().await.map_err(store_error)?;
    Ok(RefundReservation::Reserved(super::to_refund(refund)))
}

pub(super) async fn settle(
    db: &DatabaseConnection,
    id: PaymentId,
    key: &IdempotencyKey,
    gateway_id: Option<&str>,
    status: &str,
    at: DateTime<Utc>,
) -> Result<Option<Payment>, StoreError> {
    use payment_refunds::Column as R;
    let txn = db.begin().await.map_err(store_error)?;
    let Some(row) = lock(&txn, payments::Column::Id.eq(id.as_uuid()), at).await? else {
        txn.rollback().await.map_err(store_error)?;
        return Ok(None);
    };
    // Only a refund still reserved: a webhook may have settled it first.
    let mut update = payment_refunds::Entity::update_many()
        .col_expr(R::Status, Expr::value(status))
        .col_expr(R::UpdatedAt, Expr::value(at))
        .filter(R::PaymentId.eq(id.as_uuid()))
        .filter(R::IdempotencyKey.eq(key.as_str()))
        .filter(R::Status.eq(RESERVED));
    if let Some(gateway_id) = gateway_id {
        update = update.col_expr(R::GatewayId, Expr::value(gateway_id));
    }
    update.exec(&txn).await.map_err(store_error)?;
    recompute(&txn, &row).await?;
    let payment = current(&txn, id).await?;
    txn.commit().await.map_err(store_error)?;
    Ok(payment)
}

/// Which stored refund a reported one is: by the gateway's id; else one of ours by the
/// reference it carries; else, without a reference, the only reservation of that amount.
async fn match_reported(
    db: &impl ConnectionTrait,
    payment: uuid::Uuid,
    gateway_id: &str,
    amount: i64,
    reference: Option<&str>,
) -> Result<Option<payment_refunds::Model>, StoreError> {
    use payment_refunds::Column as R;
    let by_id = payment_refunds::Entity::find()
        .filter(R::GatewayId.eq(gateway_id))
        .one(db)
        .await
        .map_err(store_error)?;
    if by_id.is_some() {
        return Ok(by_id);
    }
    let reserved = payment_refunds::Entity::find()
        .filter(R::PaymentId.eq(payment))
        .filter(R::Status.eq(RESERVED));
    if let Some(reference) = reference {
        return reserved
            .filter(R::IdempotencyKey.eq(reference))
            .one(db)
            .await
            .map_err(store_error);
    }
    let mut candidates = reserved
        .filter(R::Amount.eq(amount))
        .limit(2)
        .all(db)
        .await
        .map_err(store_error)?;
    Ok(if candidates.len() == 1 {
        candidates.pop()
    } else {
        None
    })
}

/// A refund the gateway reports (`refund.*` events): one of ours, or one made elsewhere
/// (the dashboard). Statuses only move up (see `refund_stage`). Returns whether anything
/// changed.
pub(super) async fn reported(
    db: &impl ConnectionTrait,
    intent: &str,
    gateway_id: &str,
    amount: i64,
    status: &str,
    reference: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    use payment_refunds::Column as R;
    let Some(payment) = lock(db, payments::Column::IntentId.eq(intent), at).await? else {
        return Ok(false);
    };
    match match_reported(db, payment.id, gateway_id, amount, reference).await? {
        Some(row) => {
            if refund_stage(status) <= refund_stage(&row.status) {
                return Ok(false);
            }
            payment_refunds::Entity::update_many()
                .col_expr(R::Status, Expr::value(status))
                .col_expr(R::GatewayId, Expr::value(gateway_id))
                .col_expr(R::UpdatedAt, Expr::value(at))
                .filter(R::Id.eq(row.id))
                .filter(R::Status.eq(row.status.as_str()))
                .exec(db)
                .await
                .map_err(store_error)?;
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
        }
    }
    recompute(db, &payment).await?;
    Ok(true)
}

/// The charge's refunded total the gateway reports (`charge.refunded`): it never lowers
/// what is recorded.
pub(super) async fn reported_total(
    db: &impl ConnectionTrait,
    intent: &str,
    total: i64,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(mut payment) = lock(db, payments::Column::IntentId.eq(intent), at).await? else {
        return Ok(false);
    };
    if payment.status != PaymentStatus::Succeeded.as_str() || total <= payment.gateway_refunded {
        return Ok(false);
    }
    payments::Entity::update_many()
        .col_expr(payments::Column::GatewayRefunded, Expr::value(total))
        .filter(payments::Column::Id.eq(payment.id))
        .exec(db)
        .await
        .map_err(store_error)?;
    payment.gateway_refunded = total;
    recompute(db, &payment).await?;
    Ok(true)
}

pub(super) async fn stats(db: &DatabaseConnection) -> Result<BillingStats, StoreError> {
    use payments::Column as C;
    let revenue: Vec<(String, Option<i64>, Option<i64>)> = payments::Entity::find()
        .select_only()
        .column(C::Currency)
        .column_as(crate::aggregate::sum_bigint(C::Amount), "gross")
        .column_as(crate::aggregate::sum_bigint(C::AmountRefunded), "refunded")
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

#[cfg(test)]
mod tests {
    use devforge_billing::payment::refund_counts;

    #[test]
    fn only_refunds_on_their_way_back_count() {
        for counted in ["pending", "requires_action", "succeeded"] {
            assert!(refund_counts(counted));
        }
        for not in ["reserved", "failed", "canceled"] {
            assert!(!refund_counts(not));
        }
    }
}
