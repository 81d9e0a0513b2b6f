//! The licensing service's ports on SQL: the product catalogue, licenses with their
//! history, and seats, all through one connection pool.
//!
//! Every method that changes several rows is one transaction, and limits (seats, payment
//! uniqueness, status transitions, self-service releases) are decided inside it by
//! conditional writes and unique indexes, so they hold under parallel requests on both
//! databases. Transactions write before they read: on SQLite a transaction that reads first
//! can fail to upgrade its lock when another connection writes meanwhile.

mod activations;
mod events;
mod licenses;
mod products;
mod read_model;

pub use read_model::{LicenseReadModel, MAX_STALENESS};

use crate::Database;
use crate::error::corrupt;
use devforge_domain::StoreError;
use devforge_licensing::product::Entitlement;
use sea_orm::DatabaseConnection;

/// Implements [`devforge_licensing::ports::LicensingStore`] over SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlLicensingStore {
    db: Database,
}

impl SqlLicensingStore {
    /// A store over `db`.
    #[must_use]
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    fn conn(&self) -> &DatabaseConnection {
        self.db.connection()
    }
}

/// Entitlements as stored: a JSON array of their names.
fn entitlements_to_json(entitlements: &[Entitlement]) -> serde_json::Value {
    entitlements
        .iter()
        .map(|e| serde_json::Value::from(e.as_str()))
        .collect()
}

/// Entitlements read back, each checked again.
fn entitlements_from_json(stored: serde_json::Value) -> Result<Vec<Entitlement>, StoreError> {
    let names: Vec<String> =
        serde_json::from_value(stored).map_err(|e| corrupt("entitlements", e))?;
    names
        .iter()
        .map(|name| Entitlement::parse(name).map_err(|e| corrupt("entitlements", e)))
        .collect()
}

/// A count or number of days as stored (the domain bounds them far below `i32::MAX`).
fn to_stored(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// A stored count or number of days, which is never negative.
fn from_stored(what: &str, value: i32) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|e| corrupt(what, e))
}
