//! Applying a gateway event (or a status read from the gateway) to a payment, with the
//! event recorded in the same transaction.

use super::refunds;
use crate::entities::{gateway_events, payments};
use crate::error::store_error;
use chrono::{DateTime, Utc};
use devforge_billing::ports::{Applied, PaymentChange};
use devforge_billing::{DisputeState, GatewayEvent, Payment, PaymentStatus};
use devforge_domain::StoreError;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

async fn by_intent(db: &impl ConnectionTrait, intent: &str) -> Result<Option<Payment>, StoreError> {
    payments::Entity::find()
        .filter(payments::Column::IntentId.eq(intent))
        .one(db)
        .await
        .map_err(store_error)?
        .map(super::to_payment)
        .transpose()
}

/// Records `event`; `false` when it was recorded before.
async fn record_event(
    db: &impl ConnectionTrait,
    event: &GatewayEvent,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let row = gateway_events::ActiveModel {
        id: Set(event.id.clone()),
        kind: Set(event.kind.clone()),
        received_at: Set(at),
    };
    let inserted = gateway_events::Entity::insert(row)
        .on_conflict_do_nothing_on([gateway_events::Column::Id])
        .exec(db)
        .await
        .map_err(store_error)?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
}

async fn change_payment(
    db: &impl ConnectionTrait,
    intent: &str,
    change: PaymentChange,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    use payments::Column as C;
    let update = payments::Entity::update_many()
        .col_expr(C::UpdatedAt, Expr::value(at))
        .filter(C::IntentId.eq(intent));
    let update = match change {
        PaymentChange::Status(to) => {
            let sources: Vec<&str> = PaymentStatus::sources_of(to)
                .into_iter()
                .map(PaymentStatus::as_str)
                .collect();
            update
                .col_expr(C::Status, Expr::value(to.as_str()))
                .filter(C::Status.is_in(sources))
        }
        PaymentChange::RefundedTotal(total) => {
            return refunds::reported_total(db, intent, total, at).await;
        }
        PaymentChange::Dispute(state) => {
            let open = C::Dispute.eq(DisputeState::Open.as_str());
            let reachable = match state {
                DisputeState::Open => Condition::all().add(C::Dispute.is_null()),
                DisputeState::Won | DisputeState::Lost => {
                    Condition::any().add(C::Dispute.is_null()).add(open)
                }
            };
            update
                .col_expr(C::Dispute, Expr::value(state.as_str()))
                .filter(reachable)
        }
        PaymentChange::Refund {
            gateway_id,
            amount,
            status,
            reference,
        } => {
            return refunds::reported(
                db,
                intent,
                &gateway_id,
                amount,
                &status,
                reference.as_deref(),
                at,
            )
            .await;
        }
    };
    let result = update.exec(db).await.map_err(store_error)?;
    Ok(result.rows_affected > 0)
}

pub(super) async fn apply(
    db: &DatabaseConnection,
    event: Option<&GatewayEvent>,
    intent: Option<&str>,
    change: Option<PaymentChange>,
    at: DateTime<Utc>,
) -> Result<Applied, StoreError> {
    let txn = db.begin().await.map_err(store_error)?;
    if let Some(event) = event
        && !record_event(&txn, event, at).await?
    {
        txn.rollback().await.map_err(store_error)?;
        let payment = match intent {
            Some(intent) => by_intent(db, intent).await?,
            None => None,
        };
        return Ok(Applied::Replayed(payment));
    }
    let Some(intent) = intent else {
        txn.commit().await.map_err(store_error)?;
        return Ok(Applied::Fresh {
            payment: None,
            changed: false,
        });
    };
    let changed = match change {
        Some(change) => change_payment(&txn, intent, change, at).await?,
        None => false,
    };
    let payment = by_intent(&txn, intent).await?;
    txn.commit().await.map_err(store_error)?;
    Ok(Applied::Fresh { payment, changed })
}
