//! [`LoginThrottleRepository`] on SQL.

use super::SqlIdentityStore;
use crate::entities::login_throttle;
use crate::error::store_error;
use chrono::{DateTime, Duration, Utc};
use devforge_domain::{Email, StoreError};
use devforge_identity::{LoginThrottleRepository, LoginThrottleState};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Set, TransactionTrait};

fn to_state(row: &login_throttle::Model) -> LoginThrottleState {
    LoginThrottleState {
        failures: u32::try_from(row.failures).unwrap_or(0),
        locked_until: row.locked_until,
    }
}

impl LoginThrottleRepository for SqlIdentityStore {
    async fn reserve_login_attempt(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        max_failures: u32,
        lockout: Duration,
    ) -> Result<LoginThrottleState, StoreError> {
        let key = email.as_str().to_owned();
        let not_locked = Condition::any()
            .add(login_throttle::Column::LockedUntil.is_null())
            .add(login_throttle::Column::LockedUntil.lte(now));
        // Every statement writes (or would), so the row lock (PostgreSQL) or the write lock
        // (SQLite) is held from the first one: attempts for one email are serialised.
        let txn = self.conn().begin().await.map_err(store_error)?;
        let count_attempt = || {
            login_throttle::Entity::update_many()
                .col_expr(
                    login_throttle::Column::Failures,
                    Expr::col(login_throttle::Column::Failures).add(1),
                )
                .col_expr(login_throttle::Column::UpdatedAt, Expr::value(now))
                .filter(login_throttle::Column::Email.eq(key.as_str()))
                .filter(not_locked.clone())
                .exec(&txn)
        };
        let counted = count_attempt().await.map_err(store_error)?;
        if counted.rows_affected == 0 {
            // First attempt for this email, or it is locked (then nothing is inserted).
            let inserted = login_throttle::Entity::insert(login_throttle::ActiveModel {
                email: Set(key.clone()),
                failures: Set(1),
                locked_until: Set(None),
                updated_at: Set(now),
            })
            .on_conflict(
                OnConflict::column(login_throttle::Column::Email)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(store_error)?;
            if inserted == 0 {
                // A parallel first attempt created the row after our update looked:
                // count this attempt against it (a no-op when the email is locked).
                count_attempt().await.map_err(store_error)?;
            }
        }
        let max = i32::try_from(max_failures).unwrap_or(i32::MAX);
        login_throttle::Entity::update_many()
            .col_expr(login_throttle::Column::Failures, Expr::value(0))
            .col_expr(
                login_throttle::Column::LockedUntil,
                Expr::value(now + lockout),
            )
            .filter(login_throttle::Column::Email.eq(key.as_str()))
            .filter(login_throttle::Column::Failures.gt(max))
            .exec(&txn)
            .await
            .map_err(store_error)?;
        let row = login_throttle::Entity::find_by_id(key)
            .one(&txn)
            .await
            .map_err(store_error)?;
        txn.commit().await.map_err(store_error)?;
        Ok(row.as_ref().map(to_state).unwrap_or_default())
    }

    async fn clear_login_failures(&self, email: &Email) -> Result<(), StoreError> {
        login_throttle::Entity::delete_by_id(email.as_str().to_owned())
            .exec(self.conn())
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
