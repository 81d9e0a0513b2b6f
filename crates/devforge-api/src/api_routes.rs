//! The API's routes, mounted once for the server and once for the OpenAPI document alone
//! (`devforge openapi`), so the document written without a server is the one it serves.

use crate::extract;
use crate::middleware::rate_limit::{self, LimiterConfig};
use crate::middleware::shared_rate_limit;
use crate::openapi::ApiDoc;
use crate::openapi_links;
use crate::problem_responses;
use crate::routes::{
    admin, articles, auth, extensions, licenses, ops, payments, products, tickets,
};
use actix_governor::Governor;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, web};
use std::time::Duration;
use utoipa::OpenApi as _;
use utoipa_actix_web::{AppExt as _, UtoipaApp, scope};

/// The in-process rate limiters the API is held to (see `middleware::rate_limit`).
#[derive(Clone, Debug)]
pub struct Limiters {
    /// Whether they count at all (off when Redis counts, or limits are disabled).
    pub enabled: bool,
    /// The whole API.
    pub general: LimiterConfig,
    /// Login, registration, refresh.
    pub credentials: LimiterConfig,
    /// The routes that take a license key.
    pub license_keys: LimiterConfig,
}

impl Limiters {
    /// Limiters that count nothing, for the document alone.
    fn disabled() -> Self {
        let any = || {
            rate_limit::limiter(Duration::from_secs(1), 1, &[], rate_limit::Counted::All)
                .unwrap_or_else(|never| unreachable!("a non-zero rate and burst: {never}"))
        };
        Self {
            enabled: false,
            general: any(),
            credentials: any(),
            license_keys: any(),
        }
    }
}

/// Mounts every route of the API on `app`.
pub fn mount<T, B>(app: UtoipaApp<T>, limiters: &Limiters) -> UtoipaApp<T>
where
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        >,
    B: MessageBody,
{
    app.service(ops::live)
        .service(ops::ready)
        .service(ops::metrics)
        .service(
            scope("/v1")
                .wrap(Condition::new(
                    limiters.enabled,
                    Governor::new(&limiters.general),
                ))
                .wrap(from_fn(shared_rate_limit::general_limit))
                .service(
                    scope("/auth")
                        .wrap(Condition::new(
                            limiters.enabled,
                            Governor::new(&limiters.credentials),
                        ))
                        .wrap(from_fn(shared_rate_limit::credential_limit))
                        .service(auth::register)
                        .service(auth::login)
                        .service(auth::refresh)
                        .service(auth::logout)
                        .service(auth::me),
                )
                .service(
                    scope("/products")
                        .service(products::list_products)
                        .service(products::create_product)
                        .service(products::get_product)
                        .service(products::update_product),
                )
                .service(
                    scope("/licenses")
                        .wrap(Condition::new(
                            limiters.enabled,
                            Governor::new(&limiters.license_keys),
                        ))
                        .wrap(from_fn(shared_rate_limit::license_key_limit))
                        .service(licenses::issue_license)
                        .service(licenses::list_licenses)
                        .service(licenses::public_keys)
                        .service(licenses::activate)
                        .service(licenses::deactivate)
                        .service(licenses::validate)
                        .service(licenses::get_license)
                        .service(licenses::renew)
                        .service(licenses::revoke)
                        .service(licenses::suspend)
                        .service(licenses::reinstate)
                        .service(licenses::events)
                        .service(licenses::activations)
                        .service(licenses::remove_activation),
                )
                .service(
                    scope("/payments")
                        .wrap(from_fn(extract::logged_in))
                        .service(payments::create_payment)
                        .service(payments::list_payments)
                        .service(payments::get_payment)
                        .service(payments::confirm_payment)
                        .service(payments::refund_payment),
                )
                .service(
                    scope("/webhooks")
                        .app_data(web::PayloadConfig::new(payments::WEBHOOK_MAX_BODY_BYTES))
                        .service(payments::stripe_webhook),
                )
                .service(
                    scope("/extensions")
                        .service(extensions::list_extensions)
                        .service(extensions::create_extension)
                        .service(extensions::get_extension)
                        .service(extensions::update_extension)
                        .service(extensions::upload_version)
                        .service(extensions::yank)
                        .service(extensions::unyank)
                        .service(extensions::approve)
                        .service(extensions::reject)
                        .service(extensions::download_version)
                        .service(extensions::download_latest)
                        .service(extensions::extension_stats)
                        .service(extensions::list_reviews)
                        .service(extensions::create_review)
                        .service(extensions::edit_review)
                        .service(extensions::delete_review),
                )
                .service(
                    scope("/me")
                        .wrap(from_fn(extract::logged_in))
                        .service(extensions::my_extensions),
                )
                .service(
                    scope("/support/tickets")
                        .wrap(from_fn(extract::logged_in))
                        .service(tickets::open_ticket)
                        .service(tickets::list_tickets)
                        .service(tickets::get_ticket)
                        .service(tickets::update_ticket)
                        .service(tickets::assign_ticket)
                        .service(tickets::post_message)
                        .service(tickets::list_messages)
                        .service(tickets::list_events),
                )
                .service(
                    scope("/kb/articles")
                        .service(articles::create_article)
                        .service(articles::list_articles)
                        .service(articles::get_article)
                        .service(articles::update_article)
                        .service(articles::archive_article)
                        .service(articles::list_revisions)
                        .service(articles::get_revision)
                        .service(articles::restore_revision)
                        .service(articles::feedback),
                )
                .service(
                    scope("/admin")
                        .wrap(from_fn(extract::admins_only))
                        .service(admin::list_users)
                        .service(admin::update_user)
                        .service(admin::stats)
                        .service(admin::audit)
                        .service(extensions::pending_versions),
                ),
        )
}

/// The OpenAPI document the server serves at `/openapi.json`, built without serving.
#[must_use]
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let app = App::new().into_utoipa_app().openapi(ApiDoc::openapi());
    let (_app, mut document) = mount(app, &Limiters::disabled()).split_for_parts();
    problem_responses::add_to_every_operation(&mut document);
    openapi_links::add_links(&mut document);
    document
}

#[cfg(test)]
mod tests {
    use super::openapi_document;

    /// The committed document (`clients/openapi.json`, which the clients are generated
    /// from) is the one the server serves: a change to the contract changes it too.
    #[test]
    fn the_committed_document_is_the_served_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../clients/openapi.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        let current = openapi_document()
            .to_pretty_json()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            committed.trim_end() == current,
            "clients/openapi.json differs from the server's routes: run `cargo xtask openapi`"
        );
    }
}
