//! What every handler can reach: the services, wired to concrete adapters.

use crate::desk::{LicensingDesk, LicensingEntitlements};
use crate::metrics::Metrics;
use crate::middleware::shared_rate_limit::SharedLimits;
use devforge_billing::BillingService;
use devforge_domain::SystemClock;
use devforge_identity::{BcryptHasher, IdentityService};
use devforge_licensing::LicensingService;
use devforge_marketplace::MarketplaceService;
use devforge_packages::ObjectPackageStore;
use devforge_persistence::{
    Database, SqlBillingStore, SqlIdentityStore, SqlLicensingStore, SqlMarketStore, SqlSupportStore,
};
use devforge_search::ExtensionIndex;
use devforge_stripe::StripeGateway;
use devforge_support::SupportService;
use std::net::IpAddr;
use std::sync::Arc;

/// The identity service as the server runs it.
pub type Identity = IdentityService<SqlIdentityStore, BcryptHasher, SystemClock>;

/// The licensing service as the server runs it.
pub type Licensing = LicensingService<SqlLicensingStore, SystemClock>;

/// The billing service as the server runs it.
pub type Billing = BillingService<SqlBillingStore, StripeGateway, LicensingDesk, SystemClock>;

/// The marketplace as the server runs it.
pub type Market =
    MarketplaceService<SqlMarketStore, ObjectPackageStore, LicensingEntitlements, SystemClock>;

/// The support service as the server runs it.
pub type Support = SupportService<SqlSupportStore, SystemClock>;

/// Shared by all workers (cheap to clone: everything is behind `Arc`s or pools).
#[derive(Debug, Clone)]
pub struct AppState {
    /// Accounts and sessions.
    pub identity: Arc<Identity>,
    /// Products, licenses, seats and validation.
    pub licensing: Arc<Licensing>,
    /// Tickets and the knowledge base.
    pub support: Arc<Support>,
    /// Payments; `None` when no Stripe key is configured.
    pub billing: Option<Arc<Billing>>,
    /// Extensions, versions, reviews and downloads.
    pub market: Arc<Market>,
    /// The in-memory listing index the marketplace answers from (`None` when turned off).
    pub listing_index: Option<Arc<ExtensionIndex>>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[IpAddr]>,
    /// The database this state's services use, for readiness.
    pub database: Database,
    /// Every pool the server opened (one per worker), for the pool metrics.
    pub pools: Arc<Vec<Database>>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// The rate limits counted in Redis, when several instances share them.
    pub shared_rate_limits: Option<Arc<SharedLimits>>,
}

impl AppState {
    /// The same services over `database`: how each server worker gets a pool of its own.
    #[must_use]
    pub fn on_database(&self, database: Database, pools: Arc<Vec<Database>>) -> Self {
        let licensing = Arc::new(
            self.licensing
                .with_store(SqlLicensingStore::new(database.clone())),
        );
        Self {
            identity: Arc::new(
                self.identity
                    .with_store(SqlIdentityStore::new(database.clone())),
            ),
            licensing: Arc::clone(&licensing),
            billing: self.billing.as_ref().map(|billing| {
                Arc::new(billing.with_parts(
                    SqlBillingStore::new(database.clone()),
                    LicensingDesk::new(Arc::clone(&licensing)),
                ))
            }),
            market: Arc::new(self.market.with_parts(
                SqlMarketStore::new(database.clone()),
                LicensingEntitlements::new(Arc::clone(&licensing)),
            )),
            listing_index: self.listing_index.clone(),
            support: Arc::new(
                self.support
                    .with_store(SqlSupportStore::new(database.clone())),
            ),
            trusted_proxies: Arc::clone(&self.trusted_proxies),
            database,
            pools,
            metrics: Arc::clone(&self.metrics),
            shared_rate_limits: self.shared_rate_limits.clone(),
        }
    }
}
