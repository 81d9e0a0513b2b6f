//! [`LicenseRepository`] on SQL.

use super::{SqlLicensingStore, entitlements_from_json, entitlements_to_json, events};
use super::{from_stored, to_stored};
use crate::entities::{activations, license_payment_renewals, licenses};
use crate::error::{corrupt, store_error};
use chrono::{DateTime, Utc};
use devforge_domain::{NewAuditEntry, Page, PageRequest, StoreError, UserId};
use devforge_licensing::activation::Fingerprint;
use devforge_licensing::event::{LicenseEvent, NewLicenseEvent};
use devforge_licensing::key_protection::KeyHash;
use devforge_licensing::license::{License, LicenseId, LicenseSource, LicenseStatus};
use devforge_licensing::ports::{KeyLookup, LicenseFilter, LicenseRepository, NewLicense};
use devforge_licensing::product::Sku;
use sea_orm::sea_query::{Expr, ExprTrait as _, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait, UpdateMany,
};

pub(super) fn to_license(row: licenses::Model) -> Result<License, StoreError> {
    Ok(License {
        id: LicenseId::from_uuid(row.id),
        user_id: UserId::from_uuid(row.user_id),
        product: Sku::from_trusted(row.product),
        status: LicenseStatus::parse(&row.status).map_err(|e| corrupt("license status", e))?,
        issued_at: row.issued_at,
        expires_at: row.expires_at,
        grace_days: from_stored("grace days", row.grace_days)?,
        max_activations: from_stored("max activations", row.max_activations)?,
        activations_count: from_stored("activations count", row.activations_count)?,
        entitlements: entitlements_from_json(row.entitlements)?,
        source: LicenseSource::decode(&row.source)
            .ok_or_else(|| corrupt("license source", &row.source))?,
        revocation_reason: row.revocation_reason,
        revision: u64::try_from(row.revision).map_err(|e| corrupt("license revision", e))?,
    })
}

/// A license row with whether it is activated on the fingerprint asked about.
#[derive(Debug, FromQueryResult)]
struct KeyRow {
    #[sea_orm(nested)]
    license: licenses::Model,
    activated_here: bool,
}

fn to_lookup(row: licenses::Model, activated_here: Option<bool>) -> Result<KeyLookup, StoreError> {
    let key_hash = KeyHash::from_stored(row.key_hash.clone());
    Ok(KeyLookup {
        license: to_license(row)?,
        key_hash,
        activated_here,
    })
}

/// Runs a conditional `update` of one license; when it matched, writes the event and audit
/// entry and returns the license as it now is. `Ok(None)` (and nothing written) when the
/// condition did not hold.
async fn apply(
    txn: DatabaseTransaction,
    id: LicenseId,
    update: UpdateMany<licenses::Entity>,
    event: NewLicenseEvent,
    audit: Option<NewAuditEntry>,
) -> Result<Option<License>, StoreError> {
    let updated = update
        .filter(licenses::Column::Id.eq(id.as_uuid()))
        .exec(&txn)
        .await
        .map_err(store_error)?;
    if updated.rows_affected == 0 {
        txn.rollback().await.map_err(store_error)?;
        return Ok(None);
    }
    events::append(&txn, id, event, false).await?;
    if let Some(entry) = audit {
        crate::audit::append(&txn, entry).await?;
    }
    let row = find(&txn, id).await?;
    txn.commit().await.map_err(store_error)?;
    row.map(to_license).transpose()
}

async fn find(
    db: &impl ConnectionTrait,
    id: LicenseId,
) -> Result<Option<licenses::Model>, StoreError> {
    licenses::Entity::find_by_id(id.as_uuid())
        .one(db)
        .await
        .map_err(store_error)
}

impl LicenseRepository for SqlLicensingStore {
    async fn insert_license(
        &self,
        license: NewLicense,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> Result<License, StoreError> {
        let payment_id = match &license.source {
            LicenseSource::Payment(id) => Some(id.clone()),
            LicenseSource::Admin(_) => None,
        };
        let txn = self.conn().begin().await.map_err(store_error)?;
        let row = licenses::ActiveModel {
            id: Set(license.id.as_uuid()),
            key_hash: Set(license.key_hash.as_str().to_owned()),
            sealed_key: Set(license.sealed_key),
            user_id: Set(license.user_id.as_uuid()),
            product: Set(license.product.as_str().to_owned()),
            status: Set(LicenseStatus::Active.as_str().to_owned()),
            issued_at: Set(license.issued_at),
            expires_at: Set(license.expires_at),
            grace_days: Set(to_stored(license.grace_days)),
            max_activations: Set(to_stored(license.max_activations)),
            activations_count: Set(0),
            entitlements: Set(entitlements_to_json(&license.entitlements)),
            source: Set(license.source.encode()),
            payment_id: Set(payment_id),
            revocation_reason: Set(None),
            created_at: Set(license.issued_at),
            updated_at: Set(license.issued_at),
            revision: Set(0),
        }
        .insert(&txn)
        .await
        .map_err(store_error)?;
        events::append(&txn, license.id, event, false).await?;
        if let Some(entry) = audit {
            crate::audit::append(&txn, entry).await?;
        }
        txn.commit().await.map_err(store_error)?;
        to_license(row)
    }

    async fn find_license(&self, id: LicenseId) -> Result<Option<License>, StoreError> {
        find(self.conn(), id).await?.map(to_license).transpose()
    }

    async fn sealed_key(&self, id: LicenseId) -> Result<Option<Vec<u8>>, StoreError> {
        licenses::Entity::find_by_id(id.as_uuid())
            .select_only()
            .column(licenses::Column::SealedKey)
            .into_tuple::<Vec<u8>>()
            .one(self.conn())
            .await
            .map_err(store_error)
    }

    async fn find_by_key(
        &self,
        hash: &KeyHash,
        fingerprint: Option<&Fingerprint>,
    ) -> Result<Option<KeyLookup>, StoreError> {
        let query = licenses::Entity::find().filter(licenses::Column::KeyHash.eq(hash.as_str()));
        let Some(fingerprint) = fingerprint else {
            return query
                .one(self.conn())
                .await
                .map_err(store_error)?
                .map(|row| to_lookup(row, None))
                .transpose();
        };
        // The seat check rides along as a correlated EXISTS: one statement, both indexes.
        let seat = Query::select()
            .expr(Expr::val(1))
            .from(activations::Entity)
            .and_where(
                Expr::col((activations::Entity, activations::Column::LicenseId))
                    .equals((licenses::Entity, licenses::Column::Id)),
            )
            .and_where(
                Expr::col((activations::Entity, activations::Column::Fingerprint))
                    .eq(fingerprint.as_str()),
            )
            .to_owned();
        query
            .expr_as(Expr::exists(seat), "activated_here")
            .into_model::<KeyRow>()
            .one(self.conn())
            .await
            .map_err(store_error)?
            .map(|row| to_lookup(row.license, Some(row.activated_here)))
            .transpose()
    }

    async fn list_licenses(
        &self,
        filter: LicenseFilter,
        page: PageRequest,
    ) -> Result<Page<License>, StoreError> {
        let mut query = licenses::Entity::find()
            .order_by_desc(licenses::Column::IssuedAt)
            .order_by_desc(licenses::Column::Id);
        if let Some(user_id) = filter.user_id {
            query = query.filter(licenses::Column::UserId.eq(user_id.as_uuid()));
        }
        if let Some(product) = filter.product {
            query = query.filter(licenses::Column::Product.eq(product.as_str()));
        }
        if let Some(status) = filter.status {
            query = query.filter(licenses::Column::Status.eq(status.as_str()));
        }
        crate::paging::fetch_page(self.conn(), query, page, to_license).await
    }

    async fn change_status(
        &self,
        id: LicenseId,
        from: &[LicenseStatus],
        to: LicenseStatus,
        reason: Option<String>,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> Result<Option<License>, StoreError> {
        // The status condition is the arbiter: of racing transitions from one status, only
        // one sees the row.
        let update = licenses::Entity::update_many()
            .col_expr(licenses::Column::Status, Expr::value(to.as_str()))
            .col_expr(licenses::Column::RevocationReason, Expr::value(reason))
            .col_expr(licenses::Column::UpdatedAt, Expr::value(event.at))
            .col_expr(
                licenses::Column::Revision,
                Expr::col(licenses::Column::Revision).add(1),
            )
            .filter(licenses::Column::Status.is_in(from.iter().map(|s| s.as_str())));
        let txn = self.conn().begin().await.map_err(store_error)?;
        apply(txn, id, update, event, audit).await
    }

    async fn renew_license(
        &self,
        id: LicenseId,
        current: Option<DateTime<Utc>>,
        renewed: DateTime<Utc>,
        payment: Option<String>,
        event: NewLicenseEvent,
        audit: Option<NewAuditEntry>,
    ) -> Result<Option<License>, StoreError> {
        // Only while the expiry is still the one the renewal was computed from, so two
        // renewals cannot both extend from the same old date.
        let still_current = match current {
            Some(expiry) => licenses::Column::ExpiresAt.eq(expiry),
            None => licenses::Column::ExpiresAt.is_null(),
        };
        // Never a revoked one, even when the revocation lands after the service looked.
        let update = licenses::Entity::update_many()
            .col_expr(licenses::Column::ExpiresAt, Expr::value(renewed))
            .col_expr(licenses::Column::UpdatedAt, Expr::value(event.at))
            .col_expr(
                licenses::Column::Revision,
                Expr::col(licenses::Column::Revision).add(1),
            )
            .filter(still_current)
            .filter(licenses::Column::Status.ne(LicenseStatus::Revoked.as_str()));
        let txn = self.conn().begin().await.map_err(store_error)?;
        if let Some(payment) = payment {
            // First, so a second renewal for the same payment stops here (and waits here
            // for a parallel one to commit or roll back).
            license_payment_renewals::ActiveModel {
                payment_id: Set(payment),
                license_id: Set(id.as_uuid()),
                renewed_at: Set(event.at),
            }
            .insert(&txn)
            .await
            .map_err(store_error)?;
        }
        apply(txn, id, update, event, audit).await
    }

    async fn find_by_payment(&self, payment: &str) -> Result<Option<License>, StoreError> {
        licenses::Entity::find()
            .filter(licenses::Column::PaymentId.eq(payment))
            .one(self.conn())
            .await
            .map_err(store_error)?
            .map(to_license)
            .transpose()
    }

    async fn list_events(
        &self,
        id: LicenseId,
        page: PageRequest,
    ) -> Result<Page<LicenseEvent>, StoreError> {
        events::list(self.conn(), id, page).await
    }
}
