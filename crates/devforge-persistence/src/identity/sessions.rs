//! [`SessionRepository`] on SQL.

use super::SqlIdentityStore;
use crate::entities::sessions;
use crate::error::store_error;
use chrono::{DateTime, Utc};
use devforge_domain::{StoreError, UserId};
use devforge_identity::model::{RotationOutcome, StoredSession};
use devforge_identity::{NewSession, RefreshTokenHash, SessionRepository};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};

async fn insert(db: &impl ConnectionTrait, session: NewSession) -> Result<(), StoreError> {
    sessions::ActiveModel {
        id: Set(session.id),
        family_id: Set(session.family_id),
        user_id: Set(session.user_id.as_uuid()),
        token_hash: Set(session.token_hash.as_str().to_owned()),
        created_at: Set(session.created_at),
        expires_at: Set(session.expires_at),
        rotated_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
    .map_err(store_error)?;
    Ok(())
}

async fn revoke_family(
    db: &impl ConnectionTrait,
    family_id: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sessions::Entity::update_many()
        .col_expr(sessions::Column::RevokedAt, Expr::value(now))
        .filter(sessions::Column::FamilyId.eq(family_id))
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map_err(store_error)?;
    Ok(())
}

impl SessionRepository for SqlIdentityStore {
    async fn insert_session(&self, session: NewSession) -> Result<(), StoreError> {
        insert(self.conn(), session).await
    }

    async fn find_session(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<StoredSession>, StoreError> {
        let row = sessions::Entity::find()
            .filter(sessions::Column::TokenHash.eq(hash.as_str()))
            .one(self.conn())
            .await
            .map_err(store_error)?;
        Ok(row.map(|row| StoredSession {
            id: row.id,
            family_id: row.family_id,
            user_id: UserId::from_uuid(row.user_id),
            expires_at: row.expires_at,
            rotated_at: row.rotated_at,
            revoked_at: row.revoked_at,
        }))
    }

    async fn rotate_session(
        &self,
        old: &StoredSession,
        new: NewSession,
        now: DateTime<Utc>,
    ) -> Result<RotationOutcome, StoreError> {
        let txn = self.conn().begin().await.map_err(store_error)?;
        // The conditional update is the arbiter: of racing rotations only one sees a row.
        let spent = sessions::Entity::update_many()
            .col_expr(sessions::Column::RotatedAt, Expr::value(now))
            .filter(sessions::Column::Id.eq(old.id))
            .filter(sessions::Column::RotatedAt.is_null())
            .filter(sessions::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(store_error)?;
        let outcome = if spent.rows_affected == 1 {
            insert(&txn, new).await?;
            RotationOutcome::Rotated
        } else {
            revoke_family(&txn, old.family_id, now).await?;
            RotationOutcome::Reused
        };
        txn.commit().await.map_err(store_error)?;
        Ok(outcome)
    }

    async fn revoke_family(
        &self,
        family_id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        revoke_family(self.conn(), family_id, now).await
    }
}
