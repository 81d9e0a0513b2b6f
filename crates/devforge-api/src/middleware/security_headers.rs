//! Security headers on every response.
//!
//! The API serves JSON only, so its content security policy forbids everything. The
//! interactive docs page under `/docs` is the one HTML page; it loads its own bundled
//! scripts and styles, so it gets a policy that allows `'self'` and nothing external.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";
const DOCS_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' \
    'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/// Adds `nosniff`, frame denial, no referrer and a restrictive CSP.
///
/// # Errors
/// Passes on errors of the inner service.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let is_docs = req.path().starts_with("/docs");
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let policy = if is_docs { DOCS_POLICY } else { API_POLICY };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    Ok(response)
}
