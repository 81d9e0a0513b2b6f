//! The schema's history, one step per file, shared by SQLite and PostgreSQL.
//!
//! Migrations are history: once released, a step never changes, and steps never import the
//! persistence crate's entities (entities describe today's schema; a step must keep
//! describing the schema of its day). Every step has a working `down`, proven by the
//! up → down → up test on both databases.

pub use sea_orm_migration::migrator::MigrationStatus;
pub use sea_orm_migration::prelude::*;

mod m20261128_000001_users;
mod m20261128_000002_sessions;
mod m20261128_000003_login_throttle;
mod m20261128_000004_audit_log;
mod m20261128_000005_products;
mod m20261128_000006_licenses;
mod m20261128_000007_activations;
mod m20261128_000008_license_events;
mod m20261128_000009_license_change_feed;
mod m20261128_000010_support_tickets;
mod m20261128_000011_knowledge_base;
mod m20261128_000012_license_payment_renewals;
mod m20261128_000013_billing;
mod m20261128_000014_ticket_payment_link;
mod m20261128_000015_marketplace;
mod m20261201_000016_tag_filter_index;
mod m20261204_000017_extension_change_feed;
mod m20261205_000018_login_attempts;
mod m20261206_000019_license_revision;
mod m20261206_000020_license_change_log;
mod m20261207_000021_kb_search_generation;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_users::Migration),
            Box::new(m20261128_000002_sessions::Migration),
            Box::new(m20261128_000003_login_throttle::Migration),
            Box::new(m20261128_000004_audit_log::Migration),
            Box::new(m20261128_000005_products::Migration),
            Box::new(m20261128_000006_licenses::Migration),
            Box::new(m20261128_000007_activations::Migration),
            Box::new(m20261128_000008_license_events::Migration),
            Box::new(m20261128_000009_license_change_feed::Migration),
            Box::new(m20261128_000010_support_tickets::Migration),
            Box::new(m20261128_000011_knowledge_base::Migration),
            Box::new(m20261128_000012_license_payment_renewals::Migration),
            Box::new(m20261128_000013_billing::Migration),
            Box::new(m20261128_000014_ticket_payment_link::Migration),
            Box::new(m20261128_000015_marketplace::Migration),
            Box::new(m20261201_000016_tag_filter_index::Migration),
            Box::new(m20261204_000017_extension_change_feed::Migration),
            Box::new(m20261205_000018_login_attempts::Migration),
            Box::new(m20261206_000019_license_revision::Migration),
            Box::new(m20261206_000020_license_change_log::Migration),
            Box::new(m20261207_000021_kb_search_generation::Migration),
        ]
    }
}
