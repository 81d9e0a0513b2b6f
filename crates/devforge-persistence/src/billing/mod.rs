//! The billing service's ports on SQL: gateway customers, payments, refunds and the
//! gateway events already applied.
//!
//! As elsewhere, limits are decided in the database: a unique key per client idempotency
//! key, a unique gateway event id recorded in the same transaction as its effect,
//! conditional status updates that only move forward, and a conditional `UPDATE` that
//! reserves refund amounts. Transactions write before they read.

mod changes;
mod refunds;

use crate::Database;
use crate::entities::{billing_customers, payment_refunds, payments};
use crate::error::{corrupt, store_error};
use chrono::{DateTime, Utc};
use devforge_billing::gateway::Intent;
use devforge_billing::ports::{BillingStore, NewPayment, PaymentFilter, Reservation};
use devforge_billing::{DisputeState, Payment, PaymentId, PaymentStatus, Refund};
use devforge_domain::{Currency, Money, Page, PageRequest, StoreError, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

/// Implements [`devforge_billing::ports::BillingStore`] over SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlBillingStore {
    db: Database,
}

impl SqlBillingStore {
    /// A store over `db`.
    #[must_use]
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    fn conn(&self) -> &DatabaseConnection {
        self.db.connection()
    }
}

pub(super) fn to_payment(row: payments::Model) -> Result<Payment, StoreError> {
    let currency = Currency::parse(&row.currency).map_err(|e| corrupt("payment currency", e))?;
    Ok(Payment {
        id: PaymentId::from_uuid(row.id),
        user_id: UserId::from_uuid(row.user_id),
        product: row.product,
        renew_license_id: row.renew_license_id,
        amount: Money::new(row.amount, currency),
        status: PaymentStatus::parse(&row.status).map_err(|e| corrupt("payment status", e))?,
        intent_id: row.intent_id,
        client_secret: row.client_secret,
        amount_refunded: row.amount_refunded,
        amount_reserved: row.amount_reserved,
        dispute: row.dispute.as_deref().and_then(DisputeState::parse),
        license_id: row.license_id,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(super) fn to_refund(row: payment_refunds::Model) -> Refund {
    Refund {
        gateway_id: row.gateway_id.unwrap_or_default(),
        payment_id: PaymentId::from_uuid(row.payment_id),
        amount: row.amount,
        status: row.status,
        reason: row.reason,
        created_at: row.created_at,
    }
}

pub(super) async fn find_row(
    db: &impl ConnectionTrait,
    id: PaymentId,
) -> Result<Option<payments::Model>, StoreError> {
    payments::Entity::find_by_id(id.as_uuid())
        .one(db)
        .await
        .map_err(store_error)
}

async fn find_by_key(
    db: &impl ConnectionTrait,
    user: UserId,
    key: &str,
) -> Result<Option<payments::Model>, StoreError> {
    payments::Entity::find()
        .filter(payments::Column::UserId.eq(user.as_uuid()))
        .filter(payments::Column::IdempotencyKey.eq(key))
        .one(db)
        .await
        .map_err(store_error)
}

impl BillingStore for SqlBillingStore {
    async fn customer_of(&self, user: UserId) -> Result<Option<String>, StoreError> {
        Ok(billing_customers::Entity::find_by_id(user.as_uuid())
            .one(self.conn())
            .await
            .map_err(store_error)?
            .map(|row| row.customer_id))
    }

    async fn save_customer(&self, user: UserId, customer_id: &str) -> Result<String, StoreError> {
        let row = billing_customers::ActiveModel {
            user_id: Set(user.as_uuid()),
            customer_id: Set(customer_id.to_owned()),
            created_at: Set(Utc::now()),
        };
        billing_customers::Entity::insert(row)
            .on_conflict_do_nothing_on([billing_customers::Column::UserId])
            .exec(self.conn())
            .await
            .map_err(store_error)?;
        self.customer_of(user)
            .await?
            .ok_or_else(|| StoreError::unexpected("the customer row vanished"))
    }

    async fn payment_by_key(
        &self,
        user: UserId,
        key: &devforge_billing::IdempotencyKey,
    ) -> Result<Option<(Payment, String)>, StoreError> {
        match find_by_key(self.conn(), user, key.as_str()).await? {
            Some(row) => {
                let fingerprint = row.fingerprint.clone();
                Ok(Some((to_payment(row)?, fingerprint)))
            }
            None => Ok(None),
        }
    }

    async fn insert_payment(&self, new: NewPayment) -> Result<Reservation, StoreError> {
        let payment = new.payment;
        let row = payments::ActiveModel {
            id: Set(payment.id.as_uuid()),
            user_id: Set(payment.user_id.as_uuid()),
            product: Set(payment.product.clone()),
            renew_license_id: Set(payment.renew_license_id),
            amount: Set(payment.amount.minor_units()),
            currency: Set(payment.amount.currency().code().to_owned()),
            status: Set(payment.status.as_str().to_owned()),
            intent_id: Set(None),
            client_secret: Set(None),
            idempotency_key: Set(new.idempotency_key.as_str().to_owned()),
            fingerprint: Set(new.fingerprint),
            amount_refunded: Set(0),
            amount_reserved: Set(0),
            gateway_refunded: Set(0),
            dispute: Set(None),
            license_id: Set(None),
            fulfilled_at: Set(None),
            created_at: Set(payment.created_at),
            updated_at: Set(payment.updated_at),
        };
        let inserted = payments::Entity::insert(row)
            .on_conflict_do_nothing_on([payments::Column::UserId, payments::Column::IdempotencyKey])
            .exec(self.conn())
            .await
            .map_err(store_error)?;
        let stored = find_by_key(self.conn(), payment.user_id, new.idempotency_key.as_str())
            .await?
            .ok_or_else(|| StoreError::unexpected("a payment vanished after being stored"))?;
        let created = matches!(inserted, sea_orm::TryInsertResult::Inserted(_));
        if created {
            return Ok(Reservation::Created(to_payment(stored)?));
        }
        let fingerprint = stored.fingerprint.clone();
        Ok(Reservation::Existing {
            payment: to_payment(stored)?,
            fingerprint,
        })
    }

    async fn attach_intent(
        &self,
        id: PaymentId,
        intent: &Intent,
        at: DateTime<Utc>,
    ) -> Result<Payment, StoreError> {
        payments::Entity::update_many()
            .col_expr(payments::Column::IntentId, Expr::value(intent.id.clone()))
            .col_expr(
                payments::Column::ClientSecret,
                Expr::value(intent.client_secret.clone()),
            )
            .col_expr(payments::Column::UpdatedAt, Expr::value(at))
            .filter(payments::Column::Id.eq(id.as_uuid()))
            .filter(payments::Column::IntentId.is_null())
            .exec(self.conn())
            .await
            .map_err(store_error)?;
        let row = find_row(self.conn(), id)
            .await?
            .ok_or_else(|| StoreError::unexpected("a payment vanished"))?;
        to_payment(row)
    }

    async fn find_payment(&self, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        find_row(self.conn(), id).await?.map(to_payment).transpose()
    }

    async fn list_payments(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> Result<Page<Payment>, StoreError> {
        let mut query = payments::Entity::find()
            .order_by_desc(payments::Column::CreatedAt)
            .order_by_desc(payments::Column::Id);
        if let Some(user) = filter.user_id {
            query = query.filter(payments::Column::UserId.eq(user.as_uuid()));
        }
        if let Some(status) = filter.status {
            query = query.filter(payments::Column::Status.eq(status.as_str()));
        }
        crate::paging::fetch_page(self.conn(), query, page, to_payment).await
    }

    async fn refunds_of(&self, id: PaymentId) -> Result<Vec<Refund>, StoreError> {
        let rows = payment_refunds::Entity::find()
            .filter(payment_refunds::Column::PaymentId.eq(id.as_uuid()))
            .order_by_asc(payment_refunds::Column::Id)
            .all(self.conn())
            .await
            .map_err(store_error)?;
        Ok(rows.into_iter().map(to_refund).collect())
    }

    async fn apply(
        &self,
        event: Option<&devforge_billing::GatewayEvent>,
        intent_id: Option<&str>,
        change: Option<devforge_billing::ports::PaymentChange>,
        at: DateTime<Utc>,
    ) -> Result<devforge_billing::ports::Applied, StoreError> {
        changes::apply(self.conn(), event, intent_id, change, at).await
    }

    async fn mark_fulfilled(
        &self,
        id: PaymentId,
        license_id: uuid::Uuid,
        at: DateTime<Utc>,
    ) -> Result<Payment, StoreError> {
        payments::Entity::update_many()
            .col_expr(payments::Column::LicenseId, Expr::value(license_id))
            .col_expr(payments::Column::FulfilledAt, Expr::value(at))
            .col_expr(payments::Column::UpdatedAt, Expr::value(at))
            .filter(payments::Column::Id.eq(id.as_uuid()))
            .filter(payments::Column::LicenseId.is_null())
            .exec(self.conn())
            .await
            .map_err(store_error)?;
        let row = find_row(self.conn(), id)
            .await?
            .ok_or_else(|| StoreError::unexpected("a payment vanished"))?;
        to_payment(row)
    }

    async fn unfulfilled(&self, limit: u64) -> Result<Vec<Payment>, StoreError> {
        payments::Entity::find()
            .filter(payments::Column::Status.eq(PaymentStatus::Succeeded.as_str()))
            .filter(payments::Column::LicenseId.is_null())
            .order_by_asc(payments::Column::CreatedAt)
            .limit(limit)
            .all(self.conn())
            .await
            .map_err(store_error)?
            .into_iter()
            .map(to_payment)
            .collect()
    }

    async fn reserve_refund(
        &self,
        id: PaymentId,
        amount: Option<i64>,
        reason: Option<String>,
        key: &devforge_billing::IdempotencyKey,
        at: DateTime<Utc>,
    ) -> Result<devforge_billing::ports::RefundReservation, StoreError> {
        refunds::reserve(self.conn(), id, amount, reason, key, at).await
    }

    async fn settle_refund(
        &self,
        id: PaymentId,
        key: &devforge_billing::IdempotencyKey,
        gateway_id: Option<&str>,
        status: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Payment>, StoreError> {
        refunds::settle(self.conn(), id, key, gateway_id, status, at).await
    }

    async fn billing_stats(&self) -> Result<devforge_billing::BillingStats, StoreError> {
        refunds::stats(self.conn()).await
    }
}
