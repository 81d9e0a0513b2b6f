//! The billing service: payments in `payments`, gateway events in `events`, refunds in
//! `refunds`, over one store, gateway, licensing desk and clock.

mod events;
mod payments;
mod refunds;
#[cfg(test)]
mod tests;

pub use events::Reconciliation;
pub use payments::{PaymentRequest, PaymentView};
pub use refunds::RESERVED;

use crate::desk::LicenseDesk;
use crate::gateway::PaymentGateway;
use crate::ports::BillingStore;
use devforge_domain::{Clock, Role, UserId};

/// Tunables.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// Webhook signing secrets; any of them verifies (rotation).
    pub webhook_secrets: Vec<String>,
    /// How far a webhook's timestamp may be from now, in seconds.
    pub webhook_tolerance_secs: i64,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            webhook_secrets: Vec::new(),
            webhook_tolerance_secs: 300,
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payer {
    /// The account.
    pub user_id: UserId,
    /// Its current role.
    pub role: Role,
}

impl Payer {
    /// Support and admin accounts see every payment.
    #[must_use]
    pub fn is_staff(self) -> bool {
        matches!(self.role, Role::Support | Role::Admin)
    }
}

/// Payments, refunds and fulfilment.
#[derive(Debug, Clone)]
pub struct BillingService<S, G, L, C> {
    store: S,
    gateway: G,
    desk: L,
    clock: C,
    config: BillingConfig,
}

impl<S: BillingStore, G: PaymentGateway, L: LicenseDesk, C: Clock> BillingService<S, G, L, C> {
    /// A service over its ports.
    pub fn new(store: S, gateway: G, desk: L, clock: C, config: BillingConfig) -> Self {
        Self {
            store,
            gateway,
            desk,
            clock,
            config,
        }
    }

    /// The same service over another store and desk (one server worker's own pool).
    pub fn with_parts<S2: BillingStore, L2: LicenseDesk>(
        &self,
        store: S2,
        desk: L2,
    ) -> BillingService<S2, G, L2, C>
    where
        G: Clone,
        C: Clone,
    {
        BillingService {
            store,
            gateway: self.gateway.clone(),
            desk,
            clock: self.clock.clone(),
            config: self.config.clone(),
        }
    }
}
