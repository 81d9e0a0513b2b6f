//! Turns actix's own extractor failures (bad JSON, bad query, bad path) into problems, so
//! malformed input is always a 4xx in the one JSON shape, never actix's plain-text default.

use crate::error::ApiError;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};

/// Extractor configuration for every JSON body, path and query in the API.
pub fn configure(max_body_bytes: usize) -> (web::JsonConfig, web::PathConfig, web::QueryConfig) {
    let json = web::JsonConfig::default()
        .limit(max_body_bytes)
        .error_handler(|err, _req: &HttpRequest| json_error(&err).into());
    let path = web::PathConfig::default().error_handler(|err, _req| path_error(&err).into());
    let query = web::QueryConfig::default().error_handler(|err, _req| query_error(&err).into());
    (json, path, query)
}

fn json_error(err: &JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {limit} bytes"),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the request body must be JSON (Content-Type: application/json)",
        ),
        JsonPayloadError::Deserialize(serde_err) if serde_err.is_data() => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            serde_err.to_string(),
        ),
        JsonPayloadError::Deserialize(serde_err) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the request body is not valid JSON: {serde_err}"),
        ),
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            format!("the request body could not be read: {other}"),
        ),
    }
}

fn path_error(err: &PathError) -> ApiError {
    let PathError::Deserialize(inner) = err else {
        return ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", err.to_string());
    };
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_path",
        format!("a path parameter is malformed: {inner}"),
    )
}

fn query_error(err: &QueryPayloadError) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        format!("the query string is invalid: {err}"),
    )
}
