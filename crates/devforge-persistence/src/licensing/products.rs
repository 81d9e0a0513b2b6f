//! [`ProductRepository`] on SQL.

use super::{
    SqlLicensingStore, entitlements_from_json, entitlements_to_json, from_stored, to_stored,
};
use crate::entities::products;
use crate::error::{corrupt, store_error};
use devforge_domain::{Currency, Money, NewAuditEntry, Page, PageRequest, StoreError};
use devforge_licensing::ports::ProductRepository;
use devforge_licensing::product::{LicenseTerms, Product, ProductPatch, Sku};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};

fn to_product(row: products::Model) -> Result<Product, StoreError> {
    let currency = Currency::parse(&row.currency).map_err(|e| corrupt("currency", e))?;
    let duration_days = row
        .license_duration_days
        .map(|days| from_stored("license duration", days))
        .transpose()?;
    let terms = LicenseTerms::new(
        duration_days,
        from_stored("max activations", row.max_activations)?,
        from_stored("grace days", row.grace_days)?,
    )
    .map_err(|e| corrupt("license terms", e))?;
    Ok(Product {
        sku: Sku::from_trusted(row.sku),
        name: row.name,
        price: Money::new(row.price_minor, currency),
        terms,
        entitlements: entitlements_from_json(row.entitlements)?,
        active: row.active,
        created_at: row.created_at,
    })
}

impl ProductRepository for SqlLicensingStore {
    async fn insert_product(
        &self,
        product: Product,
        audit: NewAuditEntry,
    ) -> Result<Product, StoreError> {
        let txn = self.conn().begin().await.map_err(store_error)?;
        let row = products::ActiveModel {
            sku: Set(product.sku.as_str().to_owned()),
            name: Set(product.name),
            price_minor: Set(product.price.minor_units()),
            currency: Set(product.price.currency().code().to_owned()),
            license_duration_days: Set(product.terms.duration_days.map(to_stored)),
            max_activations: Set(to_stored(product.terms.max_activations)),
            grace_days: Set(to_stored(product.terms.grace_days)),
            entitlements: Set(entitlements_to_json(&product.entitlements)),
            active: Set(product.active),
            created_at: Set(product.created_at),
            updated_at: Set(product.created_at),
        }
        .insert(&txn)
        .await
        .map_err(store_error)?;
        crate::audit::append(&txn, audit).await?;
        txn.commit().await.map_err(store_error)?;
        to_product(row)
    }

    async fn find_product(&self, sku: &Sku) -> Result<Option<Product>, StoreError> {
        products::Entity::find_by_id(sku.as_str().to_owned())
            .one(self.conn())
            .await
            .map_err(store_error)?
            .map(to_product)
            .transpose()
    }

    async fn list_products(
        &self,
        include_inactive: bool,
        page: PageRequest,
    ) -> Result<Page<Product>, StoreError> {
        let mut query = products::Entity::find().order_by_asc(products::Column::Sku);
        if !include_inactive {
            query = query.filter(products::Column::Active.eq(true));
        }
        crate::paging::fetch_page(self.conn(), query, page, to_product).await
    }

    async fn update_product(
        &self,
        sku: &Sku,
        patch: ProductPatch,
        audit: NewAuditEntry,
    ) -> Result<Option<Product>, StoreError> {
        let mut update = products::Entity::update_many()
            .col_expr(products::Column::UpdatedAt, Expr::value(audit.at))
            .filter(products::Column::Sku.eq(sku.as_str()));
        if let Some(name) = patch.name {
            update = update.col_expr(products::Column::Name, Expr::value(name));
        }
        if let Some(price) = patch.price {
            update = update
                .col_expr(
                    products::Column::PriceMinor,
                    Expr::value(price.minor_units()),
                )
                .col_expr(
                    products::Column::Currency,
                    Expr::value(price.currency().code()),
                );
        }
        if let Some(terms) = patch.terms {
            update = update
                .col_expr(
                    products::Column::LicenseDurationDays,
                    Expr::value(terms.duration_days.map(to_stored)),
                )
                .col_expr(
                    products::Column::MaxActivations,
                    Expr::value(to_stored(terms.max_activations)),
                )
                .col_expr(
                    products::Column::GraceDays,
                    Expr::value(to_stored(terms.grace_days)),
                );
        }
        if let Some(entitlements) = patch.entitlements {
            update = update.col_expr(
                products::Column::Entitlements,
                Expr::value(entitlements_to_json(&entitlements)),
            );
        }
        if let Some(active) = patch.active {
            update = update.col_expr(products::Column::Active, Expr::value(active));
        }
        let txn = self.conn().begin().await.map_err(store_error)?;
        // Write first: on SQLite a transaction that reads before it writes can fail to
        // upgrade its lock under contention.
        let updated = update.exec(&txn).await.map_err(store_error)?;
        if updated.rows_affected == 0 {
            txn.rollback().await.map_err(store_error)?;
            return Ok(None);
        }
        crate::audit::append(&txn, audit).await?;
        let row = products::Entity::find_by_id(sku.as_str().to_owned())
            .one(&txn)
            .await
            .map_err(store_error)?;
        txn.commit().await.map_err(store_error)?;
        row.map(to_product).transpose()
    }
}
