//! The audit trail, written inside other adapters' transactions and read by admins.

use crate::entities::audit_log;
use crate::error::store_error;
use devforge_domain::{AuditEntry, NewAuditEntry, Page, PageRequest, StoreError, UserId};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryOrder, Set};

/// Appends `entry` through `db`, which may be a transaction.
///
/// # Errors
/// [`StoreError`] when the insert fails.
pub async fn append(db: &impl ConnectionTrait, entry: NewAuditEntry) -> Result<(), StoreError> {
    audit_log::ActiveModel {
        actor_id: Set(entry.actor.map(|id| id.as_uuid())),
        action: Set(entry.action),
        target_type: Set(entry.target_type),
        target_id: Set(entry.target_id),
        detail: Set(entry.detail),
        created_at: Set(entry.at),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// The trail, newest first.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub async fn list(
    db: &impl ConnectionTrait,
    page: PageRequest,
) -> Result<Page<AuditEntry>, StoreError> {
    let paginator = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .paginate(db, page.per_page());
    let total = paginator.num_items().await.map_err(store_error)?;
    let rows = paginator
        .fetch_page(page.page() - 1)
        .await
        .map_err(store_error)?;
    let items = rows
        .into_iter()
        .map(|row| AuditEntry {
            id: row.id,
            entry: NewAuditEntry {
                actor: row.actor_id.map(UserId::from_uuid),
                action: row.action,
                target_type: row.target_type,
                target_id: row.target_id,
                detail: row.detail,
                at: row.created_at,
            },
        })
        .collect();
    Ok(Page {
        items,
        request: page,
        total,
    })
}
