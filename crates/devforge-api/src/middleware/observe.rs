//! Request ids, request logs and request metrics.
//!
//! Every request gets an id (the caller's `x-request-id` when it is sane, a new UUID
//! otherwise), echoed in the response header and attached to a tracing span, so every log
//! line written while serving the request carries it.

use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, web};
use std::time::Instant;
use tracing::Instrument as _;

/// The header carrying the request id both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let sane = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    sane.then(|| value.to_owned())
}

/// The method as a metric label: the standard ones, or `other`, so that clients cannot
/// create series at will.
fn metric_method(method: &Method) -> String {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if STANDARD.contains(method) {
        method.to_string()
    } else {
        "other".to_owned()
    }
}

/// The middleware function: id, span, log line, metrics.
///
/// # Errors
/// Never fails on its own; passes on (after logging) errors of inner middleware.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let method = metric_method(req.method());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %req.path(),
    );
    let started = Instant::now();

    let mut response = match next.call(req).instrument(span.clone()).await {
        Ok(response) => response.map_into_boxed_body(),
        Err(err) => {
            // Inner services turn their errors into responses; an error reaching here
            // bypasses routing, so it is logged and passed on for actix to render.
            let status = err.as_response_error().status_code();
            span.in_scope(|| tracing::warn!(status = status.as_u16(), error = %err, "request failed before routing"));
            if let Some(metrics) = metrics {
                metrics.observe_request(
                    &method,
                    "unmatched",
                    status.as_u16(),
                    started.elapsed().as_secs_f64(),
                );
            }
            return Err(err);
        }
    };

    let elapsed = started.elapsed();
    let status = response.status();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    if let Some(metrics) = metrics {
        metrics.observe_request(&method, &route, status.as_u16(), elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                route,
                latency_ms,
                "request completed"
            );
        } else {
            tracing::info!(
                status = status.as_u16(),
                route,
                latency_ms,
                "request completed"
            );
        }
    });
    Ok(response)
}
