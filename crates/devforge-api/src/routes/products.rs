//! `/v1/products`: the catalogue. Reading is public; changes are for admins.

use crate::dto::page::{PageResponse, page_request};
use crate::dto::products::{
    CreateProductRequest, ProductResponse, ProductsQuery, UpdateProductRequest,
};
use crate::error::{ApiError, Problem};
use crate::extract::{Admin, MaybeAuthenticated, Valid, ValidQuery, admins_only};
use crate::problem_responses::{NotAdmin, NotLoggedIn};
use crate::routes::licensing_requester;
use crate::state::AppState;
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, get, patch, post, web};
use devforge_domain::{Currency, Money, Role};
use devforge_licensing::{
    LicenseTerms, NewProduct, ProductChanges, Sku, parse_entitlements, product::parse_name,
};

fn sees_inactive(caller: MaybeAuthenticated) -> bool {
    caller.0.is_some_and(|p| p.role == Role::Admin)
}

/// The catalogue: active products (admins also see inactive ones).
#[utoipa::path(
    operation_id = "listProducts",
    tag = "products",
    params(ProductsQuery),
    responses(
        (status = 200, description = "A page of products", body = PageResponse<ProductResponse>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("")]
pub async fn list_products(
    state: web::Data<AppState>,
    caller: MaybeAuthenticated,
    query: ValidQuery<ProductsQuery>,
) -> Result<web::Json<PageResponse<ProductResponse>>, ApiError> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let products = state
        .licensing
        .products(sees_inactive(caller), page)
        .await?;
    Ok(web::Json(PageResponse::from_page(products, Into::into)))
}

/// One product.
#[utoipa::path(
    operation_id = "getProduct",
    tag = "products",
    params(("sku" = String, Path, description = "Product SKU")),
    responses(
        (status = 200, description = "The product", body = ProductResponse),
        (status = 404, description = "No such (active) product", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{sku}")]
pub async fn get_product(
    state: web::Data<AppState>,
    caller: MaybeAuthenticated,
    sku: web::Path<String>,
) -> Result<web::Json<ProductResponse>, ApiError> {
    let sku = Sku::parse(&sku).map_err(|_| ApiError::not_found("no such product"))?;
    let product = state.licensing.product(&sku, sees_inactive(caller)).await?;
    Ok(web::Json(product.into()))
}

/// Adds a product (admins).
#[utoipa::path(
    operation_id = "createProduct",
    tag = "products",
    security(("bearer" = [])),
    request_body = CreateProductRequest,
    responses(
        (status = 201, description = "Created", body = ProductResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
        (status = 409, description = "SKU taken (`sku_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("", wrap = "from_fn(admins_only)")]
pub async fn create_product(
    state: web::Data<AppState>,
    admin: Admin,
    body: Valid<CreateProductRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let new = NewProduct {
        sku: Sku::parse(&body.sku)?,
        name: parse_name(&body.name)?,
        price: Money::new(body.price, Currency::parse(&body.currency)?),
        terms: LicenseTerms::new(
            body.license_duration_days,
            body.max_activations,
            body.grace_days,
        )?,
        entitlements: parse_entitlements(&body.entitlements)?,
        active: body.active,
    };
    let product = state
        .licensing
        .create_product(licensing_requester(admin.0), new)
        .await?;
    Ok(HttpResponse::Created().json(ProductResponse::from(product)))
}

/// Changes a product (admins); licenses already issued keep their terms.
#[utoipa::path(
    operation_id = "updateProduct",
    tag = "products",
    security(("bearer" = [])),
    params(("sku" = String, Path, description = "Product SKU")),
    request_body = UpdateProductRequest,
    responses(
        (status = 200, description = "Updated", body = ProductResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/{sku}", wrap = "from_fn(admins_only)")]
pub async fn update_product(
    state: web::Data<AppState>,
    admin: Admin,
    sku: web::Path<String>,
    body: Valid<UpdateProductRequest>,
) -> Result<web::Json<ProductResponse>, ApiError> {
    let sku = Sku::parse(&sku).map_err(|_| ApiError::not_found("no such product"))?;
    let body = body.0;
    let changes = ProductChanges {
        name: body.name.as_deref().map(parse_name).transpose()?,
        price_minor_units: body.price,
        currency: body.currency.as_deref().map(Currency::parse).transpose()?,
        duration_days: body.license_duration_days,
        max_activations: body.max_activations,
        grace_days: body.grace_days,
        entitlements: body
            .entitlements
            .as_deref()
            .map(parse_entitlements)
            .transpose()?,
        active: body.active,
    };
    let product = state
        .licensing
        .update_product(licensing_requester(admin.0), &sku, changes)
        .await?;
    Ok(web::Json(product.into()))
}
