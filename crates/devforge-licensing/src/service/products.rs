//! The catalogue: products, their terms and prices (admins change them; anyone reads the
//! active ones).

use super::{LicensingService, Requester, audit};
use crate::error::LicensingError;
use crate::ports::LicensingStore;
use crate::product::{NewProduct, Product, ProductChanges, ProductPatch, Sku};
use devforge_domain::{Clock, Page, PageRequest, StoreError};
use serde_json::json;

impl<S: LicensingStore, C: Clock> LicensingService<S, C> {
    /// Adds a product (admins).
    ///
    /// # Errors
    /// [`LicensingError::SkuTaken`].
    pub async fn create_product(
        &self,
        actor: Requester,
        new: NewProduct,
    ) -> Result<Product, LicensingError> {
        let product = Product {
            sku: new.sku,
            name: new.name,
            price: new.price,
            terms: new.terms,
            entitlements: new.entitlements,
            active: new.active,
            created_at: self.clock.now(),
        };
        let entry = audit(
            actor,
            "product.created",
            "product",
            product.sku.to_string(),
            json!({ "name": product.name, "price": product.price.minor_units(), "currency": product.price.currency().code() }),
            self.clock.now(),
        );
        match self.store.insert_product(product, entry).await {
            Err(StoreError::Duplicate { .. }) => Err(LicensingError::SkuTaken),
            other => Ok(other?),
        }
    }

    /// Changes a product (admins). Licenses already issued keep their terms.
    ///
    /// # Errors
    /// [`LicensingError::ProductNotFound`], [`LicensingError::Invalid`] when the merged
    /// terms break a rule.
    pub async fn update_product(
        &self,
        actor: Requester,
        sku: &Sku,
        changes: ProductChanges,
    ) -> Result<Product, LicensingError> {
        let current = self
            .store
            .find_product(sku)
            .await?
            .ok_or(LicensingError::ProductNotFound)?;
        let patch: ProductPatch = changes.into_patch(&current)?;
        let detail = json!({
            "name": patch.name, "active": patch.active,
            "price": patch.price.map(|p| p.minor_units()),
            "terms_changed": patch.terms.is_some(), "entitlements_changed": patch.entitlements.is_some(),
        });
        let entry = audit(
            actor,
            "product.updated",
            "product",
            sku.to_string(),
            detail,
            self.clock.now(),
        );
        self.store
            .update_product(sku, patch, entry)
            .await?
            .ok_or(LicensingError::ProductNotFound)
    }

    /// A product; inactive ones only for admins.
    ///
    /// # Errors
    /// [`LicensingError::ProductNotFound`].
    pub async fn product(
        &self,
        sku: &Sku,
        include_inactive: bool,
    ) -> Result<Product, LicensingError> {
        self.store
            .find_product(sku)
            .await?
            .filter(|product| product.active || include_inactive)
            .ok_or(LicensingError::ProductNotFound)
    }

    /// The catalogue.
    ///
    /// # Errors
    /// [`LicensingError::Store`].
    pub async fn products(
        &self,
        include_inactive: bool,
        page: PageRequest,
    ) -> Result<Page<Product>, LicensingError> {
        Ok(self.store.list_products(include_inactive, page).await?)
    }
}
