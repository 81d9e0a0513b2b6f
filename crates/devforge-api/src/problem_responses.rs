//! The problem responses many operations share, declared once as response components
//! (`#/components/responses/...`) and referred to from the operations.
//!
//! Handlers name the ones that depend on the route's rules (`NotAdmin`, `NotStaff`,
//! `PaymentsNotConfigured`) in their `#[utoipa::path]`. The rest follow from the shape of
//! an operation alone, so [`add_to_every_operation`] adds them to each operation that lacks
//! them rather than every handler repeating them: `401` where an access token is taken,
//! `400`/`422` where there are parameters or a body, `404` where the path names something,
//! `413`/`415` where there is a body, `414`/`431` for any request, `429` behind the rate
//! limits of `/v1`, and `503 database_unavailable` where the database is used. A handler's
//! own, more specific description of a status is kept.

use crate::error::Problem;
use utoipa::ToResponse;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// `401 unauthorized`: no access token, or one that is malformed, expired or revoked.
#[derive(Debug, ToResponse)]
#[response(
    description = "Not logged in: no access token, or one that is malformed, expired or revoked (`unauthorized`)",
    content_type = "application/problem+json"
)]
pub struct NotLoggedIn(pub Problem);

/// `403 forbidden` for an operation only admins may use.
#[derive(Debug, ToResponse)]
#[response(
    description = "Not an admin (`forbidden`)",
    content_type = "application/problem+json"
)]
pub struct NotAdmin(pub Problem);

/// `403 forbidden` for an operation only support staff (and admins) may use.
#[derive(Debug, ToResponse)]
#[response(
    description = "Not support staff or an admin (`forbidden`)",
    content_type = "application/problem+json"
)]
pub struct NotStaff(pub Problem);

/// `429 rate_limited` (or a route's own limit code), with `Retry-After`.
#[derive(Debug, ToResponse)]
#[response(
    description = "Too many requests from this client (`rate_limited`); retry after `Retry-After` seconds",
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds until a request is allowed again"))
)]
pub struct RateLimited(pub Problem);

/// `503 database_unavailable`, with `Retry-After`.
#[derive(Debug, ToResponse)]
#[response(
    description = "The database does not answer, is restarting or is too busy (`database_unavailable`); retry after `Retry-After` seconds",
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds after which a retry is likely to succeed"))
)]
pub struct DatabaseUnavailable(pub Problem);

/// `503 payments_not_configured`: the server runs without a Stripe key.
#[derive(Debug, ToResponse)]
#[response(
    description = "This server takes no payments: no Stripe key is configured (`payments_not_configured`)",
    content_type = "application/problem+json"
)]
pub struct PaymentsNotConfigured(pub Problem);

/// `400`: a path, query or body that cannot be read at all.
#[derive(Debug, ToResponse)]
#[response(
    description = "The path, query string or body cannot be read (`invalid_path`, `invalid_query`, `invalid_json`)",
    content_type = "application/problem+json"
)]
pub struct Unreadable(pub Problem);

/// `422 validation_failed`: readable, but a field breaks its rules.
#[derive(Debug, ToResponse)]
#[response(
    description = "A field breaks its rules (`validation_failed`, with `errors` naming each field)",
    content_type = "application/problem+json"
)]
pub struct ValidationFailed(pub Problem);

/// `404 not_found`: what the path names does not exist (or is not the caller's to see).
#[derive(Debug, ToResponse)]
#[response(
    description = "What the path names does not exist, or is not yours to see",
    content_type = "application/problem+json"
)]
pub struct NotFound(pub Problem);

/// `413 payload_too_large`.
#[derive(Debug, ToResponse)]
#[response(
    description = "The body is larger than this route takes (`payload_too_large`)",
    content_type = "application/problem+json"
)]
pub struct BodyTooLarge(pub Problem);

/// `415 unsupported_media_type`.
#[derive(Debug, ToResponse)]
#[response(
    description = "The body is not of the documented media type (`unsupported_media_type`)",
    content_type = "application/problem+json"
)]
pub struct UnsupportedMediaType(pub Problem);

/// `414 uri_too_long`.
#[derive(Debug, ToResponse)]
#[response(
    description = "The path and query string are longer than 8 KiB (`uri_too_long`)",
    content_type = "application/problem+json"
)]
pub struct UriTooLong(pub Problem);

/// `431`, written by the HTTP layer before any route runs: a request target of 64 KiB or
/// more, or a head over 128 KiB. It has no body.
#[derive(Debug, ToResponse)]
#[response(
    description = "The request head is far too large; refused before routing, without a body"
)]
pub struct HeadTooLarge;

/// Operations that never touch the database, so never answer `database_unavailable`.
const WITHOUT_DATABASE: [&str; 3] = ["getLiveness", "getLicensePublicKeys", "getMetrics"];

/// Registers the shared responses and adds each to the operations it applies to that lack
/// that status (see the module docs).
pub fn add_to_every_operation(document: &mut OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    for (name, response) in [
        NotLoggedIn::response(),
        NotAdmin::response(),
        NotStaff::response(),
        RateLimited::response(),
        DatabaseUnavailable::response(),
        PaymentsNotConfigured::response(),
        Unreadable::response(),
        ValidationFailed::response(),
        NotFound::response(),
        BodyTooLarge::response(),
        UnsupportedMediaType::response(),
        UriTooLong::response(),
        HeadTooLarge::response(),
    ] {
        components.responses.insert(name.into(), response);
    }
    for (path, item) in &mut document.paths.paths {
        let rate_limited = path.starts_with("/v1/");
        let names_something = path.contains('{');
        for operation in operations(item) {
            let has_body = operation.request_body.is_some();
            let has_query = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
            let mut shared = Vec::new();
            if takes_bearer_token(operation) {
                shared.push(("401", NotLoggedIn::response().0));
            }
            if has_body || has_query || names_something {
                shared.push(("400", Unreadable::response().0));
            }
            if has_body || has_query {
                shared.push(("422", ValidationFailed::response().0));
            }
            if names_something {
                shared.push(("404", NotFound::response().0));
            }
            if has_body {
                shared.push(("413", BodyTooLarge::response().0));
                shared.push(("415", UnsupportedMediaType::response().0));
            }
            shared.push(("414", UriTooLong::response().0));
            shared.push(("431", HeadTooLarge::response().0));
            if rate_limited {
                shared.push(("429", RateLimited::response().0));
            }
            let id = operation.operation_id.as_deref().unwrap_or_default();
            if !WITHOUT_DATABASE.contains(&id) {
                shared.push(("503", DatabaseUnavailable::response().0));
            }
            for (status, component) in shared {
                operation
                    .responses
                    .responses
                    .entry(status.into())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(component)));
            }
        }
    }
}

/// Whether the operation accepts an access token (required or optional): a bad one is a 401.
fn takes_bearer_token(operation: &Operation) -> bool {
    serde_json::to_value(&operation.security).is_ok_and(|security| {
        security
            .as_array()
            .is_some_and(|requirements| requirements.iter().any(|r| r.get("bearer").is_some()))
    })
}

/// Every operation of a path item, whatever its method.
pub(crate) fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
        item.query.as_mut(),
    ]
    .into_iter()
    .flatten()
}
