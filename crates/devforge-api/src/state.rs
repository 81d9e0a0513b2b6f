//! What every handler can reach: the services, wired to concrete adapters.

use crate::metrics::Metrics;
use devforge_domain::SystemClock;
use devforge_identity::{BcryptHasher, IdentityService};
use devforge_licensing::LicensingService;
use devforge_persistence::{Database, SqlIdentityStore, SqlLicensingStore};
use std::sync::Arc;

/// The identity service as the server runs it.
pub type Identity = IdentityService<SqlIdentityStore, BcryptHasher, SystemClock>;

/// The licensing service as the server runs it.
pub type Licensing = LicensingService<SqlLicensingStore, SystemClock>;

/// Shared by all workers (cheap to clone: everything is behind `Arc`s or pools).
#[derive(Debug, Clone)]
pub struct AppState {
    /// Accounts and sessions.
    pub identity: Arc<Identity>,
    /// Products, licenses, seats and validation.
    pub licensing: Arc<Licensing>,
    /// The database, for readiness and pool metrics.
    pub database: Database,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
}
