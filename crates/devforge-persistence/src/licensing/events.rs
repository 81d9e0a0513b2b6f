//! License events: appended inside the transactions that change a license, and read as its
//! history.

use crate::entities::license_events;
use crate::error::{corrupt, store_error};
use chrono::{DateTime, Utc};
use devforge_domain::{Page, PageRequest, StoreError, UserId};
use devforge_licensing::event::{Actor, EventKind, LicenseEvent, NewLicenseEvent};
use devforge_licensing::license::LicenseId;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

fn to_event(row: license_events::Model) -> Result<LicenseEvent, StoreError> {
    let kind = EventKind::parse(&row.kind).ok_or_else(|| corrupt("event kind", &row.kind))?;
    Ok(LicenseEvent {
        id: row.id,
        license_id: LicenseId::from_uuid(row.license_id),
        event: NewLicenseEvent {
            kind,
            actor: Actor::from_stored(&row.actor_kind, row.actor_id.map(UserId::from_uuid)),
            detail: row.detail,
            at: row.created_at,
        },
    })
}

/// Appends `event` to the history of `license_id` through `db`, which may be a
/// transaction. `self_service` marks a seat release the throttle counts.
pub(super) async fn append(
    db: &impl ConnectionTrait,
    license_id: LicenseId,
    event: NewLicenseEvent,
    self_service: bool,
) -> Result<(), StoreError> {
    license_events::ActiveModel {
        license_id: Set(license_id.as_uuid()),
        kind: Set(event.kind.as_str().to_owned()),
        actor_kind: Set(event.actor.kind().to_owned()),
        actor_id: Set(event.actor.user_id().map(|id| id.as_uuid())),
        detail: Set(event.detail),
        self_service: Set(self_service),
        created_at: Set(event.at),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Self-service seat releases of `license_id` since `since`.
pub(super) async fn self_service_releases(
    db: &impl ConnectionTrait,
    license_id: LicenseId,
    since: DateTime<Utc>,
) -> Result<u64, StoreError> {
    license_events::Entity::find()
        .filter(license_events::Column::LicenseId.eq(license_id.as_uuid()))
        .filter(license_events::Column::Kind.eq(EventKind::Deactivated.as_str()))
        .filter(license_events::Column::SelfService.eq(true))
        .filter(license_events::Column::CreatedAt.gte(since))
        .count(db)
        .await
        .map_err(store_error)
}

/// The history of `license_id`, oldest first.
pub(super) async fn list(
    db: &DatabaseConnection,
    license_id: LicenseId,
    page: PageRequest,
) -> Result<Page<LicenseEvent>, StoreError> {
    let query = license_events::Entity::find()
        .filter(license_events::Column::LicenseId.eq(license_id.as_uuid()))
        .order_by_asc(license_events::Column::Id);
    crate::paging::fetch_page(db, query, page, to_event).await
}
