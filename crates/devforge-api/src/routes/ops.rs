//! Health and metrics, for load balancers and Prometheus. Public by design: they reveal no
//! customer data; bind the server to a private address or filter `/metrics` at the proxy
//! when its figures should stay internal.

use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use devforge_persistence::PoolStatus;
use serde::Serialize;
use utoipa::ToSchema;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// Always `ok` on a 200.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, body = HealthResponse)))]
#[get("/health/live")]
pub async fn live() -> web::Json<HealthResponse> {
    web::Json(HealthResponse { status: "ok" })
}

/// The process can serve: the database answers.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = HealthResponse),
        (status = 503, description = "Database unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<HealthResponse>, ApiError> {
    state
        .database
        .ping()
        .await
        .map_err(|err| ApiError::unavailable(&err))?;
    Ok(web::Json(HealthResponse { status: "ok" }))
}

/// Prometheus text exposition.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pools = state
        .pools
        .iter()
        .map(devforge_persistence::Database::pool_status);
    let total = pools.fold(PoolStatus { size: 0, idle: 0 }, |sum, pool| PoolStatus {
        size: sum.size + pool.size,
        idle: sum.idle + pool.idle,
    });
    let text = state
        .metrics
        .render(total)
        .map_err(|err| ApiError::internal(&err))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}
