//! Health and metrics, for load balancers and Prometheus. Public by design: they reveal no
//! customer data; bind the server to a private address or filter `/metrics` at the proxy
//! when its figures should stay internal.

use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use devforge_marketplace::{IndexState, ListingIndex as _};
use devforge_persistence::PoolStatus;
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

/// How long readiness waits for the database. Load balancers probe with a timeout of about
/// a second: a database that has not answered by then is reported down, not left to hang
/// the probe until the pool gives up.
const READY_PING_TIMEOUT: Duration = Duration::from_millis(500);

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// Always `ok` on a 200.
    pub status: &'static str,
    /// Readiness only: the marketplace's listing index, `current` (listings answered from
    /// memory) or `behind` (not provably current: listings read from the database until
    /// it catches up); absent when the index is turned off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_index: Option<&'static str>,
    /// Readiness only, with `DEVFORGE_REDIS_URL` set: `shared` while Redis counts the rate
    /// limits, `degraded` while it does not answer (general limits let requests pass,
    /// credential and license-key limits count in this process). Absent without Redis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<&'static str>,
}

/// The process is up.
#[utoipa::path(operation_id = "getLiveness", tag = "operations", responses((status = 200, body = HealthResponse)))]
#[get("/health/live")]
pub async fn live() -> web::Json<HealthResponse> {
    web::Json(HealthResponse {
        status: "ok",
        search_index: None,
        rate_limits: None,
    })
}

/// The process can serve: the database answers and the listing index has been built
/// (until then every search would be read from the database, far slower).
#[utoipa::path(
    operation_id = "getReadiness",
    tag = "operations",
    responses(
        (status = 200, body = HealthResponse),
        (status = 503, description = "Database unreachable, or the listing index still being built", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<HealthResponse>, ApiError> {
    match tokio::time::timeout(READY_PING_TIMEOUT, state.database.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(ApiError::database_unavailable(&err)),
        Err(elapsed) => return Err(ApiError::database_unavailable(&elapsed)),
    }
    let search_index = match state.listing_index.as_ref().map(|index| index.state()) {
        None => None,
        Some(IndexState::Building) => return Err(ApiError::search_index_building()),
        Some(IndexState::Current) => Some("current"),
        Some(IndexState::Behind) => Some("behind"),
    };
    let rate_limits = state.shared_rate_limits.as_ref().map(|limits| {
        if limits.counter.is_up() {
            "shared"
        } else {
            "degraded"
        }
    });
    Ok(web::Json(HealthResponse {
        status: "ok",
        search_index,
        rate_limits,
    }))
}

/// Prometheus text exposition.
#[utoipa::path(
    operation_id = "getMetrics",
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
        .render(
            total,
            state
                .shared_rate_limits
                .as_ref()
                .map(|limits| &*limits.counter),
        )
        .map_err(|err| ApiError::internal(&err))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}
