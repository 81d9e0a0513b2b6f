//! [`ActivationRepository`] on SQL: seats, whose limits must hold under parallel requests.
//!
//! The seat count on the license row is the arbiter. Taking a seat increments it only while
//! the license is active and below its limit, and releasing one decrements it; both are a
//! single conditional `UPDATE`. On PostgreSQL a second writer waits for the row and then
//! re-checks the condition against the committed row, so of N parallel activations with k
//! free seats exactly k succeed; on SQLite writers are serialised by the database lock.

use super::{SqlLicensingStore, events};
use crate::entities::{activations, licenses};
use crate::error::store_error;
use devforge_domain::{NewAuditEntry, StoreError};
use devforge_licensing::activation::{Activation, ActivationId, ActivationOutcome, Fingerprint};
use devforge_licensing::event::NewLicenseEvent;
use devforge_licensing::license::{LicenseId, LicenseStatus};
use devforge_licensing::ports::{
    ActivationRepository, DeactivationOutcome, DeactivationThrottle, SeatSelector,
};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

/// How often an activation is retried when the machine's seat is released between seeing
/// it and reading it.
const ACTIVATION_ATTEMPTS: usize = 3;

fn to_activation(row: activations::Model) -> Activation {
    Activation {
        id: ActivationId::from_uuid(row.id),
        license_id: LicenseId::from_uuid(row.license_id),
        fingerprint: Fingerprint::from_trusted(row.fingerprint),
        name: row.name,
        platform: row.platform,
        created_at: row.created_at,
    }
}

/// One attempt at taking a seat. `None` when the machine had a seat that was released
/// before it could be read (possible on PostgreSQL only: on SQLite this transaction holds
/// the write lock from its first statement).
async fn try_activate(
    db: &DatabaseConnection,
    activation: &Activation,
    event: &NewLicenseEvent,
) -> Result<Option<ActivationOutcome>, StoreError> {
    let license_id = activation.license_id.as_uuid();
    let txn = db.begin().await.map_err(store_error)?;
    // Write first: the seat itself. The unique (license, fingerprint) index says whether
    // the machine already has one, also when two activations of it race.
    let inserted = activations::Entity::insert(activations::ActiveModel {
        id: Set(activation.id.as_uuid()),
        license_id: Set(license_id),
        fingerprint: Set(activation.fingerprint.as_str().to_owned()),
        name: Set(activation.name.clone()),
        platform: Set(activation.platform.clone()),
        created_at: Set(activation.created_at),
    })
    .on_conflict(
        OnConflict::columns([
            activations::Column::LicenseId,
            activations::Column::Fingerprint,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await
    .map_err(store_error)?;
    if inserted == 0 {
        // The machine has a seat; it still gets nothing from a license that stopped being
        // active since the service looked.
        let status: Option<String> = licenses::Entity::find_by_id(license_id)
            .select_only()
            .column(licenses::Column::Status)
            .into_tuple()
            .one(&txn)
            .await
            .map_err(store_error)?;
        if status.as_deref() != Some(LicenseStatus::Active.as_str()) {
            txn.rollback().await.map_err(store_error)?;
            return Ok(Some(ActivationOutcome::NotActive));
        }
        let existing = activations::Entity::find()
            .filter(activations::Column::LicenseId.eq(license_id))
            .filter(activations::Column::Fingerprint.eq(activation.fingerprint.as_str()))
            .one(&txn)
            .await
            .map_err(store_error)?;
        txn.commit().await.map_err(store_error)?;
        return Ok(existing.map(|row| ActivationOutcome::Existing(to_activation(row))));
    }
    let counted = licenses::Entity::update_many()
        .col_expr(
            licenses::Column::ActivationsCount,
            Expr::col(licenses::Column::ActivationsCount).add(1),
        )
        .col_expr(licenses::Column::UpdatedAt, Expr::value(event.at))
        .col_expr(
            licenses::Column::Revision,
            Expr::col(licenses::Column::Revision).add(1),
        )
        .filter(licenses::Column::Id.eq(license_id))
        .filter(licenses::Column::Status.eq(LicenseStatus::Active.as_str()))
        .filter(
            Expr::col(licenses::Column::ActivationsCount)
                .lt(Expr::col(licenses::Column::MaxActivations)),
        )
        .exec(&txn)
        .await
        .map_err(store_error)?;
    if counted.rows_affected == 0 {
        let status: Option<String> = licenses::Entity::find_by_id(license_id)
            .select_only()
            .column(licenses::Column::Status)
            .into_tuple()
            .one(&txn)
            .await
            .map_err(store_error)?;
        // The seat inserted above goes with the rollback.
        txn.rollback().await.map_err(store_error)?;
        let outcome = if status.as_deref() == Some(LicenseStatus::Active.as_str()) {
            ActivationOutcome::LimitReached
        } else {
            ActivationOutcome::NotActive
        };
        return Ok(Some(outcome));
    }
    events::append(&txn, activation.license_id, event.clone(), false).await?;
    // Read back as stored (PostgreSQL keeps microseconds), so the caller sees what later
    // listings will show.
    let stored = activations::Entity::find_by_id(activation.id.as_uuid())
        .one(&txn)
        .await
        .map_err(store_error)?
        .ok_or_else(|| StoreError::unexpected("the new seat is missing"))?;
    txn.commit().await.map_err(store_error)?;
    Ok(Some(ActivationOutcome::Created(to_activation(stored))))
}

impl ActivationRepository for SqlLicensingStore {
    async fn activate(
        &self,
        activation: Activation,
        event: NewLicenseEvent,
    ) -> Result<ActivationOutcome, StoreError> {
        for _ in 0..ACTIVATION_ATTEMPTS {
            if let Some(outcome) = try_activate(self.conn(), &activation, &event).await? {
                return Ok(outcome);
            }
        }
        Err(StoreError::unexpected(
            "the machine's seat kept being released while activating",
        ))
    }

    async fn deactivate(
        &self,
        license_id: LicenseId,
        seat: SeatSelector,
        throttle: Option<DeactivationThrottle>,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> Result<DeactivationOutcome, StoreError> {
        let txn = self.conn().begin().await.map_err(store_error)?;
        // Write first, to the license row: it also serialises the releases of one license,
        // so parallel releases cannot all pass the throttle's count below. While the count
        // is zero the license has no seat to release.
        let uncounted = licenses::Entity::update_many()
            .col_expr(
                licenses::Column::ActivationsCount,
                Expr::col(licenses::Column::ActivationsCount).sub(1),
            )
            .col_expr(licenses::Column::UpdatedAt, Expr::value(event.at))
            .col_expr(
                licenses::Column::Revision,
                Expr::col(licenses::Column::Revision).add(1),
            )
            .filter(licenses::Column::Id.eq(license_id.as_uuid()))
            .filter(licenses::Column::ActivationsCount.gt(0))
            .exec(&txn)
            .await
            .map_err(store_error)?;
        if uncounted.rows_affected == 0 {
            txn.rollback().await.map_err(store_error)?;
            return Ok(DeactivationOutcome::NotFound);
        }
        let query = activations::Entity::find()
            .filter(activations::Column::LicenseId.eq(license_id.as_uuid()));
        let query = match &seat {
            SeatSelector::Fingerprint(fingerprint) => {
                query.filter(activations::Column::Fingerprint.eq(fingerprint.as_str()))
            }
            SeatSelector::Id(id) => query.filter(activations::Column::Id.eq(id.as_uuid())),
        };
        let Some(row) = query.one(&txn).await.map_err(store_error)? else {
            txn.rollback().await.map_err(store_error)?;
            return Ok(DeactivationOutcome::NotFound);
        };
        if let Some(throttle) = throttle {
            let recent = events::self_service_releases(&txn, license_id, throttle.since).await?;
            if recent >= u64::from(throttle.limit) {
                txn.rollback().await.map_err(store_error)?;
                return Ok(DeactivationOutcome::Throttled);
            }
        }
        activations::Entity::delete_by_id(row.id)
            .exec(&txn)
            .await
            .map_err(store_error)?;
        events::append(&txn, license_id, event, throttle.is_some()).await?;
        if let Some(entry) = audit {
            crate::audit::append(&txn, entry).await?;
        }
        txn.commit().await.map_err(store_error)?;
        Ok(DeactivationOutcome::Released(to_activation(row)))
    }

    async fn list_activations(&self, license_id: LicenseId) -> Result<Vec<Activation>, StoreError> {
        let rows = activations::Entity::find()
            .filter(activations::Column::LicenseId.eq(license_id.as_uuid()))
            .order_by_asc(activations::Column::CreatedAt)
            .order_by_asc(activations::Column::Id)
            .all(self.conn())
            .await
            .map_err(store_error)?;
        Ok(rows.into_iter().map(to_activation).collect())
    }
}
