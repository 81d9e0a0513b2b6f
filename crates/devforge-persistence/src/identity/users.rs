//! [`UserRepository`] on SQL.

use super::SqlIdentityStore;
use crate::entities::{sessions, users};
use crate::error::{corrupt, store_error};
use devforge_domain::{Email, NewAuditEntry, Page, PageRequest, Role, StoreError, UserId};
use devforge_identity::{
    NewUser, PasswordHash, User, UserFilter, UserPatch, UserRepository, UserStats,
};
use sea_orm::sea_query::{Expr, ExprTrait as _, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

fn to_user(row: users::Model) -> Result<User, StoreError> {
    Ok(User {
        id: UserId::from_uuid(row.id),
        email: Email::from_trusted(row.email),
        name: row.name,
        role: Role::parse(&row.role).map_err(|e| corrupt("role", e))?,
        disabled: row.disabled,
        password_hash: PasswordHash::from_stored(row.password_hash),
        created_at: row.created_at,
    })
}

/// `text` as a LIKE pattern matching it anywhere, with LIKE's wildcards taken literally.
fn contains_pattern(text: &str) -> LikeExpr {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

impl UserRepository for SqlIdentityStore {
    async fn insert_user(
        &self,
        user: NewUser,
        audit: Option<NewAuditEntry>,
    ) -> Result<User, StoreError> {
        let txn = self.conn().begin().await.map_err(store_error)?;
        let row = users::ActiveModel {
            id: Set(user.id.as_uuid()),
            email: Set(user.email.as_str().to_owned()),
            name: Set(user.name),
            password_hash: Set(user.password_hash.as_str().to_owned()),
            role: Set(user.role.as_str().to_owned()),
            disabled: Set(false),
            created_at: Set(user.created_at),
            updated_at: Set(user.created_at),
        }
        .insert(&txn)
        .await
        .map_err(store_error)?;
        if let Some(entry) = audit {
            crate::audit::append(&txn, entry).await?;
        }
        txn.commit().await.map_err(store_error)?;
        to_user(row)
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(self.conn())
            .await
            .map_err(store_error)?
            .map(to_user)
            .transpose()
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        users::Entity::find_by_id(id.as_uuid())
            .one(self.conn())
            .await
            .map_err(store_error)?
            .map(to_user)
            .transpose()
    }

    async fn list_users(
        &self,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, StoreError> {
        let mut query = users::Entity::find().order_by_asc(users::Column::CreatedAt);
        if let Some(role) = filter.role {
            query = query.filter(users::Column::Role.eq(role.as_str()));
        }
        if let Some(text) = filter.email_contains {
            let pattern = contains_pattern(&text.to_lowercase());
            query = query.filter(Expr::col(users::Column::Email).like(pattern));
        }
        let paginator = query.paginate(self.conn(), page.per_page());
        let total = paginator.num_items().await.map_err(store_error)?;
        let rows = paginator
            .fetch_page(page.page() - 1)
            .await
            .map_err(store_error)?;
        let items = rows.into_iter().map(to_user).collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            request: page,
            total,
        })
    }

    async fn update_user(
        &self,
        id: UserId,
        patch: UserPatch,
        audit: NewAuditEntry,
    ) -> Result<Option<User>, StoreError> {
        let now = audit.at;
        let txn = self.conn().begin().await.map_err(store_error)?;
        // Write first: on SQLite a transaction that reads before it writes can fail to
        // upgrade its lock under contention.
        let mut update = users::Entity::update_many()
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::Id.eq(id.as_uuid()));
        if let Some(role) = patch.role {
            update = update.col_expr(users::Column::Role, Expr::value(role.as_str()));
        }
        if let Some(disabled) = patch.disabled {
            update = update.col_expr(users::Column::Disabled, Expr::value(disabled));
        }
        let updated = update.exec(&txn).await.map_err(store_error)?;
        if updated.rows_affected == 0 {
            txn.rollback().await.map_err(store_error)?;
            return Ok(None);
        }
        if patch.disabled == Some(true) {
            sessions::Entity::update_many()
                .col_expr(sessions::Column::RevokedAt, Expr::value(now))
                .filter(sessions::Column::UserId.eq(id.as_uuid()))
                .filter(sessions::Column::RevokedAt.is_null())
                .exec(&txn)
                .await
                .map_err(store_error)?;
        }
        crate::audit::append(&txn, audit).await?;
        let row = users::Entity::find_by_id(id.as_uuid())
            .one(&txn)
            .await
            .map_err(store_error)?;
        txn.commit().await.map_err(store_error)?;
        row.map(to_user).transpose()
    }

    async fn user_stats(&self) -> Result<UserStats, StoreError> {
        let rows: Vec<(String, bool, i64)> = users::Entity::find()
            .select_only()
            .column(users::Column::Role)
            .column(users::Column::Disabled)
            .column_as(users::Column::Id.count(), "count")
            .group_by(users::Column::Role)
            .group_by(users::Column::Disabled)
            .into_tuple()
            .all(self.conn())
            .await
            .map_err(store_error)?;
        let mut stats = UserStats::default();
        for (role, disabled, count) in rows {
            let count = u64::try_from(count).unwrap_or(0);
            stats.total += count;
            if disabled {
                stats.disabled += count;
            }
            *stats.by_role.entry(role).or_default() += count;
        }
        Ok(stats)
    }
}
