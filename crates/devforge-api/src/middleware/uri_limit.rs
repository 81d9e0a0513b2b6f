//! Refuses request targets longer than any route needs with `414 uri_too_long`, before a
//! query string of tens of kilobytes reaches an extractor, the logs or a search.
//!
//! The HTTP layer below the app answers first when a target cannot be represented at all
//! (64 KiB and more) or a request head passes 128 KiB: those get a bare `400` or `431`
//! from actix-http and the connection is closed, without reaching any middleware.

use crate::error::ApiError;
use actix_web::ResponseError as _;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;

/// The longest path and query accepted, in bytes: search texts, filters and ids fit many
/// times over.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Answers `414` to a request whose path and query pass [`MAX_URI_BYTES`].
///
/// # Errors
/// Passes on errors of the inner service.
pub async fn uri_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let length = req
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if length > MAX_URI_BYTES {
        let refusal = ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the path and query may be at most {MAX_URI_BYTES} bytes"),
        );
        let (request, _payload) = req.into_parts();
        return Ok(ServiceResponse::new(request, refusal.error_response()));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
