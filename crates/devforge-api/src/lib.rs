//! The HTTP face of Dev Forge and its composition root.
//!
//! This is the only crate that knows actix-web, JSON shapes and which adapters implement
//! which ports. A request goes: middleware (request id, logs, metrics, security headers,
//! CORS, rate limit) → route → DTO (serde + garde) → domain types → service → port →
//! adapter, and back through [`error::ApiError`] into one problem+json shape.

pub mod api_routes;
pub mod app;
pub mod background;
pub mod bench_extensions;
pub mod bench_seed;
pub mod billing_errors;
pub mod cli;
pub mod desk;
pub mod dto;
pub mod error;
pub mod extract;
pub mod extract_errors;
pub mod known_routes;
pub mod listener;
pub mod market_errors;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod openapi_links;
pub mod package_stream;
pub mod problem_responses;
pub mod routes;
pub mod secrets;
pub mod settings;
pub mod state;
pub mod support_errors;
pub mod telemetry;

pub use app::{MigrationPolicy, RunningServer, StartupError, start};
pub use settings::Settings;
