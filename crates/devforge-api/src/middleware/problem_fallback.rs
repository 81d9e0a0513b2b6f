//! The last line of the one-error-shape rule: any 4xx or 5xx response that is not already a
//! problem document (actix's own 405, a CORS refusal, a library's plain-text error) is
//! rewritten into one, keeping its status and headers such as `Allow` and `Retry-After`.

use crate::error::ApiError;
use actix_web::ResponseError as _;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::middleware::Next;

fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        429 => "rate_limited",
        500..=599 => "internal_error",
        _ => "http_error",
    }
}

/// Rewrites non-problem error responses into problems.
///
/// # Errors
/// Passes on errors of the inner service.
pub async fn problem_fallback(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
    if !is_error || is_problem {
        return Ok(response);
    }
    let (request, original) = response.into_parts();
    let detail = status
        .canonical_reason()
        .unwrap_or("request failed")
        .to_lowercase();
    let mut replacement = ApiError::new(status, code_for(status), detail).error_response();
    for (name, value) in original.headers() {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            replacement
                .headers_mut()
                .insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(request, replacement))
}
