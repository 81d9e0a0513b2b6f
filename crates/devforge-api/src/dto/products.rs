//! Bodies of the `/v1/products` routes.

use super::double_option;
use chrono::{DateTime, Utc};
use devforge_licensing::Product;
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `POST /v1/products`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    /// Identifier: 2-64 characters of a-z, 0-9 and `-`, starting with a letter.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    /// Display name.
    #[garde(length(chars, min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Price in the currency's minor unit (cents; yen for JPY).
    #[garde(range(min = 0))]
    #[schema(minimum = 0)]
    pub price: i64,
    /// ISO 4217 currency code.
    #[garde(length(min = 3, max = 3))]
    #[schema(min_length = 3, max_length = 3)]
    pub currency: String,
    /// License duration; null or absent for perpetual licenses.
    #[garde(skip)]
    pub license_duration_days: Option<u32>,
    /// Machines per license.
    #[garde(skip)]
    pub max_activations: u32,
    /// Days after expiry during which validation still passes.
    #[serde(default)]
    #[garde(skip)]
    pub grace_days: u32,
    /// What licenses of this product entitle to, e.g. `pro`, `ext:rust-analyzer`.
    #[serde(default)]
    #[garde(length(max = 32))]
    #[schema(max_items = 32)]
    pub entitlements: Vec<String>,
    /// Listed in the public catalogue (default true).
    #[serde(default = "yes")]
    #[garde(skip)]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// `PATCH /v1/products/{sku}`: absent fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProductRequest {
    /// Display name.
    #[garde(inner(length(chars, min = 1, max = 100)))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Price in minor units.
    #[garde(inner(range(min = 0)))]
    #[schema(minimum = 0)]
    pub price: Option<i64>,
    /// ISO 4217 currency code.
    #[garde(inner(length(min = 3, max = 3)))]
    #[schema(min_length = 3, max_length = 3)]
    pub currency: Option<String>,
    /// License duration in days; `null` makes new licenses perpetual.
    #[serde(default, deserialize_with = "double_option::deserialize")]
    #[schema(value_type = Option<u32>)]
    #[garde(skip)]
    pub license_duration_days: Option<Option<u32>>,
    /// Machines per license (for licenses issued from now on).
    #[garde(skip)]
    pub max_activations: Option<u32>,
    /// Grace days (for licenses issued from now on).
    #[garde(skip)]
    pub grace_days: Option<u32>,
    /// Entitlements (for licenses issued from now on).
    #[garde(inner(length(max = 32)))]
    #[schema(max_items = 32)]
    pub entitlements: Option<Vec<String>>,
    /// Listed in the public catalogue.
    #[garde(skip)]
    pub active: Option<bool>,
}

/// Paging of the catalogue.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductsQuery {
    /// Page number (from 1).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (1 to 100, default 20).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

/// A product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductResponse {
    /// Identifier.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Price in minor units.
    pub price: i64,
    /// ISO 4217 currency code.
    pub currency: String,
    /// License duration; null for perpetual.
    pub license_duration_days: Option<u32>,
    /// Machines per license.
    pub max_activations: u32,
    /// Grace days after expiry.
    pub grace_days: u32,
    /// Entitlements.
    pub entitlements: Vec<String>,
    /// Listed publicly.
    pub active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<Product> for ProductResponse {
    fn from(product: Product) -> Self {
        Self {
            sku: product.sku.as_str().to_owned(),
            name: product.name,
            price: product.price.minor_units(),
            currency: product.price.currency().code().to_owned(),
            license_duration_days: product.terms.duration_days,
            max_activations: product.terms.max_activations,
            grace_days: product.terms.grace_days,
            entitlements: product
                .entitlements
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect(),
            active: product.active,
            created_at: product.created_at,
        }
    }
}
