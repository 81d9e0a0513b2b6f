//! sea-orm entities: today's schema as Rust types. Private to the adapters' needs; the
//! domain never sees them.

pub mod activations;
pub mod audit_log;
pub mod license_events;
pub mod licenses;
pub mod login_throttle;
pub mod products;
pub mod sessions;
pub mod users;
