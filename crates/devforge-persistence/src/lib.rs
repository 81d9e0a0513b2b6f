//! Storage adapters: sea-orm entities and the implementations of the services' ports, for
//! SQLite (the embedded default) and PostgreSQL (production), chosen by the database URL.
//!
//! Everything here speaks the domain's types at its public edge; sea-orm models never leave
//! this crate. Driver errors are translated into [`devforge_domain::StoreError`] in
//! [`error`], so a unique violation reads the same from either database.

mod aggregate;
pub mod audit;
pub mod billing;
mod change_feed;
pub mod database;
pub mod entities;
pub mod error;
pub mod identity;
pub mod licensing;
pub mod marketplace;
mod paging;
mod search_sql;
pub mod support;

pub use billing::SqlBillingStore;
pub use database::{Database, DatabaseKind, PoolStatus};
pub use identity::SqlIdentityStore;
pub use licensing::{LicenseReadModel, MAX_STALENESS, SqlLicensingStore};
pub use marketplace::{ListingFeed, SqlMarketStore};
pub use support::SqlSupportStore;
