//! [`LoginThrottleRepository`] on SQL: the identity crate's rule applied to rows that this
//! transaction holds from its first statement, so parallel attempts for one email are
//! counted one after another on both databases.

use super::SqlIdentityStore;
use crate::entities::login_attempts;
use crate::error::store_error;
use chrono::{DateTime, Utc};
use devforge_domain::{Email, StoreError};
use devforge_identity::{
    AttemptCounter, LoginThrottlePolicy, LoginThrottleRepository, LoginThrottleVerdict,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set, TransactionTrait};

/// The `client` of the row that counts an email's attempts over all clients.
const ALL_CLIENTS: &str = "";

/// The client as stored: at most the column's 64 characters (an IP address is at most 46).
fn client_key(client: &str) -> &str {
    client
        .char_indices()
        .nth(64)
        .map_or(client, |(end, _)| &client[..end])
}

/// Takes the write lock on the counter row of (`email`, `client`), creating the row when it
/// is missing, and reads it. The first statement writes (a no-op update, or the insert),
/// so PostgreSQL's row lock or SQLite's write lock is held before anything is read.
async fn locked_counter(
    txn: &DatabaseTransaction,
    email: &str,
    client: &str,
) -> Result<AttemptCounter, StoreError> {
    use login_attempts::Column as C;
    for _ in 0..2 {
        let touched = login_attempts::Entity::update_many()
            .col_expr(C::Failures, Expr::col(C::Failures))
            .filter(C::Email.eq(email))
            .filter(C::Client.eq(client))
            .exec(txn)
            .await
            .map_err(store_error)?;
        if touched.rows_affected > 0 {
            break;
        }
        let inserted = login_attempts::Entity::insert(login_attempts::ActiveModel {
            email: Set(email.to_owned()),
            client: Set(client.to_owned()),
            failures: Set(0),
            blocked_until: Set(None),
            last_attempt_at: Set(None),
        })
        .on_conflict(
            OnConflict::columns([C::Email, C::Client])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await
        .map_err(store_error)?;
        if inserted > 0 {
            break;
        }
        // A parallel first attempt inserted it after the update looked: lock that row.
    }
    let row = login_attempts::Entity::find_by_id((email.to_owned(), client.to_owned()))
        .one(txn)
        .await
        .map_err(store_error)?;
    Ok(
        row.map_or_else(AttemptCounter::default, |row| AttemptCounter {
            failures: u32::try_from(row.failures).unwrap_or(0),
            blocked_until: row.blocked_until,
            last_attempt_at: row.last_attempt_at,
        }),
    )
}

async fn store_counter(
    txn: &DatabaseTransaction,
    email: &str,
    client: &str,
    counter: AttemptCounter,
) -> Result<(), StoreError> {
    use login_attempts::Column as C;
    login_attempts::Entity::update_many()
        .col_expr(
            C::Failures,
            Expr::value(i32::try_from(counter.failures).unwrap_or(i32::MAX)),
        )
        .col_expr(C::BlockedUntil, Expr::value(counter.blocked_until))
        .col_expr(C::LastAttemptAt, Expr::value(counter.last_attempt_at))
        .filter(C::Email.eq(email))
        .filter(C::Client.eq(client))
        .exec(txn)
        .await
        .map_err(store_error)?;
    Ok(())
}

impl LoginThrottleRepository for SqlIdentityStore {
    async fn reserve_login_attempt(
        &self,
        email: &Email,
        client: &str,
        now: DateTime<Utc>,
        policy: &LoginThrottlePolicy,
    ) -> Result<LoginThrottleVerdict, StoreError> {
        let email = email.as_str();
        let client = client_key(client);
        let txn = self.conn().begin().await.map_err(store_error)?;
        // The email's row first, always: two attempts never wait on each other's rows.
        let all = locked_counter(&txn, email, ALL_CLIENTS).await?;
        let one = locked_counter(&txn, email, client).await?;
        let reserved = policy.reserve(all, one, now);
        store_counter(&txn, email, ALL_CLIENTS, reserved.email).await?;
        store_counter(&txn, email, client, reserved.client).await?;
        txn.commit().await.map_err(store_error)?;
        Ok(reserved.verdict)
    }

    async fn clear_login_failures(&self, email: &Email, client: &str) -> Result<(), StoreError> {
        use login_attempts::Column as C;
        login_attempts::Entity::delete_many()
            .filter(C::Email.eq(email.as_str()))
            .filter(C::Client.is_in([ALL_CLIENTS, client_key(client)]))
            .exec(self.conn())
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
