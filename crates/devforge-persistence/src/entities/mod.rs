//! sea-orm entities: today's schema as Rust types. Private to the adapters' needs; the
//! domain never sees them.

pub mod audit_log;
pub mod login_throttle;
pub mod sessions;
pub mod users;
