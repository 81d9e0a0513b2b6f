//! Handlers: parse, authorize (by extractor), call a service, map the result. No rules
//! live here. Each service has its own type for "who is asking"; the functions below build
//! them from the account the extractors authenticated.

pub mod admin;
pub mod articles;
pub mod auth;
pub mod extensions;
pub mod licenses;
pub mod ops;
pub mod payments;
pub mod products;
pub mod tickets;

use devforge_identity::Principal;
use devforge_licensing::Requester;

/// The licensing service's view of an authenticated caller.
#[must_use]
pub fn licensing_requester(principal: Principal) -> Requester {
    Requester {
        user_id: principal.user_id,
        role: principal.role,
    }
}

/// The billing service's view of an authenticated caller.
#[must_use]
pub fn payer(principal: Principal) -> devforge_billing::Payer {
    devforge_billing::Payer {
        user_id: principal.user_id,
        role: principal.role,
    }
}

/// The support service's view of an authenticated caller.
#[must_use]
pub fn support_actor(principal: Principal) -> devforge_support::Actor {
    devforge_support::Actor {
        user_id: principal.user_id,
        role: principal.role,
    }
}

/// The marketplace's view of an authenticated caller.
#[must_use]
pub fn market_caller(principal: Principal) -> devforge_marketplace::Caller {
    devforge_marketplace::Caller {
        user_id: principal.user_id,
        role: principal.role,
    }
}
