//! The OpenAPI 3.1 description. Paths are collected from the handlers as they are mounted
//! (utoipa-actix-web), so a route cannot be served without being described.

use crate::error::{FieldError, Problem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's fixed parts: info, shared schemas, the bearer scheme.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Dev Forge API",
        description = "Accounts, licensing, billing, marketplace and support for the Dev Forge IDE. \
            Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`."
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "products", description = "The product catalogue"),
        (name = "licenses", description = "Licenses, machine activations, validation and offline certificates"),
        (name = "marketplace", description = "Extensions: search, versions and packages, reviews, downloads"),
        (name = "payments", description = "Payments through Stripe, refunds, and Stripe's webhooks"),
        (name = "support", description = "Support tickets, their messages and history"),
        (name = "knowledge base", description = "Help articles: reading, search, feedback, and editing by staff"),
        (name = "admin", description = "Administration (admins only)"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
