//! Handlers: parse, authorize (by extractor), call a service, map the result. No rules
//! live here.

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
